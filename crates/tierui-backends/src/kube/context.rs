//! Which kubeconfig context reaches a workspace cluster, found as EKS users
//! have them: tierui.yaml's `context`; else the context whose cluster server is
//! the endpoint DescribeCluster returns; else one named by the cluster's ARN
//! (`aws eks update-kubeconfig`'s naming); else the kubeconfig the
//! walkthrough's step G wrote; else a context named like the cluster.

use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

use super::connect::Endpoint;

/// What an ambiguous choice says (a problem to fix in tierui.yaml, not a
/// cluster that is merely unreachable).
pub const AMBIGUOUS: &str = "several kubeconfig contexts";

/// A chosen context and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub endpoint: Endpoint,
    pub why: String,
}

impl Choice {
    /// The context's name (and its file, when not the operator's kubeconfig).
    pub fn label(&self) -> String {
        match &self.endpoint {
            Endpoint::Context { name, file: None } => name.clone(),
            Endpoint::Context {
                name,
                file: Some(f),
            } => format!("{name} in {}", f.display()),
            Endpoint::Url(u) => u.clone(),
        }
    }
}

/// What is known of the cluster on the AWS side.
#[derive(Debug, Clone, Default)]
pub struct Eks<'a> {
    /// The cluster's name in EKS (may differ from the workspace's name).
    pub name: &'a str,
    pub region: Option<&'a str>,
    /// From DescribeCluster, when it could be asked.
    pub arn: Option<&'a str>,
    pub endpoint: Option<&'a str>,
}

fn context(name: &str) -> Endpoint {
    Endpoint::Context {
        name: name.to_string(),
        file: None,
    }
}

fn server_of<'k>(kc: &'k Kubeconfig, ctx: &kube::config::NamedContext) -> Option<&'k str> {
    let cluster = ctx.context.as_ref()?.cluster.as_str();
    kc.clusters
        .iter()
        .find(|c| c.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .as_deref()
}

fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// The choice for one cluster. `configured` is tierui.yaml's `context`; `kc`
/// the operator's kubeconfig (every file of KUBECONFIG, merged); `walk` the
/// walkthrough's kubeconfig for this cluster, when it wrote one.
pub fn choose(
    workspace_name: &str,
    configured: Option<&str>,
    eks: &Eks,
    kc: Option<&Kubeconfig>,
    walk: Option<&Path>,
) -> Result<Choice, String> {
    if let Some(name) = configured {
        return Ok(Choice {
            endpoint: context(name),
            why: "set in tierui.yaml".into(),
        });
    }
    let contexts = kc.map(|k| k.contexts.as_slice()).unwrap_or_default();
    if let (Some(kc), Some(endpoint)) = (kc, eks.endpoint) {
        let matching: Vec<&str> = contexts
            .iter()
            .filter(|c| server_of(kc, c).is_some_and(|s| same_server(s, endpoint)))
            .map(|c| c.name.as_str())
            .collect();
        match matching.as_slice() {
            [one] => {
                return Ok(Choice {
                    endpoint: context(one),
                    why: format!("its server is the EKS endpoint {endpoint}"),
                });
            }
            [] => {}
            many => {
                return Err(format!(
                    "{workspace_name}: {AMBIGUOUS} point at the EKS endpoint {endpoint}: {}; choose one with `context:` in tierui.yaml",
                    many.join(", ")
                ));
            }
        }
    }
    let by_arn: Vec<&str> = match eks.arn {
        Some(arn) => contexts
            .iter()
            .filter(|c| c.name == arn)
            .map(|c| c.name.as_str())
            .collect(),
        // Without DescribeCluster: a context named like an EKS ARN of this
        // cluster's name (in its region, when known).
        None => contexts
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| {
                n.starts_with("arn:aws") && n.ends_with(&format!(":cluster/{}", eks.name)) && {
                    let region = n.split(':').nth(3).unwrap_or_default();
                    eks.region.is_none_or(|r| r == region)
                }
            })
            .collect(),
    };
    match by_arn.as_slice() {
        [one] => {
            return Ok(Choice {
                endpoint: context(one),
                why: "named by the cluster's ARN (aws eks update-kubeconfig)".into(),
            });
        }
        [] => {}
        many => {
            return Err(format!(
                "{workspace_name}: {AMBIGUOUS} are named by an ARN of cluster {}: {}; choose one with `context:` in tierui.yaml",
                eks.name,
                many.join(", ")
            ));
        }
    }
    if let Some(file) = walk {
        return Ok(Choice {
            endpoint: Endpoint::Context {
                name: eks.name.to_string(),
                file: Some(file.to_path_buf()),
            },
            why: format!("written by the walkthrough's step G ({})", file.display()),
        });
    }
    for name in [eks.name, workspace_name] {
        if contexts.iter().any(|c| c.name == name) {
            return Ok(Choice {
                endpoint: context(name),
                why: "named like the cluster".into(),
            });
        }
    }
    Err(format!(
        "{workspace_name}: no kubeconfig context reaches EKS cluster {} (none is named by its ARN or its name{}); run `aws eks update-kubeconfig --name {}{}` or set `context:` in tierui.yaml",
        eks.name,
        if eks.endpoint.is_some() {
            ", none has its endpoint"
        } else {
            ""
        },
        eks.name,
        eks.region
            .map(|r| format!(" --region {r}"))
            .unwrap_or_default()
    ))
}

