//! Stage 4: apply defaults once and check every cross-field rule.
//!
//! Input: the merged `RawConfig` and its `Locator`. Output: a `Config` plus warnings, or all
//! errors found (each located in the file that set the offending value).

use indexmap::IndexMap;

use super::merge::Locator;
use super::model::*;
use super::raw::*;
use super::types::{self, split_host_port, Endpoint, Host, ImageRepo};
use crate::error::{ConfigDiagnostic, Severity};

mod nginx;

pub const DEFAULT_IMAGE: &str = "ghcr.io/logto-io/logto";
pub const DEFAULT_VERSION: &str = "1.43.0";
pub const DEFAULT_POSTGRES_IMAGE: &str = "postgres:17.6-alpine";

/// Names Logto itself reads that logto-deploy sets from typed settings.
const MANAGED_ENV: &[(&str, &str)] = &[
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
const REJECTED_ENV: &[(&str, &str)] = &[
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

pub(crate) struct Ctx<'a> {
    pub(crate) loc: &'a Locator,
    diags: Vec<ConfigDiagnostic>,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &mut self,
        pointer: &str,
        message: impl Into<String>,
        help: impl Into<Option<String>>,
    ) {
        let d = self
            .loc
            .diag(Severity::Error, pointer, message, "here", help);
        self.diags.push(d);
    }
    pub(crate) fn err_key(
        &mut self,
        pointer: &str,
        message: impl Into<String>,
        help: impl Into<Option<String>>,
    ) {
        let d = self
            .loc
            .diag_key(Severity::Error, pointer, message, "here", help);
        self.diags.push(d);
    }
    pub(crate) fn warn(
        &mut self,
        pointer: &str,
        message: impl Into<String>,
        help: impl Into<Option<String>>,
    ) {
        let d = self
            .loc
            .diag(Severity::Warning, pointer, message, "here", help);
        self.diags.push(d);
    }
    /// A setting that does not apply under `switch` (e.g. `rsa-bits` under an EC key type)
    /// is an error when the same file says both, and ignored when it is inherited from
    /// the base while a profile flips the switch.
    pub(crate) fn inapplicable(
        &mut self,
        setting: &str,
        switch: &str,
        message: String,
        help: String,
    ) {
        let file_of = |p: &str| self.loc.origin(p).map(|o| o.file);
        let switch_file = if self.loc.is_set(switch) {
            file_of(switch)
        } else {
            Some(0)
        };
        if switch_file == file_of(setting) {
            self.err(setting, message, Some(help));
        }
    }
    /// Run a newtype parser; on failure record a located error.
    pub(crate) fn parse<T>(
        &mut self,
        pointer: &str,
        r: Result<T, String>,
        help: Option<&str>,
    ) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(m) => {
                self.err(
                    pointer,
                    format!("`{}`: {m}", super::source::dotted(pointer)),
                    help.map(str::to_string),
                );
                None
            }
        }
    }
}

