//! Secrets lifecycle: rotation and pruning of the keys in a store, with Logto's semantics,
//! and the JSON that Logto's `db config set` takes, so a seeded database can be brought
//! to exactly the keys of the store.
//!
//! Input: a loaded `Store`. Output: the changed store (the caller writes it) and a report
//! of what changed. Nothing here prints or touches files.

use rand_core::CryptoRngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::generate;
use super::store::{unix_millis, CookieKey, PrivateKey, Store};
use crate::config::model::KeyAlgorithm;

/// Logto takes at most two signing keys as seed input: Current and Previous.
pub const MAX_SIGNING_KEYS: usize = 2;
/// Cookie keys kept by default after a rotation (the first signs, all verify).
pub const DEFAULT_COOKIE_KEYS_KEPT: usize = 3;

/// What an operation did, for the CLI to report (ids only, never values).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// New signing key becomes Current; the key that signed until now becomes Previous and
/// keeps verifying tokens it issued. An older Previous is dropped (Logto takes two).
pub fn rotate_signing_key(
    store: &mut Store,
    alg: KeyAlgorithm,
    now: &str,
    rng: &mut impl CryptoRngCore,
) -> Change {
    let key = PrivateKey {
        id: generate::key_id(rng),
        algorithm: alg.name(),
        created_at: now.into(),
        pem: generate::signing_key(rng, alg),
    };
    let added = vec![key.id.clone()];
    store.oidc_private_keys.insert(0, key);
    let removed = keep_first(&mut store.oidc_private_keys, MAX_SIGNING_KEYS, |k| k.id);
    Change { added, removed }
}

/// New cookie key first (it signs from now on); older ones keep verifying, up to `keep`
/// keys in all. `keep` below 2 would drop the key that signed until now: refused.
pub fn rotate_cookie_key(
    store: &mut Store,
    keep: usize,
    now: &str,
    rng: &mut impl CryptoRngCore,
) -> Result<Change, String> {
    if keep < 2 {
        return Err(format!("`--keep {keep}` would drop the cookie key that signs today's sessions; keep at least 2 (prune later)"));
    }
    let key = CookieKey {
        id: generate::key_id(rng),
        created_at: now.into(),
        value: generate::cookie_key(rng),
    };
    let added = vec![key.id.clone()];
    store.oidc_cookie_keys.insert(0, key);
    let removed = keep_first(&mut store.oidc_cookie_keys, keep, |k| k.id);
    Ok(Change { added, removed })
}

/// Keep the first `keep` keys (newest first); the ids of the ones dropped.
fn keep_first<T>(keys: &mut Vec<T>, keep: usize, id: fn(T) -> String) -> Vec<String> {
    keys.split_off(keep.min(keys.len()))
        .into_iter()
        .map(id)
        .collect()
}

/// Drop every signing key but the one that signs (the Previous one stops verifying).
pub fn prune_signing_keys(store: &mut Store) -> Change {
    let removed = keep_first(&mut store.oidc_private_keys, 1, |k| k.id);
    Change {
        added: Vec::new(),
        removed,
    }
}

/// Keep the first `keep` cookie keys (at least the one that signs).
pub fn prune_cookie_keys(store: &mut Store, keep: usize) -> Result<Change, String> {
    if keep < 1 {
        return Err("`--keep 0` would drop the cookie key that signs; keep at least 1".into());
    }
    let removed = keep_first(&mut store.oidc_cookie_keys, keep, |k| k.id);
    Ok(Change {
        added: Vec::new(),
        removed,
    })
}

