//! `logto-deploy secrets`: masked by default, rotations with Logto's semantics, refusals
//! that protect users, and rotations that reach the rendered outputs.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use logto_deploy::render::escape::dotenv_parse;
use logto_deploy::secrets::store::{self, Store};

use common::{ok_bin as ok, run_bin as run};

/// A rendered project with fast (EC) keys.
fn project() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    fs::write(
        dir.join("logto.toml"),
        "[logto]\nendpoint = \"https://auth.example.com\"\n[secrets]\nsigning-key-type = \"ec\"\n",
    )
    .unwrap();
    ok(&dir, &["render"]);
    (tmp, dir)
}

fn store(dir: &Path) -> Store {
    store::load(&dir.join(".logto-secrets/base.json"), "base")
        .unwrap()
        .unwrap()
}

#[test]
fn show_is_masked_unless_asked() {
    let (_tmp, dir) = project();
    let s = store(&dir);
    let masked = ok(&dir, &["secrets", "show"]);
    common::assert_no_secret(&masked, &s);
    assert!(masked.contains(&s.oidc_private_keys[0].id));
    assert!(masked.contains("ec-p-384"));
    assert!(masked.contains("sha256:"));
    let revealed = ok(&dir, &["secrets", "show", "--reveal"]);
    assert!(revealed.contains(&s.secret_vault_kek));
    assert!(revealed.contains(s.oidc_private_keys[0].pem.lines().nth(1).unwrap()));
}

#[test]
fn fixture_stores_show_as_test_fixtures() {
    let out = ok(
        &common::root(),
        &[
            "secrets",
            "--profile",
            "staging",
            "--secrets-dir",
            "tests/fixtures/secrets",
            "show",
        ],
    );
    assert!(out.contains("TEST FIXTURE"), "{out}");
    common::assert_no_secret(&out, &common::fixture_store("staging"));
}

