//! The walkthrough's non-AWS operations: kubeconfig files in the state dir (never
//! ~/.kube/config) and Kubernetes objects through a cluster connection.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::{Api, DeleteParams, Patch, PatchParams};

use super::runner::LocalOps;

/// Connects to a cluster's API by the cluster's name (the sandbox's simulated
/// clusters); without one, the kubeconfig step G wrote is used.
pub type Connector = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<kube::Client, String>> + Send>>
        + Send
        + Sync,
>;

pub struct FileLocal {
    /// `<state>/workspaces/<id>/kubeconfig/`
    pub dir: PathBuf,
    pub connect: Option<Connector>,
}

/// Kubernetes calls of the walkthrough give up after this (an unreachable
/// private endpoint must not hang the step).
const KUBE_TIMEOUT: Duration = Duration::from_secs(20);

impl FileLocal {
    pub fn path(&self, cluster: &str) -> PathBuf {
        self.dir.join(format!("{cluster}.yaml"))
    }
}

/// A kubeconfig with an `aws eks get-token` exec credential, as
/// `aws eks update-kubeconfig` writes it.
pub fn kubeconfig(cluster: &str, region: &str, endpoint: &str, certificate: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster}\n  cluster:\n    server: {endpoint}\n    certificate-authority-data: {certificate}\ncontexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: {cluster}\ncurrent-context: {cluster}\nusers:\n- name: {cluster}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [eks, get-token, --cluster-name, {cluster}, --region, {region}, --output, json]\n      interactiveMode: Never\n"
    )
}

impl LocalOps for FileLocal {
    fn write_kubeconfig(
        &self,
        cluster: &str,
        region: &str,
        endpoint: &str,
        certificate: &str,
    ) -> Result<PathBuf, String> {
        let path = self.path(cluster);
        tierui_core::paths::write_private(
            &path,
            kubeconfig(cluster, region, endpoint, certificate).as_bytes(),
        )
        .map_err(|e| format!("{e:#}"))?;
        Ok(path)
    }

    fn remove_kubeconfig(&self, cluster: &str) -> Result<(), String> {
        match std::fs::remove_file(self.path(cluster)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn create_service_account<'a>(
        &'a self,
        cluster: &'a str,
        namespace: &'a str,
        name: &'a str,
        role_arn: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let client = self.client(cluster).await?;
            // As eksctl does, the namespace is created when it is missing.
            let namespaces: Api<Namespace> = Api::all(client.clone());
            let exists = tokio::time::timeout(KUBE_TIMEOUT, namespaces.get_opt(namespace))
                .await
                .map_err(|_| {
                    format!("the {cluster} cluster's API did not answer in {KUBE_TIMEOUT:?}")
                })?
                .map_err(|e| format!("reading namespace {namespace}: {e}"))?
                .is_some();
            if !exists {
                let mut ns = Namespace::default();
                ns.metadata.name = Some(namespace.to_string());
                tokio::time::timeout(KUBE_TIMEOUT, namespaces.create(&Default::default(), &ns))
                    .await
                    .map_err(|_| {
                        format!("the {cluster} cluster's API did not answer in {KUBE_TIMEOUT:?}")
                    })?
                    .map_err(|e| format!("creating namespace {namespace}: {e}"))?;
            }
            let api: Api<ServiceAccount> = Api::namespaced(client, namespace);
            let sa = service_account(namespace, name, role_arn);
            let params = PatchParams::apply("tierui").force();
            tokio::time::timeout(KUBE_TIMEOUT, api.patch(name, &params, &Patch::Apply(&sa)))
                .await
                .map_err(|_| {
                    format!("the {cluster} cluster's API did not answer in {KUBE_TIMEOUT:?}")
                })?
                .map_err(|e| {
                    format!("server-side apply of ServiceAccount {namespace}/{name}: {e}")
                })?;
            Ok(())
        })
    }

    fn delete_service_account<'a>(
        &'a self,
        cluster: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let client = self.client(cluster).await?;
            let api: Api<ServiceAccount> = Api::namespaced(client, namespace);
            match tokio::time::timeout(KUBE_TIMEOUT, api.delete(name, &DeleteParams::default()))
                .await
                .map_err(|_| {
                    format!("the {cluster} cluster's API did not answer in {KUBE_TIMEOUT:?}")
                })? {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
                Err(e) => Err(format!("deleting ServiceAccount {namespace}/{name}: {e}")),
            }
        })
    }

    fn map_identity<'a>(
        &'a self,
        cluster: &'a str,
        entry: AuthEntry,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let client = self.client(cluster).await?;
            edit_aws_auth(client, cluster, |cm| set_entry(cm, &entry)).await
        })
    }

    fn unmap_identity<'a>(
        &'a self,
        cluster: &'a str,
        kind: &'a str,
        arn: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let client = self.client(cluster).await?;
            edit_aws_auth(client, cluster, |cm| remove_entry(cm, kind, arn)).await
        })
    }
}