/// Resolve a merged config. Returns the config when there is no error, and every
/// diagnostic (errors and warnings) in file order.
pub fn resolve(
    raw: &RawConfig,
    loc: &Locator,
    profile: Option<&str>,
    source: String,
) -> (Option<Config>, Vec<ConfigDiagnostic>) {
    let mut cx = Ctx {
        loc,
        diags: Vec::new(),
    };
    let default = RawLogto::default();
    let rl = raw.logto.as_ref().unwrap_or(&default);

    let https = resolve_https(&mut cx, raw.https.as_ref());
    let nginx_enabled = raw.nginx.as_ref().and_then(|n| n.enabled) == Some(true);
    let logto = resolve_logto(&mut cx, rl, matches!(https, Some(Some(_))), nginx_enabled);
    let admin = resolve_admin(&mut cx, raw.admin.as_ref(), logto.as_ref());
    let database = resolve_database(&mut cx, raw.database.as_ref());
    let redis = raw.redis.as_ref().and_then(|r| resolve_redis(&mut cx, r));
    let secrets = resolve_secrets(&mut cx, raw.secrets.as_ref());
    let delivery = resolve_delivery(&mut cx, raw.secrets.as_ref(), raw.env.as_ref());
    let compose = resolve_compose(&mut cx, raw.compose.as_ref());
    let extra_env = resolve_env(&mut cx, raw.env.as_ref());
    let kubernetes = super::kubernetes::resolve(
        &mut cx,
        raw.kubernetes.as_ref(),
        redis.is_some(),
        https.as_ref().and_then(|h| h.as_ref()),
    );
    let nginx = nginx::resolve_nginx(
        &mut cx,
        raw.nginx.as_ref(),
        nginx::Inputs {
            logto: logto.as_ref(),
            admin: admin.as_ref(),
            compose: compose.as_ref(),
        },
    );

    if let (Some(l), Some(a)) = (&logto, &admin) {
        check_ingress_hosts(&mut cx, l, a, raw.kubernetes.as_ref());
    }
    if let (Some(d), Some(k)) = (&database, &kubernetes) {
        let need = k.max_replicas() * 3 * d.pool_size;
        if matches!(d.kind, DatabaseKind::Bundled { .. }) && k.max_replicas() > 1 && need >= 100 {
            cx.warn("/database/pool-size", format!("{} Logto pods × 3 pools × {} connections need {need} connections", k.max_replicas(), d.pool_size), Some("the bundled Postgres allows 100 (`max_connections`); lower `pool-size` or the replica count".into()));
        }
    }
    if let (Some(l), Some(a)) = (&logto, &admin) {
        if a.enabled && l.port == a.port {
            cx.err(
                "/admin/port",
                format!("`admin.port` {} is the same as `logto.port`", a.port),
                Some("give the Admin Console its own port (default 3002)".into()),
            );
        }
    }

    let mut diags = cx.diags;
    diags.sort_by_key(|d| (d.file.as_ref().map(|f| f.name.clone()), d.span.start));
    let failed = diags.iter().any(|d| d.severity == Severity::Error);
    match (
        logto, admin, database, secrets, compose, kubernetes, nginx, failed,
    ) {
        (
            Some(logto),
            Some(admin),
            Some(database),
            Some(secrets),
            Some(compose),
            Some(kubernetes),
            Some(nginx),
            false,
        ) => (
            Some(Config {
                source,
                profile: profile.map(str::to_string),
                logto,
                admin,
                https: https.flatten(),
                database,
                redis,
                secrets,
                delivery,
                compose,
                kubernetes,
                nginx,
                extra_env,
            }),
            diags,
        ),
        _ => (None, diags),
    }
}

/// Ingress rules are by host name: endpoints must be names, and TLS only makes sense for https.
fn check_ingress_hosts(
    cx: &mut Ctx,
    l: &Logto,
    a: &Admin,
    k: Option<&super::kubernetes::RawKubernetes>,
) {
    let Some(ingress) = k
        .and_then(|k| k.ingress.as_ref())
        .filter(|i| i.enabled != Some(false))
    else {
        return;
    };
    let mut hosts = vec![(
        "/logto/endpoint",
        &l.endpoint,
        &ingress.tls_secret,
        "tls-secret",
    )];
    if let (true, Some(e)) = (a.enabled, &a.endpoint) {
        hosts.push((
            "/admin/endpoint",
            e,
            &ingress.admin_tls_secret,
            "admin-tls-secret",
        ));
    }
    for (pointer, endpoint, tls, field) in hosts {
        let host = endpoint.host.as_str();
        if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
            cx.err(
                pointer,
                format!("`{endpoint}` uses an IP address, but Ingress rules match host names"),
                Some("use a DNS name, or disable `[kubernetes.ingress]`".into()),
            );
        }
        if tls.is_some() && !endpoint.https {
            cx.warn(
                &format!("/kubernetes/ingress/{field}"),
                format!("a TLS Secret is set for the plain-http endpoint `{endpoint}`"),
                Some("make the endpoint https, or remove the Secret".into()),
            );
        }
    }
}

