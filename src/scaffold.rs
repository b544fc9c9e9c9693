//! `init`: the files of a new deployment repository. Input: a directory; output: a
//! commented, valid `logto.toml`, its JSON Schema, two profiles and a `.gitignore` for the
//! secrets. Every target is checked before the first one is written, so an existing file
//! is never overwritten and a refusal writes nothing.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The scaffold, as (path relative to the directory, contents); the schema is added by
/// `files` because it is generated.
const FILES: &[(&str, &str)] = &[
    ("logto.toml", include_str!("../scaffold/logto.toml")),
    (
        "profiles/staging.toml",
        include_str!("../scaffold/profiles/staging.toml"),
    ),
    (
        "profiles/prod.toml",
        include_str!("../scaffold/profiles/prod.toml"),
    ),
    (".gitignore", include_str!("../scaffold/gitignore")),
];

/// Every file `init` writes, in order.
pub fn files() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&str, String)> = FILES.iter().map(|(p, t)| (*p, t.to_string())).collect();
    out.insert(
        1,
        ("logto.schema.json", crate::config::schema::schema_json()),
    );
    out
}

/// Write the scaffold into `dir` (created if needed). Refuses, writing nothing, when any
/// target exists. Returns the relative paths written.
pub fn init(dir: &Path) -> Result<Vec<&'static str>> {
    let files = files();
    let existing: Vec<&str> = files
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| dir.join(p).symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() {
        return Err(Error::refused(
            format!(
                "refusing to initialise `{}`: {} already exist(s)",
                dir.display(),
                existing
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(
                "init never overwrites a file: move those away, or pick an empty directory".into(),
            ),
        ));
    }
    for (rel, text) in &files {
        let path: PathBuf = dir.join(rel);
        let werr = |source| Error::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(werr)?;
        }
        // `create_new`: a file that appeared since the check is still not overwritten.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(werr)?;
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(werr)?;
    }
    Ok(files.iter().map(|(p, _)| *p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_points_at_the_schema_it_ships_with() {
        let f = files();
        assert_eq!(f[0].0, "logto.toml");
        assert!(f[0].1.starts_with("#:schema ./logto.schema.json\n"));
        assert_eq!(f[1].0, "logto.schema.json");
        for (p, t) in &f[2..4] {
            assert!(t.starts_with("#:schema ../logto.schema.json\n"), "{p}");
        }
    }
}
