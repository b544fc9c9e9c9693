//! The `[kubernetes]` table: its resolved model (raw shape in `kubernetes_raw`), and the rules that tie it
//! to the rest of the config (replicas vs. Redis and shared volumes, Node HTTPS vs. the
//! TLS Secret, Ingress hosts vs. endpoints).
//!
//! Input: the merged raw table. Output: a `Kubernetes` model with defaults applied, or
//! located errors through the shared resolve context.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;

use super::model::Https;
use super::resolve::Ctx;

pub use super::kubernetes_raw::*;

// ---- resolved model ----

#[derive(Debug, Clone, Serialize)]
pub struct Kubernetes {
    pub namespace: String,
    pub create_namespace: bool,
    pub name: String,
    pub replicas: u32,
    pub image_pull_policy: String,
    pub image_pull_secrets: Vec<String>,
    pub run_as_user: u32,
    pub run_as_group: u32,
    pub fs_group: u32,
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
    pub service_type: String,
    /// TLS Secret mounted for Node HTTPS (only with `[https]`).
    pub https_secret: Option<String>,
    pub pod_annotations: IndexMap<String, String>,
    pub ingress: Option<Ingress>,
    pub pdb: Option<u32>,
    pub network_policies: bool,
    pub autoscaling: Option<Autoscaling>,
    pub connectors: Option<Connectors>,
    pub migration: Migration,
    pub postgres_storage_size: String,
    pub postgres_storage_class: Option<String>,
}

impl Kubernetes {
    /// The most pods that can run at once.
    pub fn max_replicas(&self) -> u32 {
        self.autoscaling
            .as_ref()
            .map_or(self.replicas, |a| a.max_replicas.max(self.replicas))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Ingress {
    pub class_name: Option<String>,
    pub tls_secret: Option<String>,
    pub admin_tls_secret: Option<String>,
    pub annotations: IndexMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Autoscaling {
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub target_cpu_utilization: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Connectors {
    /// `None` = emptyDir per pod.
    pub pvc: Option<Pvc>,
    pub official: bool,
    pub packages: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pvc {
    pub size: String,
    pub storage_class: Option<String>,
    pub access_mode: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Hook {
    None,
    Helm,
    ArgoCd,
}

#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    pub hook: Hook,
    pub ttl_seconds_after_finished: u32,
    pub backoff_limit: u32,
    pub active_deadline_seconds: u32,
}

// ---- validation helpers ----

/// An RFC 1123 label: lower-case alphanumerics and `-`, at most `max` characters.
pub fn check_dns_label(s: &str, max: usize) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not a Kubernetes name (lower-case letters, digits and `-`, at most {max} characters, starting and ending with a letter or digit)"))
    }
}

/// An RFC 1123 subdomain (Secret and storage class names).
pub fn check_dns_subdomain(s: &str) -> Result<(), String> {
    if s.len() <= 253 && s.split('.').all(|l| check_dns_label(l, 63).is_ok()) {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a Kubernetes resource name (lower-case letters, digits, `-` and `.`)"
        ))
    }
}

/// A resource quantity such as `250m`, `1`, `512Mi`, `1.5Gi`.
pub fn check_quantity(s: &str) -> Result<(), String> {
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(digits_end);
    let num_ok = !num.is_empty()
        && num.matches('.').count() <= 1
        && !num.starts_with('.')
        && !num.ends_with('.');
    let suffix_ok = [
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ]
    .contains(&suffix);
    if num_ok && suffix_ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a Kubernetes quantity such as `250m`, `1` or `512Mi`"
        ))
    }
}

/// An annotation key: optional DNS-subdomain prefix and `/`, then a name of at most 63.
pub fn check_annotation_key(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if name_ok && prefix.is_none_or(|p| check_dns_subdomain(p).is_ok()) {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an annotation key such as `cert-manager.io/cluster-issuer`"
        ))
    }
}

/// An npm package spec for `connector add`: `[@scope/]name[@version]`.
fn check_package(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 214
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "@/._-~^".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an npm package name such as `@logto/connector-github`"
        ))
    }
}

// ---- resolve ----

