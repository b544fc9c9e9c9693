//! The configuration pipeline: read → parse with spans → schema check per file → merge the
//! profile → resolve. Input: the path of `logto.toml` and an optional profile name.
//! Output: a validated `Config` with its warnings, or every problem found, located.

pub mod kubernetes;
pub mod kubernetes_raw;
pub mod merge;
pub mod model;
pub mod raw;
pub mod resolve;
pub mod schema;
pub mod source;
pub mod types;

use std::path::{Path, PathBuf};

use crate::error::{ConfigDiagnostic, Error, Result, Severity, SourceFile};
pub use model::Config;

/// A config that passed every check, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<ConfigDiagnostic>,
}

/// The directory holding `profiles/`, secrets and default outputs: the config file's folder.
pub fn project_dir(config_path: &Path) -> PathBuf {
    match config_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Profile names found in `profiles/*.toml`, sorted.
pub fn available_profiles(config_path: &Path) -> Vec<String> {
    let dir = project_dir(config_path).join("profiles");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".toml")?;
            check_profile_name(stem).ok()?;
            Some(stem.to_string())
        })
        .collect();
    names.sort();
    names
}

/// Profile names become file and directory names: keep them boring.
pub fn check_profile_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(format!(
            "`{name}` is not a profile name (lower-case letters, digits, `-` and `_`)"
        ));
    }
    if name == "base" {
        return Err("`base` is reserved for rendering without a profile".into());
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn display(path: &Path) -> String {
    let s = path.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// Parse and schema-check one file; problems are appended to `diags`. Returns the parsed
/// file unless its TOML syntax is broken (schema errors do not stop later checks).
fn parse_file(
    file: SourceFile,
    index: usize,
    diags: &mut Vec<ConfigDiagnostic>,
) -> Option<source::ParsedFile> {
    match source::parse(file, index) {
        Ok(parsed) => {
            diags.extend(schema::check(&parsed));
            Some(parsed)
        }
        Err(errs) => {
            diags.extend(errs);
            None
        }
    }
}

/// True when `pointer` is `ancestor` or lies under it.
fn is_under(pointer: &str, ancestor: &str) -> bool {
    pointer == ancestor || pointer.starts_with(&format!("{ancestor}/"))
}

/// Remove every value the schema check rejected from one file's tree.
fn prune(mut file: source::ParsedFile, diags: &[ConfigDiagnostic]) -> source::ParsedFile {
    for d in diags {
        let mine = d.file.as_ref().is_some_and(|f| f.name == file.source.name);
        if !mine || d.pointer.is_empty() {
            continue;
        }
        let (parent, key) = d.pointer.rsplit_once('/').unwrap_or(("", &d.pointer));
        let key = key.replace("~1", "/").replace("~0", "~");
        if let Some(serde_json::Value::Object(map)) = file.json.pointer_mut(parent) {
            map.shift_remove(&key);
        }
    }
    file
}

/// Load, merge and resolve. Returns `Error::Config` with all errors (and warnings) found.
pub fn load(config_path: &Path, profile: Option<&str>) -> Result<Loaded> {
    let profile_path = match profile {
        Some(name) => {
            check_profile_name(name).map_err(|m| Error::usage(m, None))?;
            let path = project_dir(config_path)
                .join("profiles")
                .join(format!("{name}.toml"));
            if !path.is_file() {
                let available = available_profiles(config_path);
                let help = if available.is_empty() {
                    format!("create `{}`, or render without --profile", display(&path))
                } else {
                    format!("available profiles: {}", available.join(", "))
                };
                return Err(Error::usage(
                    format!(
                        "unknown profile `{name}`: `{}` does not exist",
                        display(&path)
                    ),
                    Some(help),
                ));
            }
            Some(path)
        }
        None => None,
    };
    let base = SourceFile::new(display(config_path), read(config_path)?);
    let overlay = match &profile_path {
        Some(p) => Some(SourceFile::new(display(p), read(p)?)),
        None => None,
    };
    // Banners name files relative to the project, so output does not depend on where the
    // repository is checked out.
    let file_name = config_path
        .file_name()
        .map_or_else(|| "logto.toml".into(), |n| n.to_string_lossy().to_string());
    load_sources(base, overlay, &file_name, profile)
}

/// `load` for text already in memory (tests and fuzzing): `base` is the text of
/// `logto.toml`, `profile` the name and text of `profiles/<name>.toml`. Same checks and
/// diagnostics as `load`; reads no file.
pub fn load_from_strings(base: &str, profile: Option<(&str, &str)>) -> Result<Loaded> {
    let overlay = match profile {
        Some((name, text)) => {
            check_profile_name(name).map_err(|m| Error::usage(m, None))?;
            Some(SourceFile::new(format!("profiles/{name}.toml"), text))
        }
        None => None,
    };
    let base = SourceFile::new("logto.toml", base);
    load_sources(base, overlay, "logto.toml", profile.map(|(name, _)| name))
}

/// Parse, schema-check, merge and resolve the base file and an optional overlay.
fn load_sources(
    base: SourceFile,
    overlay: Option<SourceFile>,
    file_name: &str,
    profile: Option<&str>,
) -> Result<Loaded> {
    let mut diags = Vec::new();
    let has_overlay = overlay.is_some();
    let base = parse_file(base, 0, &mut diags);
    let overlay = overlay.and_then(|o| parse_file(o, 1, &mut diags));
    let (Some(base), true) = (base, !has_overlay || overlay.is_some()) else {
        return Err(Error::Config(diags));
    };
    let schema_ok = diags.is_empty();
    // Drop what the schema rejected, so the cross-field checks can still run on the rest
    // and every problem is reported in one go.
    let rejected: Vec<String> = diags.iter().map(|d| d.pointer.clone()).collect();
    let (base, overlay) = (prune(base, &diags), overlay.map(|o| prune(o, &diags)));
    let (json, locator) = merge::merge(base, overlay);
    let raw: raw::RawConfig = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(_) if !schema_ok => return Err(Error::Config(diags)),
        Err(e) => {
            // The schema accepted what serde rejects: our bug, but still say where.
            diags.push(locator.diag(
                Severity::Error,
                "",
                format!("internal: schema and model disagree: {e}"),
                "here",
                Some("please report this".into()),
            ));
            return Err(Error::Config(diags));
        }
    };
    let source = match profile {
        Some(p) => format!("{file_name} + profiles/{p}.toml"),
        None => file_name.to_string(),
    };
    let (config, found) = resolve::resolve(&raw, &locator, profile, source);
    // One message per place: a value the schema check already rejected is not reported again.
    for d in found {
        let dup = diags.iter().any(|e| {
            e.span == d.span && e.file.as_ref().map(|f| &f.name) == d.file.as_ref().map(|f| &f.name)
        });
        let related =
            |r: &String| !r.is_empty() && (is_under(&d.pointer, r) || is_under(r, &d.pointer));
        if !dup && !rejected.iter().any(related) {
            diags.push(d);
        }
    }
    match config {
        Some(config) if schema_ok => Ok(Loaded {
            config,
            warnings: diags,
        }),
        _ => Err(Error::Config(diags)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "[logto]\nendpoint = \"https://auth.example.com\"\n[database]\npool-size = 5\n";
    const PROFILE: &str = "[logto]\nport = 4001\n[database]\npool-sise = 3\n";

    /// Message and location (file, line, column) of each diagnostic.
    type Located = Vec<(String, Option<(String, usize, usize)>)>;

    fn messages(e: Error) -> Located {
        match e {
            Error::Config(d) => d
                .iter()
                .map(|d| (d.message.clone(), d.location()))
                .collect(),
            other => panic!("expected config errors, got {other}"),
        }
    }

    #[test]
    fn strings_load_like_files() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("profiles")).unwrap();
        std::fs::write(tmp.path().join("logto.toml"), BASE).unwrap();
        std::fs::write(tmp.path().join("profiles/p.toml"), PROFILE).unwrap();
        let from_files = load(&tmp.path().join("logto.toml"), Some("p")).unwrap_err();
        let from_strings = load_from_strings(BASE, Some(("p", PROFILE))).unwrap_err();
        // Same messages; file names differ only by the directory prefix.
        let strip = |v: Located| {
            v.into_iter()
                .map(|(m, l)| {
                    (
                        m,
                        l.map(|(f, a, b)| (f.rsplit("/").next().unwrap().to_string(), a, b)),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(messages(from_files)), strip(messages(from_strings)));

        let ok = load_from_strings(BASE, Some(("p", "[logto]\nport = 4001\n"))).unwrap();
        assert_eq!(ok.config.logto.port, 4001);
        assert_eq!(ok.config.database.pool_size, 5);
        assert_eq!(ok.config.source, "logto.toml + profiles/p.toml");
        assert!(matches!(
            load_from_strings(BASE, Some(("../x", ""))),
            Err(Error::Usage { .. })
        ));
    }

    #[test]
    fn env_keeps_the_order_written() {
        // `toml` sorts table keys unless its `preserve_order` feature is on.
        let text = format!("{BASE}[env]\nZED = \"1\"\nALPHA = \"2\"\nMID = \"3\"\n");
        let c = load_from_strings(&text, Some(("p", "[env]\nBETA = \"4\"\nZED = \"5\"\n")))
            .unwrap()
            .config;
        let names: Vec<&str> = c.extra_env.keys().map(String::as_str).collect();
        assert_eq!(names, ["ZED", "ALPHA", "MID", "BETA"]);
        assert_eq!(c.extra_env["ZED"], "5");
    }
}