/// One entry of the aws-auth ConfigMap.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthEntry {
    /// role, user or account.
    pub kind: String,
    pub arn: String,
    pub username: Option<String>,
    pub groups: Vec<String>,
}

fn auth_key(kind: &str) -> &'static str {
    match kind {
        "user" => "mapUsers",
        "account" => "mapAccounts",
        _ => "mapRoles",
    }
}

/// The list under `key` of aws-auth's data (YAML text), as JSON values.
fn auth_list(cm: &ConfigMap, key: &str) -> Result<Vec<serde_json::Value>, String> {
    let text = cm
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(String::as_str)
        .unwrap_or("");
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v = tierui_core::workspace::yaml::parse_single(text)
        .map_err(|e| {
            format!(
                "kube-system/aws-auth {key} is not YAML: {}:{} {}",
                e.line, e.col, e.message
            )
        })?
        .to_json();
    match v {
        serde_json::Value::Array(items) => Ok(items),
        serde_json::Value::Null => Ok(Vec::new()),
        _ => Err(format!("kube-system/aws-auth {key} is not a list")),
    }
}

fn put_list(cm: &mut ConfigMap, key: &str, items: &[serde_json::Value]) {
    let text = if items.is_empty() {
        String::new()
    } else {
        // JSON is YAML: EKS's authenticator reads either.
        serde_json::to_string_pretty(items).unwrap_or_default()
    };
    cm.data
        .get_or_insert_with(Default::default)
        .insert(key.to_string(), text);
}

/// Adds the entry, replacing one for the same ARN (entries of other tools stay).
pub fn set_entry(cm: &mut ConfigMap, e: &AuthEntry) -> Result<(), String> {
    let key = auth_key(&e.kind);
    let mut items = auth_list(cm, key)?;
    let field = match e.kind.as_str() {
        "user" => "userarn",
        "account" => "",
        _ => "rolearn",
    };
    let item = if field.is_empty() {
        serde_json::Value::String(e.arn.clone())
    } else {
        let mut m = serde_json::Map::new();
        m.insert(field.into(), e.arn.clone().into());
        if let Some(u) = &e.username {
            m.insert("username".into(), u.clone().into());
        }
        if !e.groups.is_empty() {
            m.insert("groups".into(), e.groups.clone().into());
        }
        serde_json::Value::Object(m)
    };
    items.retain(|i| !same_arn(i, &e.arn));
    items.push(item);
    put_list(cm, key, &items);
    Ok(())
}

fn same_arn(item: &serde_json::Value, arn: &str) -> bool {
    match item {
        serde_json::Value::String(s) => s == arn,
        serde_json::Value::Object(m) => ["rolearn", "userarn"]
            .iter()
            .any(|k| m.get(*k).and_then(|v| v.as_str()) == Some(arn)),
        _ => false,
    }
}

pub fn remove_entry(cm: &mut ConfigMap, kind: &str, arn: &str) -> Result<(), String> {
    let key = auth_key(kind);
    let mut items = auth_list(cm, key)?;
    items.retain(|i| !same_arn(i, arn));
    put_list(cm, key, &items);
    Ok(())
}

/// Reads kube-system/aws-auth (or starts one), edits it and writes it back with
/// the version read (a concurrent change makes the write fail, not vanish).
async fn edit_aws_auth(
    client: kube::Client,
    cluster: &str,
    edit: impl FnOnce(&mut ConfigMap) -> Result<(), String>,
) -> Result<(), String> {
    let api: Api<ConfigMap> = Api::namespaced(client, "kube-system");
    let timeout = |_| format!("the {cluster} cluster's API did not answer in {KUBE_TIMEOUT:?}");
    let current = tokio::time::timeout(KUBE_TIMEOUT, api.get_opt("aws-auth"))
        .await
        .map_err(timeout)?
        .map_err(|e| format!("reading kube-system/aws-auth: {e}"))?;
    match current {
        Some(mut cm) => {
            edit(&mut cm)?;
            cm.metadata.managed_fields = None;
            tokio::time::timeout(
                KUBE_TIMEOUT,
                api.replace("aws-auth", &Default::default(), &cm),
            )
            .await
            .map_err(timeout)?
            .map_err(|e| format!("writing kube-system/aws-auth: {e}"))?;
        }
        None => {
            let mut cm = ConfigMap::default();
            cm.metadata.name = Some("aws-auth".into());
            cm.metadata.namespace = Some("kube-system".into());
            edit(&mut cm)?;
            tokio::time::timeout(KUBE_TIMEOUT, api.create(&Default::default(), &cm))
                .await
                .map_err(timeout)?
                .map_err(|e| format!("creating kube-system/aws-auth: {e}"))?;
        }
    }
    Ok(())
}

