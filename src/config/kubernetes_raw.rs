//! Stage 1 types of the `[kubernetes]` table: its shape as written (every field optional,
//! defaults applied in `config::kubernetes`). Also the source of its part of the schema.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawKubernetes {
    /// Namespace of every resource (default `logto`).
    pub namespace: Option<String>,
    /// Also render a Namespace manifest, labelled for the `restricted` Pod Security Standard.
    pub create_namespace: Option<bool>,
    /// Name of the Deployment, Services and prefix of other resources (default `logto`).
    pub name: Option<String>,
    /// Pod replicas (default 1). More than one wants `[redis]`.
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: Option<u32>,
    /// `Always`, `IfNotPresent` (default) or `Never`.
    #[schemars(extend("enum" = ["Always", "IfNotPresent", "Never"]))]
    pub image_pull_policy: Option<String>,
    /// Names of Secrets used to pull the image.
    pub image_pull_secrets: Option<Vec<String>>,
    /// Numeric user id the containers run as (default 1000, the image's `node` user).
    #[schemars(range(min = 1))]
    pub run_as_user: Option<u32>,
    /// Numeric group id (default 1000).
    #[schemars(range(min = 1))]
    pub run_as_group: Option<u32>,
    /// Group owning mounted volumes (default 1000).
    #[schemars(range(min = 1))]
    pub fs_group: Option<u32>,
    /// Container resources (defaults: requests cpu 100m / memory 256Mi, limit memory 1Gi).
    pub resources: Option<RawResources>,
    /// Service type: `ClusterIP` (default), `NodePort` or `LoadBalancer`.
    #[schemars(extend("enum" = ["ClusterIP", "NodePort", "LoadBalancer"]))]
    pub service_type: Option<String>,
    /// With `[https]`: the `kubernetes.io/tls` Secret mounted for Node (default `<name>-https`).
    pub https_secret: Option<String>,
    /// Extra annotations on the pod template.
    pub pod_annotations: Option<IndexMap<String, String>>,
    pub ingress: Option<RawIngress>,
    pub pod_disruption_budget: Option<RawPdb>,
    /// Render NetworkPolicies (default true): the server pods accept traffic on their
    /// ports only, the migration Job none, the bundled Postgres only from Logto's pods.
    pub network_policies: Option<bool>,
    pub autoscaling: Option<RawAutoscaling>,
    pub connectors: Option<RawConnectors>,
    pub migration: Option<RawMigration>,
    /// The bundled database's StatefulSet (only with `database.mode = "bundled"`).
    pub postgres: Option<RawK8sPostgres>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawResources {
    pub requests: Option<RawQuantities>,
    pub limits: Option<RawQuantities>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawQuantities {
    /// CPU quantity, e.g. `250m` or `1`.
    pub cpu: Option<String>,
    /// Memory quantity, e.g. `512Mi`.
    pub memory: Option<String>,
}

/// Ingress for both public hosts (hosts come from the endpoints).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawIngress {
    pub enabled: Option<bool>,
    /// `ingressClassName`, e.g. `nginx`.
    pub class_name: Option<String>,
    /// TLS Secret for the `logto.endpoint` host (https endpoints).
    pub tls_secret: Option<String>,
    /// TLS Secret for the `admin.endpoint` host (https endpoints).
    pub admin_tls_secret: Option<String>,
    /// Extra annotations, e.g. for cert-manager.
    pub annotations: Option<IndexMap<String, String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPdb {
    /// Render a PodDisruptionBudget (default: when replicas > 1).
    pub enabled: Option<bool>,
    /// Pods that may be down at once (default 1).
    #[schemars(range(min = 1))]
    pub max_unavailable: Option<u32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAutoscaling {
    pub enabled: Option<bool>,
    #[schemars(range(min = 1))]
    pub min_replicas: Option<u32>,
    #[schemars(range(min = 1, max = 1000))]
    pub max_replicas: Option<u32>,
    /// Average CPU utilisation target in percent (default 75).
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_utilization: Option<u32>,
}

/// A shared connectors directory (off by default: official connectors are in the image).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConnectors {
    pub enabled: Option<bool>,
    /// `empty-dir` (default, filled per pod) or `pvc` (shared).
    #[schemars(extend("enum" = ["empty-dir", "pvc"]))]
    pub storage: Option<String>,
    /// PVC size (default `1Gi`).
    pub size: Option<String>,
    pub storage_class: Option<String>,
    /// PVC access mode (default `ReadWriteOnce`); more than one replica needs `ReadWriteMany`.
    #[schemars(extend("enum" = ["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"]))]
    pub access_mode: Option<String>,
    /// Install the official connectors (`connector add --official`, default true).
    pub official: Option<bool>,
    /// Extra connector npm packages to install.
    pub packages: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawMigration {
    /// `none` (default), `helm` or `argocd`: annotations that order the Job before the rollout.
    #[schemars(extend("enum" = ["none", "helm", "argocd"]))]
    pub hook: Option<String>,
    /// Seconds a finished Job is kept (default 86400).
    pub ttl_seconds_after_finished: Option<u32>,
    /// Retries before the Job fails (default 3).
    #[schemars(range(max = 20))]
    pub backoff_limit: Option<u32>,
    /// Seconds the Job may run (default 900).
    #[schemars(range(min = 60))]
    pub active_deadline_seconds: Option<u32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawK8sPostgres {
    /// Size of the data volume (default `10Gi`).
    pub storage_size: Option<String>,
    pub storage_class: Option<String>,
}
