//! Stage 6, Kubernetes target: one context per resource, computed here so templates only
//! place values. Input: the resolved config, the env list shared with `.env`. Output: the
//! resource files under `kubernetes/`, in apply order, plus `kustomization.yaml`.

use base64::Engine;
use indexmap::IndexMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::context::{banner, postgres_data_dir, MIGRATE, SEED, START, SYNC_KEYS_SCRIPT};
use super::env::EnvVar;
use super::Renderer;
use crate::config::kubernetes::{Hook, Kubernetes};
use crate::config::model::{Config, DatabaseKind};
use crate::error::Result;
use crate::secrets::Store;

/// Variables only `db seed` reads: the running server never needs them.
const SEED_ONLY: &[&str] = &["OIDC_PRIVATE_KEYS", "OIDC_COOKIE_KEYS"];
/// Where Logto writes at run time; each gets an emptyDir under a read-only root.
const ALTERATIONS_DIR: &str = "/etc/logto/packages/cli/alteration-scripts";
const CONNECTORS_DIR: &str = "/etc/logto/packages/core/connectors";
const HOME_DIR: &str = "/home/logto";

#[derive(Serialize, Clone)]
struct Meta {
    name: String,
    namespace: String,
    labels: IndexMap<String, String>,
    annotations: IndexMap<String, String>,
}

#[derive(Serialize, Clone)]
struct EnvEntry {
    name: String,
    /// A literal value, or
    value: Option<String>,
    /// a key of the Secret (`secret = true`) or ConfigMap.
    from: Option<String>,
    secret: bool,
}

#[derive(Serialize, Clone)]
struct Mount {
    name: String,
    path: String,
    read_only: bool,
}

#[derive(Serialize, Clone)]
struct Volume {
    name: String,
    /// `emptyDir`, `pvc` or `secret`.
    kind: &'static str,
    source: Option<String>,
    /// Secret items: key → file name.
    items: Vec<(String, String)>,
}

#[derive(Serialize, Clone)]
struct Port {
    name: &'static str,
    port: u16,
}

#[derive(Serialize, Clone)]
struct Probes {
    scheme: &'static str,
}

#[derive(Serialize, Clone)]
struct Container {
    name: String,
    image: String,
    pull_policy: String,
    /// Only set where the image's entrypoint is not the one to run.
    command: Vec<String>,
    args: Vec<String>,
    env: Vec<EnvEntry>,
    ports: Vec<Port>,
    probes: Option<Probes>,
    /// `pg_isready` arguments for the database.
    exec_probe: Vec<String>,
    requests: Vec<(String, String)>,
    limits: Vec<(String, String)>,
    mounts: Vec<Mount>,
}

#[derive(Serialize, Clone)]
struct Pod {
    labels: IndexMap<String, String>,
    selector: IndexMap<String, String>,
    annotations: IndexMap<String, String>,
    run_as_user: u32,
    run_as_group: u32,
    fs_group: u32,
    pull_secrets: Vec<String>,
    init_containers: Vec<Container>,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    restart_policy: Option<&'static str>,
    spread: bool,
}

fn labels(config: &Config, component: &str) -> IndexMap<String, String> {
    let k = &config.kubernetes;
    IndexMap::from([
        ("app.kubernetes.io/name".into(), "logto".into()),
        ("app.kubernetes.io/instance".into(), k.name.clone()),
        (
            "app.kubernetes.io/version".into(),
            config.logto.version.clone(),
        ),
        ("app.kubernetes.io/component".into(), component.into()),
        ("app.kubernetes.io/part-of".into(), "logto".into()),
        ("app.kubernetes.io/managed-by".into(), "logto-deploy".into()),
    ])
}

/// The labels a selector matches: stable across upgrades (no version).
fn selector(config: &Config, component: &str) -> IndexMap<String, String> {
    IndexMap::from([
        ("app.kubernetes.io/name".into(), "logto".into()),
        (
            "app.kubernetes.io/instance".into(),
            config.kubernetes.name.clone(),
        ),
        ("app.kubernetes.io/component".into(), component.into()),
    ])
}

fn meta(config: &Config, name: String, component: &str) -> Meta {
    Meta {
        name,
        namespace: config.kubernetes.namespace.clone(),
        labels: labels(config, component),
        annotations: IndexMap::new(),
    }
}

pub fn secret_name(k: &Kubernetes) -> String {
    format!("{}-secret", k.name)
}

pub fn configmap_name(k: &Kubernetes) -> String {
    format!("{}-config", k.name)
}

fn env_ref(k: &Kubernetes, v: &EnvVar) -> EnvEntry {
    EnvEntry {
        name: v.name.clone(),
        value: None,
        from: Some(if v.secret {
            secret_name(k)
        } else {
            configmap_name(k)
        }),
        secret: v.secret,
    }
}