pub(crate) fn resolve(
    cx: &mut Ctx,
    raw: Option<&RawKubernetes>,
    has_redis: bool,
    https: Option<&Https>,
) -> Option<Kubernetes> {
    let default = RawKubernetes::default();
    let raw = raw.unwrap_or(&default);
    let mut ok = true;
    let mut name_check = |cx: &mut Ctx, pointer: &str, value: &str, max: usize| {
        if cx
            .parse(pointer, check_dns_label(value, max), None)
            .is_none()
        {
            ok = false;
        }
    };
    let namespace = raw.namespace.clone().unwrap_or_else(|| "logto".into());
    name_check(cx, "/kubernetes/namespace", &namespace, 63);
    let name = raw.name.clone().unwrap_or_else(|| "logto".into());
    // Room for the longest suffix we add (`-migrate-1-43-0-xxxxxxxx`).
    name_check(cx, "/kubernetes/name", &name, 30);
    for (i, s) in raw.image_pull_secrets.iter().flatten().enumerate() {
        ok &= cx
            .parse(
                &format!("/kubernetes/image-pull-secrets/{i}"),
                check_dns_subdomain(s),
                None,
            )
            .is_some();
    }

    let replicas = raw.replicas.unwrap_or(1);
    let autoscaling = resolve_autoscaling(cx, raw.autoscaling.as_ref(), replicas);
    let max_replicas = autoscaling
        .as_ref()
        .map_or(replicas, |a: &Autoscaling| a.max_replicas.max(replicas));
    if max_replicas > 1 && !has_redis {
        cx.warn(
            if cx.loc.is_set("/kubernetes/replicas") { "/kubernetes/replicas" } else { "/kubernetes/autoscaling" },
            format!("up to {max_replicas} Logto pods run without `[redis]`"),
            Some("each pod then keeps its own cache, and changes made through one pod (sign-in experience, connectors) reach the others only after their caches expire; add `[redis] url = …`".into()),
        );
    }

    let mut requests = BTreeMap::from([
        ("cpu".to_string(), "100m".to_string()),
        ("memory".to_string(), "256Mi".to_string()),
    ]);
    let mut limits = BTreeMap::from([("memory".to_string(), "1Gi".to_string())]);
    if let Some(r) = &raw.resources {
        for (kind, q, target) in [
            ("requests", &r.requests, &mut requests),
            ("limits", &r.limits, &mut limits),
        ] {
            let Some(q) = q else { continue };
            for (res, v) in [("cpu", &q.cpu), ("memory", &q.memory)] {
                if let Some(v) = v {
                    ok &= cx
                        .parse(
                            &format!("/kubernetes/resources/{kind}/{res}"),
                            check_quantity(v),
                            None,
                        )
                        .is_some();
                    target.insert(res.to_string(), v.clone());
                }
            }
        }
    }

    let https_secret = match (https, &raw.https_secret) {
        (Some(h), s) => {
            let secret = s.clone().unwrap_or_else(|| format!("{name}-https"));
            ok &= cx
                .parse(
                    "/kubernetes/https-secret",
                    check_dns_subdomain(&secret),
                    None,
                )
                .is_some();
            let dir = |p: &str| {
                p.rsplit_once('/')
                    .map(|(d, _)| d.to_string())
                    .unwrap_or_default()
            };
            if dir(&h.cert_path) != dir(&h.key_path) {
                cx.err_key("/https", "`https.cert-path` and `https.key-path` are in different directories", Some("Kubernetes mounts the TLS Secret as one directory: put both files in the same one, e.g. `/etc/logto/tls/`".into()));
                ok = false;
            }
            Some(secret)
        }
        (None, Some(_)) => {
            cx.inapplicable(
                "/kubernetes/https-secret",
                "/https",
                "`kubernetes.https-secret` is set but Node does not serve HTTPS".into(),
                "set `[https] cert-path` and `key-path`, or remove this line".into(),
            );
            None
        }
        (None, None) => None,
    };

    let pod_annotations = annotations(
        cx,
        raw.pod_annotations.as_ref(),
        "/kubernetes/pod-annotations",
        &mut ok,
    );
    let ingress = resolve_ingress(cx, raw.ingress.as_ref(), &mut ok);
    let pdb = match &raw.pod_disruption_budget {
        Some(p) if p.enabled == Some(false) => None,
        Some(p) if p.enabled == Some(true) => Some(p.max_unavailable.unwrap_or(1)),
        p => (max_replicas > 1).then(|| p.as_ref().and_then(|p| p.max_unavailable).unwrap_or(1)),
    };
    let connectors = resolve_connectors(cx, raw.connectors.as_ref(), max_replicas, &mut ok);
    let migration = resolve_migration(raw.migration.as_ref());
    let pg = raw.postgres.as_ref();
    let postgres_storage_size = pg
        .and_then(|p| p.storage_size.clone())
        .unwrap_or_else(|| "10Gi".into());
    ok &= cx
        .parse(
            "/kubernetes/postgres/storage-size",
            check_quantity(&postgres_storage_size),
            None,
        )
        .is_some();
    let postgres_storage_class = pg.and_then(|p| p.storage_class.clone());
    if let Some(c) = &postgres_storage_class {
        ok &= cx
            .parse(
                "/kubernetes/postgres/storage-class",
                check_dns_subdomain(c),
                None,
            )
            .is_some();
    }

    ok.then(|| Kubernetes {
        namespace,
        create_namespace: raw.create_namespace.unwrap_or(false),
        name,
        replicas,
        image_pull_policy: raw
            .image_pull_policy
            .clone()
            .unwrap_or_else(|| "IfNotPresent".into()),
        image_pull_secrets: raw.image_pull_secrets.clone().unwrap_or_default(),
        run_as_user: raw.run_as_user.unwrap_or(1000),
        run_as_group: raw.run_as_group.unwrap_or(1000),
        fs_group: raw.fs_group.unwrap_or(1000),
        requests,
        limits,
        service_type: raw
            .service_type
            .clone()
            .unwrap_or_else(|| "ClusterIP".into()),
        https_secret,
        pod_annotations,
        ingress,
        pdb,
        network_policies: raw.network_policies.unwrap_or(true),
        autoscaling,
        connectors,
        migration,
        postgres_storage_size,
        postgres_storage_class,
    })
}

