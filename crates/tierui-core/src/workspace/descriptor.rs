//! `tierui.yaml`: the optional workspace descriptor (documented in the README).

use std::path::PathBuf;

use super::fields::{Diagnostic, Diags, Fields};
use super::yaml::{Node, Pos};

#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    pub name: Option<String>,
    /// `pulumiOrganization`: the organisation of stacks on Pulumi Cloud (a
    /// file or bucket backend's stacks are always in `organization`).
    pub pulumi_organization: Option<String>,
    pub clusters: Vec<ClusterEntry>,
    pub services: Vec<ServiceEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterEntry {
    pub name: String,
    pub provisioner: ClusterProvisioner,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub context: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClusterProvisioner {
    Pulumi {
        project: PathBuf,
        stack: String,
    },
    Eksctl {
        config: PathBuf,
        script: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEntry {
    pub name: String,
    pub manager: ServiceManager,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub environments: Vec<EnvironmentEntry>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServiceManager {
    Pulumi { project: PathBuf },
    Kubectl { manifests: PathBuf },
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentEntry {
    pub name: String,
    pub stack: Option<String>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub pos: Pos,
}

pub fn parse(root: &Node, diags: &mut Diags) -> Descriptor {
    let mut out = Descriptor {
        name: None,
        pulumi_organization: None,
        clusters: Vec::new(),
        services: Vec::new(),
    };
    let Some(mut f) = Fields::of(root, "", diags) else {
        return out;
    };
    out.name = f.string("name", diags);
    out.pulumi_organization = f.string("pulumiOrganization", diags);
    for (path, node) in f.seq("clusters", diags) {
        if let Some(c) = cluster(node, &path, diags) {
            if out.clusters.iter().any(|o| o.name == c.name) {
                diags.push(Diagnostic::error(
                    node.pos(),
                    &path,
                    format!("cluster \"{}\" is declared twice", c.name),
                ));
                continue;
            }
            out.clusters.push(c);
        }
    }
    for (path, node) in f.seq("services", diags) {
        if let Some(s) = service(node, &path, diags) {
            out.services.push(s);
        }
    }
    f.finish(diags);
    for s in &out.services {
        let names = std::iter::once(&s.cluster).chain(s.environments.iter().map(|e| &e.cluster));
        for name in names.flatten() {
            if !out.clusters.iter().any(|c| &c.name == name) {
                diags.push(Diagnostic::error(s.pos, "services", format!("service {} refers to cluster \"{name}\", which tierui.yaml does not declare", s.name)));
            }
        }
    }
    out
}

fn cluster(node: &Node, path: &str, diags: &mut Diags) -> Option<ClusterEntry> {
    let mut f = Fields::of(node, path, diags)?;
    let name = f.required_string("name", diags);
    let provisioner = match f.required_string("provisioner", diags).as_deref() {
        Some("pulumi") => {
            let project = f.required_string("project", diags);
            let stack = f.string("stack", diags).or_else(|| name.clone());
            project
                .zip(stack)
                .map(|(p, stack)| ClusterProvisioner::Pulumi {
                    project: p.into(),
                    stack,
                })
        }
        Some("eksctl") => f
            .required_string("config", diags)
            .map(|c| ClusterProvisioner::Eksctl {
                config: c.into(),
                script: f.string("script", diags).map(PathBuf::from),
            }),
        Some(other) => {
            let pos = node.get("provisioner").map_or(node.pos(), Node::pos);
            diags.push(Diagnostic::error(
                pos,
                &format!("{path}.provisioner"),
                format!("{path}.provisioner must be pulumi or eksctl, found {other}"),
            ));
            None
        }
        None => None,
    };
    let region = f.string("region", diags);
    let profile = f.string("profile", diags);
    let context = f.string("context", diags);
    f.finish(diags);
    Some(ClusterEntry {
        name: name?,
        provisioner: provisioner?,
        region,
        profile,
        context,
        pos: node.pos(),
    })
}

fn service(node: &Node, path: &str, diags: &mut Diags) -> Option<ServiceEntry> {
    let mut f = Fields::of(node, path, diags)?;
    let name = f.required_string("name", diags);
    let manager = match f.required_string("manager", diags).as_deref() {
        Some("pulumi") => f
            .required_string("project", diags)
            .map(|p| ServiceManager::Pulumi { project: p.into() }),
        Some("kubectl") => f
            .required_string("manifests", diags)
            .map(|m| ServiceManager::Kubectl {
                manifests: m.into(),
            }),
        Some(other) => {
            let pos = node.get("manager").map_or(node.pos(), Node::pos);
            diags.push(Diagnostic::error(
                pos,
                &format!("{path}.manager"),
                format!("{path}.manager must be pulumi or kubectl, found {other}"),
            ));
            None
        }
        None => None,
    };
    let cluster = f.string("cluster", diags);
    let namespace = f.string("namespace", diags);
    let mut environments = Vec::new();
    for (epath, enode) in f.seq("environments", diags) {
        // `- production` is shorthand for `- name: production`.
        if let Some(n) = enode.scalar_text() {
            environments.push(EnvironmentEntry {
                name: n,
                stack: None,
                cluster: None,
                namespace: None,
                pos: enode.pos(),
            });
            continue;
        }
        let Some(mut e) = Fields::of(enode, &epath, diags) else {
            continue;
        };
        let ename = e.required_string("name", diags);
        let stack = e.string("stack", diags);
        let ecluster = e.string("cluster", diags);
        let ens = e.string("namespace", diags);
        e.finish(diags);
        if let Some(n) = ename {
            environments.push(EnvironmentEntry {
                name: n,
                stack,
                cluster: ecluster,
                namespace: ens,
                pos: enode.pos(),
            });
        }
    }
    f.finish(diags);
    Some(ServiceEntry {
        name: name?,
        manager: manager?,
        cluster,
        namespace,
        environments,
        pos: node.pos(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::yaml::parse_single;

    #[test]
    fn demo_descriptor() {
        let src =
            std::str::from_utf8(crate::demo::file("fixtures/demo/tierui.yaml").unwrap()).unwrap();
        let mut d = Diags::new();
        let desc = parse(&parse_single(src).unwrap(), &mut d);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(desc.clusters.len(), 3);
        assert_eq!(desc.services.len(), 3);
        assert_eq!(desc.services[0].environments.len(), 2);
        assert_eq!(desc.services[2].environments[0].name, "production");
    }

    #[test]
    fn errors_name_fields() {
        let src = "clusters:\n  - name: a\n    provisioner: terraform\nservices:\n  - name: s\n    manager: kubectl\n    manifests: k8s\n    cluster: nowhere\n";
        let mut d = Diags::new();
        let desc = parse(&parse_single(src).unwrap(), &mut d);
        let msgs: Vec<_> = d
            .iter()
            .map(|d| format!("{}:{} {}", d.line, d.col, d.message))
            .collect();
        assert_eq!(
            msgs[0],
            "3:18 clusters[0].provisioner must be pulumi or eksctl, found terraform"
        );
        assert_eq!(
            msgs[1],
            "5:5 service s refers to cluster \"nowhere\", which tierui.yaml does not declare"
        );
        assert!(desc.clusters.is_empty());
        assert_eq!(desc.services.len(), 1);
    }
}
