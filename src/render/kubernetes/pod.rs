//! Pod building blocks of the Kubernetes target: labels, containers, volumes and the
//! security settings every pod shares. Input: the resolved config. Output: `Pod` and
//! `Container` values that `_pod.yaml.j2` lays out.

use indexmap::IndexMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::super::env::{EnvVar, KEYS_DIR};
use crate::config::kubernetes::{Hook, Kubernetes};
use crate::config::model::{Config, DatabaseKind, Delivery};

/// Variables only `db seed` reads: the running server never needs them.
pub(super) const SEED_ONLY: &[&str] = &["OIDC_PRIVATE_KEYS", "OIDC_COOKIE_KEYS"];
/// Where Logto writes at run time; each gets an emptyDir under a read-only root.
pub(super) const ALTERATIONS_DIR: &str = "/etc/logto/packages/cli/alteration-scripts";
pub(super) const CONNECTORS_DIR: &str = "/etc/logto/packages/core/connectors";
pub(super) const HOME_DIR: &str = "/home/logto";

#[derive(Serialize, Clone)]
pub(super) struct Meta {
    pub(super) name: String,
    pub(super) namespace: String,
    pub(super) labels: IndexMap<String, String>,
    pub(super) annotations: IndexMap<String, String>,
}

#[derive(Serialize, Clone)]
pub(super) struct EnvEntry {
    pub(super) name: String,
    /// A literal value, or
    pub(super) value: Option<String>,
    /// a key of the Secret (`secret = true`) or ConfigMap.
    pub(super) from: Option<String>,
    pub(super) key: String,
    pub(super) secret: bool,
}

#[derive(Serialize, Clone)]
pub(super) struct Mount {
    pub(super) name: String,
    pub(super) path: String,
    pub(super) read_only: bool,
}

#[derive(Serialize, Clone)]
pub(super) struct Volume {
    pub(super) name: String,
    /// `emptyDir`, `pvc` or `secret`.
    pub(super) kind: &'static str,
    pub(super) source: Option<String>,
    /// Secret items: key → file name.
    pub(super) items: Vec<(String, String)>,
}

#[derive(Serialize, Clone)]
pub(super) struct Port {
    pub(super) name: &'static str,
    pub(super) port: u16,
}

#[derive(Serialize, Clone)]
pub(super) struct Probes {
    pub(super) scheme: &'static str,
}

#[derive(Serialize, Clone)]
pub(super) struct Container {
    pub(super) name: String,
    pub(super) image: String,
    pub(super) pull_policy: String,
    /// Only set where the image's entrypoint is not the one to run.
    pub(super) command: Vec<String>,
    pub(super) args: Vec<String>,
    pub(super) env: Vec<EnvEntry>,
    pub(super) ports: Vec<Port>,
    pub(super) probes: Option<Probes>,
    /// `pg_isready` arguments for the database.
    pub(super) exec_probe: Vec<String>,
    pub(super) requests: Vec<(String, String)>,
    pub(super) limits: Vec<(String, String)>,
    pub(super) mounts: Vec<Mount>,
}

#[derive(Serialize, Clone)]
pub(super) struct Pod {
    pub(super) labels: IndexMap<String, String>,
    pub(super) selector: IndexMap<String, String>,
    pub(super) annotations: IndexMap<String, String>,
    pub(super) run_as_user: u32,
    pub(super) run_as_group: u32,
    pub(super) fs_group: u32,
    pub(super) pull_secrets: Vec<String>,
    pub(super) init_containers: Vec<Container>,
    pub(super) containers: Vec<Container>,
    pub(super) volumes: Vec<Volume>,
    pub(super) restart_policy: Option<&'static str>,
    pub(super) spread: bool,
}

pub(super) fn labels(config: &Config, component: &str) -> IndexMap<String, String> {
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
pub(super) fn selector(config: &Config, component: &str) -> IndexMap<String, String> {
    IndexMap::from([
        ("app.kubernetes.io/name".into(), "logto".into()),
        (
            "app.kubernetes.io/instance".into(),
            config.kubernetes.name.clone(),
        ),
        ("app.kubernetes.io/component".into(), component.into()),
    ])
}

pub(super) fn meta(config: &Config, name: String, component: &str) -> Meta {
    Meta {
        name,
        namespace: config.kubernetes.namespace.clone(),
        labels: labels(config, component),
        annotations: IndexMap::new(),
    }
}

pub(super) fn secret_name(k: &Kubernetes) -> String {
    format!("{}-secret", k.name)
}

pub(super) fn configmap_name(k: &Kubernetes) -> String {
    format!("{}-config", k.name)
}

/// The Secret and key a secret variable comes from: ours, or the one the user manages.
pub(super) fn secret_ref(config: &Config, var: &str) -> (String, String) {
    match &config.delivery {
        Delivery::ExistingSecret { name, keys } => (
            name.clone()
                .unwrap_or_else(|| secret_name(&config.kubernetes)),
            keys.get(var).cloned().unwrap_or_else(|| var.to_string()),
        ),
        _ => (secret_name(&config.kubernetes), var.to_string()),
    }
}

pub(super) fn env_ref(config: &Config, v: &EnvVar) -> EnvEntry {
    let (from, key) = if v.secret {
        secret_ref(config, &v.name)
    } else {
        (configmap_name(&config.kubernetes), v.name.clone())
    };
    EnvEntry {
        name: v.name.clone(),
        value: None,
        from: Some(from),
        key,
        secret: v.secret,
    }
}

pub(super) fn literal(name: &str, value: &str) -> EnvEntry {
    EnvEntry {
        name: name.into(),
        value: Some(value.into()),
        from: None,
        key: String::new(),
        secret: false,
    }
}

pub(super) fn mount(name: &str, path: &str) -> Mount {
    Mount {
        name: name.into(),
        path: path.into(),
        read_only: false,
    }
}

pub(super) fn empty_dir(name: &str) -> Volume {
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
pub(super) fn logto_storage(config: &Config, for_job: bool) -> (Vec<Volume>, Vec<Mount>) {
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
    if for_job && config.delivery == Delivery::KeyFiles {
        // Only the Job reads signing keys (seed and key sync); the server never does.
        volumes.push(Volume {
            name: "oidc-keys".into(),
            kind: "secret",
            source: Some(format!("{}-oidc-keys", k.name)),
            items: Vec::new(),
        });
        mounts.push(Mount {
            name: "oidc-keys".into(),
            path: KEYS_DIR.into(),
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

pub(super) fn logto_container(
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

pub(super) fn base_env() -> Vec<EnvEntry> {
    vec![
        literal("HOME", HOME_DIR),
        literal("npm_config_cache", &format!("{HOME_DIR}/.npm")),
    ]
}

pub(super) fn pod(
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
pub(super) fn connectors_init(
    config: &Config,
    mounts: &[Mount],
    for_job: bool,
) -> Option<Container> {
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
pub(super) fn wait_for_postgres(config: &Config) -> Option<Container> {
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

pub(super) fn checksum(parts: &[&IndexMap<String, String>]) -> String {
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

pub(super) fn hook_annotations(hook: Hook, wave: i32) -> IndexMap<String, String> {
    match hook {
        Hook::ArgoCd if wave != 0 => {
            IndexMap::from([("argocd.argoproj.io/sync-wave".into(), wave.to_string())])
        }
        _ => IndexMap::new(),
    }
}
