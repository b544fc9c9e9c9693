//! The secrets store: one JSON file per profile (`.logto-secrets/<profile>.json`), mode 0600,
//! written atomically (temp file, fsync, rename) under an exclusive lock. A store that
//! exists is never replaced; a broken one is an error that points at the problem.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use super::generate;
use crate::config::model::{KeyAlgorithm, SecretsSpec};
use crate::error::{Error, Result};

pub const FORMAT: &str = "logto-deploy-secrets";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Store {
    pub format: String,
    pub version: u32,
    pub profile: String,
    /// True only in the repository's test fixtures: these values are public.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test_fixture: bool,
    /// First = Current (signs), second = Previous (verifies only). At most two.
    pub oidc_private_keys: Vec<PrivateKey>,
    /// First signs, all verify.
    pub oidc_cookie_keys: Vec<CookieKey>,
    pub secret_vault_kek: String,
    pub postgres_password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PrivateKey {
    pub id: String,
    pub algorithm: String,
    pub created_at: String,
    pub pem: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CookieKey {
    pub id: String,
    pub created_at: String,
    pub value: String,
}

/// What `obtain` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    Loaded,
    Created,
}

impl Store {
    /// Fresh secrets for a profile.
    pub fn generate(
        spec: &SecretsSpec,
        profile: &str,
        now: &str,
        rng: &mut impl CryptoRngCore,
    ) -> Store {
        let key = PrivateKey {
            id: generate::key_id(rng),
            algorithm: spec.signing_key.name(),
            created_at: now.into(),
            pem: generate::signing_key(rng, spec.signing_key),
        };
        let cookies = (0..spec.cookie_keys)
            .map(|_| CookieKey {
                id: generate::key_id(rng),
                created_at: now.into(),
                value: generate::cookie_key(rng),
            })
            .collect();
        Store {
            format: FORMAT.into(),
            version: VERSION,
            profile: profile.into(),
            test_fixture: false,
            oidc_private_keys: vec![key],
            oidc_cookie_keys: cookies,
            secret_vault_kek: generate::vault_kek(rng),
            postgres_password: generate::password(rng),
        }
    }

    /// OIDC_PRIVATE_KEYS: the PEMs joined by `,` (Current first).
    pub fn oidc_private_keys_env(&self) -> String {
        self.oidc_private_keys
            .iter()
            .map(|k| k.pem.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// OIDC_COOKIE_KEYS: the keys joined by `,` (signing key first).
    pub fn oidc_cookie_keys_env(&self) -> String {
        self.oidc_cookie_keys
            .iter()
            .map(|k| k.value.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every secret value, with a stable label; used to mask secrets in snapshots and logs.
    pub fn secret_values(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, k) in self.oidc_private_keys.iter().enumerate() {
            out.push((format!("oidc-private-key-{}", i + 1), k.pem.clone()));
        }
        for (i, k) in self.oidc_cookie_keys.iter().enumerate() {
            out.push((format!("oidc-cookie-key-{}", i + 1), k.value.clone()));
        }
        out.push(("secret-vault-kek".into(), self.secret_vault_kek.clone()));
        out.push(("postgres-password".into(), self.postgres_password.clone()));
        out
    }

    /// Check everything a hand edit could break.
    fn validate(&self, profile: &str) -> std::result::Result<Vec<String>, String> {
        self.validate_with(profile, generate::inspect_key)
    }

    fn validate_with(
        &self,
        profile: &str,
        inspect: fn(&str) -> std::result::Result<KeyAlgorithm, String>,
    ) -> std::result::Result<Vec<String>, String> {
        if self.format != FORMAT {
            return Err(format!(
                "`format` is `{}`, expected `{FORMAT}`",
                self.format
            ));
        }
        if self.version != VERSION {
            return Err(format!(
                "`version` is {}, this logto-deploy reads version {VERSION}",
                self.version
            ));
        }
        if self.profile != profile {
            return Err(format!(
                "it belongs to profile `{}`, not `{profile}` (copied by hand?)",
                self.profile
            ));
        }
        if self.oidc_private_keys.is_empty() || self.oidc_private_keys.len() > 2 {
            return Err(format!(
                "`oidc-private-keys` holds {} keys; Logto takes one or two",
                self.oidc_private_keys.len()
            ));
        }
        let mut notes = Vec::new();
        for (i, k) in self.oidc_private_keys.iter().enumerate() {
            let alg = inspect(&k.pem).map_err(|m| format!("`oidc-private-keys[{i}]`: {m}"))?;
            if alg.name() != k.algorithm {
                return Err(format!(
                    "`oidc-private-keys[{i}]` says `{}` but holds a `{}` key",
                    k.algorithm,
                    alg.name()
                ));
            }
            if unix_millis(&k.created_at).is_none() {
                return Err(format!(
                    "`oidc-private-keys[{i}].created-at` is not a time like `2026-01-01T00:00:00Z`"
                ));
            }
            notes.push(alg.name());
        }
        if self.oidc_cookie_keys.is_empty() {
            return Err("`oidc-cookie-keys` is empty".into());
        }
        for (i, k) in self.oidc_cookie_keys.iter().enumerate() {
            if unix_millis(&k.created_at).is_none() {
                return Err(format!(
                    "`oidc-cookie-keys[{i}].created-at` is not a time like `2026-01-01T00:00:00Z`"
                ));
            }
            if k.value.len() < 16
                || !k.value.chars().all(|c| {
                    c.is_ascii_graphic()
                        && c != ','
                        && c != '"'
                        && c != '\''
                        && c != '\\'
                        && c != '$'
                })
            {
                return Err(format!("`oidc-cookie-keys[{i}]` must be at least 16 printable characters without `,`, quotes, `\\` or `$`"));
            }
        }
        generate::inspect_kek(&self.secret_vault_kek)
            .map_err(|m| format!("`secret-vault-kek` {m}"))?;
        if self.postgres_password.len() < 16
            || !self
                .postgres_password
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        {
            return Err("`postgres-password` must be at least 16 letters and digits".into());
        }
        Ok(notes)
    }
}

/// Path of a profile's store.
pub fn store_path(dir: &Path, profile: &str) -> PathBuf {
    dir.join(format!("{profile}.json"))
}

/// Read and check a store; `Ok(None)` when it does not exist.
pub fn load(path: &Path, profile: &str) -> Result<Option<Store>> {
    load_checked(path, profile, generate::inspect_key)
}

/// `load` for commands that only read (check, diff): RSA keys are checked for structure,
/// not arithmetic (see `generate::inspect_key_structure`).
pub fn load_for_reading(path: &Path, profile: &str) -> Result<Option<Store>> {
    load_checked(path, profile, generate::inspect_key_structure)
}

fn load_checked(
    path: &Path,
    profile: &str,
    inspect: fn(&str) -> std::result::Result<KeyAlgorithm, String>,
) -> Result<Option<Store>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.into(),
                source,
            })
        }
    };
    let never = "it is never replaced automatically: restore it from your backup; if the deployment is new and nothing uses these secrets yet, delete it to generate new ones".to_string();
    let store: Store = serde_json::from_str(&text).map_err(|e| Error::Store {
        path: path.into(),
        message: format!("line {}, column {}: {e}", e.line(), e.column()),
        help: Some(never.clone()),
        at: Some((e.line(), e.column())),
    })?;
    store
        .validate_with(profile, inspect)
        .map_err(|message| Error::Store {
            path: path.into(),
            message,
            help: Some(never),
            at: None,
        })?;
    Ok(Some(store))
}