fn literal(name: &str, value: &str) -> EnvEntry {
    EnvEntry {
        name: name.into(),
        value: Some(value.into()),
        from: None,
        secret: false,
    }
}

fn mount(name: &str, path: &str) -> Mount {
    Mount {
        name: name.into(),
        path: path.into(),
        read_only: false,
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        kind: "emptyDir",
        source: None,
        items: Vec::new(),
    }
}

/// Volumes and mounts every Logto container needs, plus HTTPS and connectors when set.
/// A shared connectors PVC is filled once, by the migration Job; a per-pod emptyDir is
/// filled by each server pod (so the Job does not mount it).
fn logto_storage(config: &Config, for_job: bool) -> (Vec<Volume>, Vec<Mount>) {
    let k = &config.kubernetes;
    let mut volumes = vec![
        empty_dir("alteration-scripts"),
        empty_dir("home"),
        empty_dir("tmp"),
    ];
    let mut mounts = vec![
        mount("alteration-scripts", ALTERATIONS_DIR),
        mount("home", HOME_DIR),
        mount("tmp", "/tmp"),
    ];
    if let (Some(h), Some(secret)) = (&config.https, &k.https_secret) {
        let (dir, cert) = h.cert_path.rsplit_once('/').unwrap_or(("", &h.cert_path));
        let key = h.key_path.rsplit('/').next().unwrap_or(&h.key_path);
        volumes.push(Volume {
            name: "https".into(),
            kind: "secret",
            source: Some(secret.clone()),
            items: vec![
                ("tls.crt".into(), cert.into()),
                ("tls.key".into(), key.into()),
            ],
        });
        mounts.push(Mount {
            name: "https".into(),
            path: dir.into(),
            read_only: true,
        });
    }
    if let Some(c) = k
        .connectors
        .as_ref()
        .filter(|c| !for_job || c.pvc.is_some())
    {
        volumes.push(match &c.pvc {
            Some(_) => Volume {
                name: "connectors".into(),
                kind: "pvc",
                source: Some(format!("{}-connectors", k.name)),
                items: Vec::new(),
            },
            None => empty_dir("connectors"),
        });
        mounts.push(mount("connectors", CONNECTORS_DIR));
    }
    (volumes, mounts)
}

