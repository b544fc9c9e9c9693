//! Stage 6, Kubernetes target: one context per resource, computed here so templates only
//! place values. Input: the resolved config, the env list shared with `.env`. Output: the
//! resource files under `kubernetes/`, in apply order, plus `kustomization.yaml`.

use base64::Engine;
use indexmap::IndexMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

mod pod;

use super::context::{banner, postgres_data_dir, MIGRATE, SEED, START, SYNC_KEYS_SCRIPT};
use super::env::EnvVar;
use super::Renderer;
use crate::config::kubernetes::Hook;
use crate::config::model::{Config, DatabaseKind, Delivery};
use crate::error::Result;
use crate::secrets::Store;
use pod::*;

#[derive(Serialize)]
struct DataCtx<'a> {
    banner: &'a str,
    meta: Meta,
    data: IndexMap<String, String>,
}

#[derive(Serialize)]
struct WorkloadCtx<'a> {
    banner: &'a str,
    meta: Meta,
    replicas: Option<u32>,
    selector: IndexMap<String, String>,
    pod: Pod,
    service_name: String,
    storage_size: String,
    storage_class: Option<String>,
    job: Option<JobSettings>,
}

#[derive(Serialize)]
struct JobSettings {
    ttl_seconds_after_finished: u32,
    backoff_limit: u32,
    active_deadline_seconds: u32,
}

#[derive(Serialize)]
struct ServiceCtx<'a> {
    banner: &'a str,
    meta: Meta,
    service_type: String,
    selector: IndexMap<String, String>,
    ports: Vec<(String, u16)>,
}

#[derive(Serialize)]
struct IngressRule {
    host: String,
    service: String,
    port: &'static str,
    tls_secret: Option<String>,
}

#[derive(Serialize)]
struct MiscCtx<'a> {
    banner: &'a str,
    meta: Meta,
    selector: IndexMap<String, String>,
    class_name: Option<String>,
    rules: Vec<IngressRule>,
    max_unavailable: u32,
    min_replicas: u32,
    max_replicas: u32,
    target_cpu: u32,
    target: String,
    size: String,
    storage_class: Option<String>,
    access_mode: String,
    resources: Vec<String>,
}

impl<'a> MiscCtx<'a> {
    fn new(banner: &'a str, meta: Meta) -> Self {
        MiscCtx {
            banner,
            meta,
            selector: IndexMap::new(),
            class_name: None,
            rules: Vec::new(),
            max_unavailable: 1,
            min_replicas: 1,
            max_replicas: 1,
            target_cpu: 0,
            target: String::new(),
            size: String::new(),
            storage_class: None,
            access_mode: String::new(),
            resources: Vec::new(),
        }
    }
}

/// A Secret manifest carrying `vars` under the names the deployment reads them by (the
/// user-managed Secret's name and keys with `delivery = "existing-secret"`): what
/// `secrets export --format kubernetes` prints, e.g. to seal it or load it into a vault.
pub fn secret_manifest(config: &Config, vars: &[EnvVar], r: &Renderer) -> Result<String> {
    let name = vars
        .first()
        .map(|v| secret_ref(config, &v.name).0)
        .unwrap_or_else(|| secret_name(&config.kubernetes));
    let data = vars
        .iter()
        .map(|v| (secret_ref(config, &v.name).1, base64(&v.value)))
        .collect();
    r.render(
        SECRET,
        DataCtx {
            banner: &banner(config),
            meta: meta(config, name, "server"),
            data,
        },
    )
}

/// A rendered file: name under `kubernetes/` and contents.
type RenderedFile = (String, String);

#[derive(Serialize)]
struct PolicyCtx<'a> {
    banner: &'a str,
    meta: Meta,
    selector: IndexMap<String, String>,
    /// Ports open to any source (the server's, reached through Services and Ingress).
    open_ports: Vec<u16>,
    /// Port open only to this release's Logto pods (the bundled database).
    pods_port: Option<u16>,
    pods: IndexMap<String, String>,
}

