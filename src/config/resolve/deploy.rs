//! Resolve `[compose]` and `[env]`: publish addresses, restart policy, and extra
//! variables (refusing names Logto does not read, or that logto-deploy sets itself).

use indexmap::IndexMap;

use super::super::model::*;
use super::super::raw::*;
use super::super::types;
use super::Ctx;

/// Names Logto itself reads that logto-deploy sets from typed settings.
pub(super) const MANAGED_ENV: &[(&str, &str)] = &[
    ("DB_URL", "the [database] table"),
    ("PORT", "`logto.port`"),
    ("ADMIN_PORT", "`admin.port`"),
    ("ENDPOINT", "`logto.endpoint`"),
    ("ADMIN_ENDPOINT", "`admin.endpoint`"),
    ("ADMIN_DISABLE_LOCALHOST", "`admin.enabled = false`"),
    ("TRUST_PROXY_HEADER", "`logto.trust-proxy-header`"),
    ("HTTPS_CERT_PATH", "`https.cert-path`"),
    ("HTTPS_KEY_PATH", "`https.key-path`"),
    ("DATABASE_POOL_SIZE", "`database.pool-size`"),
    (
        "DATABASE_CONNECTION_TIMEOUT",
        "`database.connection-timeout-ms`",
    ),
    (
        "DATABASE_STATEMENT_TIMEOUT",
        "`database.statement-timeout-ms`",
    ),
    ("REDIS_URL", "the [redis] table"),
    ("SECRET_VAULT_KEK", "the secrets store (generated once)"),
    ("OIDC_PRIVATE_KEYS", "the secrets store (generated once)"),
    (
        "OIDC_PRIVATE_KEY_PATHS",
        "the secrets store (generated once)",
    ),
    ("OIDC_COOKIE_KEYS", "the secrets store (generated once)"),
    (
        "PRIVATE_KEY_ROTATION_GRACE_PERIOD",
        "`logto.private-key-rotation-grace-period`",
    ),
    (
        "OIDC_PROVIDER_SSRF_PROTECTION_DISABLED",
        "`logto.oidc-ssrf-protection-disabled`",
    ),
    ("CASE_SENSITIVE_USERNAME", "`logto.case-sensitive-username`"),
    ("NODE_EXTRA_CA_CERTS", "`logto.extra-ca-certs`"),
    ("POSTGRES_USER", "`database.user`"),
    ("POSTGRES_PASSWORD", "the secrets store (generated once)"),
    ("POSTGRES_DB", "`database.name`"),
    ("CI", "logto-deploy (set only where migrations run)"),
];

/// Names that are legacy, misspelled or harmful.
pub(super) const REJECTED_ENV: &[(&str, &str)] = &[
    (
        "DISABLE_LOCALHOST",
        "Logto crashes at startup with it; use `admin.enabled = false`",
    ),
    (
        "LOGTO_ENDPOINT",
        "Logto does not read it; use `logto.endpoint`",
    ),
    (
        "DATABASE_URL",
        "Logto does not read it; use the [database] table (DB_URL)",
    ),
    (
        "DB_URL_DEFAULT",
        "a legacy name Logto no longer reads; use the [database] table",
    ),
    (
        "OIDC_PRIVATE_KEY",
        "a legacy name; signing keys come from the secrets store",
    ),
    (
        "OIDC_PRIVATE_KEY_PATH",
        "a legacy name; signing keys come from the secrets store",
    ),
    ("ALL_YES", "a legacy CLI switch that current Logto ignores"),
    (
        "NO_INQUIRY",
        "a legacy CLI switch that current Logto ignores",
    ),
    (
        "TLS_CERT_FILE",
        "Logto does not read it; use `https.cert-path`",
    ),
    (
        "TLS_KEY_FILE",
        "Logto does not read it; use `https.key-path`",
    ),
];

pub(super) fn resolve_compose(cx: &mut Ctx, raw: Option<&RawCompose>) -> Option<Compose> {
    let default = RawCompose::default();
    let raw = raw.unwrap_or(&default);
    let mut address = |field: &str, v: &Option<String>| -> Option<String> {
        let v = v.clone().unwrap_or_else(|| "127.0.0.1".into());
        let pointer = format!("/compose/{field}");
        match v.parse::<std::net::IpAddr>() {
            Ok(ip) => {
                if ip.is_unspecified() {
                    cx.warn(
                        &pointer,
                        format!("`compose.{field}` `{v}` publishes Logto on every interface"),
                        Some("put a reverse proxy in front and publish on 127.0.0.1".into()),
                    );
                }
                Some(match ip {
                    std::net::IpAddr::V6(_) => format!("[{ip}]"),
                    std::net::IpAddr::V4(_) => ip.to_string(),
                })
            }
            Err(_) => {
                cx.err(
                    &pointer,
                    format!("`compose.{field}`: `{v}` is not an IP address"),
                    Some("use an address of the host, e.g. `127.0.0.1`".into()),
                );
                None
            }
        }
    };
    let publish_address = address("publish-address", &raw.publish_address);
    let admin_publish_address = address("admin-publish-address", &raw.admin_publish_address);
    Some(Compose {
        publish_address: publish_address?,
        admin_publish_address: admin_publish_address?,
        restart: raw
            .restart
            .clone()
            .unwrap_or_else(|| "unless-stopped".into()),
    })
}

pub(super) fn resolve_env(
    cx: &mut Ctx,
    raw: Option<&IndexMap<String, String>>,
) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for (name, value) in raw.into_iter().flatten() {
        let pointer = format!("/env/{}", crate::config::source::pointer_segment(name));
        if let Err(m) = types::check_env_name(name) {
            cx.err_key(&pointer, m, None);
            continue;
        }
        if let Some((_, why)) = REJECTED_ENV.iter().find(|(n, _)| n == name) {
            cx.err_key(
                &pointer,
                format!("`{name}` must not be set"),
                Some(why.to_string()),
            );
            continue;
        }
        if let Some((_, instead)) = MANAGED_ENV.iter().find(|(n, _)| n == name) {
            cx.err_key(
                &pointer,
                format!("`{name}` is set by logto-deploy"),
                Some(format!("use {instead} instead")),
            );
            continue;
        }
        if let Err(m) = crate::render::escape::dotenv_representable(value) {
            cx.err(&pointer, format!("`env.{name}`: {m}"), None);
            continue;
        }
        out.insert(name.clone(), value.clone());
    }
    out
}