/// A store opened for a render: loaded, or generated in memory and not yet saved. The
/// directory stays locked until this is dropped, so two renders cannot race.
#[derive(Debug)]
pub struct Opened {
    pub store: Store,
    pub outcome: StoreOutcome,
    pub warnings: Vec<String>,
    pub path: PathBuf,
    _lock: File,
}

impl Opened {
    /// Save a newly generated store (a loaded one is never rewritten).
    pub fn commit(&self) -> Result<()> {
        if self.outcome == StoreOutcome::Created {
            write_private(&self.path, &store_json(&self.store))?;
        }
        Ok(())
    }
}

/// Load the profile's store, or generate one (in memory) when this profile has never been
/// rendered. Nothing is written until `Opened::commit`.
pub fn open(
    dir: &Path,
    profile: &str,
    spec: &SecretsSpec,
    rendered_before: Option<&Path>,
    rng: &mut impl CryptoRngCore,
    on_generate: &mut dyn FnMut(&str),
) -> Result<Opened> {
    let path = store_path(dir, profile);
    create_dir_private(dir)?;
    let lock = lock(dir)?;
    let mut warnings = Vec::new();
    if let Some(store) = load(&path, profile)? {
        let current = &store.oidc_private_keys[0].algorithm;
        if *current != spec.signing_key.name() {
            warnings.push(format!(
                "the store's signing key is `{current}` but the config asks for `{}`; the stored key stays in use (`logto-deploy secrets rotate signing-key` makes a new one)",
                spec.signing_key.name()
            ));
        }
        return Ok(Opened {
            store,
            outcome: StoreOutcome::Loaded,
            warnings,
            path,
            _lock: lock,
        });
    }
    if let Some(out) = rendered_before {
        return Err(Error::Store {
            path: path.clone(),
            message: format!("it is missing, but profile `{profile}` was rendered before into `{}`", out.display()),
            help: Some("restore the store from your backup; new secrets would lock users out and make stored connector secrets unreadable. If nothing runs with the old secrets, delete the output directory first".into()),
            at: None,
        });
    }
    on_generate(&spec.signing_key.name());
    let store = Store::generate(spec, profile, &now_rfc3339(), rng);
    Ok(Opened {
        store,
        outcome: StoreOutcome::Created,
        warnings,
        path,
        _lock: lock,
    })
}

