//! Helpers shared by the integration tests: loading the shipped example with the
//! committed fixture secrets, and masking secret values out of anything snapshotted.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use base64::Engine;
use indexmap::IndexMap;
use logto_deploy::config::{self, Config};
use logto_deploy::outputs::Outputs;
use logto_deploy::render::env::RuntimeInputs;
use logto_deploy::render::{self, Renderer};
use logto_deploy::secrets::store::{self, Store};

pub const SHIPPED_PROFILES: &[Option<&str>] = &[None, Some("dev"), Some("staging"), Some("prod")];

/// Values the prod profile reads from the environment at render time (test values).
pub const FIXTURE_DB_PASSWORD: &str = "fixture-db-p@ss:w/rd%#";
pub const FIXTURE_REDIS_PASSWORD: &str = "fixture-redis-pass";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_secrets_dir() -> PathBuf {
    root().join("tests/fixtures/secrets")
}

pub fn load(profile: Option<&str>) -> Config {
    config::load(&root().join("logto.toml"), profile)
        .expect("shipped example is valid")
        .config
}

pub fn fixture_store(profile: &str) -> Store {
    store::load(&store::store_path(&fixture_secrets_dir(), profile), profile)
        .expect("fixture store is valid")
        .expect("fixture store exists")
}

pub fn inputs() -> RuntimeInputs {
    RuntimeInputs {
        db_password: Some(FIXTURE_DB_PASSWORD.into()),
        redis_password: Some(FIXTURE_REDIS_PASSWORD.into()),
    }
}

pub fn inputs_for(config: &Config) -> RuntimeInputs {
    RuntimeInputs::from_env(config, |n| match n {
        "LOGTO_DB_PASSWORD" => Some(FIXTURE_DB_PASSWORD.into()),
        "LOGTO_REDIS_PASSWORD" => Some(FIXTURE_REDIS_PASSWORD.into()),
        _ => None,
    })
    .expect("inputs")
}

/// Render a shipped profile with its fixture store.
pub fn render_shipped(profile: Option<&str>) -> (Config, Store, Outputs) {
    let config = load(profile);
    let store = fixture_store(config.profile_name());
    let outputs = render::render_all(
        &config,
        &store,
        &inputs_for(&config),
        &Renderer::new(None).unwrap(),
    )
    .unwrap();
    (config, store, outputs)
}

/// Every secret (and every form it is written in) replaced by `<secret:label>`: the
/// store's values, the render-time passwords, and whole secret variables such as DB_URL
/// (whose base64 form in a Kubernetes Secret contains no raw piece of the password).
pub fn mask(text: &str, store: &Store, config: &Config) -> String {
    let mut secrets = store.secret_values();
    let env = logto_deploy::render::env::logto_env(config, store, &inputs_for_masking(config));
    for v in env
        .into_iter()
        .chain(logto_deploy::render::env::sync_env(store))
    {
        if v.secret {
            secrets.push((v.name.to_ascii_lowercase().replace('_', "-"), v.value));
        }
    }
    // Signing-key files (`delivery = "key-files"`) hold the keys in forms of their own.
    secrets.extend(logto_deploy::render::env::key_files(store));
    secrets.push(("db-password".into(), FIXTURE_DB_PASSWORD.into()));
    secrets.push(("redis-password".into(), FIXTURE_REDIS_PASSWORD.into()));
    secrets.push(("oidc-private-keys".into(), store.oidc_private_keys_env()));
    secrets.push(("oidc-cookie-keys".into(), store.oidc_cookie_keys_env()));
    // Longest first, so a joined value is masked before its parts.
    secrets.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    let mut out = text.to_string();
    for (label, value) in &secrets {
        let placeholder = format!("<secret:{label}>");
        let json = serde_json::to_string(value).unwrap();
        let forms = [
            base64::engine::general_purpose::STANDARD.encode(value),
            json[1..json.len() - 1].to_string(),
            logto_deploy::render::env::pct(value),
            value.clone(),
        ];
        for form in forms {
            if !form.is_empty() {
                out = out.replace(&form, &placeholder);
            }
        }
    }
    out
}

fn inputs_for_masking(config: &Config) -> RuntimeInputs {
    RuntimeInputs::from_env(config, |n| match n {
        "LOGTO_DB_PASSWORD" => Some(FIXTURE_DB_PASSWORD.into()),
        "LOGTO_REDIS_PASSWORD" => Some(FIXTURE_REDIS_PASSWORD.into()),
        _ => None,
    })
    .unwrap_or_default()
}

