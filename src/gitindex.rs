//! Which files git tracks under a directory, read from the repository's index file.
//!
//! `render` refuses to write secret-bearing files that git tracks. Asking `git ls-files`
//! costs a process start on every render; reading `.git/index` costs a file read. This
//! reader answers only in the plain, common layout and says "ask git" (`None`) for
//! everything else: environment variables that move the repository or its index, a
//! `.git` file (worktrees, submodules) or a `.git` directory that is no repository, a
//! repository on another filesystem, an index in split or sparse form or with an unknown
//! mandatory extension, SHA-256 repositories, configured work trees, repository config
//! that compares paths other than byte for byte (`ignorecase`, `precomposeunicode`) or
//! includes other files, non-ASCII directory names and non-UTF-8 index entries.
//! `tests/gitindex.rs` holds it to `git ls-files` on repositories of every index version.
//!
//! Format: <https://git-scm.com/docs/index-format> (versions 2, 3 and 4).

use std::path::{Component, Path, PathBuf};

/// Variables that change where git finds the repository, its work tree or its index.
pub const GIT_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
];

/// Length of an object name in a SHA-1 repository (SHA-256 ones are left to git).
const HASH_LEN: usize = 20;

/// The paths below `dir` (relative to it, `/`-separated) that the index of the git
/// work tree holding `dir` lists; empty when `dir` is in no work tree. `dir` need not
/// exist: files stay tracked when their working copies are deleted. `None`: ask git.
pub fn tracked_under(dir: &Path) -> Option<Vec<String>> {
    if GIT_ENV.iter().any(|v| std::env::var_os(v).is_some()) {
        return None;
    }
    let (base, resolved) = resolve(dir)?;
    let base_device = device(&base)?;
    let mut root = None;
    for candidate in base.ancestors() {
        let dot_git = candidate.join(".git");
        match std::fs::symlink_metadata(&dot_git) {
            Ok(m) if m.is_dir() => {
                root = Some((candidate.to_path_buf(), dot_git));
                break;
            }
            Ok(_) => return None,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => return None,
        }
    }
    let Some((root, git_dir)) = root else {
        return Some(Vec::new());
    };
    // Git only takes a `.git` directory that looks like a repository (and otherwise keeps
    // looking further up); one that shares another repository's objects (`commondir`)
    // is a linked worktree. Either way: ask git.
    let is = |name: &str, dir: bool| {
        std::fs::symlink_metadata(git_dir.join(name)).is_ok_and(|m| m.is_dir() == dir)
    };
    if !is("HEAD", false) || !is("objects", true) || !is("refs", true) || is("commondir", false) {
        return None;
    }
    // Git stops looking at a filesystem boundary; so do we, by asking git.
    if device(&root)? != base_device {
        return None;
    }
    let config = std::fs::read(git_dir.join("config")).unwrap_or_default();
    let config = String::from_utf8_lossy(&config).to_ascii_lowercase();
    if [
        "objectformat",
        "worktree",
        "splitindex",
        "sparse",
        "include",
        // Paths compared other than byte for byte.
        "ignorecase",
        "precomposeunicode",
    ]
    .iter()
    .any(|k| config.contains(k))
    {
        return None;
    }
    let prefix = resolved.strip_prefix(&root).ok()?;
    let prefix = prefix.to_str()?.replace('\\', "/");
    // Byte-for-byte comparison is only safe for ASCII (Unicode normalisation differs
    // between filesystems and the index).
    if !prefix.is_ascii() {
        return None;
    }
    let index = match std::fs::read(git_dir.join("index")) {
        Ok(bytes) => bytes,
        // A repository where nothing was ever added has no index yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Vec::new()),
        Err(_) => return None,
    };
    let paths = parse(&index)?;
    let mut under: Vec<String> = Vec::new();
    for path in &paths {
        // A name that is not UTF-8 cannot be compared with ours: ask git.
        let path = std::str::from_utf8(path).ok()?;
        let rest = if prefix.is_empty() {
            Some(path)
        } else {
            path.strip_prefix(prefix.as_str())
                .and_then(|r| r.strip_prefix('/'))
        };
        under.extend(rest.map(str::to_string));
    }
    under.dedup();
    Some(under)
}

