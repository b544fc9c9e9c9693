//! The binary as users run it: exit codes, what is (not) written, re-render stability,
//! secrets handling and atomic replacement of the output directory.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_logto-deploy"));
    c.env_remove("LOGTO_DB_PASSWORD")
        .env_remove("LOGTO_REDIS_PASSWORD")
        .env("NO_COLOR", "1");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A copy of the shipped example, with the fixture secrets as its store.
fn example() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    fs::create_dir(&dir).unwrap();
    fs::copy(common::root().join("logto.toml"), dir.join("logto.toml")).unwrap();
    common::copy_dir(&common::root().join("profiles"), &dir.join("profiles"));
    common::copy_dir(&common::fixture_secrets_dir(), &dir.join(".logto-secrets"));
    (tmp, dir)
}

/// A small project whose secrets are fast to generate (EC key).
fn fresh_project() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    fs::write(
        dir.join("logto.toml"),
        "[logto]\nendpoint = \"https://auth.example.com\"\n[secrets]\nsigning-key-type = \"ec\"\n",
    )
    .unwrap();
    (tmp, dir)
}

fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn help_documents_the_exit_codes() {
    let o = bin().arg("--help").output().unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    for line in ["0  success", "1  error", "2  usage error"] {
        assert!(text.contains(line), "{text}");
    }
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(common::root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.bind(|| insta::assert_snapshot!("cli-help", text));
}

#[test]
fn rendering_twice_gives_the_same_bytes_and_keeps_the_store() {
    let (_tmp, dir) = example();
    let store_before = fs::read(dir.join(".logto-secrets/staging.json")).unwrap();
    let o = run(&dir, &["render", "--profile", "staging"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = read_tree(&dir.join("deploy/staging"));
    let names: Vec<&str> = first.iter().map(|(p, _)| p.as_str()).collect();
    for expected in [
        ".env",
        "docker-compose.yml",
        "kubernetes/deployment.yaml",
        "kubernetes/kustomization.yaml",
        "nginx/logto.conf",
        "nginx/default-server.conf",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let o = run(&dir, &["render", "--profile", "staging"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(first, read_tree(&dir.join("deploy/staging")));
    assert_eq!(
        store_before,
        fs::read(dir.join(".logto-secrets/staging.json")).unwrap()
    );
    // Secrets never reach the terminal.
    common::assert_no_secret(
        &format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout)),
        &common::fixture_store("staging"),
    );
}

#[test]
fn first_render_generates_secrets_once_with_private_modes() {
    let (_tmp, dir) = fresh_project();
    let o = run(&dir, &["render"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("generated new secrets for profile `base`"));
    let store = dir.join(".logto-secrets/base.json");
    let first = fs::read(&store).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&store).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(dir.join("deploy/base/.env"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let env_first = fs::read(dir.join("deploy/base/.env")).unwrap();
    let o = run(&dir, &["render"]);
    assert!(o.status.success());
    assert!(!stderr(&o).contains("generated"));
    assert_eq!(first, fs::read(&store).unwrap());
    assert_eq!(env_first, fs::read(dir.join("deploy/base/.env")).unwrap());
}

#[test]
fn a_lost_store_is_an_error_not_new_secrets() {
    let (_tmp, dir) = fresh_project();
    assert!(run(&dir, &["render"]).status.success());
    let env_before = fs::read(dir.join("deploy/base/.env")).unwrap();
    fs::remove_file(dir.join(".logto-secrets/base.json")).unwrap();
    let o = run(&dir, &["render"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("rendered before"), "{}", stderr(&o));
    assert!(!dir.join(".logto-secrets/base.json").exists());
    assert_eq!(env_before, fs::read(dir.join("deploy/base/.env")).unwrap());
}

#[test]
fn a_corrupt_store_is_reported_and_kept() {
    let (_tmp, dir) = example();
    let path = dir.join(".logto-secrets/staging.json");
    let mut text = fs::read_to_string(&path).unwrap();
    text = text.replacen("\"secret-vault-kek\": \"", "\"secret-vault-kek\": \"!!", 1);
    fs::write(&path, &text).unwrap();
    let o = run(&dir, &["render", "--profile", "staging"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("secret-vault-kek"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    assert!(!dir.join("deploy").exists());
}

#[test]
fn a_typo_fails_with_exit_1_and_writes_nothing() {
    let (_tmp, dir) = fresh_project();
    fs::write(
        dir.join("logto.toml"),
        "[logto]\nendpoint = \"https://auth.example.com\"\nreplicsa = 2\n",
    )
    .unwrap();
    let o = run(&dir, &["render"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("unknown field `replicsa`"), "{err}");
    assert!(err.contains("logto.toml:3:1"), "{err}");
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "only logto.toml remains"
    );
}

#[test]
fn a_failed_render_leaves_the_previous_output_untouched() {
    let (_tmp, dir) = example();
    assert!(run(&dir, &["render", "--profile", "staging"])
        .status
        .success());
    let before = read_tree(&dir.join("deploy/staging"));
    // A broken template override fails at render time, after the config was accepted.
    let t = dir.join("tpl/compose");
    fs::create_dir_all(&t).unwrap();
    fs::write(t.join("docker-compose.yml.j2"), "{{ no_such_value }}\n").unwrap();
    let o = run(
        &dir,
        &["render", "--profile", "staging", "--templates", "tpl"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("docker-compose.yml.j2"),
        "{}",
        stderr(&o)
    );
    assert_eq!(before, read_tree(&dir.join("deploy/staging")));
    let leftovers: Vec<_> = fs::read_dir(dir.join("deploy"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("staging")]);
}

#[test]
fn template_overrides_apply_file_by_file() {
    let (_tmp, dir) = example();
    let t = dir.join("tpl/compose");
    fs::create_dir_all(&t).unwrap();
    fs::write(
        t.join("docker-compose.yml.j2"),
        "{{ banner|comment }}\nimage: {{ image }}\n",
    )
    .unwrap();
    let o = run(
        &dir,
        &[
            "render",
            "--profile",
            "staging",
            "--templates",
            "tpl",
            "--stdout",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("==== docker-compose.yml ====\n# Generated by logto-deploy"));
    assert!(out.contains("image: \"ghcr.io/logto-io/logto:1.43.0\"\n"));
    assert!(
        out.contains("==== .env ===="),
        "the .env template is still the built-in one"
    );
    // A file that matches no template is refused rather than ignored.
    fs::write(t.join("docker-compose.yaml.j2"), "x").unwrap();
    let o = run(
        &dir,
        &[
            "render",
            "--profile",
            "staging",
            "--templates",
            "tpl",
            "--stdout",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_override_that_renders_broken_yaml_is_refused_before_writing() {
    let (_tmp, dir) = example();
    let t = dir.join("tpl/kubernetes");
    fs::create_dir_all(&t).unwrap();
    // Renders fine as a template, but the YAML it produces does not parse.
    fs::write(
        t.join("service.yaml.j2"),
        "{{ banner|comment }}\nports: [80\n",
    )
    .unwrap();
    let o = run(
        &dir,
        &["render", "--profile", "staging", "--templates", "tpl"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("service.yaml"), "{err}");
    assert!(err.contains("YAML does not parse"), "{err}");
    assert!(!dir.join("deploy").exists(), "nothing is written");
}

#[test]
fn unknown_profile_lists_the_available_ones() {
    let (_tmp, dir) = example();
    let o = run(&dir, &["render", "--profile", "qa"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("available profiles: dev, prod, staging"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn password_from_the_environment_is_required_and_never_stored() {
    let (_tmp, dir) = example();
    let o = run(&dir, &["render", "--profile", "prod"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("LOGTO_DB_PASSWORD"), "{}", stderr(&o));
    assert!(!dir.join("deploy").exists());
    let o = bin()
        .current_dir(&dir)
        .args(["render", "--profile", "prod"])
        .env("LOGTO_DB_PASSWORD", "s3cr3t/with@chars")
        .env("LOGTO_REDIS_PASSWORD", "r3dis")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let env = fs::read_to_string(dir.join("deploy/prod/.env")).unwrap();
    assert!(
        env.contains("postgres://logto:s3cr3t%2Fwith%40chars@db.internal.example.com"),
        "{env}"
    );
    let store = fs::read_to_string(dir.join(".logto-secrets/prod.json")).unwrap();
    assert!(!store.contains("s3cr3t"));
}

#[test]
fn validate_checks_every_profile_and_writes_nothing() {
    let (_tmp, dir) = example();
    let o = run(&dir, &["validate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    for p in ["ok: base", "ok: dev", "ok: prod", "ok: staging"] {
        assert!(out.contains(p), "{out}");
    }
    assert!(!dir.join("deploy").exists());
}

#[test]
fn refuses_to_replace_a_directory_with_foreign_files() {
    let (_tmp, dir) = example();
    fs::create_dir_all(dir.join("mine")).unwrap();
    fs::write(dir.join("mine/notes.md"), "keep me").unwrap();
    let o = run(&dir, &["render", "--profile", "staging", "--out", "mine"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        fs::read_to_string(dir.join("mine/notes.md")).unwrap(),
        "keep me"
    );
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let o = bin().arg("schema").output().unwrap();
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        fs::read_to_string(common::root().join("logto.schema.json")).unwrap()
    );
}