/// Fail if any 12-character piece of any secret survived in `text`, also inside any
/// base64 token (how Kubernetes Secrets carry values).
pub fn assert_no_secret(text: &str, store: &Store) {
    let mut haystacks = vec![text.to_string()];
    for token in
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
    {
        if token.len() >= 16 {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(token) {
                haystacks.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    let mut secrets = store.secret_values();
    secrets.push(("db-password".into(), FIXTURE_DB_PASSWORD.into()));
    secrets.push(("redis-password".into(), FIXTURE_REDIS_PASSWORD.into()));
    for (label, value) in secrets {
        let chars: Vec<char> = value
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        for chunk in chars.chunks(12).filter(|c| c.len() == 12) {
            let piece: String = chunk.iter().collect();
            for h in &haystacks {
                assert!(!h.contains(&piece), "a piece of {label} leaked: {piece}");
            }
        }
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A complete store from a seeded RNG with an EC P-256 key: fast and deterministic, for
/// tests that render many configs (the store's key type need not match the config's).
pub fn quick_store(profile: &str, seed: u64) -> Store {
    use rand_chacha::rand_core::SeedableRng;
    let spec = logto_deploy::config::model::SecretsSpec {
        signing_key: logto_deploy::config::model::KeyAlgorithm::EcP256,
        cookie_keys: 2,
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    Store::generate(&spec, profile, "2026-01-01T00:00:00Z", &mut rng)
}

/// A TOML basic string holding exactly `s` (every control character escaped).
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, quoted otherwise.
pub fn toml_key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        k.to_string()
    } else {
        toml_string(k)
    }
}

/// Is `program` runnable? Panics when it is required (`LOGTO_DEPLOY_REQUIRE_TOOLS`) but
/// missing; otherwise says it skips.
pub fn have(program: &str, version_arg: &str) -> bool {
    let ok = std::process::Command::new(program)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("LOGTO_DEPLOY_REQUIRE_TOOLS").is_some() {
            panic!(
                "`{program}` is required (LOGTO_DEPLOY_REQUIRE_TOOLS is set) but is not installed"
            );
        }
        eprintln!("SKIPPED: `{program}` is not installed; .ci/run installs it");
    }
    ok
}

/// Parse many `.env` files with the npm `dotenv` package in one Node process. `None`
/// (after saying so, or panicking when tools are required) when Node or the package is
/// missing.
pub fn node_dotenv_parse_all(files: &[PathBuf]) -> Option<Vec<IndexMap<String, String>>> {
    if !have("node", "--version") {
        return None;
    }
    let script = "const d=require('dotenv');const fs=require('fs');\
        process.stdout.write(JSON.stringify(process.argv.slice(1).map(f=>d.parse(fs.readFileSync(f)))))";
    let o = std::process::Command::new("node")
        .arg("-e")
        .arg(script)
        .args(files)
        .output()
        .unwrap();
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        if std::env::var_os("LOGTO_DEPLOY_REQUIRE_TOOLS").is_some() {
            panic!("node could not parse with `dotenv` (set NODE_PATH): {err}");
        }
        eprintln!("SKIPPED: npm package `dotenv` not usable (set NODE_PATH): {err}");
        return None;
    }
    Some(serde_json::from_slice(&o.stdout).expect("node prints JSON"))
}

/// TOML text of a config given as JSON: top-level scalars first, then one `[table]` per
/// object holding scalars (the shape of `logto.toml`).
pub fn toml_text(v: &serde_json::Value) -> String {
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => toml_string(s),
        other => other.to_string(),
    };
    let map = v.as_object().expect("a table");
    let mut text = String::new();
    for (k, x) in map.iter().filter(|(_, x)| !x.is_object()) {
        text.push_str(&format!("{} = {}\n", toml_key(k), scalar(x)));
    }
    for (k, x) in map.iter().filter(|(_, x)| x.is_object()) {
        text.push_str(&format!("[{}]\n", toml_key(k)));
        for (k2, y) in x.as_object().unwrap() {
            text.push_str(&format!("{} = {}\n", toml_key(k2), scalar(y)));
        }
    }
    text
}

/// Run the logto-deploy binary in `dir`.
pub fn run_bin(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_logto-deploy"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Run the binary, require success, and return its stdout.
pub fn ok_bin(dir: &Path, args: &[&str]) -> String {
    let o = run_bin(dir, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
