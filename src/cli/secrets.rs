//! `logto-deploy secrets …`: show (masked), rotate and prune the secrets store of a
//! profile. Clap types and the glue that prints; the operations live in
//! `secrets::rotate`, the file handling in `secrets::store`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::config::{self, model::KeyAlgorithm};
use crate::error::{Error, Result};
use crate::render::env::{self, EnvVar, RuntimeInputs};
use crate::render::{self, escape, Renderer};
use crate::secrets::rotate::{self, Change, DEFAULT_COOKIE_KEYS_KEPT};
use crate::secrets::store::{self, Store};

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// The profile whose store to use (default: the base file's store, `base`).
    #[arg(long, short = 'p', value_name = "NAME", global = true)]
    pub profile: Option<String>,
    /// Directory of the secrets store (default `.logto-secrets` beside the config).
    #[arg(long, value_name = "DIR", global = true)]
    pub secrets_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub action: SecretsAction,
}

#[derive(Debug, Subcommand)]
pub enum SecretsAction {
    /// Show the store: key ids, algorithms, creation times and fingerprints; values only with --reveal.
    Show {
        /// Print the secret values themselves.
        #[arg(long)]
        reveal: bool,
    },
    /// Make a new key; older keys keep verifying (signing and cookie keys).
    #[command(subcommand)]
    Rotate(RotateWhat),
    /// Drop keys that only verify any more.
    #[command(subcommand)]
    Prune(PruneWhat),
    /// Print every secret value as the deployment reads it, to load into a secret manager
    /// (`delivery = "existing-secret"`) or as the compose `secrets.env`.
    Export {
        /// `env` (dotenv lines) or `kubernetes` (a Secret manifest, named and keyed as the
        /// deployment references it).
        #[arg(long, value_enum, default_value = "env")]
        format: ExportFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Env,
    Kubernetes,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyTypeArg {
    Rsa,
    Ec,
}

#[derive(Debug, Subcommand)]
pub enum RotateWhat {
    /// New OIDC signing key becomes Current; the key in use becomes Previous.
    SigningKey {
        /// Key type (default: `[secrets] signing-key-type` of the profile).
        #[arg(long = "type", value_enum)]
        key_type: Option<KeyTypeArg>,
        /// RSA size: 2048, 3072 or 4096 (default: the profile's `rsa-bits`).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["2048", "3072", "4096"]))]
        rsa_bits: Option<String>,
        /// EC curve: p-256 or p-384 (default: the profile's `ec-curve`).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["p-256", "p-384"]))]
        ec_curve: Option<String>,
    },
    /// New cookie key signs from now on; older ones keep verifying.
    CookieKey {
        /// Cookie keys kept in all, the new one included (at least 2).
        #[arg(long, default_value_t = DEFAULT_COOKIE_KEYS_KEPT)]
        keep: usize,
    },
    /// Replace SECRET_VAULT_KEK (makes stored connector secrets unreadable).
    VaultKek {
        /// Required: confirms that connector secrets will have to be entered again.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PruneWhat {
    /// Keep only the Current signing key.
    SigningKeys,
    /// Keep only the newest cookie keys.
    CookieKeys {
        #[arg(long, default_value_t = 1)]
        keep: usize,
    },
}

pub fn run(config_path: &Path, args: &SecretsArgs) -> Result<ExitCode> {
    let profile = args.profile.clone().unwrap_or_else(|| "base".into());
    let dir = args
        .secrets_dir
        .clone()
        .unwrap_or_else(|| crate::default_secrets_dir(config_path));
    match &args.action {
        SecretsAction::Show { reveal } => {
            if profile != "base" {
                config::check_profile_name(&profile).map_err(|m| Error::usage(m, None))?;
            }
            let (s, path) = existing_store(&dir, &profile)?;
            print!("{}", show(&s, &path, *reveal));
            Ok(ExitCode::SUCCESS)
        }
        SecretsAction::Rotate(what) => {
            let cfg_profile = (profile != "base").then_some(profile.as_str());
            let loaded = config::load(config_path, cfg_profile)?;
            let now = store::now_rfc3339();
            let mut rng = rand_core::OsRng;
            let (change, path) = match what {
                RotateWhat::SigningKey {
                    key_type,
                    rsa_bits,
                    ec_curve,
                } => {
                    let alg = algorithm(
                        loaded.config.secrets.signing_key,
                        *key_type,
                        rsa_bits.as_deref(),
                        ec_curve.as_deref(),
                    );
                    eprintln!("generating a {} signing key...", alg.name());
                    store::update(&dir, &profile, |s| {
                        Ok(rotate::rotate_signing_key(s, alg, &now, &mut rng))
                    })?
                }
                RotateWhat::CookieKey { keep } => store::update(&dir, &profile, |s| {
                    rotate::rotate_cookie_key(s, *keep, &now, &mut rng)
                })?,
                RotateWhat::VaultKek { force } => store::update(&dir, &profile, |s| {
                    rotate::rotate_vault_kek(s, *force, &mut rng)
                })?,
            };
            report(
                &change,
                &path,
                &profile,
                matches!(what, RotateWhat::VaultKek { .. }),
            );
            Ok(ExitCode::SUCCESS)
        }
        SecretsAction::Export { format } => {
            let cfg_profile = (profile != "base").then_some(profile.as_str());
            let config = config::load(config_path, cfg_profile)?.config;
            let (s, path) = existing_store(&dir, &profile)?;
            let inputs = RuntimeInputs::from_env(&config, |n| std::env::var(n).ok())?;
            let vars: Vec<EnvVar> = env::logto_env(&config, &s, &inputs)
                .into_iter()
                .chain(env::sync_env(&s))
                .chain(env::postgres_env(&config, &s))
                .filter(|v| v.secret)
                .collect();
            match format {
                ExportFormat::Env => {
                    println!(
                        "# Secrets of profile `{profile}` from `{}`: keep out of version control.",
                        path.display()
                    );
                    for v in &vars {
                        let quoted = escape::dotenv_quote(&v.value)
                            .map_err(|m| Error::refused(format!("`{}` {m}", v.name), None))?;
                        println!("{}={quoted}", v.name);
                    }
                }
                ExportFormat::Kubernetes => print!(
                    "{}",
                    render::kubernetes::secret_manifest(&config, &vars, &Renderer::new(None)?)?
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        SecretsAction::Prune(what) => {
            let (change, path) = match what {
                PruneWhat::SigningKeys => {
                    store::update(&dir, &profile, |s| Ok(rotate::prune_signing_keys(s)))?
                }
                PruneWhat::CookieKeys { keep } => {
                    store::update(&dir, &profile, |s| rotate::prune_cookie_keys(s, *keep))?
                }
            };
            report(&change, &path, &profile, false);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A profile's store, which must exist: only a first render makes one.
fn existing_store(dir: &Path, profile: &str) -> Result<(Store, PathBuf)> {
    let path = store::store_path(dir, profile);
    match store::load(&path, profile)? {
        Some(s) => Ok((s, path)),
        None => Err(Error::refused(
            format!(
                "profile `{profile}` has no secrets store at `{}`",
                path.display()
            ),
            Some("render the profile first: secrets are generated by its first render".into()),
        )),
    }
}

/// The key type to make: flags first, then the profile's settings.
fn algorithm(
    configured: KeyAlgorithm,
    key_type: Option<KeyTypeArg>,
    rsa_bits: Option<&str>,
    ec_curve: Option<&str>,
) -> KeyAlgorithm {
    let bits = rsa_bits.and_then(|b| b.parse().ok());
    match (key_type, configured) {
        (Some(KeyTypeArg::Rsa), KeyAlgorithm::Rsa(b)) | (None, KeyAlgorithm::Rsa(b)) => {
            KeyAlgorithm::Rsa(bits.unwrap_or(b))
        }
        (Some(KeyTypeArg::Rsa), _) => KeyAlgorithm::Rsa(bits.unwrap_or(4096)),
        (_, configured) => match (ec_curve, configured) {
            (Some("p-256"), _) => KeyAlgorithm::EcP256,
            (Some(_), _) => KeyAlgorithm::EcP384,
            (None, KeyAlgorithm::EcP256) => KeyAlgorithm::EcP256,
            (None, _) => KeyAlgorithm::EcP384,
        },
    }
}

fn report(change: &Change, path: &Path, profile: &str, kek: bool) {
    for id in &change.added {
        println!("added    {id}");
    }
    for id in &change.removed {
        println!("removed  {id}");
    }
    if change.added.is_empty() && change.removed.is_empty() {
        println!("nothing to change");
        return;
    }
    let render = if profile == "base" {
        "logto-deploy render".to_string()
    } else {
        format!("logto-deploy render --profile {profile}")
    };
    eprintln!("updated `{}`", path.display());
    if kek {
        eprintln!("next: `{render}`, deploy, then enter every connector's secrets again in the Admin Console");
    } else {
        eprintln!(
            "next: `{render}`, then deploy: the `logto-keys` service (compose) or the migration Job's `sync-keys` step (Kubernetes) sets both tenants' keys to the store's, then restart Logto so it loads them"
        );
    }
}

/// The store as text: ids, algorithms, times and fingerprints; values only with `reveal`.
pub fn show(s: &Store, path: &Path, reveal: bool) -> String {
    let mut out = format!(
        "secrets store `{}` (profile `{}`, format version {})\n",
        path.display(),
        s.profile,
        s.version
    );
    if s.test_fixture {
        out.push_str("  TEST FIXTURE: these values are public\n");
    }
    out.push_str("signing keys (OIDC_PRIVATE_KEYS; Current signs, Previous verifies):\n");
    for (i, k) in s.oidc_private_keys.iter().enumerate() {
        let status = if i == 0 { "Current " } else { "Previous" };
        out.push_str(&format!(
            "  {status}  {}  {:<9}  created {}  public key {}\n",
            k.id,
            k.algorithm,
            k.created_at,
            public_fingerprint(&k.pem)
        ));
        if reveal {
            out.push_str(&indent(&k.pem));
        }
    }
    out.push_str("cookie keys (OIDC_COOKIE_KEYS; the first signs, all verify):\n");
    for (i, k) in s.oidc_cookie_keys.iter().enumerate() {
        let role = if i == 0 { "signs   " } else { "verifies" };
        out.push_str(&format!(
            "  {role}  {}  created {}  {}\n",
            k.id,
            k.created_at,
            value_or_fingerprint(&k.value, reveal)
        ));
    }
    out.push_str(&format!(
        "SECRET_VAULT_KEK   {}\n",
        value_or_fingerprint(&s.secret_vault_kek, reveal)
    ));
    out.push_str(&format!(
        "postgres password  {}\n",
        value_or_fingerprint(&s.postgres_password, reveal)
    ));
    out
}

fn value_or_fingerprint(v: &str, reveal: bool) -> String {
    if reveal {
        v.to_string()
    } else {
        rotate::fingerprint(v)
    }
}

fn indent(pem: &str) -> String {
    pem.lines().map(|l| format!("      {l}\n")).collect()
}

/// SHA-256 of the public key (SubjectPublicKeyInfo DER): comparable with what relying
/// parties see in the JWKS, and safe to share.
fn public_fingerprint(pem: &str) -> String {
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
    let der = if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
        k.to_public_key().to_public_key_der().ok()
    } else if let Ok(k) = p384::SecretKey::from_pkcs8_pem(pem) {
        k.public_key().to_public_key_der().ok()
    } else if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem) {
        k.public_key().to_public_key_der().ok()
    } else {
        None
    };
    match der {
        Some(d) => {
            use sha2::{Digest, Sha256};
            format!(
                "sha256:{}",
                &format!("{:x}", Sha256::digest(d.as_bytes()))[..16]
            )
        }
        None => "(unreadable)".into(),
    }
}
