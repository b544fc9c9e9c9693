//! The CI commands as users run them: `check` (clean and every kind of drift), `diff`,
//! `init`, `--format json`, completions and the man page, and the README's CI example.
//! Secrets must never reach stdout or stderr; nothing here may write or generate secrets.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_logto-deploy"));
    c.env("LOGTO_DB_PASSWORD", common::FIXTURE_DB_PASSWORD)
        .env("LOGTO_REDIS_PASSWORD", common::FIXTURE_REDIS_PASSWORD)
        .env("NO_COLOR", "1");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn snapshot(name: &str, value: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(common::root().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.bind(|| insta::assert_snapshot!(name, value));
}

/// No secret of any shipped profile's store (or the render-time passwords) in `text`.
fn assert_no_secrets(text: &str) {
    for p in ["base", "dev", "staging", "prod"] {
        common::assert_no_secret(text, &common::fixture_store(p));
    }
}

/// A copy of the shipped example with the fixture stores, every profile rendered.
fn rendered_example() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    fs::create_dir(&dir).unwrap();
    fs::copy(common::root().join("logto.toml"), dir.join("logto.toml")).unwrap();
    common::copy_dir(&common::root().join("profiles"), &dir.join("profiles"));
    common::copy_dir(&common::fixture_secrets_dir(), &dir.join(".logto-secrets"));
    for p in ["dev", "staging", "prod"] {
        let o = run(&dir, &["render", "--profile", p]);
        assert!(o.status.success(), "{}", text(&o));
    }
    (tmp, dir)
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    logto_deploy::outputs::files_under(dir)
        .unwrap()
        .into_iter()
        .map(|(rel, p)| (rel, fs::read(p).unwrap()))
        .collect()
}

