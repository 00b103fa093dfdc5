//! Reaching a cluster: kubeconfig contexts (exec credential plugins such as
//! `aws eks get-token` included) for live clusters, loopback URLs for sandbox ones.

use std::path::PathBuf;

/// Where a cluster's API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A context of the kubeconfig (`KUBECONFIG` or `~/.kube/config`, or `file`).
    Context { name: String, file: Option<PathBuf> },
    /// A plain-HTTP simulator.
    Url(String),
}

impl Endpoint {
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Context { name, .. } => format!("context {name}"),
            Endpoint::Url(u) => u.clone(),
        }
    }
}

pub async fn client(endpoint: &Endpoint) -> Result<kube::Client, String> {
    let config = match endpoint {
        Endpoint::Url(url) => {
            let uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
            kube::Config::new(uri)
        }
        Endpoint::Context { name, file } => {
            let options = kube::config::KubeConfigOptions {
                context: Some(name.clone()),
                ..Default::default()
            };
            match file {
                Some(f) => {
                    let kc = kube::config::Kubeconfig::read_from(f)
                        .map_err(|e| format!("{}: {e}", f.display()))?;
                    kube::Config::from_custom_kubeconfig(kc, &options).await
                }
                // Every file of KUBECONFIG, merged as kubectl merges them.
                None => {
                    let kc = super::context::operator_kubeconfig()?.ok_or_else(|| {
                        format!("context {name}: no kubeconfig (no file of KUBECONFIG exists, nor ~/.kube/config); aws eks update-kubeconfig writes one")
                    })?;
                    kube::Config::from_custom_kubeconfig(kc, &options).await
                }
            }
            .map_err(|e| format!("kubeconfig context {name}: {e}"))?
        }
    };
    kube::Client::try_from(config).map_err(|e| format!("{}: {e}", endpoint.describe()))
}