/// Ingress rules for every pod of the release: the server on its own ports, the Job
/// nothing, the bundled Postgres only from Logto's pods. Egress stays open (an external
/// database, SMTP and connector APIs live anywhere).
fn network_policies(config: &Config, b: &str, r: &Renderer) -> Result<Vec<RenderedFile>> {
    let k = &config.kubernetes;
    let pods = IndexMap::from([
        ("app.kubernetes.io/name".to_string(), "logto".to_string()),
        ("app.kubernetes.io/instance".to_string(), k.name.clone()),
    ]);
    let policy =
        |name: String, component: &str, open_ports: Vec<u16>, pods_port: Option<u16>| PolicyCtx {
            banner: b,
            meta: meta(config, name, component),
            selector: selector(config, component),
            open_ports,
            pods_port,
            pods: pods.clone(),
        };
    let mut server_ports = vec![config.logto.port];
    if config.admin.enabled {
        server_ports.push(config.admin.port);
    }
    let mut out = vec![
        (
            "networkpolicy-server.yaml".to_string(),
            r.render(
                NETWORK_POLICY,
                policy(format!("{}-server", k.name), "server", server_ports, None),
            )?,
        ),
        (
            "networkpolicy-migration.yaml".to_string(),
            r.render(
                NETWORK_POLICY,
                policy(
                    format!("{}-migration", k.name),
                    "migration",
                    Vec::new(),
                    None,
                ),
            )?,
        ),
    ];
    if matches!(config.database.kind, DatabaseKind::Bundled { .. }) {
        out.push((
            "networkpolicy-postgres.yaml".to_string(),
            r.render(
                NETWORK_POLICY,
                policy("postgres".into(), "database", Vec::new(), Some(5432)),
            )?,
        ));
    }
    Ok(out)
}

/// The variable lists every output shares (see `render::env`), and key files.
pub struct Envs<'a> {
    pub logto: &'a [EnvVar],
    pub sync: &'a [EnvVar],
    pub postgres: &'a [EnvVar],
    /// `delivery = "key-files"`: file name → contents, mounted at `env::KEYS_DIR`.
    pub key_files: &'a [(String, String)],
}

/// Name of the Secret holding key files.
fn key_files_secret(k: &crate::config::kubernetes::Kubernetes) -> String {
    format!("{}-oidc-keys", k.name)
}

fn base64(v: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(v)
}

/// A Secret holding `data` (base64-encoded here), ordered before the workloads.
fn secret_file(
    config: &Config,
    file: &str,
    name: String,
    component: &str,
    data: &IndexMap<String, String>,
    b: &str,
    r: &Renderer,
) -> Result<RenderedFile> {
    let mut m = meta(config, name, component);
    m.annotations = hook_annotations(config.kubernetes.migration.hook, -2);
    let data = data.iter().map(|(n, v)| (n.clone(), base64(v))).collect();
    Ok((
        file.to_string(),
        r.render(
            SECRET,
            DataCtx {
                banner: b,
                meta: m,
                data,
            },
        )?,
    ))
}

/// ConfigMap, Secret (unless the user manages it) and the key-files Secret. Returns the
/// files and the data the pod checksum covers.
fn render_data(
    config: &Config,
    envs: &Envs,
    b: &str,
    r: &Renderer,
) -> Result<(Vec<RenderedFile>, IndexMap<String, String>)> {
    let k = &config.kubernetes;
    let hook = k.migration.hook;
    let all = || envs.logto.iter().chain(envs.sync).chain(envs.postgres);
    let config_data: IndexMap<String, String> = all()
        .filter(|v| !v.secret)
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let secret_data: IndexMap<String, String> = all()
        .filter(|v| v.secret)
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let mut files = Vec::new();
    let mut m = meta(config, configmap_name(k), "server");
    m.annotations = hook_annotations(hook, -2);
    files.push((
        "configmap.yaml".to_string(),
        r.render(
            CONFIGMAP,
            DataCtx {
                banner: b,
                meta: m,
                data: config_data.clone(),
            },
        )?,
    ));
    let mut checksum_data = config_data;
    if !matches!(config.delivery, Delivery::ExistingSecret { .. }) {
        files.push(secret_file(
            config,
            "secret.yaml",
            secret_name(k),
            "server",
            &secret_data,
            b,
            r,
        )?);
        checksum_data.extend(secret_data);
    }
    if !envs.key_files.is_empty() {
        let data: IndexMap<String, String> = envs.key_files.iter().cloned().collect();
        files.push(secret_file(
            config,
            "oidc-keys-secret.yaml",
            key_files_secret(k),
            "migration",
            &data,
            b,
            r,
        )?);
    }
    Ok((files, checksum_data))
}