/// `Some(None)` = no HTTPS, `Some(Some(..))` = HTTPS in Node, `None` = invalid.
fn resolve_https(cx: &mut Ctx, raw: Option<&RawHttps>) -> Option<Option<Https>> {
    let Some(raw) = raw else { return Some(None) };
    match (&raw.cert_path, &raw.key_path) {
        (None, None) => {
            if raw.host_dir.is_some() {
                cx.err(
                    "/https/host-dir",
                    "`https.host-dir` is set but `https.cert-path` and `https.key-path` are not",
                    Some("set both paths, or remove `host-dir`".into()),
                );
                return None;
            }
            Some(None)
        }
        (Some(c), Some(k)) => {
            let c = cx.parse(
                "/https/cert-path",
                types::check_container_path(c).map(|_| c.clone()),
                None,
            );
            let k = cx.parse(
                "/https/key-path",
                types::check_container_path(k).map(|_| k.clone()),
                None,
            );
            let https = Https {
                cert_path: c?,
                key_path: k?,
                host_dir: raw.host_dir.clone(),
            };
            nginx::check_https_host_dir(cx, &https).then_some(Some(https))
        }
        (Some(_), None) => {
            cx.err("/https/cert-path", "`https.cert-path` is set but `https.key-path` is not", Some("Logto serves HTTPS only with both HTTPS_CERT_PATH and HTTPS_KEY_PATH: set both or neither".into()));
            None
        }
        (None, Some(_)) => {
            cx.err("/https/key-path", "`https.key-path` is set but `https.cert-path` is not", Some("Logto serves HTTPS only with both HTTPS_CERT_PATH and HTTPS_KEY_PATH: set both or neither".into()));
            None
        }
    }
}

fn resolve_logto(cx: &mut Ctx, rl: &RawLogto, node_https: bool, nginx: bool) -> Option<Logto> {
    let image = cx.parse(
        "/logto/image",
        ImageRepo::parse(rl.image.as_deref().unwrap_or(DEFAULT_IMAGE)),
        None,
    );
    let version = rl.version.clone().unwrap_or_else(|| DEFAULT_VERSION.into());
    let version_ok = cx.parse(
        "/logto/version",
        types::parse_version(&version),
        Some("pin an exact release, e.g. `version = \"1.43.0\"`"),
    );
    let digest = match &rl.digest {
        Some(d) => cx.parse(
            "/logto/digest",
            types::check_digest(d).map(|_| Some(d.clone())),
            None,
        )?,
        None => None,
    };
    let endpoint = match &rl.endpoint {
        Some(e) => cx.parse("/logto/endpoint", Endpoint::parse(e), Some("write the public origin, e.g. `https://auth.example.com`: Logto cannot be served under a sub-path")),
        None => {
            cx.err_key("/logto", "`logto.endpoint` is not set", Some("set the public origin users reach Logto at, e.g. `endpoint = \"https://auth.example.com\"`".into()));
            None
        }
    };
    if let Some(e) = &endpoint {
        if !e.https && !e.host.is_loopback() {
            cx.warn(
                "/logto/endpoint",
                format!("`logto.endpoint` `{e}` is plain http"),
                Some(
                    "OIDC over plain http leaks tokens; use https for anything but local testing"
                        .into(),
                ),
            );
        }
    }
    let behind_tls_proxy = endpoint.as_ref().is_some_and(|e| e.https) && !node_https;
    let trust_proxy_header = match rl.trust_proxy_header {
        Some(false) if nginx => {
            cx.err("/logto/trust-proxy-header", "`logto.trust-proxy-header = false` with `nginx.enabled = true`", Some("nginx sends the client's Host, proto and address in X-Forwarded-*, and Logto picks the tenant from them: remove this line or set it to true".into()));
            false
        }
        Some(false) if behind_tls_proxy => {
            cx.err("/logto/trust-proxy-header", "`logto.trust-proxy-header = false` with an https endpoint that Node does not serve itself", Some("TLS ends at a proxy in front of Logto, so Logto must trust X-Forwarded-Proto: remove this line or set it to true".into()));
            false
        }
        Some(v) => v,
        None => behind_tls_proxy || nginx,
    };
    if let Some(path) = &rl.extra_ca_certs {
        cx.parse(
            "/logto/extra-ca-certs",
            types::check_container_path(path),
            None,
        );
    }
    let port = rl.port.unwrap_or(3001);
    version_ok?;
    Some(Logto {
        image: image?,
        version,
        digest,
        endpoint: endpoint?,
        port,
        trust_proxy_header,
        private_key_rotation_grace_period: rl.private_key_rotation_grace_period,
        oidc_ssrf_protection_disabled: rl.oidc_ssrf_protection_disabled.unwrap_or(false),
        case_sensitive_username: rl.case_sensitive_username,
        extra_ca_certs: rl.extra_ca_certs.clone(),
    })
}

