//! The environment Logto runs with, computed once from the config and the secrets store.
//! Every output (`.env`, compose, Kubernetes) takes its values from this one list, which
//! is what makes a secret identical wherever it appears.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use crate::config::model::{Config, DatabaseKind, DbUrl, RedisUrl};
use crate::error::{Error, Result};
use crate::secrets::Store;

/// Encode everything but RFC 3986 unreserved characters (decodeURIComponent reverses it).
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Host name of the bundled Postgres service (compose service name).
pub const POSTGRES_HOST: &str = "postgres";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
    /// Goes to a Secret, never a ConfigMap; masked in diffs.
    pub secret: bool,
}

/// Values taken from the environment at render time, never stored.
#[derive(Debug, Clone, Default)]
pub struct RuntimeInputs {
    pub db_password: Option<String>,
    pub redis_password: Option<String>,
}

impl RuntimeInputs {
    /// Read the variables the config names (`database.password-env`, `redis.password-env`).
    pub fn from_env(config: &Config, lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let need = |name: &str, what: &str| -> Result<String> {
            match lookup(name) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(Error::refused(
                    format!("environment variable `{name}` ({what}) is not set"),
                    Some(format!(
                        "export {name} before rendering, e.g. from your CI's secret store"
                    )),
                )),
            }
        };
        let db_password = match &config.database.kind {
            DatabaseKind::External {
                password_env: Some(n),
                ..
            } => Some(need(n, "the database password")?),
            _ => None,
        };
        let redis_password = match config.redis.as_ref().and_then(|r| r.password_env.as_ref()) {
            Some(n) => Some(need(n, "the Redis password")?),
            None => None,
        };
        Ok(RuntimeInputs {
            db_password,
            redis_password,
        })
    }
}

/// Percent-encode a URL password or user name (what DB_URL and REDIS_URL carry).
pub fn pct(s: &str) -> String {
    utf8_percent_encode(s, USERINFO).to_string()
}

/// DB_URL with the password percent-encoded.
pub fn db_url(config: &Config, store: &Store, inputs: &RuntimeInputs) -> String {
    match &config.database.kind {
        DatabaseKind::Bundled { name, user, .. } => {
            format!(
                "postgres://{}:{}@{POSTGRES_HOST}:5432/{name}",
                pct(user),
                pct(&store.postgres_password)
            )
        }
        DatabaseKind::External { url, .. } => external_db_url(url, inputs.db_password.as_deref()),
    }
}

fn external_db_url(u: &DbUrl, password: Option<&str>) -> String {
    let mut s = format!("{}://{}", u.scheme, u.user);
    if let Some(p) = password {
        s.push(':');
        s.push_str(&pct(p));
    }
    s.push('@');
    s.push_str(u.host.as_str());
    if let Some(port) = u.port {
        s.push_str(&format!(":{port}"));
    }
    s.push('/');
    s.push_str(&u.database);
    if let Some(q) = &u.query {
        s.push('?');
        s.push_str(q);
    }
    s
}

fn redis_url(u: &RedisUrl, password: Option<&str>) -> String {
    let mut s = format!("{}://", u.scheme);
    match (&u.user, password) {
        (Some(user), Some(p)) => s.push_str(&format!("{user}:{}@", pct(p))),
        (None, Some(p)) => s.push_str(&format!(":{}@", pct(p))),
        (Some(user), None) => s.push_str(&format!("{user}@")),
        (None, None) => {}
    }
    s.push_str(u.host.as_str());
    if let Some(port) = u.port {
        s.push_str(&format!(":{port}"));
    }
    s.push_str(&u.rest);
    s
}

fn var(name: &str, value: impl Into<String>, secret: bool) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: value.into(),
        secret,
    }
}

fn flag(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        "0"
    }
}

/// The variables Logto itself reads, in a stable order.
pub fn logto_env(config: &Config, store: &Store, inputs: &RuntimeInputs) -> Vec<EnvVar> {
    let l = &config.logto;
    let mut v = vec![
        var("ENDPOINT", l.endpoint.to_string(), false),
        var("PORT", l.port.to_string(), false),
    ];
    if config.admin.enabled {
        if let Some(e) = &config.admin.endpoint {
            v.push(var("ADMIN_ENDPOINT", e.to_string(), false));
        }
        v.push(var("ADMIN_PORT", config.admin.port.to_string(), false));
    } else {
        v.push(var("ADMIN_DISABLE_LOCALHOST", "1", false));
    }
    v.push(var("TRUST_PROXY_HEADER", flag(l.trust_proxy_header), false));
    if let Some(h) = &config.https {
        v.push(var("HTTPS_CERT_PATH", h.cert_path.clone(), false));
        v.push(var("HTTPS_KEY_PATH", h.key_path.clone(), false));
    }
    let db = &config.database;
    v.push(var("DB_URL", db_url(config, store, inputs), true));
    v.push(var("DATABASE_POOL_SIZE", db.pool_size.to_string(), false));
    v.push(var(
        "DATABASE_CONNECTION_TIMEOUT",
        db.connection_timeout_ms.to_string(),
        false,
    ));
    v.push(var(
        "DATABASE_STATEMENT_TIMEOUT",
        db.statement_timeout_ms
            .map_or_else(|| "DISABLE_TIMEOUT".to_string(), |t| t.to_string()),
        false,
    ));
    if let Some(r) = &config.redis {
        v.push(var(
            "REDIS_URL",
            redis_url(&r.url, inputs.redis_password.as_deref()),
            r.password_env.is_some(),
        ));
    }
    v.push(var(
        "SECRET_VAULT_KEK",
        store.secret_vault_kek.clone(),
        true,
    ));
    v.push(var(
        "OIDC_PRIVATE_KEYS",
        store.oidc_private_keys_env(),
        true,
    ));
    v.push(var("OIDC_COOKIE_KEYS", store.oidc_cookie_keys_env(), true));
    if let Some(g) = l.private_key_rotation_grace_period {
        v.push(var(
            "PRIVATE_KEY_ROTATION_GRACE_PERIOD",
            g.to_string(),
            false,
        ));
    }
    if l.oidc_ssrf_protection_disabled {
        v.push(var("OIDC_PROVIDER_SSRF_PROTECTION_DISABLED", "1", false));
    }
    if let Some(c) = l.case_sensitive_username {
        v.push(var(
            "CASE_SENSITIVE_USERNAME",
            if c { "true" } else { "false" },
            false,
        ));
    }
    if let Some(ca) = &l.extra_ca_certs {
        v.push(var("NODE_EXTRA_CA_CERTS", ca.clone(), false));
    }
    for (name, value) in &config.extra_env {
        v.push(var(name, value.clone(), looks_secret(name)));
    }
    v
}