/// Change an existing store under the lock, and write it back atomically.
/// The store must exist: secrets are only ever generated by a first render.
pub fn update<T>(
    dir: &Path,
    profile: &str,
    change: impl FnOnce(&mut Store) -> std::result::Result<T, String>,
) -> Result<(T, PathBuf)> {
    let path = store_path(dir, profile);
    if !path.exists() {
        return Err(Error::refused(
            format!(
                "profile `{profile}` has no secrets store at `{}`",
                path.display()
            ),
            Some("render the profile first: secrets are generated by its first render".into()),
        ));
    }
    let _lock = lock(dir)?;
    let mut store = load(&path, profile)?.expect("checked above");
    let out = change(&mut store).map_err(|m| Error::refused(m, None))?;
    store.validate(profile).map_err(|message| Error::Store {
        path: path.clone(),
        message,
        help: None,
        at: None,
    })?;
    write_private(&path, &store_json(&store))?;
    Ok((out, path))
}

/// `open` and `commit` in one step.
pub fn obtain(
    dir: &Path,
    profile: &str,
    spec: &SecretsSpec,
    rendered_before: Option<&Path>,
    rng: &mut impl CryptoRngCore,
) -> Result<(Store, StoreOutcome, Vec<String>)> {
    let opened = open(dir, profile, spec, rendered_before, rng, &mut |_| {})?;
    opened.commit()?;
    Ok((
        opened.store.clone(),
        opened.outcome,
        opened.warnings.clone(),
    ))
}

/// The store as written: pretty JSON with a trailing newline.
pub fn store_json(store: &Store) -> String {
    let mut s = serde_json::to_string_pretty(store).expect("store serializes");
    s.push('\n');
    s
}

fn create_dir_private(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir).map_err(|source| Error::Write {
            path: dir.into(),
            source,
        })?;
    }
    // Ignored by git even where the repository has no .gitignore entry for it. Checked on
    // every render, and written atomically: a render killed right after creating the
    // directory must not leave a store that git would pick up.
    let ignore = dir.join(".gitignore");
    if ignore.is_file() {
        return Ok(());
    }
    write_private(
        &ignore,
        "# Secrets store of logto-deploy: never commit these files.\n*\n",
    )
}

/// An exclusive advisory lock on the store directory, released on drop.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(".lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    f.lock().map_err(|source| Error::Write { path, source })?;
    Ok(f)
}