fn resolve_admin(cx: &mut Ctx, raw: Option<&RawAdmin>, logto: Option<&Logto>) -> Option<Admin> {
    let default = RawAdmin::default();
    let raw = raw.unwrap_or(&default);
    let enabled = raw.enabled.unwrap_or(true);
    let port = raw.port.unwrap_or(3002);
    let endpoint = match (&raw.endpoint, enabled) {
        (Some(_), false) => {
            cx.inapplicable("/admin/endpoint", "/admin/enabled", "`admin.endpoint` is set but `admin.enabled = false`".into(), "remove `admin.endpoint`, or enable the console".into());
            None
        }
        (Some(e), true) => Some(cx.parse("/admin/endpoint", Endpoint::parse(e), Some("write the public origin, e.g. `https://admin.example.com`: the console cannot be served under a sub-path"))?),
        (None, _) => None,
    };
    if let (Some(a), Some(l)) = (&endpoint, logto) {
        if *a == l.endpoint {
            cx.err("/admin/endpoint", format!("`admin.endpoint` is the same origin as `logto.endpoint` ({a})"), Some("Logto picks the tenant by origin: give the console its own host name (or port), e.g. `https://admin.example.com`".into()));
        }
        if !a.https && !a.host.is_loopback() {
            cx.warn("/admin/endpoint", format!("`admin.endpoint` `{a}` is plain http"), Some("the Admin Console needs a secure context (https or localhost) and its first visitor becomes the admin".into()));
        }
    }
    Some(Admin {
        enabled,
        endpoint,
        port,
    })
}

