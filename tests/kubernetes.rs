//! The Kubernetes target: every rendered manifest is consistent with itself and with the
//! `.env` of the same profile (same secrets, selectors that match, references that
//! resolve, restricted pod security), and accepted by kubernetes-validate and kustomize.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use logto_deploy::config::{self, Config};
use logto_deploy::outputs::Outputs;
use logto_deploy::render::env::RuntimeInputs;
use logto_deploy::render::escape::dotenv_parse;
use logto_deploy::render::{render_all, Renderer};
use logto_deploy::secrets::Store;
use rand_chacha::rand_core::SeedableRng;
use serde_yaml::Value;

const FIXTURES: &[&str] = &["full", "admin-off", "existing-secret", "key-files"];

fn render_fixture(name: &str) -> (Config, Store, Outputs) {
    let path = common::root().join(format!("tests/fixtures/kubernetes/{name}.toml"));
    let config = config::load(&path, None).expect("fixture is valid").config;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
    let store = Store::generate(
        &config.secrets,
        config.profile_name(),
        "2026-01-01T00:00:00Z",
        &mut rng,
    );
    let outputs = render_all(
        &config,
        &store,
        &RuntimeInputs::default(),
        &Renderer::new(None).unwrap(),
    )
    .unwrap();
    (config, store, outputs)
}

/// Every shipped profile and every fixture, rendered.
fn all_cases() -> Vec<(String, Store, Outputs)> {
    let mut out: Vec<_> = common::SHIPPED_PROFILES
        .iter()
        .map(|p| {
            let (c, s, o) = common::render_shipped(*p);
            (c.profile_name().to_string(), s, o)
        })
        .collect();
    for f in FIXTURES {
        let (_, s, o) = render_fixture(f);
        out.push((format!("fixture-{f}"), s, o));
    }
    out
}

fn docs(outputs: &Outputs) -> Vec<(String, Value)> {
    outputs
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("kubernetes/") && !p.ends_with("kustomization.yaml"))
        .map(|(p, f)| (p.clone(), serde_yaml::from_str(&f.contents).unwrap()))
        .collect()
}

fn kind<'a>(docs: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    docs.iter()
        .map(|(_, d)| d)
        .filter(|d| d["kind"] == kind)
        .collect()
}

fn pod_specs(docs: &[(String, Value)]) -> Vec<(&Value, &Value)> {
    docs.iter()
        .map(|(_, d)| d)
        .filter(|d| ["Deployment", "StatefulSet", "Job"].contains(&d["kind"].as_str().unwrap()))
        .map(|d| (d, &d["spec"]["template"]))
        .collect()
}

#[test]
fn fixture_snapshots() {
    for f in FIXTURES {
        let (config, store, outputs) = render_fixture(f);
        let mut s = insta::Settings::clone_current();
        s.set_snapshot_path(common::root().join("snapshots"));
        s.set_prepend_module_to_snapshot(false);
        let text = common::mask(&outputs.concatenated(), &store, &config);
        common::assert_no_secret(&text, &store);
        s.bind(|| insta::assert_snapshot!(format!("kubernetes-{f}"), text));
    }
}

