//! Stage 4 output: the resolved configuration, with every default applied and every
//! cross-field rule checked. Everything after this stage trusts these values.

use indexmap::IndexMap;
use serde::Serialize;

use super::types::{Endpoint, Host, ImageRepo};

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
    pub compose: Compose,
    pub kubernetes: super::kubernetes::Kubernetes,
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
