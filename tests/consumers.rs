//! Outputs checked by the programs that read them: the compose-spec schema
//! (check-jsonschema), docker-compose's own parser, and Node's `dotenv` package, which is
//! what Logto's CLI uses to read `.env`.
//!
//! Each test needs an external tool. Without it the test says so on stderr and passes;
//! with `LOGTO_DEPLOY_REQUIRE_TOOLS=1` (set by `.ci/run`, which installs them) a missing
//! tool fails the test instead.

mod common;

use std::path::Path;
use std::process::Command;

use logto_deploy::render::env::{logto_env, postgres_env, sync_env};

/// Render a shipped profile into a temporary directory.
fn rendered(
    profile: Option<&str>,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    logto_deploy::config::Config,
    logto_deploy::secrets::Store,
) {
    let (config, store, outputs) = common::render_shipped(profile);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(config.profile_name());
    outputs.write(&dir).unwrap();
    (tmp, dir, config, store)
}

fn run_ok(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn compose_files_match_the_compose_spec() {
    if !common::have("check-jsonschema", "--version") {
        return;
    }
    for profile in common::SHIPPED_PROFILES {
        let (_tmp, dir, _, _) = rendered(*profile);
        run_ok(
            Command::new("check-jsonschema")
                .args(["--builtin-schema", "vendor.compose-spec"])
                .arg(dir.join("docker-compose.yml")),
        );
    }
}

#[test]
fn docker_compose_reads_the_same_secrets_as_dotenv() {
    if !common::have("docker-compose", "version") {
        return;
    }
    for profile in common::SHIPPED_PROFILES {
        let (_tmp, dir, config, store) = rendered(*profile);
        let out = run_ok(
            Command::new("docker-compose")
                .arg("--project-directory")
                .arg(&dir)
                .arg("-f")
                .arg(dir.join("docker-compose.yml"))
                .arg("config"),
        );
        let resolved: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        let services = &resolved["services"];
        let logto = &services["logto"]["environment"];
        for var in logto_env(&config, &store, &common::inputs_for(&config)) {
            assert_eq!(
                logto[var.name.as_str()].as_str(),
                Some(var.value.as_str()),
                "{}: {}",
                config.profile_name(),
                var.name
            );
        }
        if !postgres_env(&config, &store).is_empty() {
            assert_eq!(
                services["postgres"]["environment"]["POSTGRES_PASSWORD"].as_str(),
                Some(store.postgres_password.as_str())
            );
        }
        // Nothing published on every interface by default; behind the nginx service,
        // nothing published at all.
        let ports = services["logto"]["ports"].as_sequence();
        assert_eq!(
            ports.is_none(),
            services["nginx"].is_mapping(),
            "{}",
            config.profile_name()
        );
        for port in ports.into_iter().flatten() {
            // docker-compose 1.29 prints the short form, newer versions the long one.
            let host_ip = port
                .as_str()
                .map(|s| s.split(':').next().unwrap_or_default())
                .or_else(|| port["host_ip"].as_str());
            assert_eq!(host_ip, Some("127.0.0.1"), "{port:?}");
        }
    }
}

fn node_parse(path: &Path) -> Option<serde_json::Map<String, serde_json::Value>> {
    let script = "const d=require('dotenv');const fs=require('fs');process.stdout.write(JSON.stringify(d.parse(fs.readFileSync(process.argv[1]))))";
    let o = Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(path)
        .output()
        .ok()?;
    if !o.status.success() {
        return None;
    }
    serde_json::from_slice(&o.stdout).ok()
}

#[test]
fn node_dotenv_reads_back_every_value() {
    if !common::have("node", "--version") {
        return;
    }
    for profile in common::SHIPPED_PROFILES {
        let (_tmp, dir, config, store) = rendered(*profile);
        let Some(parsed) = node_parse(&dir.join(".env")) else {
            if std::env::var_os("LOGTO_DEPLOY_REQUIRE_TOOLS").is_some() {
                panic!(
                    "the npm package `dotenv` is required; set NODE_PATH to where it is installed"
                );
            }
            eprintln!("SKIPPED: npm package `dotenv` not found (set NODE_PATH)");
            return;
        };
        let expected: Vec<_> = logto_env(&config, &store, &common::inputs_for(&config))
            .into_iter()
            .chain(sync_env(&store))
            .chain(postgres_env(&config, &store))
            .collect();
        assert_eq!(parsed.len(), expected.len());
        for var in expected {
            assert_eq!(
                parsed[&var.name].as_str(),
                Some(var.value.as_str()),
                "{}: {}",
                config.profile_name(),
                var.name
            );
        }
    }
}

/// yamllint's default rules (bar line length — PEM lines, healthcheck scripts — and the
/// optional `---` document start), strict: warnings fail too.
#[test]
fn yamllint_finds_nothing_in_any_yaml_output() {
    if !common::have("yamllint", "--version") {
        return;
    }
    let config = "{extends: default, rules: {line-length: disable, document-start: disable}}";
    for profile in common::SHIPPED_PROFILES {
        let (_tmp, dir, _, _) = rendered(*profile);
        let files: Vec<_> = logto_deploy::outputs::files_under(&dir)
            .unwrap()
            .into_iter()
            .filter(|(rel, _)| rel.ends_with(".yml") || rel.ends_with(".yaml"))
            .map(|(_, p)| p)
            .collect();
        let o = Command::new("yamllint")
            .args(["-s", "-f", "parsable", "-d", config])
            .args(&files)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{profile:?}:\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}