#[test]
fn secret_values_equal_the_env_file() {
    for (name, _, outputs) in all_cases() {
        let env = dotenv_parse(&outputs.files[".env"].contents).unwrap();
        if name == "fixture-existing-secret" {
            // The user manages the values: neither file carries them.
            assert!(!outputs.files.contains_key("kubernetes/secret.yaml"));
            assert!(!env.contains_key("DB_URL") && !env.contains_key("OIDC_PRIVATE_KEYS"));
            continue;
        }
        let secret: Value =
            serde_yaml::from_str(&outputs.files["kubernetes/secret.yaml"].contents).unwrap();
        let configmap: Value =
            serde_yaml::from_str(&outputs.files["kubernetes/configmap.yaml"].contents).unwrap();
        let mut seen = BTreeSet::new();
        for (k, v) in secret["data"].as_mapping().unwrap() {
            let k = k.as_str().unwrap();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            assert_eq!(String::from_utf8(decoded).unwrap(), env[k], "{name}: {k}");
            seen.insert(k.to_string());
        }
        for (k, v) in configmap["data"].as_mapping().unwrap() {
            let k = k.as_str().unwrap();
            assert_eq!(v.as_str().unwrap(), env[k], "{name}: {k}");
            assert!(
                seen.insert(k.to_string()),
                "{name}: {k} in both Secret and ConfigMap"
            );
        }
        // Every .env variable reaches Kubernetes through exactly one of the two.
        assert_eq!(seen, env.keys().cloned().collect::<BTreeSet<_>>(), "{name}");
        assert!(outputs.files["kubernetes/secret.yaml"].secret);
        assert!(!outputs.files["kubernetes/configmap.yaml"].secret);
    }
}

