//! The walkthrough's non-AWS operations: kubeconfig files in the state dir (never
//! ~/.kube/config) and Kubernetes objects through a cluster connection.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use super::runner::LocalOps;

pub struct FileLocal {
    /// `<state>/workspaces/<id>/kubeconfig/`
    pub dir: PathBuf,
}

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
        crate::paths::write_private(
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
        _namespace: &'a str,
        _name: &'a str,
        _role_arn: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            Err(format!(
                "no connection to the {cluster} cluster's API from here"
            ))
        })
    }

    fn delete_service_account<'a>(
        &'a self,
        cluster: &'a str,
        _namespace: &'a str,
        _name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            Err(format!(
                "no connection to the {cluster} cluster's API from here"
            ))
        })
    }
}