#[test]
fn signing_key_rotation_keeps_the_key_in_use_and_reaches_the_outputs() {
    let (_tmp, dir) = project();
    let first = store(&dir).oidc_private_keys[0].clone();
    ok(&dir, &["secrets", "rotate", "signing-key"]);
    let s = store(&dir);
    assert_eq!(s.oidc_private_keys.len(), 2);
    assert_eq!(
        s.oidc_private_keys[1], first,
        "Current became Previous, unchanged"
    );
    let second = s.oidc_private_keys[0].clone();
    ok(
        &dir,
        &[
            "secrets",
            "rotate",
            "signing-key",
            "--type",
            "rsa",
            "--rsa-bits",
            "2048",
        ],
    );
    let s = store(&dir);
    assert_eq!(
        s.oidc_private_keys.len(),
        2,
        "at most two: Logto's seed takes Current and Previous"
    );
    assert_eq!(s.oidc_private_keys[1], second);
    assert_eq!(s.oidc_private_keys[0].algorithm, "rsa-2048");
    assert!(!s.oidc_private_keys.contains(&first));

    // The next render carries both keys to the seed input and to the sync JSON.
    ok(&dir, &["render"]);
    let env = dotenv_parse(&fs::read_to_string(dir.join("deploy/base/.env")).unwrap()).unwrap();
    assert_eq!(
        env["OIDC_PRIVATE_KEYS"],
        format!(
            "{},{}",
            s.oidc_private_keys[0].pem, s.oidc_private_keys[1].pem
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&env["LOGTO_DEPLOY_PRIVATE_KEYS_JSON"]).unwrap();
    assert_eq!(json[0]["id"], s.oidc_private_keys[0].id.as_str());
    assert_eq!(json[0]["status"], "Current");
    assert_eq!(json[1]["id"], s.oidc_private_keys[1].id.as_str());
    assert_eq!(json[1]["status"], "Previous");
    assert_eq!(json[0]["value"], s.oidc_private_keys[0].pem.as_str());
}

#[test]
fn cookie_rotation_keeps_older_keys_for_verification() {
    let (_tmp, dir) = project();
    let first = store(&dir).oidc_cookie_keys[0].clone();
    ok(&dir, &["secrets", "rotate", "cookie-key"]);
    ok(&dir, &["secrets", "rotate", "cookie-key"]);
    let s = store(&dir);
    assert_eq!(s.oidc_cookie_keys.len(), 3);
    assert_eq!(s.oidc_cookie_keys[2], first);
    ok(&dir, &["secrets", "rotate", "cookie-key", "--keep", "2"]);
    assert_eq!(store(&dir).oidc_cookie_keys.len(), 2);
    let o = run(&dir, &["secrets", "rotate", "cookie-key", "--keep", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        store(&dir).oidc_cookie_keys.len(),
        2,
        "refused: nothing changed"
    );
    ok(&dir, &["secrets", "prune", "cookie-keys"]);
    assert_eq!(store(&dir).oidc_cookie_keys.len(), 1);
    ok(&dir, &["render"]);
    let env = dotenv_parse(&fs::read_to_string(dir.join("deploy/base/.env")).unwrap()).unwrap();
    assert_eq!(
        env["OIDC_COOKIE_KEYS"],
        store(&dir).oidc_cookie_keys[0].value
    );
}

#[test]
fn prune_signing_keys_keeps_the_current_one() {
    let (_tmp, dir) = project();
    ok(&dir, &["secrets", "rotate", "signing-key"]);
    let current = store(&dir).oidc_private_keys[0].clone();
    ok(&dir, &["secrets", "prune", "signing-keys"]);
    assert_eq!(store(&dir).oidc_private_keys, vec![current]);
}

#[test]
fn vault_kek_is_only_replaced_with_force() {
    let (_tmp, dir) = project();
    let before = store(&dir).secret_vault_kek;
    let o = run(&dir, &["secrets", "rotate", "vault-kek"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("connector secrets"));
    assert_eq!(store(&dir).secret_vault_kek, before);
    ok(&dir, &["secrets", "rotate", "vault-kek", "--force"]);
    assert_ne!(store(&dir).secret_vault_kek, before);
}

#[test]
fn rotation_needs_an_existing_store_and_keeps_mode_0600() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("logto.toml"),
        "[logto]\nendpoint = \"https://a.example.com\"\n",
    )
    .unwrap();
    let o = run(tmp.path(), &["secrets", "rotate", "cookie-key"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !tmp.path().join(".logto-secrets/base.json").exists(),
        "rotation never creates secrets"
    );
    let (_tmp, dir) = project();
    ok(&dir, &["secrets", "rotate", "cookie-key"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.join(".logto-secrets/base.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn the_sync_job_is_renamed_by_a_rotation() {
    let (_tmp, dir) = project();
    let job_name = |dir: &Path| {
        let text =
            fs::read_to_string(dir.join("deploy/base/kubernetes/migration-job.yaml")).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        v["metadata"]["name"].as_str().unwrap().to_string()
    };
    let before = job_name(&dir);
    ok(&dir, &["render"]);
    assert_eq!(
        before,
        job_name(&dir),
        "same keys: same Job, re-applying is a no-op"
    );
    ok(&dir, &["secrets", "rotate", "cookie-key"]);
    ok(&dir, &["render"]);
    assert_ne!(before, job_name(&dir), "new keys: a new Job syncs them");
}

#[test]
fn secret_files_are_git_ignored_and_never_written_where_git_tracks_them() {
    let (_tmp, dir) = project();
    let ignore = fs::read_to_string(dir.join("deploy/base/.gitignore")).unwrap();
    assert!(
        ignore.contains("/.env\n") && ignore.contains("/kubernetes/secret.yaml\n"),
        "{ignore}"
    );
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("SKIPPED: git is not installed");
        return;
    }
    let git = |args: &[&str]| {
        assert!(
            Command::new("git")
                .current_dir(&dir)
                .args(args)
                .output()
                .unwrap()
                .status
                .success(),
            "git {args:?}"
        )
    };
    git(&["init", "-q", "."]);
    git(&["add", "-A"]);
    let listed = String::from_utf8(
        Command::new("git")
            .current_dir(&dir)
            .args(["ls-files"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        !listed.contains(".env")
            && !listed.contains("secret.yaml")
            && !listed.contains(".logto-secrets"),
        "{listed}"
    );
    assert!(listed.contains("deploy/base/kubernetes/deployment.yaml"));
    git(&["add", "-f", "deploy/base/.env"]);
    let before = fs::read(dir.join("deploy/base/.env")).unwrap();
    ok(&dir, &["secrets", "rotate", "cookie-key"]);
    let o = run(&dir, &["render"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("git tracks"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        before,
        fs::read(dir.join("deploy/base/.env")).unwrap(),
        "nothing written"
    );
    // The index is what counts: with the working copy gone, the file is still tracked
    // and a render would bring the secret back into the next commit.
    fs::remove_dir_all(dir.join("deploy/base")).unwrap();
    let o = run(&dir, &["render"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("deploy/base/.env"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.join("deploy/base").exists(), "nothing written");
    // A render that must be refused, run from `cwd` with extra environment; its stderr.
    let refused = |cwd: &Path, env: &[(&str, &std::ffi::OsStr)]| {
        let o = Command::new(env!("CARGO_BIN_EXE_logto-deploy"))
            .current_dir(cwd)
            .arg("-c")
            .arg(dir.join("logto.toml"))
            .arg("render")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(!dir.join("deploy/base").exists(), "nothing written");
        err
    };
    let git_dir = dir.join(".git");
    // Where the repository is given by the environment, git itself is asked (the index
    // reader leaves such layouts to git): the same answer.
    let err = refused(&dir, &[("GIT_DIR", git_dir.as_os_str())]);
    assert!(err.contains("deploy/base/.env"), "{err}");
    // The same from outside the work tree, with the repository and work tree named by
    // the environment (git then prints paths relative to the work tree, not to us).
    let outside = dir.parent().unwrap();
    let env = [
        ("GIT_DIR", git_dir.as_os_str()),
        ("GIT_WORK_TREE", dir.as_os_str()),
    ];
    let err = refused(outside, &env);
    assert!(err.contains("deploy/base/.env"), "{err}");
    // When git cannot answer (here: an unreadable index it is pointed at), the render
    // refuses instead of guessing.
    let garbage = dir.join("garbage-index");
    fs::write(&garbage, "not an index").unwrap();
    let err = refused(&dir, &[("GIT_INDEX_FILE", garbage.as_os_str())]);
    assert!(err.contains("cannot tell whether git tracks"), "{err}");
    ok(&dir, &["render", "--allow-tracked-secrets"]);
    // Untracked again: renders as usual.
    git(&["rm", "-q", "-f", "--cached", "deploy/base/.env"]);
    ok(&dir, &["render"]);
}
