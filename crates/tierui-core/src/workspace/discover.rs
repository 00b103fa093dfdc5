//! Discovery: the workspace layout when there is no `tierui.yaml`.
//!
//! - every `Pulumi.yaml` is a project; its `Pulumi.<stack>.yaml` files are stacks.
//!   A project is an application project when its program declares Kubernetes
//!   resources or a StackReference, or a stack's config names another project's
//!   stack; otherwise it is infrastructure and each stack is a cluster.
//! - every YAML file with `apiVersion: eksctl.io/…` and `kind: ClusterConfig` is a
//!   cluster; a shell script beside it that names the file is its manual script.
//! - every other folder of Kubernetes manifests is a kubectl service, named after
//!   its Deployment, on the cluster whose name appears in the folder's path.
//! - every folder with a `Chart.yaml` is a Helm chart: a service named after the
//!   chart, rendered with `helm template`; nothing inside it is read as a
//!   manifest (its templates are Go templates, its subcharts part of it).

use std::path::{Path, PathBuf};

use super::descriptor::*;
use super::eksctl;
use super::fields::Severity;
use super::load::stack_names;
use super::manifests;
use super::model::Problem;
use super::yaml::{self, Node, Pos};

const SKIP_DIRS: &[&str] = &[
    ".git",
    ".pulumi",
    "node_modules",
    "target",
    "venv",
    ".venv",
    "__pycache__",
    "vendor",
    ".terraform",
    "dist",
    "build",
];
const MAX_DEPTH: usize = 6;

struct Found {
    pulumi_projects: Vec<PathBuf>,
    eksctl_configs: Vec<(PathBuf, String, Option<String>)>,
    manifest_dirs: Vec<(PathBuf, Option<String>, Option<String>)>,
    scripts: Vec<PathBuf>,
}

/// Builds a descriptor from the files under `root` (paths relative to `root`).
pub fn discover(root: &Path, problems: &mut Vec<Problem>) -> Descriptor {
    let mut found = Found {
        pulumi_projects: Vec::new(),
        eksctl_configs: Vec::new(),
        manifest_dirs: Vec::new(),
        scripts: Vec::new(),
    };
    walk(root, root, 0, &mut found, problems);
    let mut clusters = Vec::new();
    let mut services = Vec::new();

    let projects: Vec<(PathBuf, Option<Node>, Vec<String>)> = found
        .pulumi_projects
        .iter()
        .map(|dir| {
            let node = ["Pulumi.yaml", "Pulumi.yml"]
                .iter()
                .find_map(|f| read_yaml(&root.join(dir).join(f)));
            (dir.clone(), node, stack_names(&root.join(dir)))
        })
        .collect();
    let project_names: Vec<(PathBuf, String)> = projects
        .iter()
        .filter_map(|(dir, node, _)| {
            Some((dir.clone(), node.as_ref()?.get("name")?.scalar_text()?))
        })
        .collect();
    for (dir, node, stacks) in &projects {
        let name = node
            .as_ref()
            .and_then(|n| n.get("name"))
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| dir_name(dir));
        if is_app_project(root, dir, node.as_ref(), stacks, &project_names) {
            services.push(ServiceEntry {
                name,
                manager: ServiceManager::Pulumi {
                    project: dir.clone(),
                },
                cluster: None,
                namespace: None,
                environments: Vec::new(),
                pos: Pos::default(),
            });
        } else {
            for stack in stacks {
                clusters.push(ClusterEntry {
                    name: stack.clone(),
                    provisioner: ClusterProvisioner::Pulumi {
                        project: dir.clone(),
                        stack: stack.clone(),
                    },
                    region: None,
                    profile: None,
                    context: None,
                    pos: Pos::default(),
                });
            }
        }
    }
    eksctl_clusters(root, &found, &mut clusters, problems);
    for (dir, deployment, namespace) in &found.manifest_dirs {
        let cluster = dir
            .components()
            .rev()
            .find_map(|c| {
                clusters
                    .iter()
                    .find(|cl| cl.name == c.as_os_str().to_string_lossy())
            })
            .map(|c| c.name.clone());
        services.push(ServiceEntry {
            name: deployment.clone().unwrap_or_else(|| dir_name(dir)),
            manager: ServiceManager::Kubectl {
                manifests: dir.clone(),
            },
            cluster,
            namespace: namespace.clone(),
            environments: Vec::new(),
            pos: Pos::default(),
        });
    }
    Descriptor {
        pulumi_organization: None,
        name: None,
        clusters,
        services,
    }
}

