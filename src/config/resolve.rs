//! Stage 4: apply defaults once and check every cross-field rule.
//!
//! Input: the merged `RawConfig` and its `Locator`. Output: a `Config` plus warnings, or all
//! errors found (each located in the file that set the offending value).

use super::merge::Locator;
use super::model::*;
use super::raw::*;
use super::types::{self, Endpoint, ImageRepo};
use crate::error::{ConfigDiagnostic, Severity};

mod database;
mod deploy;
mod nginx;
mod secrets;

pub use database::{parse_db_url, parse_redis_url};
use database::{resolve_database, resolve_redis};
use deploy::{resolve_compose, resolve_env};
use secrets::{resolve_delivery, resolve_secrets};

pub const DEFAULT_IMAGE: &str = "ghcr.io/logto-io/logto";
pub const DEFAULT_VERSION: &str = "1.43.0";
pub const DEFAULT_POSTGRES_IMAGE: &str = "postgres:17.6-alpine";

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
