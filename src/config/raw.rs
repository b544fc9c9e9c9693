//! Stage 1 types: the shape of one `logto.toml` or `profiles/<name>.toml` file as written.
//!
//! Every field is optional so a profile overlay can say only what differs; defaults are
//! applied once, in `resolve`. These types are also the source of the JSON Schema
//! (`logto-deploy schema`), so their doc comments are what editors show.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

/// A `logto.toml` file or a profile overlay.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "logto-deploy configuration")]
pub struct RawConfig {
    /// Editors' `$schema` hint; ignored by logto-deploy.
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// The Logto application itself.
    pub logto: Option<RawLogto>,
    /// The Admin Console.
    pub admin: Option<RawAdmin>,
    /// Let Node serve HTTPS itself (HTTPS_CERT_PATH / HTTPS_KEY_PATH).
    pub https: Option<RawHttps>,
    /// PostgreSQL: bundled (compose) or external.
    pub database: Option<RawDatabase>,
    /// Optional Redis central cache (REDIS_URL).
    pub redis: Option<RawRedis>,
    /// How generated secrets are made.
    pub secrets: Option<RawSecrets>,
    /// docker-compose output settings.
    pub compose: Option<RawCompose>,
    /// Kubernetes output settings.
    pub kubernetes: Option<super::kubernetes::RawKubernetes>,
    /// nginx reverse proxy in front of Logto (`nginx/logto.conf`).
    pub nginx: Option<RawNginx>,
    /// Extra environment variables passed to Logto, by name (`NAME = "value"`).
    pub env: Option<IndexMap<String, String>>,
}

/// The Logto application.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLogto {
    /// Image repository without tag (default `ghcr.io/logto-io/logto`).
    pub image: Option<String>,
    /// Pinned Logto version `X.Y.Z` (default `1.43.0`).
    pub version: Option<String>,
    /// Optional image digest `sha256:<64 hex>`, pinning the image by content.
    pub digest: Option<String>,
    /// Public origin of the default tenant (ENDPOINT), e.g. `https://auth.example.com`.
    pub endpoint: Option<String>,
    /// Main listener port (PORT, default 3001).
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
    /// Trust X-Forwarded-* headers (TRUST_PROXY_HEADER). Required behind a TLS-terminating proxy;
    /// defaults to true when an endpoint is https and Node does not serve HTTPS itself.
    pub trust_proxy_header: Option<bool>,
    /// Seconds a rotated-out signing key keeps verifying (PRIVATE_KEY_ROTATION_GRACE_PERIOD, 1.39+).
    pub private_key_rotation_grace_period: Option<u32>,
    /// Disable the OIDC provider's SSRF protection (1.42+). Off by default.
    pub oidc_ssrf_protection_disabled: Option<bool>,
    /// CASE_SENSITIVE_USERNAME (deprecated since 1.41); unset leaves Logto's default (true).
    pub case_sensitive_username: Option<bool>,
    /// Path of a CA bundle inside the container (NODE_EXTRA_CA_CERTS), e.g. for a private database CA.
    pub extra_ca_certs: Option<String>,
}

/// The Admin Console.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAdmin {
    /// Serve the Admin Console at all (default true). False sets ADMIN_DISABLE_LOCALHOST and no ADMIN_ENDPOINT.
    pub enabled: Option<bool>,
    /// Public origin of the Admin Console (ADMIN_ENDPOINT); must differ from `logto.endpoint`.
    pub endpoint: Option<String>,
    /// Admin listener port (ADMIN_PORT, default 3002).
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
}

/// Node serves HTTPS itself on both ports.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawHttps {
    /// Certificate path inside the container (HTTPS_CERT_PATH).
    pub cert_path: Option<String>,
    /// Private key path inside the container (HTTPS_KEY_PATH).
    pub key_path: Option<String>,
    /// compose: host directory holding both files, mounted read-only at their directory
    /// (`cert-path` and `key-path` must then share one directory), e.g. `/srv/logto/certs` or `../../certs`
    /// (not inside the output directory, which every render replaces).
    pub host_dir: Option<String>,
}

/// Where the database lives: `bundled` (a Postgres container managed by the generated
/// compose file) or `external` (a database you run; give `url`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DatabaseMode {
    Bundled,
    External,
}

/// PostgreSQL settings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawDatabase {
    /// `bundled` (default) or `external`.
    pub mode: Option<DatabaseMode>,
    /// Bundled: Postgres image with a pinned tag (default `postgres:17.6-alpine`).
    pub postgres_image: Option<String>,
    /// Bundled: database name (default `logto`). Letters, digits, `_`, `-`; at most 50.
    pub name: Option<String>,
    /// Bundled: superuser name (default `postgres`).
    pub user: Option<String>,
    /// External: `postgres://user@host:port/database`, without a password.
    pub url: Option<String>,
    /// External: name of an environment variable that holds the password at render time.
    pub password_env: Option<String>,
    /// DATABASE_POOL_SIZE per pool (default 20; about 3 pools per replica).
    #[schemars(range(min = 1, max = 1000))]
    pub pool_size: Option<u32>,
    /// DATABASE_CONNECTION_TIMEOUT in milliseconds (default 5000).
    pub connection_timeout_ms: Option<u32>,
    /// DATABASE_STATEMENT_TIMEOUT in milliseconds (default 60000).
    pub statement_timeout_ms: Option<u32>,
    /// Disable the statement timeout (needed behind PgBouncer / RDS Proxy; Logto 1.36+).
    pub disable_statement_timeout: Option<bool>,
}

/// Redis central cache.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRedis {
    /// `redis://[user@]host[:port][/db][?query]` or `rediss://…`, without a password.
    pub url: Option<String>,
    /// Name of an environment variable that holds the Redis password at render time.
    pub password_env: Option<String>,
}

