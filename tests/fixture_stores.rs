//! Regenerates the committed fixture secrets stores from fixed seeds (never the machine's
//! RNG): `cargo test --test fixture_stores -- --ignored`. Their values are public test
//! data, marked `"test-fixture": true`, and must never be used for a real deployment.

mod common;

use logto_deploy::secrets::store::{self, Store};
use rand_chacha::rand_core::SeedableRng;

#[test]
#[ignore = "writes tests/fixtures/secrets; run by hand when the store format changes"]
fn regenerate_fixture_stores() {
    for (i, profile) in common::SHIPPED_PROFILES.iter().enumerate() {
        let config = common::load(*profile);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x1097_0000 + i as u64);
        let mut s = Store::generate(
            &config.secrets,
            config.profile_name(),
            "2026-01-01T00:00:00Z",
            &mut rng,
        );
        s.test_fixture = true;
        let path = store::store_path(&common::fixture_secrets_dir(), config.profile_name());
        std::fs::write(path, store::store_json(&s)).unwrap();
    }
}

#[test]
fn fixture_stores_are_marked_and_valid() {
    for profile in common::SHIPPED_PROFILES {
        let config = common::load(*profile);
        let s = common::fixture_store(config.profile_name());
        assert!(
            s.test_fixture,
            "{} fixture not marked",
            config.profile_name()
        );
        assert_eq!(
            s.oidc_private_keys[0].algorithm,
            config.secrets.signing_key.name()
        );
    }
}
