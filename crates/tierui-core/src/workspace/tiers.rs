//! The two-tier rules, checked on every load: infrastructure (cluster, VPC,
//! node groups, IAM) lives in the infra stacks, applications in their
//! releases, and each release reads its cluster from the infra stack's
//! outputs. Each broken rule is a [`Problem`] (a warning, so the rest still
//! works; `tierui status --strict` fails on them) that says what is wrong,
//! why it matters and what to do, in one sentence, at the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::fields::Severity;
use super::model::{ClusterSource, Problem, PulumiStack, Release, ReleaseSource, Workspace};
use crate::render::normalize::CLUSTER_SCOPED;

/// Every two-tier problem's message starts with this.
pub const PREFIX: &str = "two-tier: ";

/// Whether a problem is one of the two-tier rules'.
pub fn is_rule(p: &Problem) -> bool {
    p.message.starts_with(PREFIX)
}

/// The words of the one-object-two-releases rule (the only rule that
/// depends on what programs render).
const CLAIMED: &str = " is declared by ";

/// Replaces the workspace's two-tier problems with a fresh check (on load).
pub fn refresh(ws: &mut Workspace) {
    ws.problems.retain(|p| !is_rule(p));
    let found = check(ws);
    replace_sorted(ws, found);
}

/// After a program said what it declares: only the rule that reads rendered
/// objects is checked again (no file is read).
pub fn refresh_claims(ws: &mut Workspace) {
    ws.problems
        .retain(|p| !(is_rule(p) && p.message.contains(CLAIMED)));
    let mut found = Vec::new();
    claimed_twice(ws, &mut found);
    replace_sorted(ws, found);
}

fn replace_sorted(ws: &mut Workspace, found: Vec<Problem>) {
    ws.problems.extend(found);
    ws.problems
        .sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    ws.problems.dedup();
}

/// The two-tier problems of a workspace.
pub fn check(ws: &Workspace) -> Vec<Problem> {
    let mut out = Vec::new();
    // Environments share their project's files: each is read once.
    let src = Sources::new(&ws.root);
    infra_declares_apps(ws, &src, &mut out);
    for r in &ws.releases {
        match &r.source {
            ReleaseSource::Kubectl { objects, .. } => kubectl_release(r, objects, &mut out),
            ReleaseSource::Pulumi(p) => app_stack(r, p, &src, &mut out),
        }
    }
    claimed_twice(ws, &mut out);
    out
}

fn problem(file: &Path, line: usize, col: usize, message: String) -> Problem {
    Problem {
        file: file.to_path_buf(),
        line,
        col,
        severity: Severity::Warning,
        message: format!("{PREFIX}{message}"),
    }
}

/// A place in a program or project file where a pattern occurs.
struct Hit {
    file: PathBuf,
    line: usize,
    col: usize,
    label: &'static str,
    /// The next few lines, to tell e.g. the aws-auth ConfigMap from an app's.
    context: String,
}

/// The workspace files a check reads, each read (and each project folder
/// listed) once.
struct Sources<'a> {
    root: &'a Path,
    texts: std::cell::RefCell<BTreeMap<PathBuf, Option<std::rc::Rc<str>>>>,
    programs: std::cell::RefCell<BTreeMap<PathBuf, Vec<PathBuf>>>,
}

impl<'a> Sources<'a> {
    fn new(root: &'a Path) -> Self {
        Sources {
            root,
            texts: Default::default(),
            programs: Default::default(),
        }
    }

    fn text(&self, rel: &Path) -> Option<std::rc::Rc<str>> {
        self.texts
            .borrow_mut()
            .entry(rel.to_path_buf())
            .or_insert_with(|| {
                std::fs::read_to_string(self.root.join(rel))
                    .ok()
                    .map(Into::into)
            })
            .clone()
    }

    fn programs(&self, project_dir: &Path) -> Vec<PathBuf> {
        self.programs
            .borrow_mut()
            .entry(project_dir.to_path_buf())
            .or_insert_with(|| program_files(self.root, project_dir))
            .clone()
    }
}

/// Occurrences of `patterns` (text, label) in `rel`, comment lines skipped;
/// at most one hit per line.
fn scan(src: &Sources<'_>, rel: &Path, patterns: &[(&str, &'static str)]) -> Vec<Hit> {
    let Some(text) = src.text(rel) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        if let Some((col, label)) = patterns
            .iter()
            .filter_map(|(p, label)| line.find(p).map(|c| (c, *label)))
            .min_by_key(|(c, _)| *c)
        {
            out.push(Hit {
                file: rel.to_path_buf(),
                line: i + 1,
                col: col + 1,
                label,
                context: lines[i..lines.len().min(i + 10)].join("\n"),
            });
        }
    }
    out
}