#[test]
fn selectors_match_and_references_resolve() {
    for (name, _, outputs) in all_cases() {
        let docs = docs(&outputs);
        let secrets = kind(&docs, "Secret");
        let configmap = &kind(&docs, "ConfigMap")[0]["data"];
        let pvcs: BTreeSet<_> = kind(&docs, "PersistentVolumeClaim")
            .iter()
            .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        for (workload, template) in pod_specs(&docs) {
            let labels = template["metadata"]["labels"].as_mapping().unwrap();
            if let Some(sel) = workload["spec"]["selector"]["matchLabels"].as_mapping() {
                for (k, v) in sel {
                    assert_eq!(
                        labels.get(k),
                        Some(v),
                        "{name}: selector {k:?} of {:?}",
                        workload["kind"]
                    );
                }
            }
            let spec = &template["spec"];
            let volumes: BTreeSet<_> = spec["volumes"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|v| v["name"].as_str().unwrap().to_string())
                .collect();
            let claims: BTreeSet<_> = workload["spec"]["volumeClaimTemplates"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|v| v["metadata"]["name"].as_str().unwrap().to_string())
                .collect();
            for v in spec["volumes"].as_sequence().into_iter().flatten() {
                if let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str() {
                    assert!(pvcs.contains(claim), "{name}: PVC {claim} is not rendered");
                }
            }
            let containers = spec["containers"]
                .as_sequence()
                .unwrap()
                .iter()
                .chain(spec["initContainers"].as_sequence().into_iter().flatten());
            for c in containers {
                for e in c["env"].as_sequence().into_iter().flatten() {
                    if let Some(r) = e["valueFrom"]["secretKeyRef"].as_mapping() {
                        let (secret, key) = (&r[&Value::from("name")], &r[&Value::from("key")]);
                        if name == "fixture-existing-secret" {
                            // References only, to the Secret the user manages, with mapped keys.
                            assert_eq!(secret, "logto-from-vault");
                            let var = e["name"].as_str().unwrap();
                            let expected = match var {
                                "DB_URL" => "db-url",
                                "SECRET_VAULT_KEK" => "vault-kek",
                                other => other,
                            };
                            assert_eq!(key, expected, "{var}");
                            continue;
                        }
                        let rendered = secrets.iter().find(|s| &s["metadata"]["name"] == secret);
                        let rendered = rendered
                            .unwrap_or_else(|| panic!("{name}: Secret {secret:?} is not rendered"));
                        assert!(
                            rendered["data"].get(key).is_some(),
                            "{name}: secret key {key:?}"
                        );
                    }
                    if let Some(r) = e["valueFrom"]["configMapKeyRef"].as_mapping() {
                        assert_eq!(
                            r[&Value::from("name")],
                            kind(&docs, "ConfigMap")[0]["metadata"]["name"]
                        );
                        assert!(
                            configmap.get(&r[&Value::from("key")]).is_some(),
                            "{name}: config key {:?}",
                            r[&Value::from("key")]
                        );
                    }
                }
                for m in c["volumeMounts"].as_sequence().into_iter().flatten() {
                    let v = m["name"].as_str().unwrap();
                    assert!(
                        volumes.contains(v) || claims.contains(v),
                        "{name}: mount {v} has no volume"
                    );
                }
                let ports: BTreeSet<_> = c["ports"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect();
                for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                    if let Some(port) = c[probe]["httpGet"]["port"].as_str() {
                        assert!(ports.contains(port), "{name}: probe port {port}");
                        assert_eq!(c[probe]["httpGet"]["path"], "/api/status");
                    }
                }
            }
        }
        // Services select the server pods and target ports those pods declare.
        let server = kind(&docs, "Deployment")[0];
        let pod_labels = server["spec"]["template"]["metadata"]["labels"]
            .as_mapping()
            .unwrap();
        let pod_ports: Vec<Value> = server["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p["name"].clone())
            .collect();
        for svc in kind(&docs, "Service")
            .into_iter()
            .filter(|s| s["metadata"]["name"] != "postgres")
        {
            for (k, v) in svc["spec"]["selector"].as_mapping().unwrap() {
                assert_eq!(pod_labels.get(k), Some(v), "{name}");
            }
            for p in svc["spec"]["ports"].as_sequence().unwrap() {
                assert!(
                    pod_ports.contains(&p["targetPort"]),
                    "{name}: {:?}",
                    p["targetPort"]
                );
            }
        }
    }
}

#[test]
fn pods_meet_the_restricted_pod_security_standard() {
    for (name, _, outputs) in all_cases() {
        let docs = docs(&outputs);
        for (workload, template) in pod_specs(&docs) {
            let spec = &template["spec"];
            let what = format!("{name}: {:?}", workload["metadata"]["name"]);
            assert_eq!(spec["enableServiceLinks"], false, "{what}");
            assert_eq!(spec["automountServiceAccountToken"], false, "{what}");
            assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{what}");
            assert!(
                spec["securityContext"]["runAsUser"].as_u64().unwrap() > 0,
                "{what}"
            );
            assert_eq!(
                spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{what}"
            );
            for c in spec["containers"]
                .as_sequence()
                .unwrap()
                .iter()
                .chain(spec["initContainers"].as_sequence().into_iter().flatten())
            {
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
                assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{what}");
                assert!(sc["capabilities"]["add"].is_null(), "{what}");
                assert!(
                    c["image"].as_str().unwrap().contains(':'),
                    "{what}: image pinned"
                );
                assert_ne!(c["imagePullPolicy"], "always", "{what}");
                // A read-only root still needs a writable /tmp.
                assert!(
                    c["volumeMounts"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .any(|m| m["mountPath"] == "/tmp"),
                    "{what}: /tmp"
                );
            }
        }
        for (_, d) in &docs {
            assert_ne!(d["apiVersion"], "extensions/v1beta1", "{name}");
        }
    }
}

#[test]
fn logto_pods_get_writable_dirs_and_only_the_secrets_they_read() {
    let (_, _, outputs) = common::render_shipped(Some("staging"));
    let docs = docs(&outputs);
    let server = &kind(&docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        server["args"],
        serde_yaml::from_str::<Value>("[start]").unwrap()
    );
    assert!(
        server["command"].is_null(),
        "the image's npm entrypoint is kept"
    );
    let mounts: Vec<_> = server["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert!(mounts.contains(&"/etc/logto/packages/cli/alteration-scripts"));
    let env: Vec<_> = server["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        !env.contains(&"OIDC_PRIVATE_KEYS"),
        "seed-only secrets stay out of the server"
    );
    assert!(env.contains(&"SECRET_VAULT_KEK"));
    let job = kind(&docs, "Job")[0];
    let spec = &job["spec"]["template"]["spec"];
    let init = spec["initContainers"].as_sequence().unwrap();
    let names: Vec<_> = init.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["wait-for-postgres", "seed", "migrate"],
        "seed, then migrations, in order"
    );
    assert_eq!(
        init[1]["args"],
        serde_yaml::from_str::<Value>("[cli, db, seed, \"--\", \"--swe\"]").unwrap()
    );
    // Last, the store's keys into both tenants.
    let sync = &spec["containers"][0];
    assert_eq!(sync["name"], "sync-keys");
    let script = sync["command"][2].as_str().unwrap();
    assert!(
        script.contains("db config set oidc.privateKeys")
            && script.contains("for tenant in default admin")
    );
    assert!(!server["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "LOGTO_DEPLOY_PRIVATE_KEYS_JSON"));
    let migrate = &init[2];
    assert_eq!(
        migrate["args"],
        serde_yaml::from_str::<Value>("[alteration, deploy, latest]").unwrap()
    );
    assert!(migrate["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "CI" && e["value"] == "true"));
    assert!(job["spec"]["ttlSecondsAfterFinished"].as_u64().is_some());
    assert!(job["spec"]["backoffLimit"].as_u64().is_some());
}

#[test]
fn the_job_name_follows_its_spec() {
    let name = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("logto.toml"), text).unwrap();
        let config = config::load(&dir.path().join("logto.toml"), None)
            .unwrap()
            .config;
        let store = common::fixture_store("dev");
        let mut store = store;
        store.profile = "base".into();
        let out = render_all(
            &config,
            &store,
            &RuntimeInputs::default(),
            &Renderer::new(None).unwrap(),
        )
        .unwrap();
        let job: Value =
            serde_yaml::from_str(&out.files["kubernetes/migration-job.yaml"].contents).unwrap();
        job["metadata"]["name"].as_str().unwrap().to_string()
    };
    let base = "[logto]\nendpoint = \"https://a.example.com\"\n";
    let a = name(base);
    assert!(a.starts_with("logto-migrate-1-43-0-"), "{a}");
    assert!(a.len() <= 63);
    // Settings the Job does not embed keep the name (re-applying is a no-op) …
    assert_eq!(a, name(&format!("{base}[kubernetes]\nreplicas = 1\n")));
    // … an upgrade or a new image digest makes a new Job.
    assert_ne!(
        a,
        name("[logto]\nendpoint = \"https://a.example.com\"\nversion = \"1.44.0\"\n")
    );
    let digest = format!(
        "[logto]\nendpoint = \"https://a.example.com\"\ndigest = \"sha256:{}\"\n",
        "a".repeat(64)
    );
    assert_ne!(a, name(&digest));
}

#[test]
fn stdout_stream_is_every_resource_in_apply_order() {
    let (_, _, outputs) = common::render_shipped(Some("prod"));
    let stream = outputs.kubernetes_stream();
    let kinds: Vec<String> = serde_yaml::Deserializer::from_str(&stream)
        .map(|d| {
            let v = <Value as serde::Deserialize>::deserialize(d).unwrap();
            v["kind"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("Namespace"));
    let pos = |k: &str| kinds.iter().position(|x| x == k).unwrap();
    assert!(pos("Secret") < pos("Job") && pos("Job") < pos("Deployment"));
    let kustomization: Value =
        serde_yaml::from_str(&outputs.files["kubernetes/kustomization.yaml"].contents).unwrap();
    assert_eq!(
        kustomization["resources"].as_sequence().unwrap().len(),
        kinds.len()
    );
}

#[test]
fn invalid_kubernetes_settings_are_located() {
    std::env::set_current_dir(common::root()).unwrap();
    for (file, expected) in [("rwo-shared", 3), ("ip-ingress", 2)] {
        let path = Path::new("tests/fixtures/kubernetes").join(format!("{file}.toml"));
        let Err(logto_deploy::error::Error::Config(diags)) = config::load(&path, None) else {
            panic!("{file} validated")
        };
        let text =
            logto_deploy::cli::format_diagnostics(&diags, &logto_deploy::cli::plain_handler());
        let errors = diags
            .iter()
            .filter(|d| d.severity == logto_deploy::error::Severity::Error)
            .count();
        assert_eq!(errors, expected, "{text}");
        let mut s = insta::Settings::clone_current();
        s.set_snapshot_path(common::root().join("snapshots"));
        s.set_prepend_module_to_snapshot(false);
        s.bind(|| insta::assert_snapshot!(format!("diagnostics-kubernetes-{file}"), text));
    }
}

fn write_cases() -> (tempfile::TempDir, Vec<(String, std::path::PathBuf)>) {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for (name, _, outputs) in all_cases() {
        let dir = tmp.path().join(&name);
        outputs.write(&dir).unwrap();
        dirs.push((name, dir.join("kubernetes")));
    }
    (tmp, dirs)
}

#[test]
fn kubernetes_validate_strict_accepts_every_manifest() {
    if !common::have("kubernetes-validate", "--version") {
        return;
    }
    let (_tmp, dirs) = write_cases();
    for (name, dir) in dirs {
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.ends_with("kustomization.yaml"))
            .collect();
        // The oldest version we promise and the newest the validator bundles.
        for version in ["1.30.0", "1.37.0"] {
            let o = Command::new("kubernetes-validate")
                .args(["--strict", "--quiet", "-k", version])
                .args(&files)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{name} on {version}:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

#[test]
fn kustomize_builds_every_output_directory() {
    if !common::have("kubectl", "--help") {
        return;
    }
    let (_tmp, dirs) = write_cases();
    for (name, dir) in dirs {
        let o = Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let count =
            serde_yaml::Deserializer::from_str(std::str::from_utf8(&o.stdout).unwrap()).count();
        let listed = std::fs::read_dir(&dir).unwrap().count() - 1;
        assert_eq!(count, listed, "{name}: every file is one resource");
    }
}

#[test]
fn every_pod_is_covered_by_a_network_policy() {
    for (name, _, outputs) in all_cases() {
        let docs = docs(&outputs);
        let policies = kind(&docs, "NetworkPolicy");
        for (workload, template) in pod_specs(&docs) {
            let labels = template["metadata"]["labels"].as_mapping().unwrap();
            let covering: Vec<_> = policies
                .iter()
                .filter(|p| {
                    p["spec"]["podSelector"]["matchLabels"]
                        .as_mapping()
                        .unwrap()
                        .iter()
                        .all(|(k, v)| labels.get(k) == Some(v))
                })
                .collect();
            assert_eq!(
                covering.len(),
                1,
                "{name}: {:?}",
                workload["metadata"]["name"]
            );
            let ingress = &covering[0]["spec"]["ingress"];
            match workload["kind"].as_str().unwrap() {
                // Nothing connects to the migration Job.
                "Job" => assert_eq!(ingress.as_sequence().map(Vec::len), Some(0), "{name}"),
                // The database only from this release's pods, on 5432 only.
                "StatefulSet" => {
                    let rule = &ingress[0];
                    assert_eq!(rule["ports"][0]["port"], 5432, "{name}");
                    let from = rule["from"][0]["podSelector"]["matchLabels"]
                        .as_mapping()
                        .unwrap();
                    assert_eq!(from.len(), 2, "{name}: name and instance only");
                }
                // The server on the ports its containers declare, and nothing else.
                _ => {
                    let open: Vec<u64> = ingress[0]["ports"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .map(|p| p["port"].as_u64().unwrap())
                        .collect();
                    let declared: Vec<u64> = template["spec"]["containers"][0]["ports"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .map(|p| p["containerPort"].as_u64().unwrap())
                        .collect();
                    assert_eq!(open, declared, "{name}");
                    assert!(
                        ingress[0]["from"].is_null(),
                        "{name}: reachable through Services and Ingress"
                    );
                }
            }
        }
    }
}