fn annotations(
    cx: &mut Ctx,
    raw: Option<&IndexMap<String, String>>,
    base: &str,
    ok: &mut bool,
) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for (k, v) in raw.into_iter().flatten() {
        let pointer = format!("{base}/{}", super::source::pointer_segment(k));
        if let Err(m) = check_annotation_key(k) {
            cx.err_key(&pointer, m, None);
            *ok = false;
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    out
}

fn resolve_autoscaling(
    cx: &mut Ctx,
    raw: Option<&RawAutoscaling>,
    replicas: u32,
) -> Option<Autoscaling> {
    let raw = raw.filter(|a| a.enabled != Some(false))?;
    if raw.enabled.is_none() && raw.min_replicas.is_none() && raw.max_replicas.is_none() {
        return None;
    }
    let min_replicas = raw.min_replicas.unwrap_or(replicas.max(1));
    let max_replicas = raw.max_replicas.unwrap_or(min_replicas.max(2));
    if max_replicas < min_replicas {
        cx.err(
            "/kubernetes/autoscaling/max-replicas",
            format!("`max-replicas` {max_replicas} is below `min-replicas` {min_replicas}"),
            None,
        );
    }
    Some(Autoscaling {
        min_replicas,
        max_replicas,
        target_cpu_utilization: raw.target_cpu_utilization.unwrap_or(75),
    })
}

fn resolve_ingress(cx: &mut Ctx, raw: Option<&RawIngress>, ok: &mut bool) -> Option<Ingress> {
    let raw = raw.filter(|i| i.enabled.unwrap_or(true))?;
    let mut name = |field: &str, v: &Option<String>, ok: &mut bool| {
        if let Some(v) = v {
            *ok &= cx
                .parse(
                    &format!("/kubernetes/ingress/{field}"),
                    check_dns_subdomain(v),
                    None,
                )
                .is_some();
        }
        v.clone()
    };
    let class_name = name("class-name", &raw.class_name, ok);
    let tls_secret = name("tls-secret", &raw.tls_secret, ok);
    let admin_tls_secret = name("admin-tls-secret", &raw.admin_tls_secret, ok);
    let mut annotations = annotations(
        cx,
        raw.annotations.as_ref(),
        "/kubernetes/ingress/annotations",
        ok,
    );
    if class_name.as_deref() == Some("nginx") {
        // ingress-nginx caps bodies at 1m; Logto uploads go up to 20 MB.
        annotations
            .entry("nginx.ingress.kubernetes.io/proxy-body-size".into())
            .or_insert_with(|| "20m".into());
    }
    Some(Ingress {
        class_name,
        tls_secret,
        admin_tls_secret,
        annotations,
    })
}

fn resolve_connectors(
    cx: &mut Ctx,
    raw: Option<&RawConnectors>,
    max_replicas: u32,
    ok: &mut bool,
) -> Option<Connectors> {
    // Values are checked even while the table is disabled: a broken value must not wait
    // for the day someone enables it.
    if let Some(raw) = raw {
        if let Some(size) = &raw.size {
            *ok &= cx
                .parse("/kubernetes/connectors/size", check_quantity(size), None)
                .is_some();
        }
        if let Some(c) = &raw.storage_class {
            *ok &= cx
                .parse(
                    "/kubernetes/connectors/storage-class",
                    check_dns_subdomain(c),
                    None,
                )
                .is_some();
        }
    }
    let raw = raw.filter(|c| c.enabled.unwrap_or(false))?;
    let pvc = match raw.storage.as_deref() {
        Some("pvc") => {
            let size = raw.size.clone().unwrap_or_else(|| "1Gi".into());
            let access_mode = raw
                .access_mode
                .clone()
                .unwrap_or_else(|| "ReadWriteOnce".into());
            if max_replicas > 1 && access_mode != "ReadWriteMany" {
                let at = if cx.loc.is_set("/kubernetes/connectors/access-mode") {
                    "/kubernetes/connectors/access-mode"
                } else {
                    "/kubernetes/connectors/storage"
                };
                cx.err(at, format!("a `{access_mode}` volume cannot be shared by {max_replicas} pods"), Some("use `access-mode = \"ReadWriteMany\"` (needs a storage class that supports it), `storage = \"empty-dir\"`, or one replica".into()));
                *ok = false;
            }
            Some(Pvc {
                size,
                storage_class: raw.storage_class.clone(),
                access_mode,
            })
        }
        _ => None,
    };
    let packages = raw.packages.clone().unwrap_or_default();
    for (i, p) in packages.iter().enumerate() {
        *ok &= cx
            .parse(
                &format!("/kubernetes/connectors/packages/{i}"),
                check_package(p),
                None,
            )
            .is_some();
    }
    let official = raw.official.unwrap_or(true);
    if !official && packages.is_empty() {
        cx.err("/kubernetes/connectors/official", "the shared connectors directory would be empty", Some("an empty directory hides the connectors built into the image: list `packages`, keep `official = true`, or disable `[kubernetes.connectors]`".into()));
        *ok = false;
    }
    Some(Connectors {
        pvc,
        official,
        packages,
    })
}

fn resolve_migration(raw: Option<&RawMigration>) -> Migration {
    let default = RawMigration::default();
    let raw = raw.unwrap_or(&default);
    Migration {
        hook: match raw.hook.as_deref() {
            Some("helm") => Hook::Helm,
            Some("argocd") => Hook::ArgoCd,
            _ => Hook::None,
        },
        ttl_seconds_after_finished: raw.ttl_seconds_after_finished.unwrap_or(86_400),
        backoff_limit: raw.backoff_limit.unwrap_or(3),
        active_deadline_seconds: raw.active_deadline_seconds.unwrap_or(900),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for good in ["250m", "1", "0.5", "512Mi", "1.5Gi", "10G"] {
            assert!(check_quantity(good).is_ok(), "{good}");
        }
        for bad in ["", "m", "1.2.3", "12MB", "1 Gi", ".5", "-1"] {
            assert!(check_quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_keys() {
        assert!(check_dns_label("logto-prod", 63).is_ok());
        for bad in ["Logto", "-a", "a-", "a_b", "a.b", ""] {
            assert!(check_dns_label(bad, 63).is_err(), "{bad}");
        }
        assert!(check_annotation_key("cert-manager.io/cluster-issuer").is_ok());
        assert!(check_annotation_key("simple").is_ok());
        for bad in ["a/b/c", "bad key", "x/", "UPPER.io/x"] {
            assert!(check_annotation_key(bad).is_err(), "{bad}");
        }
    }
}