fn logto_container(
    config: &Config,
    name: &str,
    args: &[&str],
    env: Vec<EnvEntry>,
    mounts: &[Mount],
    serve: bool,
) -> Container {
    let k = &config.kubernetes;
    let mut ports = Vec::new();
    if serve {
        ports.push(Port {
            name: "http",
            port: config.logto.port,
        });
        if config.admin.enabled {
            ports.push(Port {
                name: "admin",
                port: config.admin.port,
            });
        }
    }
    Container {
        name: name.into(),
        image: config.logto.image_ref(),
        pull_policy: k.image_pull_policy.clone(),
        command: Vec::new(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env,
        ports,
        probes: serve.then_some(Probes {
            scheme: if config.https.is_some() {
                "HTTPS"
            } else {
                "HTTP"
            },
        }),
        exec_probe: Vec::new(),
        requests: k
            .requests
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect(),
        limits: k
            .limits
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect(),
        mounts: mounts.to_vec(),
    }
}

fn base_env() -> Vec<EnvEntry> {
    vec![
        literal("HOME", HOME_DIR),
        literal("npm_config_cache", &format!("{HOME_DIR}/.npm")),
    ]
}

fn pod(
    config: &Config,
    component: &str,
    init: Vec<Container>,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
) -> Pod {
    let k = &config.kubernetes;
    Pod {
        labels: labels(config, component),
        selector: selector(config, component),
        annotations: IndexMap::new(),
        run_as_user: k.run_as_user,
        run_as_group: k.run_as_group,
        fs_group: k.fs_group,
        pull_secrets: k.image_pull_secrets.clone(),
        init_containers: init,
        containers,
        volumes,
        restart_policy: None,
        spread: false,
    }
}

/// The init container that fills the connectors directory: in the Job for a shared PVC
/// (once, not racing between pods), in every server pod for an emptyDir.
fn connectors_init(config: &Config, mounts: &[Mount], for_job: bool) -> Option<Container> {
    let c = config
        .kubernetes
        .connectors
        .as_ref()
        .filter(|c| c.pvc.is_some() == for_job)?;
    let mut args = vec!["cli", "connector", "add", "--"];
    if c.official {
        args.push("--official");
    }
    args.extend(c.packages.iter().map(String::as_str));
    Some(logto_container(
        config,
        "connectors",
        &args,
        base_env(),
        mounts,
        false,
    ))
}

/// With the bundled database, wait until it accepts connections: a seed that fails
/// because Postgres is still starting would burn the Job's retries.
fn wait_for_postgres(config: &Config) -> Option<Container> {
    let DatabaseKind::Bundled {
        image, name, user, ..
    } = &config.database.kind
    else {
        return None;
    };
    let k = &config.kubernetes;
    Some(Container {
        name: "wait-for-postgres".into(),
        image: image.clone(),
        pull_policy: k.image_pull_policy.clone(),
        command: vec!["sh".into(), "-c".into(), "until pg_isready -h postgres -p 5432 -U \"$PGUSER\" -d \"$PGDATABASE\"; do sleep 2; done".into()],
        args: Vec::new(),
        env: vec![literal("PGUSER", user), literal("PGDATABASE", name)],
        ports: Vec::new(),
        probes: None,
        exec_probe: Vec::new(),
        requests: vec![("cpu".into(), "10m".into()), ("memory".into(), "16Mi".into())],
        limits: vec![("memory".into(), "64Mi".into())],
        mounts: vec![mount("tmp", "/tmp")],
    })
}

fn checksum(parts: &[&IndexMap<String, String>]) -> String {
    let mut h = Sha256::new();
    for map in parts {
        for (k, v) in *map {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
    }
    format!("{:x}", h.finalize())
}

fn hook_annotations(hook: Hook, wave: i32) -> IndexMap<String, String> {
    match hook {
        Hook::ArgoCd if wave != 0 => {
            IndexMap::from([("argocd.argoproj.io/sync-wave".into(), wave.to_string())])
        }
        _ => IndexMap::new(),
    }
}

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

/// Render every Kubernetes resource; returns `(file name, contents)` in apply order,
/// ending with `kustomization.yaml`.
pub fn render(
    config: &Config,
    logto_env: &[EnvVar],
    sync_env: &[EnvVar],
    postgres_env: &[EnvVar],
    store: &Store,
    r: &Renderer,
) -> Result<Vec<(String, String)>> {
    let k = &config.kubernetes;
    let banner = banner(config);
    let b = banner.as_str();
    let hook = k.migration.hook;
    let mut files: Vec<(String, String)> = Vec::new();
    let mut add = |file: &str, text: String| files.push((file.to_string(), text));

    if k.create_namespace {
        let mut m = meta(config, k.namespace.clone(), "namespace");
        m.annotations = hook_annotations(hook, -3);
        add("namespace.yaml", r.render(NAMESPACE, MiscCtx::new(b, m))?);
    }

    let config_data: IndexMap<String, String> = logto_env
        .iter()
        .chain(postgres_env)
        .filter(|v| !v.secret)
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let secret_data: IndexMap<String, String> = logto_env
        .iter()
        .chain(sync_env)
        .chain(postgres_env)
        .filter(|v| v.secret)
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let mut m = meta(config, configmap_name(k), "server");
    m.annotations = hook_annotations(hook, -2);
    add(
        "configmap.yaml",
        r.render(
            CONFIGMAP,
            DataCtx {
                banner: b,
                meta: m,
                data: config_data.clone(),
            },
        )?,
    );
    let encoded = secret_data
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                base64::engine::general_purpose::STANDARD.encode(v),
            )
        })
        .collect();
    let mut m = meta(config, secret_name(k), "server");
    m.annotations = hook_annotations(hook, -2);
    add(
        "secret.yaml",
        r.render(
            SECRET,
            DataCtx {
                banner: b,
                meta: m,
                data: encoded,
            },
        )?,
    );

    if let DatabaseKind::Bundled {
        image,
        major,
        name,
        user,
    } = &config.database.kind
    {
        debug_assert!(postgres_env.iter().any(|v| v.name == "POSTGRES_PASSWORD"));
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
        let mut env: Vec<EnvEntry> = postgres_env.iter().map(|v| env_ref(k, v)).collect();
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
        .chain(logto_env.iter().map(|v| env_ref(k, v)))
        .collect();
    let seed = logto_container(config, "seed", SEED, job_env.clone(), &mounts, false);
    let mut migrate_env = job_env.clone();
    migrate_env.push(literal("CI", "true"));
    let migrate = logto_container(config, "migrate", MIGRATE, migrate_env, &mounts, false);
    // Last, the store's keys into both tenants: a rotation reaches a seeded database. The
    // revision (key ids only) is part of the spec, so a rotation names a new Job.
    let mut sync_env_refs = job_env;
    sync_env_refs.extend(sync_env.iter().map(|v| env_ref(k, v)));
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
            .map(|v| env_ref(k, v)),
    );
    let (volumes, mounts) = logto_storage(config, false);
    let server = logto_container(config, "logto", START, env, &mounts, true);
    let mut init = Vec::new();
    init.extend(connectors_init(config, &mounts, false));
    let mut p = pod(config, "server", init, vec![server], volumes);
    p.annotations = k.pod_annotations.clone();
    p.annotations.insert(
        "checksum/config".into(),
        checksum(&[&config_data, &secret_data]),
    );
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
pub const MACROS: &str = "kubernetes/_pod.yaml.j2";