/// Each eksctl ClusterConfig is a cluster (unless a Pulumi stack has its name),
/// with the shell script beside it that names the file as its manual script.
fn eksctl_clusters(
    root: &Path,
    found: &Found,
    clusters: &mut Vec<ClusterEntry>,
    problems: &mut Vec<Problem>,
) {
    for (file, name, region) in &found.eksctl_configs {
        if clusters.iter().any(|c| &c.name == name) {
            problems.push(Problem::file_level(
                file,
                Severity::Warning,
                format!("a cluster named {name} already exists; this ClusterConfig is ignored"),
            ));
            continue;
        }
        let file_name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let script = found
            .scripts
            .iter()
            .find(|s| {
                s.parent() == file.parent()
                    && std::fs::read_to_string(root.join(s)).is_ok_and(|t| t.contains(&file_name))
            })
            .cloned();
        clusters.push(ClusterEntry {
            name: name.clone(),
            provisioner: ClusterProvisioner::Eksctl {
                config: file.clone(),
                script,
            },
            region: region.clone(),
            profile: None,
            context: None,
            pos: Pos::default(),
        });
    }
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map_or_else(|| "root".into(), |n| n.to_string_lossy().into_owned())
}

fn read_yaml(path: &Path) -> Option<Node> {
    let bytes = std::fs::read(path).ok()?;
    yaml::parse_single(yaml::decode(&bytes).ok()?).ok()
}

fn is_app_project(
    root: &Path,
    dir: &Path,
    program: Option<&Node>,
    stacks: &[String],
    projects: &[(PathBuf, String)],
) -> bool {
    let declares_k8s = program
        .and_then(|p| p.get("resources"))
        .and_then(Node::as_map)
        .is_some_and(|rs| {
            rs.iter().any(|(_, r)| {
                r.get("type").and_then(Node::as_str).is_some_and(|t| {
                    t.starts_with("kubernetes:") || t == "pulumi:pulumi:StackReference"
                })
            })
        });
    if declares_k8s {
        return true;
    }
    match program_declares(&root.join(dir)) {
        Declares::EksCluster => return false,
        Declares::Kubernetes => return true,
        Declares::Nothing => {}
    }
    // A stack config that names another project's stack is a StackReference input.
    stacks.iter().any(|stack| {
        let Some(cfg) = read_yaml(&root.join(dir).join(format!("Pulumi.{stack}.yaml"))) else {
            return false;
        };
        cfg.get("config")
            .and_then(Node::as_map)
            .is_some_and(|entries| {
                entries.iter().any(|(_, v)| {
                    v.as_str().is_some_and(|s| {
                        let parts: Vec<&str> = s.split('/').collect();
                        parts.len() >= 2
                            && projects
                                .iter()
                                .any(|(pdir, name)| pdir != dir && parts[parts.len() - 2] == name)
                    })
                })
            })
    })
}

/// What a Python or Node.js program's sources import and construct (read, not
/// run): an EKS cluster makes it a cluster stack even when it also installs
/// charts; Kubernetes resources, a Kubernetes provider or a StackReference
/// without one make it an application.
#[derive(Debug, PartialEq, Eq)]
enum Declares {
    EksCluster,
    Kubernetes,
    Nothing,
}

fn program_declares(dir: &Path) -> Declares {
    const EKS: [&str; 5] = [
        "import pulumi_eks",
        "from pulumi_eks",
        "eks.Cluster(",
        "@pulumi/eks",
        "aws.eks.Cluster(",
    ];
    const KUBERNETES: [&str; 6] = [
        "import pulumi_kubernetes",
        "from pulumi_kubernetes",
        "@pulumi/kubernetes",
        "StackReference(",
        "k8s.Provider(",
        "kubernetes.Provider(",
    ];
    let mut text = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if [".py", ".ts", ".js"].iter().any(|x| name.ends_with(x))
            && !name.ends_with(".d.ts")
            && let Ok(t) = std::fs::read_to_string(e.path())
        {
            text.push_str(&t);
        }
    }
    if EKS.iter().any(|m| text.contains(m)) {
        Declares::EksCluster
    } else if KUBERNETES.iter().any(|m| text.contains(m)) {
        Declares::Kubernetes
    } else {
        Declares::Nothing
    }
}