/// The program's source files (Python, TypeScript, JavaScript) under the
/// project folder, build and dependency folders left out.
fn program_files(root: &Path, project_dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, rel: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(root.join(rel)) else {
            return;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = rel.join(&name);
            if e.path().is_dir() {
                let skip = name.starts_with('.')
                    || matches!(
                        name.as_str(),
                        "node_modules" | "venv" | "__pycache__" | "bin" | "dist" | "build"
                    );
                if !skip && depth < 3 {
                    walk(root, &path, depth + 1, out);
                }
            } else if name.ends_with(".py")
                || (name.ends_with(".ts") && !name.ends_with(".d.ts"))
                || name.ends_with(".js")
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, project_dir, 0, &mut out);
    out
}

/// Application kinds as a Pulumi program (Python or TypeScript) or a YAML
/// project names them.
const APP_CALLS: &[(&str, &str)] = &[
    (".apps.v1.Deployment(", "Deployment"),
    (".core.v1.Service(", "Service"),
    (".core.v1.ConfigMap(", "ConfigMap"),
    (
        ".autoscaling.v2.HorizontalPodAutoscaler(",
        "HorizontalPodAutoscaler",
    ),
    (
        ".autoscaling.v1.HorizontalPodAutoscaler(",
        "HorizontalPodAutoscaler",
    ),
    (".networking.v1.Ingress(", "Ingress"),
];
const APP_TYPES: &[(&str, &str)] = &[
    ("kubernetes:apps/v1:Deployment", "Deployment"),
    ("kubernetes:core/v1:Service", "Service"),
    ("kubernetes:core/v1:ConfigMap", "ConfigMap"),
    (
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "HorizontalPodAutoscaler",
    ),
    (
        "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
        "HorizontalPodAutoscaler",
    ),
    ("kubernetes:networking.k8s.io/v1:Ingress", "Ingress"),
];

/// Infrastructure as programs and YAML projects name it.
const INFRA_CALLS: &[(&str, &str)] = &[
    ("eks.Cluster(", "an EKS cluster"),
    ("eks.NodeGroup(", "a node group"),
    ("eks.ManagedNodeGroup(", "a node group"),
    ("ec2.Vpc(", "a VPC"),
    ("ec2.Subnet(", "a subnet"),
    ("iam.Role(", "an IAM role"),
];
const INFRA_TYPES: &[(&str, &str)] = &[
    ("aws:eks/cluster:Cluster", "an EKS cluster"),
    ("eks:index:Cluster", "an EKS cluster"),
    ("aws:eks/nodeGroup:NodeGroup", "a node group"),
    ("eks:index:NodeGroup", "a node group"),
    ("eks:index:ManagedNodeGroup", "a node group"),
    ("aws:ec2/vpc:Vpc", "a VPC"),
    ("awsx:ec2:Vpc", "a VPC"),
    ("aws:ec2/subnet:Subnet", "a subnet"),
    ("aws:iam/role:Role", "an IAM role"),
];

/// Pods and ReplicaSets declared directly.
const BARE_CALLS: &[(&str, &str)] = &[
    (".core.v1.Pod(", "Pod"),
    (".apps.v1.ReplicaSet(", "ReplicaSet"),
];
const BARE_TYPES: &[(&str, &str)] = &[
    ("kubernetes:core/v1:Pod", "Pod"),
    ("kubernetes:apps/v1:ReplicaSet", "ReplicaSet"),
];