/// Signing key algorithm: `rsa` (RS256, accepted by every relying party) or `ec` (ES256/ES384).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    Rsa,
    Ec,
}

/// How secrets are generated on the first render of a profile.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSecrets {
    /// OIDC signing key type: `rsa` (default) or `ec`.
    pub signing_key_type: Option<KeyType>,
    /// RSA key size: 2048, 3072 or 4096 (default 4096, as Logto's own rotation makes them).
    #[schemars(extend("enum" = [2048, 3072, 4096]))]
    pub rsa_bits: Option<u32>,
    /// EC curve: `p-256` or `p-384` (default `p-384`).
    #[schemars(extend("enum" = ["p-256", "p-384"]))]
    pub ec_curve: Option<String>,
    /// Number of cookie keys generated at first render (default 1).
    #[schemars(range(min = 1, max = 10))]
    pub cookie_keys: Option<u32>,
    /// How secrets reach Logto: `inline` (default: `.env` and a Kubernetes Secret carry
    /// them), `existing-secret` (you manage them: the outputs only reference them and are
    /// safe to commit) or `key-files` (signing keys as PEM files, OIDC_PRIVATE_KEY_PATHS).
    #[schemars(extend("enum" = ["inline", "existing-secret", "key-files"]))]
    pub delivery: Option<String>,
    /// With `existing-secret`: name of the Kubernetes Secret you manage (default `<kubernetes.name>-secret`).
    pub existing_secret: Option<String>,
    /// With `existing-secret`: key in that Secret for a variable, e.g. `DB_URL = "db-url"`
    /// (default: the variable's own name).
    pub existing_secret_keys: Option<IndexMap<String, String>>,
}

/// docker-compose output.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCompose {
    /// Host address the Logto port is published on (default `127.0.0.1`; put a proxy in front).
    pub publish_address: Option<String>,
    /// Host address the admin port is published on (default `127.0.0.1`).
    pub admin_publish_address: Option<String>,
    /// Restart policy of long-running services (default `unless-stopped`).
    #[schemars(extend("enum" = ["no", "always", "on-failure", "unless-stopped"]))]
    pub restart: Option<String>,
}

/// Where TLS ends in front of Logto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NginxTlsMode {
    /// nginx terminates TLS with `certificate` / `certificate-key` and redirects http to https.
    Nginx,
    /// A load balancer in front of nginx terminates TLS and sends X-Forwarded-Proto.
    UpstreamBalancer,
    /// No TLS anywhere (http endpoints only: local testing).
    None,
}

/// Which Logto port the admin host is proxied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AdminUpstream {
    /// ADMIN_PORT (`admin.port`), the default.
    AdminPort,
    /// PORT (`logto.port`): Logto picks the admin tenant from the Host either way.
    MainPort,
}

/// nginx reverse proxy: routes the ENDPOINT and ADMIN_ENDPOINT hosts to Logto.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawNginx {
    /// Render `nginx/logto.conf` and `nginx/default-server.conf` (default false). Turns on
    /// `logto.trust-proxy-header`.
    pub enabled: Option<bool>,
    /// `nginx` (default for https endpoints), `upstream-balancer` or `none` (default for http endpoints).
    pub tls: Option<NginxTlsMode>,
    /// tls = "nginx": certificate chain path as nginx sees it (ssl_certificate).
    pub certificate: Option<String>,
    /// tls = "nginx": private key path as nginx sees it (ssl_certificate_key).
    pub certificate_key: Option<String>,
    /// compose service: host directory mounted read-only at the directory of `certificate`
    /// and `certificate-key` (which must then share one directory), e.g. `/srv/logto/certs`
    /// (not inside the output directory, which every render replaces).
    pub certificate_host_dir: Option<String>,
    /// Send `Strict-Transport-Security: max-age=31536000` (default: true unless tls = "none").
    pub hsts: Option<bool>,
    /// Addresses or networks allowed to reach the admin host (`allow …; deny all;`); empty = everyone.
    pub admin_allow: Option<Vec<String>>,
    /// tls = "upstream-balancer": addresses of the balancer, trusted for the client address
    /// in X-Forwarded-For (set_real_ip_from). Required with `admin-allow` in that mode.
    pub real_ip_from: Option<Vec<String>>,
    /// Oldest nginx version the config must run on, `X.Y[.Z]` (default `1.22`, or the version
    /// of `image` with `compose-service`). From 1.25.1 on, `http2 on;` replaces `listen … http2`.
    pub min_version: Option<String>,
    /// Hosts running Logto, without port (ports are `logto.port` / `admin.port`). Default:
    /// `logto` with `compose-service`, else the compose publish address.
    pub upstream_hosts: Option<Vec<String>>,
    /// Port the admin host is proxied to: `admin-port` (default) or `main-port`.
    pub admin_upstream: Option<AdminUpstream>,
    /// Idle keepalive connections to Logto per nginx worker (default 32).
    #[schemars(range(min = 1, max = 10000))]
    pub keepalive: Option<u32>,
    /// IP addresses nginx listens on (default: every IPv4 address).
    pub listen: Option<Vec<String>>,
    /// Plain-http port: the redirect to https (tls = "nginx") or where the balancer connects
    /// (tls = "upstream-balancer"). Default 80.
    #[schemars(range(min = 1))]
    pub http_port: Option<u16>,
    /// client_max_body_size, at least `20m` (Logto uploads go up to 20 MB; default `20m`).
    pub client_max_body_size: Option<String>,
    /// Add an `nginx` service to docker-compose.yml; Logto's own ports are then not published.
    pub compose_service: Option<bool>,
    /// compose service image with a pinned tag (default `nginx:1.28.0-alpine`).
    pub image: Option<String>,
}
