//! Every output of every shipped profile: linted, snapshotted (secrets masked), rendered
//! twice to the same bytes, and carrying the same secret values everywhere.

mod common;

use logto_deploy::render::escape::dotenv_parse;

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(common::root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn snapshots_of_every_shipped_profile() {
    for profile in common::SHIPPED_PROFILES {
        let (config, store, outputs) = common::render_shipped(*profile);
        outputs.lint().unwrap();
        let text = common::mask(&outputs.concatenated(), &store, &config);
        common::assert_no_secret(&text, &store);
        settings().bind(|| {
            insta::assert_snapshot!(format!("outputs-{}", config.profile_name()), text);
        });
    }
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    for profile in common::SHIPPED_PROFILES {
        let (_, _, a) = common::render_shipped(*profile);
        let (_, _, b) = common::render_shipped(*profile);
        assert_eq!(a, b);
    }
}

#[test]
fn the_same_secrets_appear_in_compose_and_env() {
    for profile in common::SHIPPED_PROFILES {
        let (config, store, outputs) = common::render_shipped(*profile);
        let env = dotenv_parse(&outputs.files[".env"].contents).unwrap();
        assert_eq!(env["OIDC_PRIVATE_KEYS"], store.oidc_private_keys_env());
        assert_eq!(env["OIDC_COOKIE_KEYS"], store.oidc_cookie_keys_env());
        assert_eq!(env["SECRET_VAULT_KEK"], store.secret_vault_kek);
        let compose: serde_yaml::Value =
            serde_yaml::from_str(&outputs.files["docker-compose.yml"].contents).unwrap();
        let services = compose["services"].as_mapping().unwrap();
        // Every Logto container reads the one .env; none carries a secret of its own.
        for name in ["logto", "logto-seed", "logto-migrate", "logto-keys"] {
            let files: Vec<&str> = services[name]["env_file"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            assert_eq!(files, [".env"], "{name}");
        }
        if let Some(pg) = services.get("postgres") {
            // Postgres takes its password from .env by interpolation, and DB_URL carries the same one.
            assert_eq!(
                pg["environment"]["POSTGRES_PASSWORD"]
                    .as_str()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap(),
                "${POSTGRES_PASSWORD"
            );
            assert_eq!(env["POSTGRES_PASSWORD"], store.postgres_password);
            let url = &env["DB_URL"];
            let expected = format!(
                "postgres://{}:{}@postgres:5432/{}",
                env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
            );
            assert_eq!(*url, expected, "{}", config.profile_name());
        } else {
            // The password from the environment, percent-encoded, and nothing else.
            assert!(env["DB_URL"].starts_with("postgres://logto:fixture-db-p%40ss%3Aw%2Frd%25%23@db.internal.example.com:5432/logto"), "{}", env["DB_URL"]);
        }
    }
}

#[test]
fn each_profile_has_its_own_secrets() {
    let a = common::fixture_store("staging");
    let b = common::fixture_store("prod");
    assert_ne!(a.secret_vault_kek, b.secret_vault_kek);
    assert_ne!(a.oidc_private_keys, b.oidc_private_keys);
}

#[test]
fn env_file_is_marked_secret_and_compose_is_not() {
    let (_, _, outputs) = common::render_shipped(Some("staging"));
    assert!(outputs.files[".env"].secret);
    assert!(!outputs.files["docker-compose.yml"].secret);
}