fn walk(root: &Path, dir: &Path, depth: usize, found: &mut Found, problems: &mut Vec<Problem>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    let rel_dir = dir
        .strip_prefix(root)
        .map_or_else(|_| dir.to_path_buf(), Path::to_path_buf);
    if super::load::is_chart(dir) {
        let name = read_yaml(&dir.join(super::load::CHART_FILE))
            .and_then(|c| c.get("name").and_then(Node::scalar_text));
        found.manifest_dirs.push((rel_dir, name, None));
        return;
    }
    let is_pulumi = entries.iter().any(|p| {
        p.file_name()
            .is_some_and(|n| n == "Pulumi.yaml" || n == "Pulumi.yml")
    });
    if is_pulumi {
        found.pulumi_projects.push(rel_dir.clone());
    }
    let mut deployment = None;
    let mut namespaces: Vec<String> = Vec::new();
    let mut has_objects = false;
    for path in &entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) && !name.starts_with('.') {
                walk(root, path, depth + 1, found, problems);
            }
            continue;
        }
        let rel = rel_dir.join(&name);
        if name.ends_with(".sh") {
            found.scripts.push(rel);
            continue;
        }
        if is_pulumi
            || !(name.ends_with(".yaml") || name.ends_with(".yml"))
            || name == "tierui.yaml"
        {
            continue;
        }
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Ok(text) = yaml::decode(&bytes) else {
            continue;
        };
        let docs = match yaml::parse_documents(text) {
            Ok(d) => d,
            Err(e) => {
                // Report here: a broken file in a manifest folder must not vanish silently.
                problems.push(Problem {
                    file: rel,
                    line: e.line,
                    col: e.col,
                    severity: Severity::Error,
                    message: e.message,
                });
                has_objects |= name != "kustomization.yaml";
                continue;
            }
        };
        for doc in docs.iter().filter(|d| !d.root.is_null()) {
            if eksctl::is_cluster_config(&doc.root) {
                let meta = doc.root.get("metadata");
                let cname = meta.and_then(|m| m.get("name")).and_then(Node::scalar_text);
                let region = meta
                    .and_then(|m| m.get("region"))
                    .and_then(Node::scalar_text);
                match cname {
                    Some(cname) => found.eksctl_configs.push((rel.clone(), cname, region)),
                    None => problems.push(Problem {
                        file: rel.clone(),
                        line: doc.start.line,
                        col: doc.start.col,
                        severity: Severity::Error,
                        message: "ClusterConfig without metadata.name".into(),
                    }),
                }
            } else if manifests::looks_like_object(&doc.root) {
                has_objects = true;
                let kind = doc.root.get("kind").and_then(Node::as_str);
                if kind == Some("Deployment") && deployment.is_none() {
                    deployment = doc
                        .root
                        .at_path("metadata.name")
                        .and_then(Node::scalar_text);
                }
                if let Some(ns) = doc
                    .root
                    .at_path("metadata.namespace")
                    .and_then(Node::scalar_text)
                {
                    namespaces.push(ns);
                }
            }
        }
    }
    if has_objects {
        namespaces.sort();
        let ns = namespaces.first().cloned();
        found.manifest_dirs.push((rel_dir, deployment, ns));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_project_detection_by_stack_reference_value() {
        let projects = vec![
            (PathBuf::from("infra"), "infra".to_string()),
            (PathBuf::from("app"), "app".to_string()),
        ];
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app")).unwrap();
        std::fs::write(
            dir.path().join("app/Pulumi.prod.yaml"),
            "config:\n  app:infra: organization/infra/prod\n",
        )
        .unwrap();
        assert!(is_app_project(
            dir.path(),
            Path::new("app"),
            None,
            &["prod".into()],
            &projects
        ));
        std::fs::write(
            dir.path().join("app/Pulumi.prod.yaml"),
            "config:\n  app:x: y\n",
        )
        .unwrap();
        assert!(!is_app_project(
            dir.path(),
            Path::new("app"),
            None,
            &["prod".into()],
            &projects
        ));
    }
}
