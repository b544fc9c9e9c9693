//! Secret masking for everything `check` and `diff` print. Input: the secrets a render
//! used (store values, render-time passwords, secret variables) and a text; output: the
//! text with every secret replaced by `<secret sha256:1a2b3c4d>`.
//!
//! The fingerprint is a short keyed hash, so two different secrets show as different (a
//! rotated key is visible in a diff) while revealing neither: keyed with the store's
//! vault key, a fingerprint of a weak database password cannot be checked against a
//! dictionary by whoever reads the CI log.
//!
//! Three rules, applied in this order:
//! 1. every known secret, in every form an output writes it (raw, base64, JSON-escaped,
//!    percent-encoded), is replaced wherever it appears;
//! 2. the password of any `scheme://user:password@` URL is replaced;
//! 3. in a secret-bearing file (`.env`, the Kubernetes Secret) the value of every secret
//!    variable and of every entry under a top-level `data:`/`stringData:` is replaced, and
//!    so is every line that is neither a comment nor `key=value`/`key: value`. This catches
//!    values the current render does not know, such as an older secret still on disk.

use std::cell::OnceCell;
use std::collections::BTreeSet;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::render::env::{self, RuntimeInputs};
use crate::render::escape;
use crate::secrets::Store;

/// Secrets shorter than this are not searched for in free text (they would match
/// everywhere); rule 3 still masks them in secret-bearing files.
const MIN_LEN: usize = 6;

#[derive(Debug, Clone, Default)]
pub struct Masker {
    key: Vec<u8>,
    /// The secrets to mask, in the order added.
    secrets: Vec<String>,
    /// (form as written, mask token), longest form first: built from `secrets` on the
    /// first `mask` (hashing every secret is most of a masker's cost, and `check` of a
    /// profile without drift never masks anything).
    forms: OnceCell<Vec<(String, String)>>,
    secret_names: BTreeSet<String>,
    /// Variables a render writes as non-secret (`PRIVATE_KEY_ROTATION_GRACE_PERIOD`).
    public_names: BTreeSet<String>,
}

impl Masker {
    /// A masker whose fingerprints are keyed with `key` (secret material the reader of
    /// the output does not have).
    pub fn new(key: &[u8]) -> Masker {
        Masker {
            key: key.to_vec(),
            ..Masker::default()
        }
    }

    /// Every secret a render of `config` with `store` and `inputs` writes anywhere.
    pub fn add_render(&mut self, config: &Config, store: &Store, inputs: &RuntimeInputs) {
        for (_, v) in store.secret_values() {
            self.add_secret(&v);
        }
        self.add_secret(&store.oidc_private_keys_env());
        self.add_secret(&store.oidc_cookie_keys_env());
        let vars = env::logto_env(config, store, inputs)
            .into_iter()
            .chain(env::postgres_env(config, store));
        for v in vars {
            if v.secret {
                self.secret_names.insert(v.name.clone());
                self.add_secret(&v.value);
            } else {
                self.public_names.insert(v.name);
            }
        }
        for p in [&inputs.db_password, &inputs.redis_password]
            .into_iter()
            .flatten()
        {
            self.add_secret(p);
        }
    }

    /// Mask `value` in every form an output may write it in.
    pub fn add_secret(&mut self, value: &str) {
        if value.len() >= MIN_LEN && !self.secrets.iter().any(|s| s == value) {
            self.secrets.push(value.to_string());
            self.forms = OnceCell::new();
        }
    }

    fn forms(&self) -> &[(String, String)] {
        self.forms.get_or_init(|| {
            let mut forms: Vec<(String, String)> = Vec::new();
            for value in &self.secrets {
                let token = self.fingerprint(value);
                let json = escape::json_string(value);
                for form in [
                    value.to_string(),
                    base64::engine::general_purpose::STANDARD.encode(value),
                    json[1..json.len() - 1].to_string(),
                    env::pct(value),
                ] {
                    if !forms.iter().any(|(f, _)| *f == form) {
                        forms.push((form, token.clone()));
                    }
                }
            }
            forms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
            forms
        })
    }

    /// `<secret sha256:xxxxxxxx>`: the first 8 hex digits of a keyed SHA-256.
    pub fn fingerprint(&self, value: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"logto-deploy mask v1\0");
        h.update((self.key.len() as u64).to_be_bytes());
        h.update(&self.key);
        h.update(value.as_bytes());
        let d = h.finalize();
        let hex: String = d[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!("<secret sha256:{hex}>")
    }

