//! Stage 7, read-only: compare rendered outputs with what is on disk (`check`) or with
//! another profile's outputs (`diff`). Input: `Outputs` (and a directory); output: one
//! `FileDiff` per file with a unified diff whose secrets are masked. Nothing is written.
//!
//! Whether a file differs is decided on the real contents; the masked text is only what
//! is shown, so masking can never hide a change.

use std::path::Path;

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::error::{Error, Result};
use crate::mask::Masker;
use crate::outputs::{files_under, Outputs};

/// What happened to one file. `check` uses the first four (`missing`: rendered but not on
/// disk; `extra`: on disk but no longer rendered); `diff` uses `unchanged`, `changed`,
/// `added` (only in the second profile) and `removed` (only in the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Unchanged,
    Changed,
    Missing,
    Extra,
    Added,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    /// Path relative to the output directory, `/`-separated.
    pub path: String,
    pub status: FileStatus,
    pub insertions: usize,
    pub deletions: usize,
    /// Unified diff with secrets masked; `None` when unchanged.
    pub diff: Option<String>,
}

impl FileDiff {
    pub fn differs(&self) -> bool {
        self.status != FileStatus::Unchanged
    }
}

/// One side of a comparison: a label for diff headers and the texts by path.
struct Side<'a> {
    label: &'a str,
    text: Option<&'a str>,
    secret: bool,
}

fn file_diff(path: &str, old: Side, new: Side, status: FileStatus, masker: &Masker) -> FileDiff {
    if status == FileStatus::Unchanged {
        return FileDiff {
            path: path.into(),
            status,
            insertions: 0,
            deletions: 0,
            diff: None,
        };
    }
    let secret = old.secret || new.secret;
    let old_text = masker.mask(old.text.unwrap_or(""), secret);
    let new_text = masker.mask(new.text.unwrap_or(""), secret);
    let header = |s: &Side| match s.text {
        Some(_) => format!("{}/{path}", s.label),
        None => "/dev/null".to_string(),
    };
    let diff = TextDiff::from_lines(&old_text, &new_text);
    let (mut insertions, mut deletions) = (0, 0);
    for c in diff.iter_all_changes() {
        match c.tag() {
            ChangeTag::Insert => insertions += 1,
            ChangeTag::Delete => deletions += 1,
            ChangeTag::Equal => {}
        }
    }
    let mut text = diff
        .unified_diff()
        .context_radius(3)
        .header(&header(&old), &header(&new))
        .to_string();
    if text.is_empty() {
        // Only possible if two different secrets shared a fingerprint: still say so.
        text = format!(
            "--- {}\n+++ {}\n(differs only in masked secrets)\n",
            header(&old),
            header(&new)
        );
    }
    FileDiff {
        path: path.into(),
        status,
        insertions,
        deletions,
        diff: Some(text),
    }
}

/// `check`: rendered `outputs` against the directory `dir` (shown as `label`). With
/// `skip_secret_files`, secret-bearing outputs are left out on both sides (they are not
/// in version control, so a CI checkout does not have them).
pub fn against_dir(
    outputs: &Outputs,
    dir: &Path,
    label: &str,
    masker: &Masker,
    skip_secret_files: bool,
) -> Result<Vec<FileDiff>> {
    let on_disk = if dir.is_dir() {
        files_under(dir)?
    } else {
        Vec::new()
    };
    let mut result = Vec::new();
    for (path, f) in &outputs.files {
        if skip_secret_files && f.secret {
            continue;
        }
        let full = dir.join(path);
        let current = match std::fs::read(&full) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(Error::Read { path: full, source }),
        };
        let status = match &current {
            None => FileStatus::Missing,
            Some(c) if *c == f.contents => FileStatus::Unchanged,
            Some(_) => FileStatus::Changed,
        };
        let old = Side {
            label,
            text: current.as_deref(),
            secret: f.secret,
        };
        let new = Side {
            label,
            text: Some(&f.contents),
            secret: f.secret,
        };
        result.push(file_diff(path, old, new, status, masker));
    }
    for (rel, full) in on_disk {
        // The user's own files that renders keep (e.g. `secrets.env`) are not drift.
        if outputs.files.contains_key(&rel) || outputs.preserve.contains(&rel) {
            continue;
        }
        let bytes = std::fs::read(&full).map_err(|source| Error::Read {
            path: full.clone(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        // A stray file that looks like it holds secrets is masked as one (known secrets
        // and URL passwords are masked in every file anyway).
        let secret = rel.ends_with(".env")
            || rel.to_ascii_lowercase().contains("secret")
            || text.contains("kind: Secret");
        let old = Side {
            label,
            text: Some(&text),
            secret,
        };
        let new = Side {
            label,
            text: None,
            secret,
        };
        result.push(file_diff(&rel, old, new, FileStatus::Extra, masker));
    }
    Ok(result)
}

/// `diff`: profile `a`'s outputs against profile `b`'s, file by file in `a`'s order, then
/// the files only `b` has.
pub fn between(
    a: &Outputs,
    a_label: &str,
    b: &Outputs,
    b_label: &str,
    masker: &Masker,
) -> Vec<FileDiff> {
    let mut result = Vec::new();
    for (path, fa) in &a.files {
        let fb = b.files.get(path);
        let status = match fb {
            None => FileStatus::Removed,
            Some(fb) if fb.contents == fa.contents => FileStatus::Unchanged,
            Some(_) => FileStatus::Changed,
        };
        let old = Side {
            label: a_label,
            text: Some(&fa.contents),
            secret: fa.secret,
        };
        let new = Side {
            label: b_label,
            text: fb.map(|f| f.contents.as_str()),
            secret: fb.is_some_and(|f| f.secret),
        };
        result.push(file_diff(path, old, new, status, masker));
    }
    for (path, fb) in b.files.iter().filter(|(p, _)| !a.files.contains_key(*p)) {
        let old = Side {
            label: a_label,
            text: None,
            secret: fb.secret,
        };
        let new = Side {
            label: b_label,
            text: Some(&fb.contents),
            secret: fb.secret,
        };
        result.push(file_diff(path, old, new, FileStatus::Added, masker));
    }
    result
}

/// Two texts that are not files (the resolved configs of `diff --config-diff`).
pub fn texts(path: &str, a: (&str, &str), b: (&str, &str), masker: &Masker) -> FileDiff {
    let status = if a.1 == b.1 {
        FileStatus::Unchanged
    } else {
        FileStatus::Changed
    };
    let old = Side {
        label: a.0,
        text: Some(a.1),
        secret: false,
    };
    let new = Side {
        label: b.0,
        text: Some(b.1),
        secret: false,
    };
    file_diff(path, old, new, status, masker)
}
