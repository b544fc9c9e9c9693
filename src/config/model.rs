//! Stage 4 output: the resolved configuration, with every default applied and every
//! cross-field rule checked. Everything after this stage trusts these values.

use indexmap::IndexMap;
use serde::Serialize;

use super::types::{Cidr, Endpoint, Host, ImageRepo};

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The files this config came from, as shown in banners (`logto.toml + profiles/prod.toml`).
    pub source: String,
    /// Profile name, or `None` for the base file alone.
    pub profile: Option<String>,
    pub logto: Logto,
    pub admin: Admin,
    pub https: Option<Https>,
    pub database: Database,
    pub redis: Option<Redis>,
    pub secrets: SecretsSpec,
    /// How secret values reach the containers.
    pub delivery: Delivery,
    pub compose: Compose,
    pub kubernetes: super::kubernetes::Kubernetes,
    /// The nginx reverse proxy, when enabled.
    pub nginx: Option<Nginx>,
    /// Extra environment variables, in the order written.
    pub extra_env: IndexMap<String, String>,
}

impl Config {
    /// The profile name used in paths and banners (`base` without a profile).
    pub fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or("base")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Logto {
    pub image: ImageRepo,
    pub version: String,
    pub digest: Option<String>,
    pub endpoint: Endpoint,
    pub port: u16,
    pub trust_proxy_header: bool,
    pub private_key_rotation_grace_period: Option<u32>,
    pub oidc_ssrf_protection_disabled: bool,
    pub case_sensitive_username: Option<bool>,
    pub extra_ca_certs: Option<String>,
}

impl Logto {
    /// `repo:version[@digest]`.
    pub fn image_ref(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}:{}@{d}", self.image.as_str(), self.version),
            None => format!("{}:{}", self.image.as_str(), self.version),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Admin {
    pub enabled: bool,
    /// Public origin; `None` leaves Logto's default (`http://localhost:<port>`).
    pub endpoint: Option<Endpoint>,
    pub port: u16,
}

#[derive(Debug, Clone, Serialize)]
pub struct Https {
    pub cert_path: String,
    pub key_path: String,
    /// compose: host directory mounted read-only at `dir()`.
    pub host_dir: Option<String>,
}

impl Https {
    /// The directory holding both files, when they share one: what a volume (compose bind
    /// mount, Kubernetes Secret) is mounted at.
    pub fn dir(&self) -> Option<&str> {
        let c = self.cert_path.rsplit_once('/')?.0;
        let k = self.key_path.rsplit_once('/')?.0;
        (c == k && !c.is_empty()).then_some(c)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Database {
    pub kind: DatabaseKind,
    pub pool_size: u32,
    pub connection_timeout_ms: u32,
    /// `None` = `DISABLE_TIMEOUT`.
    pub statement_timeout_ms: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub enum DatabaseKind {
    Bundled {
        image: String,
        /// Postgres major version, from the image tag (decides the data directory).
        major: u32,
        name: String,
        user: String,
    },
    External {
        url: DbUrl,
        password_env: Option<String>,
    },
}

/// A Postgres URL without password: `postgres://user@host[:port]/database[?query]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbUrl {
    pub scheme: String,
    /// Already percent-encoded as written.
    pub user: String,
    pub host: Host,
    pub port: Option<u16>,
    pub database: String,
    pub query: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Redis {
    pub url: RedisUrl,
    pub password_env: Option<String>,
}

/// `redis[s]://[user@]host[:port][/db][?query]`, without password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisUrl {
    pub scheme: String,
    pub user: Option<String>,
    pub host: Host,
    pub port: Option<u16>,
    /// Path and query, verbatim (validated characters only).
    pub rest: String,
}

/// Which signing key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyAlgorithm {
    Rsa(u32),
    EcP256,
    EcP384,
}

impl KeyAlgorithm {
    /// Stable name stored with each key (`rsa-4096`, `ec-p-384`).
    pub fn name(self) -> String {
        match self {
            KeyAlgorithm::Rsa(bits) => format!("rsa-{bits}"),
            KeyAlgorithm::EcP256 => "ec-p-256".into(),
            KeyAlgorithm::EcP384 => "ec-p-384".into(),
        }
    }
}

/// How secret values reach the containers (`[secrets] delivery`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Delivery {
    /// `.env` and the Kubernetes Secret carry the values.
    Inline,
    /// The user manages them: a Kubernetes Secret of this name (keys mapped per variable)
    /// and, for compose, a `secrets.env` beside the outputs.
    ExistingSecret {
        name: Option<String>,
        keys: IndexMap<String, String>,
    },
    /// Signing keys as PEM files (OIDC_PRIVATE_KEY_PATHS), the rest inline.
    KeyFiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretsSpec {
    pub signing_key: KeyAlgorithm,
    pub cookie_keys: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Compose {
    pub publish_address: String,
    pub admin_publish_address: String,
    pub restart: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Nginx {
    pub tls: NginxTls,
    /// `Strict-Transport-Security` on proxied answers.
    pub hsts: bool,
    pub admin_allow: Vec<Cidr>,
    /// Oldest nginx the config must run on.
    pub min_version: (u32, u32, u32),
    pub upstream_hosts: Vec<Host>,
    /// Hosts of the admin upstream (with ADMIN_PORT).
    pub admin_upstream_hosts: Vec<Host>,
    /// The admin host goes to ADMIN_PORT (true) or PORT (false).
    pub admin_to_admin_port: bool,
    pub keepalive: u32,
    /// Empty = every IPv4 address.
    pub listen: Vec<std::net::IpAddr>,
    pub http_port: u16,
    /// As written, validated (`20m`).
    pub client_max_body_size: String,
    pub compose: Option<NginxCompose>,
}

impl Nginx {
    /// `http2 on;` exists from 1.25.1; older versions take `http2` on `listen`.
    pub fn http2_directive(&self) -> bool {
        self.min_version >= (1, 25, 1)
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum NginxTls {
    Nginx {
        certificate: String,
        certificate_key: String,
        /// compose: host directory mounted at the certificates' directory.
        host_dir: Option<String>,
    },
    UpstreamBalancer {
        real_ip_from: Vec<Cidr>,
    },
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct NginxCompose {
    pub image: String,
}