/// The operator's kubeconfig: every file of `KUBECONFIG` merged (kubectl's
/// rule: the first file to set a name wins), or `~/.kube/config`.
pub fn operator_kubeconfig() -> Result<Option<Kubeconfig>, String> {
    match std::env::var_os("KUBECONFIG") {
        Some(paths) if !paths.is_empty() => {
            let mut merged: Option<Kubeconfig> = None;
            for p in std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()) {
                if !p.is_file() {
                    continue;
                }
                let kc = Kubeconfig::read_from(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                merged = Some(match merged {
                    None => kc,
                    Some(m) => m.merge(kc).map_err(|e| format!("{}: {e}", p.display()))?,
                });
            }
            Ok(merged)
        }
        _ => {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            match home.map(|h| h.join(".kube/config")).filter(|p| p.is_file()) {
                Some(p) => Kubeconfig::read_from(&p)
                    .map(Some)
                    .map_err(|e| format!("{}: {e}", p.display())),
                None => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As `aws eks update-kubeconfig` writes it: ARN names, exec plugin.
    fn eks_kubeconfig(extra: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(&format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: Zm9v\n    server: https://ABC123.gr7.eu-west-1.eks.amazonaws.com\n  name: arn:aws:eks:eu-west-1:111122223333:cluster/day\n{extra}contexts:\n- context:\n    cluster: arn:aws:eks:eu-west-1:111122223333:cluster/day\n    user: arn:aws:eks:eu-west-1:111122223333:cluster/day\n  name: arn:aws:eks:eu-west-1:111122223333:cluster/day\ncurrent-context: arn:aws:eks:eu-west-1:111122223333:cluster/day\nusers:\n- name: arn:aws:eks:eu-west-1:111122223333:cluster/day\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [--region, eu-west-1, eks, get-token, --cluster-name, day, --output, json]\n"
        ))
        .unwrap()
    }

    fn name(c: &Choice) -> &str {
        match &c.endpoint {
            Endpoint::Context { name, .. } => name,
            Endpoint::Url(u) => u,
        }
    }

    #[test]
    fn the_order_of_the_rules() {
        let kc = eks_kubeconfig("");
        let arn = "arn:aws:eks:eu-west-1:111122223333:cluster/day";
        let eks = Eks {
            name: "day",
            region: Some("eu-west-1"),
            arn: Some(arn),
            endpoint: Some("https://abc123.gr7.eu-west-1.eks.amazonaws.com/"),
        };
        // tierui.yaml wins.
        let c = choose("day", Some("mine"), &eks, Some(&kc), None).unwrap();
        assert_eq!((name(&c), c.why.as_str()), ("mine", "set in tierui.yaml"));
        // The endpoint (case and a trailing slash aside).
        let c = choose("day", None, &eks, Some(&kc), None).unwrap();
        assert_eq!(name(&c), arn);
        assert!(c.why.contains("EKS endpoint"), "{}", c.why);
        // Without DescribeCluster: the ARN-named context of that name and region.
        let offline = Eks {
            name: "day",
            region: Some("eu-west-1"),
            ..Default::default()
        };
        let c = choose("day", None, &offline, Some(&kc), None).unwrap();
        assert_eq!(name(&c), arn);
        assert!(c.why.contains("ARN"));
        let elsewhere = Eks {
            region: Some("us-east-1"),
            ..offline.clone()
        };
        let walk = Path::new("/state/kubeconfig/day.yaml");
        let c = choose("day", None, &elsewhere, Some(&kc), Some(walk)).unwrap();
        assert_eq!(
            c.endpoint,
            Endpoint::Context {
                name: "day".into(),
                file: Some(walk.into())
            }
        );
        let err = choose("day", None, &elsewhere, Some(&kc), None).unwrap_err();
        assert!(
            err.contains("aws eks update-kubeconfig --name day --region us-east-1"),
            "{err}"
        );
    }

    #[test]
    fn two_contexts_on_one_endpoint_are_named() {
        let kc = eks_kubeconfig("");
        let mut kc2 = kc.clone();
        let mut other = kc.contexts[0].clone();
        other.name = "day-admin".into();
        kc2.contexts.push(other);
        let eks = Eks {
            name: "day",
            endpoint: Some("https://ABC123.gr7.eu-west-1.eks.amazonaws.com"),
            ..Default::default()
        };
        let err = choose("day", None, &eks, Some(&kc2), None).unwrap_err();
        assert!(
            err.contains("arn:aws:eks:eu-west-1:111122223333:cluster/day, day-admin"),
            "{err}"
        );
    }
}
