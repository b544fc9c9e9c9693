//! The index reader (`logto_deploy::gitindex`) against `git ls-files` itself, on
//! repositories with every index version, awkward names, deleted working copies and
//! conflicts, and the layouts it must leave to git.

use std::fs;
use std::path::Path;
use std::process::Command;

use logto_deploy::gitindex::tracked_under;

mod common;

fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let o = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// What `git ls-files` says is tracked below `rel` (relative to the work tree root).
fn expected(root: &Path, rel: &str) -> Vec<String> {
    let all = git(root, &["ls-files", "-z"]);
    let prefix = if rel.is_empty() {
        String::new()
    } else {
        format!("{rel}/")
    };
    let mut out: Vec<String> = all
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| std::str::from_utf8(p).unwrap().strip_prefix(&prefix))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn ours(dir: &Path) -> Vec<String> {
    let mut got = tracked_under(dir).unwrap_or_else(|| panic!("left to git: {}", dir.display()));
    got.sort();
    got
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// A repository with nested, oddly named and long paths, some committed, some only
/// added, one deleted from the working tree but still in the index.
fn repo(root: &Path) {
    git(root, &["init", "-q", "."]);
    let long = "l".repeat(200);
    for rel in [
        "logto.toml",
        "deploy/prod/.env",
        "deploy/prod/kubernetes/secret.yaml",
        "deploy/prod/kubernetes/deployment.yaml",
        "deploy/prod-old/.env",
        "deploy/staging/with space/ünïcödé.yaml",
        &format!("deploy/staging/{long}/{long}/{long}.yaml"),
        "deploy/gone/.env",
        "deployx/.env",
    ] {
        write(root, rel, rel);
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "one"]);
    fs::remove_dir_all(root.join("deploy/gone")).unwrap();
}

fn check_all(root: &Path) {
    for rel in [
        "",
        "deploy",
        "deploy/prod",
        "deploy/prod/kubernetes",
        "deploy/staging",
        "deploy/gone",
        "deploy/never",
        "deploy/never/deeper",
        "deployx",
    ] {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        assert_eq!(ours(&dir), expected(root, rel), "below `{rel}`");
    }
    assert!(ours(&root.join("deploy/prod")).contains(&".env".to_string()));
}

fn have_git() -> bool {
    common::have("git", "--version")
}

#[test]
fn every_index_version_reads_like_git_ls_files() {
    if !have_git() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    repo(root);
    check_all(root);
    assert_eq!(ours(&root.join("deploy/gone")), vec![".env".to_string()]);
    // Version 3: an intent-to-add entry carries extended flags.
    write(root, "deploy/prod/new.yaml", "x");
    git(root, &["add", "-N", "deploy/prod/new.yaml"]);
    let index = fs::read(root.join(".git/index")).unwrap();
    assert_eq!(index[7], 3, "git wrote a version-3 index");
    check_all(root);
    // Version 4: prefix-compressed paths.
    git(root, &["update-index", "--index-version", "4"]);
    let index = fs::read(root.join(".git/index")).unwrap();
    assert_eq!(index[7], 4);
    check_all(root);
    git(root, &["update-index", "--index-version", "2"]);
    check_all(root);
}

#[test]
fn conflicted_paths_are_tracked_once() {
    if !have_git() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    repo(root);
    git(root, &["checkout", "-q", "-b", "other"]);
    write(root, "deploy/prod/.env", "theirs");
    git(root, &["commit", "-q", "-am", "theirs"]);
    git(root, &["checkout", "-q", "main"]);
    write(root, "deploy/prod/.env", "ours");
    git(root, &["commit", "-q", "-am", "ours"]);
    let merge = Command::new("git")
        .current_dir(root)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["merge", "-q", "other"])
        .output()
        .unwrap();
    assert!(!merge.status.success(), "the merge conflicts");
    check_all(root);
}

#[test]
fn outside_a_work_tree_nothing_is_tracked() {
    let tmp = tempfile::tempdir().unwrap();
    // A temporary directory is in no repository (unless the machine's /tmp is one).
    if tmp.path().ancestors().any(|a| a.join(".git").exists()) {
        return;
    }
    assert_eq!(
        tracked_under(&tmp.path().join("deploy/prod")),
        Some(Vec::new())
    );
}

#[test]
fn a_path_through_a_symbolic_link_is_read_where_it_leads() {
    if !have_git() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir(&root).unwrap();
    repo(&root);
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(root.join("deploy"), elsewhere.join("deploy")).unwrap();
    assert_eq!(
        ours(&elsewhere.join("deploy/prod")),
        expected(&root, "deploy/prod")
    );
    assert_eq!(
        ours(&elsewhere.join("deploy/gone")),
        expected(&root, "deploy/gone")
    );
}

#[test]
fn unusual_layouts_are_left_to_git() {
    if !have_git() {
        return;
    }
    // Split index: entries live in a shared file.
    let tmp = tempfile::tempdir().unwrap();
    repo(tmp.path());
    git(tmp.path(), &["update-index", "--split-index"]);
    assert_eq!(
        tracked_under(&tmp.path().join("deploy/prod")),
        None,
        "split index"
    );

    // A linked worktree has a `.git` file.
    let tmp = tempfile::tempdir().unwrap();
    let main = tmp.path().join("main");
    fs::create_dir(&main).unwrap();
    repo(&main);
    let linked = tmp.path().join("linked");
    git(&main, &["worktree", "add", "-q", linked.to_str().unwrap()]);
    assert_eq!(tracked_under(&linked.join("deploy/prod")), None, "worktree");

    // SHA-256 object names.
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["init", "-q", "--object-format=sha256", "."]);
    write(tmp.path(), "deploy/prod/.env", "x");
    git(tmp.path(), &["add", "-A"]);
    assert_eq!(
        tracked_under(&tmp.path().join("deploy/prod")),
        None,
        "sha256"
    );

    // A `.git` directory that is no repository (git looks further up): the repository
    // above tracks `deploy/prod/.env`, which git reports and the reader leaves to git.
    let tmp = tempfile::tempdir().unwrap();
    repo(tmp.path());
    fs::create_dir(tmp.path().join("deploy/.git")).unwrap();
    let listed = git(
        &tmp.path().join("deploy"),
        &["ls-files", "-z", "--", "prod"],
    );
    assert!(String::from_utf8_lossy(&listed).contains("prod/.env"));
    assert_eq!(
        tracked_under(&tmp.path().join("deploy/prod")),
        None,
        "stray .git"
    );

    // Case-insensitive path matching.
    let tmp = tempfile::tempdir().unwrap();
    repo(tmp.path());
    git(tmp.path(), &["config", "core.ignoreCase", "true"]);
    assert_eq!(
        tracked_under(&tmp.path().join("deploy/prod")),
        None,
        "ignorecase"
    );

    // A sparse index folds directories into single entries.
    let tmp = tempfile::tempdir().unwrap();
    repo(tmp.path());
    git(
        tmp.path(),
        &[
            "sparse-checkout",
            "set",
            "--cone",
            "--sparse-index",
            "deploy/prod",
        ],
    );
    assert_eq!(
        tracked_under(&tmp.path().join("deploy/prod")),
        None,
        "sparse index"
    );
}