/// `dir` as git sees it: its nearest existing ancestor with symbolic links resolved (as
/// git resolves its working directory), and that ancestor joined with the components of
/// `dir` below it, which do not exist yet. `None` for a dangling symbolic link on the
/// way (it "does not exist" but leads somewhere) or a `..` below the existing part.
pub fn resolve(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let absolute = std::path::absolute(dir).ok()?;
    let mut base = absolute.as_path();
    let mut missing: Vec<&std::ffi::OsStr> = Vec::new();
    while !base.exists() {
        let Some(Component::Normal(name)) = base.components().next_back() else {
            return None;
        };
        if std::fs::symlink_metadata(base).is_ok() {
            return None;
        }
        missing.push(name);
        base = base.parent()?;
    }
    let base = std::fs::canonicalize(base).ok()?;
    let mut resolved = base.clone();
    for name in missing.iter().rev() {
        resolved.push(name);
    }
    Some((base, resolved))
}

/// The filesystem a path is on (`None` where that cannot be told: then git is asked).
#[cfg(unix)]
fn device(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map(|m| m.dev()).ok()
}

#[cfg(not(unix))]
fn device(_: &Path) -> Option<u64> {
    None
}

/// Every path an index file lists, in index order (conflicted paths once per stage).
/// `None` for anything this reader does not fully understand.
pub fn parse(index: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader {
        bytes: index.get(..index.len().checked_sub(HASH_LEN)?)?,
        at: 0,
    };
    if r.take(4)? != b"DIRC" {
        return None;
    }
    let version = r.u32()?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = r.u32()?;
    let mut paths: Vec<Vec<u8>> = Vec::with_capacity((count as usize).min(1 << 16));
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = r.at;
        // ctime, mtime, dev, ino, mode, uid, gid, size: ten 32-bit fields, then the name.
        r.take(40 + HASH_LEN)?;
        let flags = r.u16()?;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return None;
            }
            let extended = r.u16()?;
            // Bit 14 of the extended flags marks a sparse-directory entry: ask git.
            if extended & 0x4000 != 0 {
                return None;
            }
        }
        let path = if version == 4 {
            let strip = r.varint()?;
            let keep = previous.len().checked_sub(usize::try_from(strip).ok()?)?;
            let suffix = r.until_nul()?;
            let mut path = previous[..keep].to_vec();
            path.extend_from_slice(suffix);
            path
        } else {
            let name = r.until_nul()?.to_vec();
            let declared = usize::from(flags & 0x0fff);
            if declared < 0x0fff && declared != name.len() {
                return None;
            }
            // Entries are padded with NULs to a multiple of eight bytes (one NUL, the
            // terminator, was read above).
            let len = r.at - start;
            let padded = len.div_ceil(8) * 8;
            let pad = r.take(padded - len)?;
            if pad.iter().any(|b| *b != 0) {
                return None;
            }
            name
        };
        previous.clone_from(&path);
        paths.push(path);
    }
    // Extensions. Those whose signature starts with an upper-case letter are optional
    // (caches); any other one changes what the entries mean, e.g. a split index ("link")
    // keeps entries in another file and a sparse index ("sdir") folds directories into
    // single entries: ask git.
    while r.at < r.bytes.len() {
        let signature = r.take(4)?;
        if !signature[0].is_ascii_uppercase() {
            return None;
        }
        let size = usize::try_from(r.u32()?).ok()?;
        r.take(size)?;
    }
    Some(paths)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    /// The bytes up to a NUL, which is consumed too.
    fn until_nul(&mut self) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.at..)?;
        let n = rest.iter().position(|b| *b == 0)?;
        self.at += n + 1;
        Some(&rest[..n])
    }

    /// Git's offset varint (index v4 path prefixes): big-endian base-128 where every
    /// continuation adds one.
    fn varint(&mut self) -> Option<u64> {
        let mut byte = self.take(1)?[0];
        let mut value = u64::from(byte & 0x7f);
        while byte & 0x80 != 0 {
            byte = self.take(1)?[0];
            value = value.checked_add(1)?.checked_mul(128)? | u64::from(byte & 0x7f);
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncations_are_not_understood() {
        assert!(parse(b"").is_none());
        assert!(parse(&[0u8; 64]).is_none());
        let mut header = b"DIRC\0\0\0\x05\0\0\0\0".to_vec();
        header.extend([0u8; HASH_LEN]);
        assert!(parse(&header).is_none(), "version 5");
        header[7] = 2;
        assert_eq!(parse(&header), Some(Vec::new()), "an empty version-2 index");
        header[11] = 1;
        assert!(
            parse(&header).is_none(),
            "one entry announced, none present"
        );
    }
}