/// Names of the variables that carry the store's keys as Logto's `db config set` JSON.
pub const PRIVATE_KEYS_JSON: &str = "LOGTO_DEPLOY_PRIVATE_KEYS_JSON";
pub const COOKIE_KEYS_JSON: &str = "LOGTO_DEPLOY_COOKIE_KEYS_JSON";

/// Variables read only by the key-sync step, which sets the seeded database's keys to
/// exactly the keys of the store (Logto reads OIDC_* variables only when seeding).
pub fn sync_env(store: &Store) -> Vec<EnvVar> {
    vec![
        var(
            PRIVATE_KEYS_JSON,
            crate::secrets::rotate::private_keys_json(store),
            true,
        ),
        var(
            COOKIE_KEYS_JSON,
            crate::secrets::rotate::cookie_keys_json(store),
            true,
        ),
    ]
}

/// Where signing-key files are mounted with `delivery = "key-files"`.
pub const KEYS_DIR: &str = "/etc/logto/keys";
pub const PRIVATE_KEYS_FILE: &str = "LOGTO_DEPLOY_PRIVATE_KEYS_FILE";

/// With `delivery = "key-files"`: the signing keys as files (`oidc-private-key-N.pem`, and
/// `private-keys.json` for the key sync), named relative to `KEYS_DIR`.
pub fn key_files(store: &Store) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = store
        .oidc_private_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (format!("oidc-private-key-{}.pem", i + 1), k.pem.clone()))
        .collect();
    let mut json = crate::secrets::rotate::private_keys_json(store);
    json.push('\n');
    files.push(("private-keys.json".into(), json));
    files
}

/// Switch the variables to key files: OIDC_PRIVATE_KEY_PATHS names the PEM files (the
/// seed guide's method) and the sync step reads its JSON from a file, so no signing key
/// is left in the environment.
pub fn use_key_files(store: &Store, logto: &mut [EnvVar], sync: &mut [EnvVar]) {
    let paths: Vec<String> = (1..=store.oidc_private_keys.len())
        .map(|i| format!("{KEYS_DIR}/oidc-private-key-{i}.pem"))
        .collect();
    if let Some(v) = logto.iter_mut().find(|v| v.name == "OIDC_PRIVATE_KEYS") {
        *v = var("OIDC_PRIVATE_KEY_PATHS", paths.join(","), false);
    }
    if let Some(v) = sync.iter_mut().find(|v| v.name == PRIVATE_KEYS_JSON) {
        *v = var(
            PRIVATE_KEYS_FILE,
            format!("{KEYS_DIR}/private-keys.json"),
            false,
        );
    }
}

/// Variables of the bundled Postgres container (empty for an external database).
pub fn postgres_env(config: &Config, store: &Store) -> Vec<EnvVar> {
    match &config.database.kind {
        DatabaseKind::Bundled { name, user, .. } => vec![
            var("POSTGRES_USER", user.clone(), false),
            var("POSTGRES_PASSWORD", store.postgres_password.clone(), true),
            var("POSTGRES_DB", name.clone(), false),
        ],
        DatabaseKind::External { .. } => Vec::new(),
    }
}

/// Words that make a variable name secret.
pub const SECRET_WORDS: &[&str] = &[
    "KEY",
    "SECRET",
    "PASSWORD",
    "TOKEN",
    "PASS",
    "CREDENTIAL",
    "PRIVATE",
];

/// Extra variables whose names say they hold a secret go to the Secret, not a ConfigMap.
pub fn looks_secret(name: &str) -> bool {
    SECRET_WORDS.iter().any(|w| name.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::resolve::{parse_db_url, parse_redis_url};

    #[test]
    fn passwords_are_percent_encoded() {
        let u = parse_db_url("postgres://logto@db.internal:5432/logto?sslmode=require").unwrap();
        let s = external_db_url(&u, Some("p@ss:w/rd%?#&$ é"));
        assert_eq!(s, "postgres://logto:p%40ss%3Aw%2Frd%25%3F%23%26%24%20%C3%A9@db.internal:5432/logto?sslmode=require");
    }

    #[test]
    fn redis_urls() {
        let u = parse_redis_url("rediss://redis.internal:6380/0?reject_unauthorized=1").unwrap();
        assert_eq!(
            redis_url(&u, Some("a b")),
            "rediss://:a%20b@redis.internal:6380/0?reject_unauthorized=1"
        );
        let u = parse_redis_url("redis://app@redis").unwrap();
        assert_eq!(redis_url(&u, Some("x")), "redis://app:x@redis");
        assert_eq!(redis_url(&u, None), "redis://app@redis");
    }
}