/// Replace SECRET_VAULT_KEK. Only with `force`: connector secrets Logto stored encrypted
/// with the old key become unreadable.
pub fn rotate_vault_kek(
    store: &mut Store,
    force: bool,
    rng: &mut impl CryptoRngCore,
) -> Result<Change, String> {
    if !force {
        return Err("refusing to replace SECRET_VAULT_KEK: Logto encrypts stored connector secrets with it, and they become unreadable under a new key (re-enter every connector's secrets afterwards). Pass --force if that is what you want".into());
    }
    store.secret_vault_kek = generate::vault_kek(rng);
    Ok(Change {
        added: vec!["secret-vault-kek".into()],
        removed: vec!["secret-vault-kek".into()],
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogtoKey<'a> {
    id: &'a str,
    value: &'a str,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

/// `oidc.privateKeys` as `db config set` takes it: Current first, then Previous.
pub fn private_keys_json(store: &Store) -> String {
    let keys: Vec<LogtoKey> = store
        .oidc_private_keys
        .iter()
        .enumerate()
        .map(|(i, k)| LogtoKey {
            id: &k.id,
            value: &k.pem,
            created_at: unix_millis(&k.created_at).unwrap_or(0),
            status: Some(if i == 0 { "Current" } else { "Previous" }),
        })
        .collect();
    serde_json::to_string(&keys).expect("keys serialize")
}

/// `oidc.cookieKeys` as `db config set` takes it: the signing key first.
pub fn cookie_keys_json(store: &Store) -> String {
    let keys: Vec<LogtoKey> = store
        .oidc_cookie_keys
        .iter()
        .map(|k| LogtoKey {
            id: &k.id,
            value: &k.value,
            created_at: unix_millis(&k.created_at).unwrap_or(0),
            status: None,
        })
        .collect();
    serde_json::to_string(&keys).expect("keys serialize")
}

/// A short, stable name for the set of keys in the store (ids only): changes exactly
/// when a rotation or prune happens, so the sync Job gets a new name.
pub fn keys_revision(store: &Store) -> String {
    let mut h = Sha256::new();
    for k in &store.oidc_private_keys {
        h.update(k.id.as_bytes());
        h.update([0]);
    }
    h.update([1]);
    for k in &store.oidc_cookie_keys {
        h.update(k.id.as_bytes());
        h.update([0]);
    }
    format!("{:x}", h.finalize())[..12].to_string()
}

/// `sha256:` and the first 16 hex digits of a secret's digest: shows that two values
/// differ without revealing either.
pub fn fingerprint(secret: &str) -> String {
    format!(
        "sha256:{}",
        &format!("{:x}", Sha256::digest(secret.as_bytes()))[..16]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::SecretsSpec;
    use rand_chacha::rand_core::SeedableRng;

    fn store() -> (Store, rand_chacha::ChaCha20Rng) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let spec = SecretsSpec {
            signing_key: KeyAlgorithm::EcP256,
            cookie_keys: 1,
        };
        (
            Store::generate(&spec, "p", "2026-01-01T00:00:00Z", &mut rng),
            rng,
        )
    }

    #[test]
    fn signing_key_in_use_is_never_dropped() {
        let (mut s, mut rng) = store();
        let first = s.oidc_private_keys[0].id.clone();
        let c = rotate_signing_key(
            &mut s,
            KeyAlgorithm::EcP384,
            "2026-02-01T00:00:00Z",
            &mut rng,
        );
        assert!(c.removed.is_empty());
        assert_eq!(s.oidc_private_keys.len(), 2);
        assert_eq!(
            s.oidc_private_keys[1].id, first,
            "the old Current becomes Previous"
        );
        assert_eq!(s.oidc_private_keys[0].algorithm, "ec-p-384");
    }

    #[test]
    fn a_second_rotation_keeps_the_right_two_keys() {
        let (mut s, mut rng) = store();
        let first = s.oidc_private_keys[0].id.clone();
        rotate_signing_key(
            &mut s,
            KeyAlgorithm::EcP256,
            "2026-02-01T00:00:00Z",
            &mut rng,
        );
        let second = s.oidc_private_keys[0].id.clone();
        let c = rotate_signing_key(
            &mut s,
            KeyAlgorithm::EcP256,
            "2026-03-01T00:00:00Z",
            &mut rng,
        );
        let third = s.oidc_private_keys[0].id.clone();
        assert_eq!(c.removed, vec![first]);
        let ids: Vec<_> = s.oidc_private_keys.iter().map(|k| k.id.clone()).collect();
        assert_eq!(ids, vec![third, second]);
    }

    #[test]
    fn cookie_rotation_keeps_older_keys_up_to_the_limit() {
        let (mut s, mut rng) = store();
        let original = s.oidc_cookie_keys[0].id.clone();
        for _ in 0..3 {
            rotate_cookie_key(&mut s, 3, "2026-02-01T00:00:00Z", &mut rng).unwrap();
        }
        assert_eq!(s.oidc_cookie_keys.len(), 3);
        assert!(
            !s.oidc_cookie_keys.iter().any(|k| k.id == original),
            "the oldest is dropped"
        );
        assert!(rotate_cookie_key(&mut s, 1, "2026-02-01T00:00:00Z", &mut rng).is_err());
    }

    #[test]
    fn pruning_keeps_the_signing_keys() {
        let (mut s, mut rng) = store();
        rotate_signing_key(
            &mut s,
            KeyAlgorithm::EcP256,
            "2026-02-01T00:00:00Z",
            &mut rng,
        );
        let current = s.oidc_private_keys[0].id.clone();
        let c = prune_signing_keys(&mut s);
        assert_eq!(c.removed.len(), 1);
        assert_eq!(s.oidc_private_keys[0].id, current);
        rotate_cookie_key(&mut s, 3, "2026-02-01T00:00:00Z", &mut rng).unwrap();
        let signing = s.oidc_cookie_keys[0].id.clone();
        prune_cookie_keys(&mut s, 1).unwrap();
        assert_eq!(s.oidc_cookie_keys.len(), 1);
        assert_eq!(s.oidc_cookie_keys[0].id, signing);
        assert!(prune_cookie_keys(&mut s, 0).is_err());
    }

    #[test]
    fn vault_kek_needs_force() {
        let (mut s, mut rng) = store();
        let before = s.secret_vault_kek.clone();
        assert!(rotate_vault_kek(&mut s, false, &mut rng)
            .unwrap_err()
            .contains("unreadable"));
        assert_eq!(s.secret_vault_kek, before);
        rotate_vault_kek(&mut s, true, &mut rng).unwrap();
        assert_ne!(s.secret_vault_kek, before);
    }

    #[test]
    fn logto_json_shape() {
        let (mut s, mut rng) = store();
        rotate_signing_key(
            &mut s,
            KeyAlgorithm::EcP256,
            "2026-02-01T00:00:00Z",
            &mut rng,
        );
        let v: serde_json::Value = serde_json::from_str(&private_keys_json(&s)).unwrap();
        assert_eq!(v[0]["status"], "Current");
        assert_eq!(v[1]["status"], "Previous");
        assert_eq!(v[0]["createdAt"], 1_769_904_000_000i64);
        assert_eq!(v[0]["value"], s.oidc_private_keys[0].pem);
        assert_eq!(v[0]["id"], s.oidc_private_keys[0].id);
        let c: serde_json::Value = serde_json::from_str(&cookie_keys_json(&s)).unwrap();
        assert_eq!(c[0]["value"], s.oidc_cookie_keys[0].value);
        assert!(c[0].get("status").is_none());
        assert!(
            !private_keys_json(&s).contains('\n'),
            "one line: fits a .env value"
        );
    }

    #[test]
    fn revision_follows_the_key_ids() {
        let (mut s, mut rng) = store();
        let a = keys_revision(&s);
        s.secret_vault_kek = "changed".into();
        assert_eq!(a, keys_revision(&s));
        rotate_cookie_key(&mut s, 3, "2026-02-01T00:00:00Z", &mut rng).unwrap();
        assert_ne!(a, keys_revision(&s));
        assert_ne!(fingerprint("a"), fingerprint("b"));
        assert!(!fingerprint("secret-value").contains("secret"));
    }
}