/// Render every Kubernetes resource; returns `(file name, contents)` in apply order,
/// ending with `kustomization.yaml`.
pub fn render(
    config: &Config,
    envs: &Envs,
    store: &Store,
    r: &Renderer,
) -> Result<Vec<(String, String)>> {
    let (logto_env, sync_env, postgres_env) = (envs.logto, envs.sync, envs.postgres);
    let k = &config.kubernetes;
    let banner = banner(config);
    let b = banner.as_str();
    let hook = k.migration.hook;
    let mut files: Vec<(String, String)> = Vec::new();

    if k.create_namespace {
        let mut m = meta(config, k.namespace.clone(), "namespace");
        m.annotations = hook_annotations(hook, -3);
        files.push((
            "namespace.yaml".into(),
            r.render(NAMESPACE, MiscCtx::new(b, m))?,
        ));
    }
    let (data_files, checksum_data) = render_data(config, envs, b, r)?;
    files.extend(data_files);
    let mut add = |file: &str, text: String| files.push((file.to_string(), text));

    if let DatabaseKind::Bundled {
        image,
        major,
        name,
        user,
    } = &config.database.kind
    {
        let sel = selector(config, "database");
        let mut m = meta(config, "postgres".into(), "database");
        m.annotations = hook_annotations(hook, -2);
        add(
            "postgres-service.yaml",
            r.render(
                SERVICE,
                ServiceCtx {
                    banner: b,
                    meta: m.clone(),
                    service_type: "ClusterIP".into(),
                    selector: sel.clone(),
                    ports: vec![("postgres".into(), 5432)],
                },
            )?,
        );
        let uid = if image.contains("alpine") { 70 } else { 999 };
        let data_dir = postgres_data_dir(*major);
        let pgdata = if *major >= 18 {
            format!("{data_dir}/{major}/docker")
        } else {
            format!("{data_dir}/pgdata")
        };
        let mut env: Vec<EnvEntry> = postgres_env.iter().map(|v| env_ref(config, v)).collect();
        env.push(literal("PGDATA", &pgdata));
        let container = Container {
            name: "postgres".into(),
            image: image.clone(),
            pull_policy: k.image_pull_policy.clone(),
            command: Vec::new(),
            args: Vec::new(),
            env,
            ports: vec![Port {
                name: "postgres",
                port: 5432,
            }],
            probes: None,
            exec_probe: vec![
                "pg_isready".into(),
                "-U".into(),
                user.clone(),
                "-d".into(),
                name.clone(),
            ],
            requests: vec![
                ("cpu".into(), "100m".into()),
                ("memory".into(), "256Mi".into()),
            ],
            limits: vec![("memory".into(), "1Gi".into())],
            mounts: vec![
                mount("data", data_dir),
                mount("run", "/var/run/postgresql"),
                mount("tmp", "/tmp"),
            ],
        };
        let mut p = pod(
            config,
            "database",
            Vec::new(),
            vec![container],
            vec![empty_dir("run"), empty_dir("tmp")],
        );
        (p.run_as_user, p.run_as_group, p.fs_group) = (uid, uid, uid);
        add(
            "postgres-statefulset.yaml",
            r.render(
                STATEFULSET,
                WorkloadCtx {
                    banner: b,
                    meta: m,
                    replicas: Some(1),
                    selector: sel,
                    pod: p,
                    service_name: "postgres".into(),
                    storage_size: k.postgres_storage_size.clone(),
                    storage_class: k.postgres_storage_class.clone(),
                    job: None,
                },
            )?,
        );
    }

    if let Some(pvc) = k.connectors.as_ref().and_then(|c| c.pvc.as_ref()) {
        let mut m = meta(config, format!("{}-connectors", k.name), "server");
        m.annotations = hook_annotations(hook, -2);
        let mut c = MiscCtx::new(b, m);
        c.size = pvc.size.clone();
        c.storage_class = pvc.storage_class.clone();
        c.access_mode = pvc.access_mode.clone();
        add("connectors-pvc.yaml", r.render(PVC, c)?);
    }

    let (volumes, mounts) = logto_storage(config, true);
    // Migration Job: seed (skipped when seeded) in an init container, then alterations.
    let job_env: Vec<EnvEntry> = base_env()
        .into_iter()
        .chain(logto_env.iter().map(|v| env_ref(config, v)))
        .collect();
    let seed = logto_container(config, "seed", SEED, job_env.clone(), &mounts, false);
    let mut migrate_env = job_env.clone();
    migrate_env.push(literal("CI", "true"));
    let migrate = logto_container(config, "migrate", MIGRATE, migrate_env, &mounts, false);
    // Last, the store's keys into both tenants: a rotation reaches a seeded database. The
    // revision (key ids only) is part of the spec, so a rotation names a new Job.
    let mut sync_env_refs = job_env;
    sync_env_refs.extend(sync_env.iter().map(|v| env_ref(config, v)));
    sync_env_refs.push(literal(
        "LOGTO_DEPLOY_KEYS_REVISION",
        &crate::secrets::rotate::keys_revision(store),
    ));
    let mut sync = logto_container(config, "sync-keys", &[], sync_env_refs, &mounts, false);
    sync.command = vec!["sh".into(), "-c".into(), SYNC_KEYS_SCRIPT.into()];
    let mut init = Vec::new();
    init.extend(wait_for_postgres(config));
    init.extend(connectors_init(config, &mounts, true));
    init.push(seed);
    init.push(migrate);
    let mut job_pod = pod(config, "migration", init, vec![sync], volumes.clone());
    job_pod.restart_policy = Some("Never");
    let job_settings = JobSettings {
        ttl_seconds_after_finished: k.migration.ttl_seconds_after_finished,
        backoff_limit: k.migration.backoff_limit,
        active_deadline_seconds: k.migration.active_deadline_seconds,
    };
    // Job templates are immutable: the name changes whenever the pod spec does.
    let spec_hash = format!(
        "{:x}",
        Sha256::digest(
            serde_json::to_vec(&(
                &job_pod,
                &job_settings.backoff_limit,
                &job_settings.active_deadline_seconds
            ))
            .expect("serializes")
        )
    );
    let job_name = format!(
        "{}-migrate-{}-{}",
        k.name,
        config.logto.version.replace('.', "-"),
        &spec_hash[..8]
    );
    let mut m = meta(config, job_name, "migration");
    m.annotations = match hook {
        Hook::Helm => IndexMap::from([
            ("helm.sh/hook".into(), "post-install,pre-upgrade".into()),
            (
                "helm.sh/hook-delete-policy".into(),
                "before-hook-creation".into(),
            ),
        ]),
        _ => hook_annotations(hook, -1),
    };
    add(
        "migration-job.yaml",
        r.render(
            JOB,
            WorkloadCtx {
                banner: b,
                meta: m,
                replicas: None,
                selector: IndexMap::new(),
                pod: job_pod,
                service_name: String::new(),
                storage_size: String::new(),
                storage_class: None,
                job: Some(job_settings),
            },
        )?,
    );

    // Deployment: the server; seed-only secrets stay out of its environment.
    let mut env = base_env();
    env.extend(
        logto_env
            .iter()
            .filter(|v| !SEED_ONLY.contains(&v.name.as_str()))
            .map(|v| env_ref(config, v)),
    );
    let (volumes, mounts) = logto_storage(config, false);
    let server = logto_container(config, "logto", START, env, &mounts, true);
    let mut init = Vec::new();
    init.extend(connectors_init(config, &mounts, false));
    let mut p = pod(config, "server", init, vec![server], volumes);
    p.annotations = k.pod_annotations.clone();
    p.annotations
        .insert("checksum/config".into(), checksum(&[&checksum_data]));
    p.spread = k.max_replicas() > 1;
    let sel = selector(config, "server");
    add(
        "deployment.yaml",
        r.render(
            DEPLOYMENT,
            WorkloadCtx {
                banner: b,
                meta: meta(config, k.name.clone(), "server"),
                replicas: k.autoscaling.is_none().then_some(k.replicas),
                selector: sel.clone(),
                pod: p,
                service_name: String::new(),
                storage_size: String::new(),
                storage_class: None,
                job: None,
            },
        )?,
    );

    add(
        "service.yaml",
        r.render(
            SERVICE,
            ServiceCtx {
                banner: b,
                meta: meta(config, k.name.clone(), "server"),
                service_type: k.service_type.clone(),
                selector: sel.clone(),
                ports: vec![("http".into(), config.logto.port)],
            },
        )?,
    );
    if config.admin.enabled {
        // The console's first visitor becomes its admin: never a public Service type.
        add(
            "service-admin.yaml",
            r.render(
                SERVICE,
                ServiceCtx {
                    banner: b,
                    meta: meta(config, format!("{}-admin", k.name), "server"),
                    service_type: "ClusterIP".into(),
                    selector: sel.clone(),
                    ports: vec![("admin".into(), config.admin.port)],
                },
            )?,
        );
    }

    if let Some(ing) = &k.ingress {
        let mut rules = vec![IngressRule {
            host: config.logto.endpoint.host.as_str().into(),
            service: k.name.clone(),
            port: "http",
            tls_secret: ing
                .tls_secret
                .clone()
                .filter(|_| config.logto.endpoint.https),
        }];
        if let (true, Some(e)) = (config.admin.enabled, &config.admin.endpoint) {
            rules.push(IngressRule {
                host: e.host.as_str().into(),
                service: format!("{}-admin", k.name),
                port: "admin",
                tls_secret: ing.admin_tls_secret.clone().filter(|_| e.https),
            });
        }
        let mut m = meta(config, k.name.clone(), "server");
        m.annotations = ing.annotations.clone();
        let mut c = MiscCtx::new(b, m);
        c.class_name = ing.class_name.clone();
        c.rules = rules;
        add("ingress.yaml", r.render(INGRESS, c)?);
    }
    if k.network_policies {
        for (file, text) in network_policies(config, b, r)? {
            add(&file, text);
        }
    }
    if let Some(max_unavailable) = k.pdb {
        let mut c = MiscCtx::new(b, meta(config, k.name.clone(), "server"));
        c.selector = sel.clone();
        c.max_unavailable = max_unavailable;
        add("pdb.yaml", r.render(PDB, c)?);
    }
    if let Some(a) = &k.autoscaling {
        let mut c = MiscCtx::new(b, meta(config, k.name.clone(), "server"));
        c.min_replicas = a.min_replicas;
        c.max_replicas = a.max_replicas;
        c.target_cpu = a.target_cpu_utilization;
        c.target = k.name.clone();
        add("hpa.yaml", r.render(HPA, c)?);
    }

    let mut c = MiscCtx::new(b, meta(config, k.name.clone(), "server"));
    c.resources = files.iter().map(|(f, _)| f.clone()).collect();
    let kustomization = r.render(KUSTOMIZATION, c)?;
    files.push(("kustomization.yaml".into(), kustomization));
    Ok(files)
}

pub const NAMESPACE: &str = "kubernetes/namespace.yaml.j2";
pub const CONFIGMAP: &str = "kubernetes/configmap.yaml.j2";
pub const SECRET: &str = "kubernetes/secret.yaml.j2";
pub const SERVICE: &str = "kubernetes/service.yaml.j2";
pub const STATEFULSET: &str = "kubernetes/postgres-statefulset.yaml.j2";
pub const PVC: &str = "kubernetes/pvc.yaml.j2";
pub const JOB: &str = "kubernetes/migration-job.yaml.j2";
pub const DEPLOYMENT: &str = "kubernetes/deployment.yaml.j2";
pub const INGRESS: &str = "kubernetes/ingress.yaml.j2";
pub const PDB: &str = "kubernetes/pdb.yaml.j2";
pub const HPA: &str = "kubernetes/hpa.yaml.j2";
pub const KUSTOMIZATION: &str = "kubernetes/kustomization.yaml.j2";
pub const NETWORK_POLICY: &str = "kubernetes/networkpolicy.yaml.j2";
pub const MACROS: &str = "kubernetes/_pod.yaml.j2";