fn resolve_database(cx: &mut Ctx, raw: Option<&RawDatabase>) -> Option<Database> {
    let default = RawDatabase::default();
    let raw = raw.unwrap_or(&default);
    let mode = raw.mode.unwrap_or(DatabaseMode::Bundled);
    let kind = match mode {
        DatabaseMode::Bundled => {
            for (field, set) in [
                ("url", raw.url.is_some()),
                ("password-env", raw.password_env.is_some()),
            ] {
                if set {
                    cx.inapplicable(&format!("/database/{field}"), "/database/mode", format!("`database.{field}` is only used with `mode = \"external\"`"), "the bundled database gets a generated password; remove this line or set `mode = \"external\"`".into());
                }
            }
            let image = raw
                .postgres_image
                .clone()
                .unwrap_or_else(|| DEFAULT_POSTGRES_IMAGE.into());
            let major = cx.parse("/database/postgres-image", postgres_major(&image), None);
            let name = raw.name.clone().unwrap_or_else(|| "logto".into());
            let name_ok = cx.parse("/database/name", check_db_name(&name), None);
            let user = raw.user.clone().unwrap_or_else(|| "postgres".into());
            let user_ok = cx.parse(
                "/database/user",
                check_identifier(&user, "a Postgres user name"),
                None,
            );
            name_ok?;
            user_ok?;
            DatabaseKind::Bundled {
                image,
                major: major?,
                name,
                user,
            }
        }
        DatabaseMode::External => {
            for (field, set) in [
                ("postgres-image", raw.postgres_image.is_some()),
                ("name", raw.name.is_some()),
                ("user", raw.user.is_some()),
            ] {
                if set {
                    cx.inapplicable(
                        &format!("/database/{field}"),
                        "/database/mode",
                        format!("`database.{field}` is only used with the bundled database"),
                        "with `mode = \"external\"` the user and database name are part of `url`"
                            .into(),
                    );
                }
            }
            let Some(url) = &raw.url else {
                cx.err_key("/database", "`database.url` is required with `mode = \"external\"`", Some("e.g. `url = \"postgres://logto@db.internal:5432/logto\"` and `password-env = \"LOGTO_DB_PASSWORD\"`".into()));
                return None;
            };
            let url = cx.parse("/database/url", parse_db_url(url), None)?;
            let password_env = match &raw.password_env {
                Some(n) => Some(cx.parse(
                    "/database/password-env",
                    types::check_env_name(n).map(|_| n.clone()),
                    None,
                )?),
                None => None,
            };
            DatabaseKind::External { url, password_env }
        }
    };
    if raw.disable_statement_timeout == Some(true) && raw.statement_timeout_ms.is_some() {
        cx.err(
            "/database/statement-timeout-ms",
            "`database.statement-timeout-ms` is set but `disable-statement-timeout = true`",
            Some("keep one of the two".into()),
        );
    }
    let pool_size = raw.pool_size.unwrap_or(20);
    if pool_size * 3 >= 100 {
        cx.warn("/database/pool-size", format!("3 pools of {pool_size} connections per Logto process need {} connections", pool_size * 3), Some("Postgres allows 100 by default (`max_connections`); lower `pool-size` or raise max_connections".into()));
    }
    Some(Database {
        kind,
        pool_size,
        connection_timeout_ms: raw.connection_timeout_ms.unwrap_or(5000),
        statement_timeout_ms: if raw.disable_statement_timeout == Some(true) {
            None
        } else {
            Some(raw.statement_timeout_ms.unwrap_or(60000))
        },
    })
}

/// The Postgres major version from an image reference like `postgres:17.6-alpine`.
fn postgres_major(image: &str) -> Result<u32, String> {
    let (repo, tag) = match image.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => return Err(format!("`{image}` has no tag; pin the major version, e.g. `postgres:17.6-alpine` (a new major cannot read the old data directory)")),
    };
    let tag = tag.split('@').next().unwrap_or(tag);
    ImageRepo::parse(repo)?;
    types::check_tag(tag)?;
    let major: String = tag.chars().take_while(char::is_ascii_digit).collect();
    match major.parse::<u32>() {
        Ok(m) if (9..=99).contains(&m) => Ok(m),
        _ => Err(format!("the tag of `{image}` does not start with a Postgres major version; pin one, e.g. `postgres:17.6-alpine`")),
    }
}

/// Logto puts the database name unquoted into `create role logto_tenant_<db>`.
fn check_db_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 50
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a usable database name: Logto needs letters, digits, `_` and `-`, at most 50 characters"))
    }
}

fn check_identifier(s: &str, what: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not {what} (letters, digits and `_`, at most 63)"
        ))
    }
}

fn url_safe(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~%".contains(c) || extra.contains(c))
        && valid_percent_escapes(s)
}