    /// The text with every secret masked; `secret_file` turns on rule 3.
    pub fn mask(&self, text: &str, secret_file: bool) -> String {
        let mut out = text.to_string();
        for (form, token) in self.forms() {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), token);
            }
        }
        let mut masked = String::with_capacity(out.len());
        let mut in_data = false;
        for line in out.split_inclusive('\n') {
            let (body, nl) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            let body = self.mask_url_password(body);
            let body = if secret_file {
                self.mask_secret_line(&body, &mut in_data)
            } else {
                body
            };
            masked.push_str(&body);
            masked.push_str(nl);
        }
        masked
    }

    /// Rule 2: `scheme://user:password@host` → `scheme://user:<secret …>@host`.
    fn mask_url_password(&self, line: &str) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(i) = rest.find("://") {
            let (head, tail) = rest.split_at(i + 3);
            out.push_str(head);
            let end = tail
                .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
                .unwrap_or(tail.len());
            let authority = &tail[..end];
            match authority.rfind('@').map(|at| (at, &authority[..at])) {
                Some((at, userinfo)) if userinfo.contains(':') => {
                    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                    out.push_str(user);
                    out.push(':');
                    if is_masked(password) {
                        out.push_str(password);
                    } else {
                        out.push_str(&self.fingerprint(password));
                    }
                    out.push_str(&authority[at..]);
                    rest = &tail[end..];
                }
                _ => rest = tail,
            }
        }
        out.push_str(rest);
        out
    }

    /// Rule 3, for one line of a secret-bearing file.
    fn mask_secret_line(&self, body: &str, in_data: &mut bool) -> String {
        let trimmed = body.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || body.trim() == "---" {
            return body.to_string();
        }
        let indent = &body[..body.len() - trimmed.len()];
        if let Some((k, v)) = trimmed.split_once(": ").or_else(|| {
            trimmed
                .strip_suffix(':')
                .map(|k| (k, ""))
                .filter(|(k, _)| is_name(k))
        }) {
            if is_name(k) {
                if indent.is_empty() {
                    *in_data = k == "data" || k == "stringData";
                    return body.to_string();
                }
                if *in_data && !v.is_empty() {
                    let decoded = yaml_value(v);
                    return format!("{indent}{k}: {}", self.mask_value(v, &decoded));
                }
                return body.to_string();
            }
        }
        if let Some((k, v)) = trimmed.split_once('=') {
            if is_name(k) {
                if !self.is_secret_name(k) {
                    return body.to_string();
                }
                let decoded = escape::dotenv_parse(trimmed)
                    .ok()
                    .and_then(|m| m.get(k).cloned())
                    .unwrap_or_else(|| v.to_string());
                return format!("{indent}{k}={}", self.mask_value(v, &decoded));
            }
        }
        if is_masked(trimmed) {
            return body.to_string();
        }
        format!("{indent}{}", self.fingerprint(trimmed))
    }

    fn is_secret_name(&self, name: &str) -> bool {
        // Secret in either render wins; a name no render knows is judged by its words.
        self.secret_names.contains(name)
            || (!self.public_names.contains(name)
                && (name.contains("DB_URL") || crate::render::env::looks_secret(name)))
    }

    /// A value as written (`raw`, quotes kept) with its meaning (`decoded`) fingerprinted.
    fn mask_value(&self, raw: &str, decoded: &str) -> String {
        if is_masked(raw) || raw.trim().is_empty() {
            return raw.to_string();
        }
        let token = self.fingerprint(decoded);
        let raw = raw.trim();
        for q in ['"', '\''] {
            if raw.len() >= 2 && raw.starts_with(q) && raw.ends_with(q) {
                return format!("{q}{token}{q}");
            }
        }
        token
    }
}

/// Already reduced to fingerprints (by rule 1), with nothing else left in it.
fn is_masked(s: &str) -> bool {
    let mut rest = s.trim().trim_matches(|c| c == '"' || c == '\'');
    while let Some(r) = rest.strip_prefix("<secret sha256:") {
        match r.find('>') {
            Some(i) => rest = r[i + 1..].trim_start_matches(','),
            None => return false,
        }
    }
    rest.is_empty()
}

/// A variable name or a YAML key (`app.kubernetes.io/name`).
fn is_name(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
}

/// A YAML scalar's text (quotes removed), base64-decoded when it is valid base64 of UTF-8.
fn yaml_value(v: &str) -> String {
    let s = v.trim().trim_matches('"');
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker() -> Masker {
        let mut m = Masker::new(b"k");
        m.add_secret("s3cr3t-cookie-value");
        m
    }

    #[test]
    fn known_secrets_are_masked_in_every_form() {
        let m = masker();
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t-cookie-value");
        let text = format!("A=s3cr3t-cookie-value\nb: \"{b64}\"\n");
        let out = m.mask(&text, false);
        let fp = m.fingerprint("s3cr3t-cookie-value");
        assert_eq!(out, format!("A={fp}\nb: \"{fp}\"\n"));
    }

    #[test]
    fn different_secrets_get_different_fingerprints_and_the_key_matters() {
        let m = masker();
        assert_ne!(m.fingerprint("a"), m.fingerprint("b"));
        assert_ne!(m.fingerprint("a"), Masker::new(b"other").fingerprint("a"));
        assert_eq!(m.fingerprint("a").len(), "<secret sha256:12345678>".len());
    }

    #[test]
    fn unknown_values_in_secret_files_are_masked_too() {
        let m = masker();
        let env = "# comment\nPORT=3001\nOIDC_COOKIE_KEYS=old-cookie-value-123\nDB_URL=postgres://u:pw@h/db\n";
        let out = m.mask(env, true);
        assert!(out.contains("PORT=3001\n"), "{out}");
        assert!(!out.contains("old-cookie"), "{out}");
        assert!(!out.contains("pw@"), "{out}");
        let yaml =
            "kind: Secret\nmetadata:\n  name: x\n  labels:\n    app.kubernetes.io/name: logto\ndata:\n  FOO: \"b2xkLXNlY3JldA==\"\nstray line\n";
        let out = m.mask(yaml, true);
        assert!(out.contains("  name: x\n"), "{out}");
        assert!(out.contains("    app.kubernetes.io/name: logto\n"), "{out}");
        assert!(!out.contains("b2xk"), "{out}");
        assert!(!out.contains("stray"), "{out}");
    }

    #[test]
    fn url_passwords_are_masked_anywhere() {
        let m = masker();
        let out = m.mask("url: redis://:hunter2@redis:6379/0\n", false);
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("@redis:6379/0"), "{out}");
        assert_eq!(
            m.mask("see https://example.com/a\n", false),
            "see https://example.com/a\n"
        );
    }
}