impl FileLocal {
    async fn client(&self, cluster: &str) -> Result<kube::Client, String> {
        match &self.connect {
            Some(connect) => connect(cluster.to_string()).await,
            None => {
                let file = self.path(cluster);
                if !file.is_file() {
                    return Err(format!(
                        "no kubeconfig for {cluster} yet ({})",
                        file.display()
                    ));
                }
                crate::kube::connect::client(&crate::kube::connect::Endpoint::Context {
                    name: cluster.to_string(),
                    file: Some(file),
                })
                .await
            }
        }
    }
}

/// The IRSA service account: annotated with the role pods assume through OIDC.
pub fn service_account(namespace: &str, name: &str, role_arn: Option<&str>) -> ServiceAccount {
    let mut sa = ServiceAccount::default();
    sa.metadata.name = Some(name.to_string());
    sa.metadata.namespace = Some(namespace.to_string());
    sa.metadata.labels = Some(
        [(
            "app.kubernetes.io/managed-by".to_string(),
            "tierui".to_string(),
        )]
        .into(),
    );
    if let Some(role_arn) = role_arn {
        sa.metadata.annotations = Some(
            [(
                "eks.amazonaws.com/role-arn".to_string(),
                role_arn.to_string(),
            )]
            .into(),
        );
    }
    sa
}

/// The sandbox's way in: the simulated cluster of the workspace cluster whose
/// EKS name (or workspace name) is `cluster`.
pub fn sandbox_connector(
    ctx: tierui_core::context::Context,
    sims: Arc<crate::sandbox::clusters::SimClusters>,
) -> Connector {
    Arc::new(move |cluster: String| {
        let (ctx, sims) = (ctx.clone(), sims.clone());
        Box::pin(async move {
            let ws = ctx.load();
            let c = ws
                .clusters
                .iter()
                .find(|c| c.name == cluster || c.spec().is_some_and(|s| s.cluster_name == cluster))
                .ok_or_else(|| format!("no workspace cluster for EKS cluster {cluster}"))?;
            let url = sims.endpoint(&ws, c).await?;
            crate::kube::connect::client(&crate::kube::connect::Endpoint::Url(url)).await
        })
    })
}

#[cfg(test)]
mod aws_auth_tests {
    use super::*;

    /// aws-auth as EKS writes it for a managed node group: YAML text.
    fn eks_written() -> ConfigMap {
        ConfigMap {
            data: Some(
            [(
                "mapRoles".to_string(),
                "- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: arn:aws:iam::123456789012:role/eks-managed-ng\n  username: system:node:{{EC2PrivateDNSName}}\n".to_string(),
            )]
            .into(),
        ),
            ..Default::default()
        }
    }

    fn roles(cm: &ConfigMap) -> Vec<serde_json::Value> {
        auth_list(cm, "mapRoles").unwrap()
    }

    #[test]
    fn entries_join_what_eks_wrote_and_leave_it_when_removed() {
        let mut cm = eks_written();
        let ours = AuthEntry {
            kind: "role".into(),
            arn: "arn:aws:iam::123456789012:role/tierui-c-node".into(),
            username: Some("system:node:{{EC2PrivateDNSName}}".into()),
            groups: vec!["system:bootstrappers".into(), "system:nodes".into()],
        };
        set_entry(&mut cm, &ours).unwrap();
        // Again: replaced, not added twice.
        set_entry(&mut cm, &ours).unwrap();
        let r = roles(&cm);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(
            r[0]["rolearn"],
            "arn:aws:iam::123456789012:role/eks-managed-ng"
        );
        assert_eq!(r[1]["username"], "system:node:{{EC2PrivateDNSName}}");
        set_entry(
            &mut cm,
            &AuthEntry {
                kind: "account".into(),
                arn: "210987654321".into(),
                username: None,
                groups: vec![],
            },
        )
        .unwrap();
        assert_eq!(
            auth_list(&cm, "mapAccounts").unwrap(),
            vec![serde_json::json!("210987654321")]
        );
        remove_entry(&mut cm, "role", &ours.arn).unwrap();
        let r = roles(&cm);
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0]["rolearn"],
            "arn:aws:iam::123456789012:role/eks-managed-ng"
        );
        // A broken mapRoles is an error naming it, never overwritten.
        cm.data
            .as_mut()
            .unwrap()
            .insert("mapRoles".into(), "- rolearn: [".into());
        let e = set_entry(&mut cm, &ours).unwrap_err();
        assert!(e.contains("aws-auth mapRoles is not YAML"), "{e}");
    }
}