/// Write a file with mode 0600: temp file in the same directory, fsync, rename, fsync dir.
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let werr = |source| Error::Write {
        path: path.into(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(werr)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(werr)?;
    }
    tmp.write_all(contents.as_bytes()).map_err(werr)?;
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(path).map_err(|e| werr(e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_unix(secs)
}

/// Milliseconds since the epoch of a `YYYY-MM-DDTHH:MM:SSZ` time (what Logto's
/// `createdAt` holds), or `None` when it is not in that form.
pub fn unix_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days since 1970-01-01 from a civil date (inverse of `format_unix`).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1000)
}

fn format_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::KeyAlgorithm;
    use rand_chacha::rand_core::SeedableRng;

    fn spec() -> SecretsSpec {
        SecretsSpec {
            signing_key: KeyAlgorithm::EcP256,
            cookie_keys: 2,
        }
    }

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(1)
    }

    #[test]
    fn dates_round_trip() {
        for secs in [0u64, 951_782_400, 1_795_000_000, 4_102_444_800] {
            assert_eq!(unix_millis(&format_unix(secs)), Some(secs as i64 * 1000));
        }
        assert_eq!(unix_millis("2026-13-01T00:00:00Z"), None);
        assert_eq!(unix_millis("yesterday"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_unix(1_795_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn created_once_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let (a, o1, _) = obtain(dir.path(), "p", &spec(), None, &mut rng()).unwrap();
        assert_eq!(o1, StoreOutcome::Created);
        let mut other = rand_chacha::ChaCha20Rng::seed_from_u64(99);
        let (b, o2, _) = obtain(dir.path(), "p", &spec(), None, &mut other).unwrap();
        assert_eq!(o2, StoreOutcome::Loaded);
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store_path(dir.path(), "p"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_store_directory_without_gitignore_gets_one() {
        // What a render killed between creating the directory and writing the file leaves.
        let dir = tempfile::tempdir().unwrap();
        let store_dir = dir.path().join("s");
        fs::create_dir(&store_dir).unwrap();
        obtain(&store_dir, "p", &spec(), None, &mut rng()).unwrap();
        let ignore = fs::read_to_string(store_dir.join(".gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    }

    #[test]
    fn profiles_get_different_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = rng();
        let (a, _, _) = obtain(dir.path(), "a", &spec(), None, &mut r).unwrap();
        let (b, _, _) = obtain(dir.path(), "b", &spec(), None, &mut r).unwrap();
        assert_ne!(a.secret_vault_kek, b.secret_vault_kek);
        assert_ne!(a.oidc_private_keys[0].pem, b.oidc_private_keys[0].pem);
    }

    #[test]
    fn missing_store_after_a_render_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = obtain(
            dir.path(),
            "p",
            &spec(),
            Some(Path::new("deploy/p")),
            &mut rng(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("rendered before"), "{err}");
        assert!(!store_path(dir.path(), "p").exists());
    }

    #[test]
    fn corrupt_store_is_an_error_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = store_path(dir.path(), "p");
        fs::write(
            &path,
            "{\"format\": \"logto-deploy-secrets\",\n \"version\": 1,\n oops}",
        )
        .unwrap();
        let err = obtain(dir.path(), "p", &spec(), None, &mut rng()).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(fs::read_to_string(&path).unwrap().contains("oops"));
    }

    #[test]
    fn tampered_key_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _, _) = obtain(dir.path(), "p", &spec(), None, &mut rng()).unwrap();
        s.oidc_private_keys[0].pem = s.oidc_private_keys[0]
            .pem
            .replacen("A", "B", 1)
            .replace("\n-----END", "x\n-----END");
        fs::write(store_path(dir.path(), "p"), store_json(&s)).unwrap();
        let err = load(&store_path(dir.path(), "p"), "p").unwrap_err();
        assert!(err.to_string().contains("oidc-private-keys[0]"), "{err}");
    }

    #[test]
    fn store_of_another_profile_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        obtain(dir.path(), "a", &spec(), None, &mut rng()).unwrap();
        fs::copy(store_path(dir.path(), "a"), store_path(dir.path(), "b")).unwrap();
        let err = load(&store_path(dir.path(), "b"), "b").unwrap_err();
        assert!(err.to_string().contains("belongs to profile `a`"), "{err}");
    }
}