#[test]
fn clean_check_exits_0_and_writes_nothing() {
    let (_tmp, dir) = rendered_example();
    let before = tree(&dir);
    let o = run(&dir, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    snapshot("ci-check-clean", &text(&o));
    assert_eq!(before, tree(&dir), "check wrote something");
}

#[test]
fn an_edited_rendered_file_is_drift_with_a_masked_diff() {
    let (_tmp, dir) = rendered_example();
    let env = dir.join("deploy/staging/.env");
    let store = common::fixture_store("staging");
    let cookie = &store.oidc_cookie_keys[0].value;
    let edited = fs::read_to_string(&env)
        .unwrap()
        .replace("TRUST_PROXY_HEADER=1", "TRUST_PROXY_HEADER=0")
        .replace(cookie.as_str(), "an-old-cookie-key-that-was-rotated");
    fs::write(&env, edited).unwrap();
    let compose = dir.join("deploy/staging/docker-compose.yml");
    let edited = fs::read_to_string(&compose)
        .unwrap()
        .replace("retries: 12", "retries: 3");
    fs::write(&compose, edited).unwrap();
    let before = tree(&dir);
    let o = run(&dir, &["check", "--profile", "staging"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert_no_secrets(&out);
    assert!(!out.contains("an-old-cookie-key"), "{out}");
    assert!(out.contains("-OIDC_COOKIE_KEYS=<secret sha256:"), "{out}");
    snapshot("ci-check-edited-output", &out);
    assert_eq!(before, tree(&dir));
}

#[test]
fn an_edited_config_is_drift() {
    let (_tmp, dir) = rendered_example();
    let p = dir.join("profiles/staging.toml");
    let edited = fs::read_to_string(&p)
        .unwrap()
        .replace("replicas = 1", "replicas = 2");
    fs::write(&p, edited).unwrap();
    let o = run(&dir, &["check", "--profile", "staging"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert_no_secrets(&out);
    snapshot("ci-check-edited-config", &out);
}

#[test]
fn a_deleted_and_a_stray_file_are_drift() {
    let (_tmp, dir) = rendered_example();
    fs::remove_file(dir.join("deploy/dev/kubernetes/service-admin.yaml")).unwrap();
    fs::write(
        dir.join("deploy/dev/kubernetes/notes.txt"),
        "left here by hand\n",
    )
    .unwrap();
    let o = run(&dir, &["check", "--profile", "dev"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("+++ deploy/dev/kubernetes/service-admin.yaml"),
        "{out}"
    );
    assert!(out.contains("-left here by hand"), "{out}");
    snapshot("ci-check-deleted-and-stray", &out);
}

#[test]
fn a_changed_secret_in_the_kubernetes_secret_is_masked() {
    let (_tmp, dir) = rendered_example();
    let p = dir.join("deploy/prod/kubernetes/secret.yaml");
    let text_before = fs::read_to_string(&p).unwrap();
    // A stale, different secret value (base64), as left by an older store.
    let lines: Vec<String> = text_before
        .lines()
        .map(|l| {
            if l.starts_with("  SECRET_VAULT_KEK:") {
                "  SECRET_VAULT_KEK: \"b2xkLXZhdWx0LWtleS1vbGQtdmF1bHQta2V5LW9sZC12YXVsdC1rZXk=\""
                    .into()
            } else {
                l.to_string()
            }
        })
        .collect();
    fs::write(&p, lines.join("\n") + "\n").unwrap();
    let o = run(&dir, &["check", "--profile", "prod"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert_no_secrets(&out);
    assert!(!out.contains("b2xkLXZhdWx0"), "{out}");
    assert!(
        out.contains("-  SECRET_VAULT_KEK: \"<secret sha256:"),
        "{out}"
    );
    // Secret-bearing files are git-ignored: CI leaves them out.
    let o = run(
        &dir,
        &["check", "--profile", "prod", "--ignore-secret-files"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn a_missing_store_is_reported_as_drift_and_never_created() {
    let (_tmp, dir) = rendered_example();
    fs::remove_file(dir.join(".logto-secrets/staging.json")).unwrap();
    let before = tree(&dir);
    let o = run(&dir, &["check", "--profile", "staging"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    snapshot("ci-check-missing-store", &text(&o));
    assert!(!dir.join(".logto-secrets/staging.json").exists());
    assert_eq!(before, tree(&dir));
}

#[test]
fn diff_of_equal_and_different_profiles() {
    let (_tmp, dir) = rendered_example();
    let o = run(&dir, &["diff", "staging", "staging"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    snapshot("ci-diff-equal", &text(&o));

    let o = run(&dir, &["diff", "staging", "prod", "--stat"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    snapshot("ci-diff-stat", &text(&o));

    let o = run(&dir, &["diff", "staging", "prod"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert_no_secrets(&out);
    assert!(out.contains("--- staging/.env\n+++ prod/.env\n"), "{out}");
    snapshot("ci-diff-staging-prod", &out);

    let o = run(&dir, &["diff", "base", "dev", "--config-diff"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    snapshot("ci-diff-config", &text(&o));
}

#[test]
fn diff_needs_both_stores_and_generates_none() {
    let (_tmp, dir) = rendered_example();
    fs::remove_file(dir.join(".logto-secrets/prod.json")).unwrap();
    let o = run(&dir, &["diff", "staging", "prod"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(".logto-secrets/prod.json"),
        "{}",
        text(&o)
    );
    assert!(!dir.join(".logto-secrets/prod.json").exists());
}

#[test]
fn diff_works_without_the_production_passwords() {
    let (_tmp, dir) = rendered_example();
    let o = bin()
        .current_dir(&dir)
        .env_remove("LOGTO_DB_PASSWORD")
        .env_remove("LOGTO_REDIS_PASSWORD")
        .args(["diff", "staging", "prod", "--stat"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn init_scaffolds_a_project_that_validates_and_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &["init", "new"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    snapshot("ci-init", &text(&o));
    let dir = tmp.path().join("new");
    let toml = fs::read_to_string(dir.join("logto.toml")).unwrap();
    assert!(toml.starts_with("#:schema ./logto.schema.json\n"));
    assert_eq!(
        fs::read_to_string(dir.join("logto.schema.json")).unwrap(),
        fs::read_to_string(common::root().join("logto.schema.json")).unwrap()
    );
    let ignore = fs::read_to_string(dir.join(".gitignore")).unwrap();
    for line in [
        "/.logto-secrets/",
        "deploy/*/.env",
        "deploy/*/kubernetes/secret.yaml",
    ] {
        assert!(ignore.lines().any(|l| l == line), "{ignore}");
    }
    let o = run(&dir, &["validate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("warning"),
        "{}",
        text(&o)
    );
    // Fixture stores instead of generating RSA-4096 keys (slow in debug builds).
    common::copy_dir(&common::fixture_secrets_dir(), &dir.join(".logto-secrets"));
    for p in ["staging", "prod"] {
        let o = run(&dir, &["render", "--profile", p]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let o = run(&dir, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn init_refuses_a_directory_with_any_target_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join(".gitignore"), "target/\n").unwrap();
    fs::write(tmp.path().join("README.md"), "mine\n").unwrap();
    let o = run(tmp.path(), &["init"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    snapshot("ci-init-refused", &text(&o));
    let names: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(
        fs::read_to_string(tmp.path().join(".gitignore")).unwrap(),
        "target/\n"
    );
    // A directory holding other files only is fine.
    fs::remove_file(tmp.path().join(".gitignore")).unwrap();
    assert_eq!(run(tmp.path(), &["init"]).status.code(), Some(0));
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[test]
fn validate_json_locates_every_diagnostic() {
    let (_tmp, dir) = rendered_example();
    let o = run(&dir, &["validate", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["version"], 1);
    assert_eq!(v["command"], "validate");
    assert_eq!(v["status"], "ok");
    let names: Vec<&str> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profile"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["base", "dev", "prod", "staging"]);
    assert_eq!(
        v["profiles"][3]["source"],
        "logto.toml + profiles/staging.toml"
    );
    assert_eq!(v["profiles"][3]["database_connections"], 30);

    fs::write(
        dir.join("profiles/staging.toml"),
        "[logto]\nendpoint = \"https://auth.example.com\"\nreplicsa = 2\n",
    )
    .unwrap();
    let o = run(
        &dir,
        &["validate", "--profile", "staging", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["status"], "error");
    let d = &v["profiles"][0]["diagnostics"][0];
    assert_eq!(d["file"], "profiles/staging.toml");
    assert_eq!(d["line"], 3);
    assert_eq!(d["column"], 1);
    assert_eq!(d["severity"], "error");
    assert!(d["message"].as_str().unwrap().contains("replicsa"), "{d}");
    assert!(d["help"].is_string() || d["help"].is_null(), "{d}");
    assert_eq!(d["path"], "/logto/replicsa");
    assert!(o.stderr.is_empty() || !String::from_utf8_lossy(&o.stdout).contains("error:"));
}

#[test]
fn check_json_gives_a_status_per_file_with_masked_diffs() {
    let (_tmp, dir) = rendered_example();
    fs::remove_file(dir.join("deploy/staging/kubernetes/ingress.yaml")).unwrap();
    fs::write(dir.join("deploy/staging/extra.yaml"), "a: 1\n").unwrap();
    let env = dir.join("deploy/staging/.env");
    let edited = fs::read_to_string(&env)
        .unwrap()
        .replace("DATABASE_POOL_SIZE=10", "DATABASE_POOL_SIZE=12");
    fs::write(&env, edited).unwrap();
    let o = run(&dir, &["check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_no_secrets(&text(&o));
    let v = json(&o);
    assert_eq!(v["version"], 1);
    assert_eq!(v["command"], "check");
    assert_eq!(v["status"], "drift");
    let profiles = v["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 3);
    assert_eq!(profiles[0]["profile"], "dev");
    assert_eq!(profiles[0]["status"], "ok");
    let staging = &profiles[2];
    assert_eq!(staging["profile"], "staging");
    assert_eq!(staging["out"], "deploy/staging");
    assert_eq!(staging["status"], "drift");
    let file = |path: &str| {
        staging["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {staging}"))
            .clone()
    };
    assert_eq!(file("docker-compose.yml")["status"], "unchanged");
    assert!(file("docker-compose.yml")["diff"].is_null());
    let env = file(".env");
    assert_eq!(env["status"], "changed");
    assert_eq!(env["insertions"], 1);
    assert_eq!(env["deletions"], 1);
    let d = env["diff"].as_str().unwrap();
    assert!(
        d.contains("-DATABASE_POOL_SIZE=12\n+DATABASE_POOL_SIZE=10\n"),
        "{d}"
    );
    assert!(d.contains("<secret sha256:"), "{d}");
    assert_eq!(file("kubernetes/ingress.yaml")["status"], "missing");
    assert_eq!(file("extra.yaml")["status"], "extra");
    assert_eq!(
        file("extra.yaml")["diff"],
        "--- deploy/staging/extra.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-a: 1\n"
    );
}

#[test]
fn diff_json_and_errors_as_json() {
    let (_tmp, dir) = rendered_example();
    let o = run(&dir, &["diff", "dev", "staging", "--format", "json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_no_secrets(&text(&o));
    let v = json(&o);
    assert_eq!(v["version"], 1);
    assert_eq!(v["command"], "diff");
    assert_eq!(v["status"], "different");
    assert_eq!(v["a"], "dev");
    assert_eq!(v["b"], "staging");
    assert!(v["config"].is_null());
    let files = v["files"].as_array().unwrap();
    let env = files.iter().find(|f| f["path"] == ".env").unwrap();
    assert_eq!(env["status"], "changed");
    assert!(env["diff"]
        .as_str()
        .unwrap()
        .starts_with("--- dev/.env\n+++ staging/.env\n"));
    assert!(files.iter().any(|f| f["status"] == "added"), "{v}");

    let o = run(&dir, &["diff", "dev", "qa", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["status"], "error");
    assert_eq!(v["error"]["exit_code"], 2);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unknown profile `qa`"));
    assert_eq!(v["error"]["help"], "available profiles: dev, prod, staging");
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let o = bin().args(["completions", "bash"]).output().unwrap();
    assert!(o.status.success());
    let s = String::from_utf8(o.stdout).unwrap();
    for word in [
        "logto-deploy",
        "check",
        "--ignore-secret-files",
        "--config-diff",
    ] {
        assert!(s.contains(word), "{word}");
    }
    let o = bin().arg("man").output().unwrap();
    assert!(o.status.success());
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(
        s.starts_with(".ie") || s.contains(".TH logto-deploy"),
        "{s}"
    );
    assert!(
        s.contains("drift or difference"),
        "exit codes in the man page"
    );
}

#[test]
fn the_ci_script_passes_on_a_clean_repo_and_fails_on_drift() {
    let (_tmp, dir) = rendered_example();
    // As in a CI checkout: the git-ignored secret-bearing outputs are absent.
    for p in ["dev", "staging", "prod"] {
        fs::remove_file(dir.join(format!("deploy/{p}/.env"))).unwrap();
        fs::remove_file(dir.join(format!("deploy/{p}/kubernetes/secret.yaml"))).unwrap();
    }
    let script = common::root().join("examples/ci-check.sh");
    let sh = |dir: &Path| {
        Command::new("sh")
            .arg(&script)
            .current_dir(dir)
            .env("LOGTO_DEPLOY", env!("CARGO_BIN_EXE_logto-deploy"))
            .env("LOGTO_DB_PASSWORD", common::FIXTURE_DB_PASSWORD)
            .env("LOGTO_REDIS_PASSWORD", common::FIXTURE_REDIS_PASSWORD)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let o = sh(&dir);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let p = dir.join("logto.toml");
    fs::write(
        &p,
        fs::read_to_string(&p).unwrap().replace("1.43.0", "1.42.0"),
    )
    .unwrap();
    let o = sh(&dir);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("out of date"), "{}", text(&o));
}

#[test]
fn the_readme_shows_the_committed_ci_examples() {
    let readme = fs::read_to_string(common::root().join("README.md")).unwrap();
    let workflow = fs::read_to_string(common::root().join("examples/github-actions.yml")).unwrap();
    assert!(
        readme.contains(&workflow),
        "README must embed examples/github-actions.yml verbatim"
    );
    let parsed: serde_yaml::Value = serde_yaml::from_str(&workflow).unwrap();
    let steps = &parsed["jobs"]["check"]["steps"];
    assert!(steps.as_sequence().unwrap().iter().any(|s| s["run"]
        .as_str()
        .is_some_and(|r| r.contains("examples/ci-check.sh"))));
    let script = fs::read_to_string(common::root().join("examples/ci-check.sh")).unwrap();
    assert!(
        readme.contains(&script),
        "README must embed examples/ci-check.sh verbatim"
    );
}
