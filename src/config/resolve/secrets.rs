//! Resolve the `[secrets]` table: key types and how secret values reach the containers.

use indexmap::IndexMap;

use super::super::model::*;
use super::super::raw::*;
use super::Ctx;

pub(super) fn resolve_secrets(cx: &mut Ctx, raw: Option<&RawSecrets>) -> Option<SecretsSpec> {
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
pub(super) const SECRET_VARIABLES: &[&str] = &[
    "DB_URL",
    "REDIS_URL",
    "SECRET_VAULT_KEK",
    "OIDC_PRIVATE_KEYS",
    "OIDC_COOKIE_KEYS",
    "LOGTO_DEPLOY_PRIVATE_KEYS_JSON",
    "LOGTO_DEPLOY_COOKIE_KEYS_JSON",
    "POSTGRES_PASSWORD",
];

pub(super) fn resolve_delivery(
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
                    crate::config::kubernetes::check_dns_subdomain(name),
                    None,
                );
            }
            let mut keys = IndexMap::new();
            for (var, key) in raw.existing_secret_keys.iter().flatten() {
                let pointer = format!(
                    "/secrets/existing-secret-keys/{}",
                    crate::config::source::pointer_segment(var)
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