fn valid_percent_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// Parse `postgres[ql]://user@host[:port]/db[?query]`.
pub fn parse_db_url(s: &str) -> Result<DbUrl, String> {
    let (scheme, rest) = s.split_once("://").ok_or_else(|| {
        format!("`{s}` is not a URL like `postgres://logto@db.internal:5432/logto`")
    })?;
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(format!(
            "the scheme `{scheme}` is not `postgres` or `postgresql`"
        ));
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q.to_string())),
        None => (rest, None),
    };
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    if before_query[..authority_end]
        .rsplit_once('@')
        .is_some_and(|(u, _)| u.contains(':'))
    {
        return Err("the URL contains a password; never write it in logto.toml: set `password-env` to the name of a variable that holds it".into());
    }
    let (authority, database) = before_query.split_once('/').ok_or_else(|| {
        "the URL names no database: Logto needs one, e.g. `…:5432/logto`".to_string()
    })?;
    if database.is_empty() {
        return Err("the URL names no database: Logto needs one, e.g. `…:5432/logto`".into());
    }
    check_db_name(database)?;
    let (userinfo, hostport) = authority.rsplit_once('@').ok_or_else(|| {
        "the URL names no user, e.g. `postgres://logto@db.internal/logto`".to_string()
    })?;
    if userinfo.contains(':') {
        return Err("the URL contains a password; never write it in logto.toml".into());
    }
    if userinfo.is_empty() || !url_safe(userinfo, "") {
        return Err(format!(
            "the user `{userinfo}` must be non-empty and percent-encoded"
        ));
    }
    let (host, port) = split_host_port(hostport)?;
    let host = Host::parse(host)?;
    if let Some(q) = &query {
        if q.is_empty() || !url_safe(q, "=&/:,") {
            return Err(format!("the query `{q}` may only hold `name=value` pairs joined by `&` (percent-encode anything else)"));
        }
    }
    Ok(DbUrl {
        scheme: scheme.into(),
        user: userinfo.into(),
        host,
        port,
        database: database.into(),
        query,
    })
}

fn resolve_redis(cx: &mut Ctx, raw: &RawRedis) -> Option<Redis> {
    let Some(url) = &raw.url else {
        if raw.password_env.is_some() {
            cx.err(
                "/redis/password-env",
                "`redis.password-env` is set but `redis.url` is not",
                Some("add `url = \"redis://redis:6379\"`".into()),
            );
        }
        return None;
    };
    let url = cx.parse("/redis/url", parse_redis_url(url), None)?;
    let password_env = match &raw.password_env {
        Some(n) => Some(cx.parse(
            "/redis/password-env",
            types::check_env_name(n).map(|_| n.clone()),
            None,
        )?),
        None => None,
    };
    Some(Redis { url, password_env })
}

pub fn parse_redis_url(s: &str) -> Result<RedisUrl, String> {
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| format!("`{s}` is not a URL like `redis://redis:6379`"))?;
    if scheme != "redis" && scheme != "rediss" {
        return Err(format!("the scheme `{scheme}` is not `redis` or `rediss`"));
    }
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => {
            if u.contains(':') {
                return Err("the URL contains a password; set `redis.password-env` instead".into());
            }
            if u.is_empty() || !url_safe(u, "") {
                return Err(format!(
                    "the user `{u}` must be non-empty and percent-encoded"
                ));
            }
            (Some(u.to_string()), h)
        }
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport)?;
    let host = Host::parse(host)?;
    if !url_safe(tail, "=&/:,?") {
        return Err(format!(
            "`{tail}` may only hold a database number and `name=value` pairs"
        ));
    }
    Ok(RedisUrl {
        scheme: scheme.into(),
        user,
        host,
        port,
        rest: tail.into(),
    })
}