/// Hits of `calls` in the program files, or of `types` (as `type: <token>`)
/// in the YAML project's Pulumi.yaml.
fn stack_hits(
    src: &Sources<'_>,
    p: &PulumiStack,
    calls: &[(&str, &'static str)],
    types: &[(&str, &'static str)],
) -> Vec<Hit> {
    let runtime = p.project.as_ref().map(|p| p.runtime.as_str()).unwrap_or("");
    if runtime == "yaml" {
        let exact: Vec<(String, &'static str)> = types
            .iter()
            .map(|(t, l)| (format!("type: {t}"), *l))
            .collect();
        let pats: Vec<(&str, &'static str)> = exact.iter().map(|(t, l)| (t.as_str(), *l)).collect();
        // `type: kubernetes:core/v1:Service` must not match ServiceAccount.
        scan(src, &p.project_dir.join("Pulumi.yaml"), &pats)
            .into_iter()
            .filter(|h| {
                let first = h.context.lines().next().unwrap_or_default();
                exact
                    .iter()
                    .any(|(t, _)| first.trim_end().ends_with(t.as_str()))
            })
            .collect()
    } else {
        src.programs(&p.project_dir)
            .iter()
            .flat_map(|f| scan(src, f, calls))
            .collect()
    }
}

/// Rule 1: an infra stack that declares an application's objects.
fn infra_declares_apps(ws: &Workspace, src: &Sources<'_>, out: &mut Vec<Problem>) {
    let mut seen: Vec<&Path> = Vec::new();
    for c in &ws.clusters {
        let ClusterSource::Pulumi(p) = &c.source else {
            continue;
        };
        // Stacks of one project share its program: checked once.
        if seen.contains(&p.project_dir.as_path()) {
            continue;
        }
        seen.push(&p.project_dir);
        for h in stack_hits(src, p, APP_CALLS, APP_TYPES) {
            // The cluster's own auth and add-ons live in kube-system.
            if h.context.contains("aws-auth") || h.context.contains("kube-system") {
                continue;
            }
            out.push(problem(
                &h.file,
                h.line,
                h.col,
                format!(
                    "the infra stack of {} declares a {} — application updates would need an infrastructure change; move it to the service's release (a kubectl folder or an app stack)",
                    c.name, h.label
                ),
            ));
        }
    }
}

/// Rules 2, 3 and 6 for a kubectl release's manifests.
fn kubectl_release(
    r: &Release,
    objects: &[(PathBuf, super::manifests::Manifest)],
    out: &mut Vec<Problem>,
) {
    for (file, m) in objects {
        let (line, col) = (m.pos.line, m.pos.col);
        let group = m.api_version.split_once('/').map_or("", |g| g.0);
        let infra = match (m.kind.as_str(), group) {
            ("ClusterConfig", g) if g.starts_with("eksctl.io") => Some("an eksctl ClusterConfig"),
            (_, "eks.services.k8s.aws") => Some("an EKS resource (ACK)"),
            (_, "ec2.services.k8s.aws") => Some("a VPC resource (ACK)"),
            (_, "iam.services.k8s.aws") => Some("an IAM resource (ACK)"),
            _ => None,
        };
        if let Some(what) = infra {
            out.push(problem(
                file,
                line,
                col,
                format!(
                    "the release {} declares {what} — infrastructure in an application release changes with every deploy and goes with it; move it to the cluster's infra stack",
                    r.title()
                ),
            ));
        }
        if matches!(m.kind.as_str(), "Pod" | "ReplicaSet") && m.api_version.ends_with("v1") {
            out.push(bare(r, file, line, col, &m.kind));
        }
        if m.kind == "Secret" && m.api_version == "v1" {
            let mut keys: Vec<String> = ["data", "stringData"]
                .iter()
                .filter_map(|f| m.object.get(*f).and_then(|v| v.as_object()))
                .flat_map(|o| o.iter())
                .filter(|(_, v)| v.as_str().is_some_and(|s| !s.is_empty()))
                .map(|(k, _)| k.clone())
                .collect();
            keys.sort();
            keys.dedup();
            if !keys.is_empty() {
                out.push(problem(
                    file,
                    line,
                    col,
                    format!(
                        "the Secret {} in the release {} has literal values ({}) committed — anyone who can read the repository reads them; keep the values in a secret manager (External Secrets, Sealed Secrets) and commit only a reference",
                        m.name.as_deref().unwrap_or("(generated name)"),
                        r.title(),
                        keys.join(", ")
                    ),
                ));
            }
        }
    }
}

fn bare(r: &Release, file: &Path, line: usize, col: usize, kind: &str) -> Problem {
    problem(
        file,
        line,
        col,
        format!(
            "the release {} declares a {kind} directly — nothing replaces it when it dies and nothing rolls it out; declare a Deployment (or a Job for a one-off run) instead",
            r.title()
        ),
    )
}

/// Rules 2, 3 and 4 for an app stack.
fn app_stack(r: &Release, p: &PulumiStack, src: &Sources<'_>, out: &mut Vec<Problem>) {
    for h in stack_hits(src, p, INFRA_CALLS, INFRA_TYPES) {
        out.push(problem(
            &h.file,
            h.line,
            h.col,
            format!(
                "the app stack of {} declares {} — infrastructure in an application release changes with every deploy and goes with it; move it to the cluster's infra stack and read it from the stack's outputs",
                r.title(),
                h.label
            ),
        ));
    }
    for h in stack_hits(src, p, BARE_CALLS, BARE_TYPES) {
        out.push(bare(r, &h.file, h.line, h.col, h.label));
    }
    // Rule 4: where the stack's Kubernetes provider points.
    if let Some(cfg) = &p.config {
        for e in &cfg.entries {
            if matches!(
                e.key.as_str(),
                "kubernetes:context" | "kubernetes:kubeconfig"
            ) {
                out.push(problem(
                    &p.config_file,
                    e.pos.line,
                    e.pos.col,
                    format!(
                        "the app stack of {} sets {} — it deploys to whatever that names, not to its infra stack's cluster; create the Kubernetes provider from the infra stack's kubeconfig output through a StackReference",
                        r.title(),
                        e.key
                    ),
                ));
            }
        }
    }
    let runtime = p.project.as_ref().map(|p| p.runtime.as_str()).unwrap_or("");
    let reads_infra;
    let provider: Vec<Hit>;
    if runtime == "yaml" {
        let types: Vec<&str> = p
            .project
            .iter()
            .flat_map(|p| p.resources.iter())
            .map(|r| r.type_.as_str())
            .collect();
        reads_infra = types.contains(&"pulumi:pulumi:StackReference");
        provider = scan(
            src,
            &p.project_dir.join("Pulumi.yaml"),
            &[("type: pulumi:providers:kubernetes", "provider")],
        );
    } else {
        let files = src.programs(&p.project_dir);
        reads_infra = files
            .iter()
            .any(|f| src.text(f).is_some_and(|t| t.contains("StackReference")));
        provider = files
            .iter()
            .flat_map(|f| scan(src, f, &[("Provider(", "provider")]))
            .collect();
    }
    let fixed_context = provider
        .iter()
        .find(|h| h.context.contains("context=") || h.context.contains("context:"));
    let (why, at) = match (reads_infra, provider.first(), fixed_context) {
        (_, _, Some(h)) => ("a fixed kubectl context", Some(h)),
        (false, Some(h), None) => ("a kubeconfig that is not the infra stack's output", Some(h)),
        (false, None, None) => (
            "the default provider, i.e. whatever kubectl context is current",
            None,
        ),
        (true, _, None) => return,
    };
    let (file, line, col) = match at {
        Some(h) => (h.file.clone(), h.line, h.col),
        None => (p.project_dir.join("Pulumi.yaml"), 0, 0),
    };
    out.push(problem(
        &file,
        line,
        col,
        format!(
            "the app stack of {} reads its cluster from {why} — it deploys wherever that points; create the Kubernetes provider from the infra stack's kubeconfig output through a StackReference",
            r.title()
        ),
    ));
}

/// Rule 5: one object (kind, namespace, name on a cluster) in two releases.
fn claimed_twice(ws: &Workspace, out: &mut Vec<Problem>) {
    type Key = (String, String, String, String);
    let mut owners: BTreeMap<Key, Vec<(usize, PathBuf, usize, usize)>> = BTreeMap::new();
    for (i, r) in ws.releases.iter().enumerate() {
        let Some(cluster) = &r.cluster else { continue };
        let ns_of = |kind: &str, ns: Option<&str>| {
            if CLUSTER_SCOPED.contains(&kind) {
                String::new()
            } else {
                ns.unwrap_or(&r.namespace).to_string()
            }
        };
        match &r.source {
            ReleaseSource::Kubectl { objects, .. } => {
                for (file, m) in objects {
                    let Some(name) = &m.name else { continue };
                    let key = (
                        cluster.clone(),
                        m.kind.clone(),
                        ns_of(&m.kind, m.namespace.as_deref()),
                        name.clone(),
                    );
                    owners
                        .entry(key)
                        .or_default()
                        .push((i, file.clone(), m.pos.line, m.pos.col));
                }
            }
            ReleaseSource::Pulumi(p) => {
                for o in &r.summary.objects {
                    let Some((kind, name)) = o.split_once('/') else {
                        continue;
                    };
                    // Pulumi names it at apply: no two such are the same object.
                    if name == crate::render::holes::DECIDED_AT_APPLY {
                        continue;
                    }
                    let key = (
                        cluster.clone(),
                        kind.to_string(),
                        ns_of(kind, None),
                        name.to_string(),
                    );
                    owners
                        .entry(key)
                        .or_default()
                        .push((i, p.config_file.clone(), 0, 0));
                }
            }
        }
    }
    for ((cluster, kind, ns, name), claims) in owners {
        let mut releases: Vec<usize> = claims.iter().map(|c| c.0).collect();
        releases.dedup();
        if releases.len() < 2 {
            continue;
        }
        let object = if ns.is_empty() {
            format!("{kind} {name}")
        } else {
            format!("{kind} {ns}/{name}")
        };
        // Reported where each later release declares it.
        for (i, file, line, col) in claims.iter().filter(|c| c.0 != releases[0]) {
            out.push(problem(
                file,
                *line,
                *col,
                format!(
                    "{object} on cluster {cluster}{CLAIMED}{} and {} — each apply overwrites the other's version and deleting one release deletes it for both; keep it in one release",
                    ws.releases[releases[0]].title(),
                    ws.releases[*i].title(),
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(name)
    }

    fn rules(ws: &Workspace) -> Vec<String> {
        ws.problems
            .iter()
            .filter(|p| is_rule(p))
            .map(|p| p.to_string())
            .collect()
    }

    fn has(found: &[String], at: &str, says: &str) {
        assert!(
            found.iter().any(|p| p.starts_with(at) && p.contains(says)),
            "{at} … {says} in\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn each_broken_rule_is_a_problem_with_its_reason_at_its_place() {
        let ws = crate::workspace::load(&fixture("two-tier-broken"));
        let found = rules(&ws);
        // The infra stack declares an application's Deployment (not the
        // cluster's own aws-auth ConfigMap).
        has(
            &found,
            "infra/Pulumi.yaml:17:5",
            "the infra stack of prod declares a Deployment — application updates would need an infrastructure change",
        );
        assert!(!found.iter().any(|p| p.contains("declares a ConfigMap")));
        // Applications that declare infrastructure.
        has(
            &found,
            "k8s/web/cluster.yaml:1:1",
            "declares an eksctl ClusterConfig",
        );
        has(&found, "apps/jobs/Pulumi.yaml:5:5", "declares an IAM role");
        has(&found, "apps/worker/__main__.py:6:11", "declares a VPC");
        // Bare pods and ReplicaSets.
        has(
            &found,
            "k8s/web/debug-pod.yaml:1:1",
            "declares a Pod directly",
        );
        has(
            &found,
            "k8s/web/replicaset.yaml:1:1",
            "declares a ReplicaSet directly",
        );
        has(
            &found,
            "apps/worker/__main__.py:10:4",
            "declares a Pod directly",
        );
        // The cluster not from the infra stack's outputs.
        has(
            &found,
            "apps/jobs/Pulumi.prod.yaml:2:3",
            "sets kubernetes:context",
        );
        has(&found, "apps/jobs/Pulumi.yaml", "the default provider");
        has(
            &found,
            "apps/worker/__main__.py:8:16",
            "a fixed kubectl context",
        );
        // One object, two releases.
        has(
            &found,
            "k8s/api/configmap.yaml:1:1",
            "ConfigMap shop/shared-config on cluster prod is declared by web and api",
        );
        // Literal Secret values; the values themselves are never repeated.
        has(
            &found,
            "k8s/web/secret.yaml:1:1",
            "has literal values (DB_PASSWORD, DB_USER) committed",
        );
        assert!(!found.iter().any(|p| p.contains("hunter2")));
        assert_eq!(found.len(), 12, "{}", found.join("\n"));
        assert!(
            ws.problems
                .iter()
                .filter(|p| is_rule(p))
                .all(|p| p.severity == Severity::Warning)
        );
    }

    #[test]
    fn the_demo_foundations_keep_the_rules() {
        for name in ["demo", "python-foundation"] {
            let ws = crate::workspace::load(&fixture(name));
            assert_eq!(rules(&ws), Vec::<String>::new(), "{name}");
        }
    }

    #[test]
    fn refresh_replaces_the_rules_problems_and_keeps_the_others() {
        let mut ws = crate::workspace::load(&fixture("two-tier-broken"));
        ws.problems.push(Problem::file_level(
            Path::new("x.yaml"),
            Severity::Error,
            "not a rule",
        ));
        let before = ws.problems.len();
        refresh(&mut ws);
        assert_eq!(ws.problems.len(), before);
        // A program's render says the worker declares the api's ConfigMap too.
        let worker = ws
            .releases
            .iter()
            .position(|r| r.service == "worker")
            .unwrap();
        ws.releases[worker].namespace = "shop".into();
        ws.releases[worker]
            .summary
            .objects
            .push("ConfigMap/shared-config".into());
        refresh_claims(&mut ws);
        assert_eq!(ws.problems.len(), before + 1);
    }
}
