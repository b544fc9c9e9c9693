//! Delivery modes: `existing-secret` leaves no plaintext secret anywhere in the output
//! tree (and keeps the user's `secrets.env`), `key-files` puts the signing keys in
//! private PEM files, and `secrets export` gives the values in the shapes users load.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use logto_deploy::render::escape::dotenv_parse;
use logto_deploy::secrets::store::{self, Store};

use common::{ok_bin as ok, run_bin as run};

fn project(delivery: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let text = format!("[logto]\nendpoint = \"https://auth.example.com\"\n[secrets]\nsigning-key-type = \"ec\"\ndelivery = \"{delivery}\"\n");
    fs::write(dir.join("logto.toml"), text).unwrap();
    ok(&dir, &["render"]);
    (tmp, dir)
}

fn store(dir: &Path) -> Store {
    store::load(&dir.join(".logto-secrets/base.json"), "base")
        .unwrap()
        .unwrap()
}

/// Every file under `dir`, concatenated.
fn tree_text(dir: &Path) -> String {
    logto_deploy::outputs::files_under(dir)
        .unwrap()
        .into_iter()
        .map(|(_, p)| fs::read_to_string(p).unwrap())
        .collect()
}

#[test]
fn existing_secret_leaves_no_plaintext_in_the_output_tree() {
    let (_tmp, dir) = project("existing-secret");
    let out = dir.join("deploy/base");
    let s = store(&dir);
    common::assert_no_secret(&tree_text(&out), &s);
    assert!(!out.join("kubernetes/secret.yaml").exists());
    let env = dotenv_parse(&fs::read_to_string(out.join(".env")).unwrap()).unwrap();
    assert!(env.contains_key("ENDPOINT") && !env.contains_key("DB_URL"));

    // The user's secrets.env (e.g. from `secrets export`) survives renders and is ignored by git.
    let exported = ok(&dir, &["secrets", "export"]);
    let values = dotenv_parse(&exported).unwrap();
    assert_eq!(values["SECRET_VAULT_KEK"], s.secret_vault_kek);
    assert_eq!(values["OIDC_PRIVATE_KEYS"], s.oidc_private_keys_env());
    assert!(values["DB_URL"].contains(&s.postgres_password));
    fs::write(out.join("secrets.env"), &exported).unwrap();
    ok(&dir, &["render"]);
    assert_eq!(
        fs::read_to_string(out.join("secrets.env")).unwrap(),
        exported
    );
    assert!(fs::read_to_string(out.join(".gitignore"))
        .unwrap()
        .contains("/secrets.env\n"));
    let compose = fs::read_to_string(out.join("docker-compose.yml")).unwrap();
    assert!(
        compose.contains("env_file: [\".env\", secrets.env]"),
        "{compose}"
    );
}

#[test]
fn export_as_a_kubernetes_secret_uses_the_referenced_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(
        dir.join("logto.toml"),
        "[logto]\nendpoint = \"https://auth.example.com\"\n[secrets]\nsigning-key-type = \"ec\"\ndelivery = \"existing-secret\"\nexisting-secret = \"vault-logto\"\n[secrets.existing-secret-keys]\nDB_URL = \"db-url\"\n",
    )
    .unwrap();
    ok(dir, &["render"]);
    let manifest: serde_yaml::Value =
        serde_yaml::from_str(&ok(dir, &["secrets", "export", "--format", "kubernetes"])).unwrap();
    assert_eq!(manifest["kind"], "Secret");
    assert_eq!(manifest["metadata"]["name"], "vault-logto");
    assert!(manifest["data"]["db-url"].is_string());
    assert!(manifest["data"]["SECRET_VAULT_KEK"].is_string());
    let deployment =
        fs::read_to_string(dir.join("deploy/base/kubernetes/deployment.yaml")).unwrap();
    assert!(deployment.contains("name: vault-logto") && deployment.contains("key: db-url"));
}

#[test]
fn key_files_hold_the_signing_keys_privately() {
    let (_tmp, dir) = project("key-files");
    let out = dir.join("deploy/base");
    let s = store(&dir);
    let pem = fs::read_to_string(out.join("keys/oidc-private-key-1.pem")).unwrap();
    assert_eq!(
        pem, s.oidc_private_keys[0].pem,
        "a PEM file starts with its BEGIN line"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["keys/oidc-private-key-1.pem", "keys/private-keys.json"] {
            assert_eq!(
                fs::metadata(out.join(f)).unwrap().permissions().mode() & 0o777,
                0o600,
                "{f}"
            );
        }
    }
    let env = dotenv_parse(&fs::read_to_string(out.join(".env")).unwrap()).unwrap();
    assert_eq!(
        env["OIDC_PRIVATE_KEY_PATHS"],
        "/etc/logto/keys/oidc-private-key-1.pem"
    );
    assert!(
        !env.contains_key("OIDC_PRIVATE_KEYS")
            && !env.contains_key("LOGTO_DEPLOY_PRIVATE_KEYS_JSON")
    );
    assert!(
        !fs::read_to_string(out.join(".env"))
            .unwrap()
            .contains(&logto_deploy::secrets::generate::pem_armour().0),
        "no key material in .env"
    );
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("keys/private-keys.json")).unwrap())
            .unwrap();
    assert_eq!(json[0]["value"], s.oidc_private_keys[0].pem.as_str());
    let ignore = fs::read_to_string(out.join(".gitignore")).unwrap();
    assert!(
        ignore.contains("/keys/oidc-private-key-1.pem\n")
            && ignore.contains("/keys/private-keys.json\n"),
        "{ignore}"
    );
    // A rotation re-renders the key files; the old ones are replaced, not refused.
    ok(&dir, &["secrets", "rotate", "signing-key"]);
    ok(&dir, &["render"]);
    assert!(out.join("keys/oidc-private-key-2.pem").exists());
}

#[test]
fn check_accepts_the_users_secrets_env() {
    let (_tmp, dir) = project("existing-secret");
    fs::write(
        dir.join("deploy/base/secrets.env"),
        ok(&dir, &["secrets", "export"]),
    )
    .unwrap();
    let o = run(&dir, &["check"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    common::assert_no_secret(&String::from_utf8_lossy(&o.stdout), &store(&dir));
}