fn resolve_secrets(cx: &mut Ctx, raw: Option<&RawSecrets>) -> Option<SecretsSpec> {
    let default = RawSecrets::default();
    let raw = raw.unwrap_or(&default);
    let signing_key = match raw.signing_key_type.unwrap_or(KeyType::Rsa) {
        KeyType::Rsa => {
            if raw.ec_curve.is_some() {
                cx.inapplicable(
                    "/secrets/ec-curve",
                    "/secrets/signing-key-type",
                    "`secrets.ec-curve` applies only to `signing-key-type = \"ec\"`".into(),
                    "remove it, or set `signing-key-type = \"ec\"`".into(),
                );
            }
            KeyAlgorithm::Rsa(raw.rsa_bits.unwrap_or(4096))
        }
        KeyType::Ec => {
            if raw.rsa_bits.is_some() {
                cx.inapplicable(
                    "/secrets/rsa-bits",
                    "/secrets/signing-key-type",
                    "`secrets.rsa-bits` applies only to `signing-key-type = \"rsa\"`".into(),
                    "remove it, or set `signing-key-type = \"rsa\"`".into(),
                );
            }
            match raw.ec_curve.as_deref() {
                Some("p-256") => KeyAlgorithm::EcP256,
                _ => KeyAlgorithm::EcP384,
            }
        }
    };
    Some(SecretsSpec {
        signing_key,
        cookie_keys: raw.cookie_keys.unwrap_or(1),
    })
}

/// Variables that can live in a user-managed Secret (see `render::env`).
const SECRET_VARIABLES: &[&str] = &[
    "DB_URL",
    "REDIS_URL",
    "SECRET_VAULT_KEK",
    "OIDC_PRIVATE_KEYS",
    "OIDC_COOKIE_KEYS",
    "LOGTO_DEPLOY_PRIVATE_KEYS_JSON",
    "LOGTO_DEPLOY_COOKIE_KEYS_JSON",
    "POSTGRES_PASSWORD",
];

fn resolve_delivery(
    cx: &mut Ctx,
    raw: Option<&RawSecrets>,
    env: Option<&IndexMap<String, String>>,
) -> Delivery {
    let default = RawSecrets::default();
    let raw = raw.unwrap_or(&default);
    match raw.delivery.as_deref() {
        Some("existing-secret") => {
            if let Some(name) = &raw.existing_secret {
                cx.parse(
                    "/secrets/existing-secret",
                    super::kubernetes::check_dns_subdomain(name),
                    None,
                );
            }
            let mut keys = IndexMap::new();
            for (var, key) in raw.existing_secret_keys.iter().flatten() {
                let pointer = format!(
                    "/secrets/existing-secret-keys/{}",
                    super::source::pointer_segment(var)
                );
                let known = SECRET_VARIABLES.contains(&var.as_str())
                    || env.is_some_and(|e| e.contains_key(var));
                if !known {
                    let list = SECRET_VARIABLES.join("`, `");
                    cx.err_key(
                        &pointer,
                        format!("`{var}` is not a secret variable logto-deploy writes"),
                        Some(format!("map one of `{list}` (or a variable of `[env]`)")),
                    );
                    continue;
                }
                let key_ok = !key.is_empty()
                    && key.len() <= 253
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
                if !key_ok {
                    cx.err(
                        &pointer,
                        format!("`{key}` is not a Secret key (letters, digits, `-`, `_` and `.`)"),
                        None,
                    );
                    continue;
                }
                keys.insert(var.clone(), key.clone());
            }
            Delivery::ExistingSecret {
                name: raw.existing_secret.clone(),
                keys,
            }
        }
        other => {
            for (field, set) in [
                ("existing-secret", raw.existing_secret.is_some()),
                ("existing-secret-keys", raw.existing_secret_keys.is_some()),
            ] {
                if set {
                    cx.inapplicable(
                        &format!("/secrets/{field}"),
                        "/secrets/delivery",
                        format!(
                            "`secrets.{field}` applies only to `delivery = \"existing-secret\"`"
                        ),
                        "remove it, or set `delivery = \"existing-secret\"`".into(),
                    );
                }
            }
            if other == Some("key-files") {
                Delivery::KeyFiles
            } else {
                Delivery::Inline
            }
        }
    }
}

fn resolve_compose(cx: &mut Ctx, raw: Option<&RawCompose>) -> Option<Compose> {
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

fn resolve_env(cx: &mut Ctx, raw: Option<&IndexMap<String, String>>) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for (name, value) in raw.into_iter().flatten() {
        let pointer = format!("/env/{}", super::source::pointer_segment(name));
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
