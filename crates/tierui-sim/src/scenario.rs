//! Scenarios: which demo manifests to seed, the nodes, timing of the pod
//! lifecycle, failure injections, CPU load curves and timed actions. The format
//! is documented at the top of each file in `fixtures/scenarios/`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Folders of the embedded demo workspace (`k8s/dusk`) whose manifests are created at start.
    pub manifests: Vec<String>,
    pub nodes: Nodes,
    pub timing: Timing,
    /// Repository -> the only tags that exist; any other tag fails to pull.
    pub registry: BTreeMap<String, Vec<String>>,
    pub crash_loop: Vec<CrashRule>,
    /// EKS add-ons the cluster runs; `aws-ebs-csi-driver` brings the `gp3` StorageClass.
    pub addons: Vec<String>,
    /// Jobs' pods that exit 1 instead of completing (by image or `ns/job`).
    pub job_failures: Vec<String>,
    pub load: Vec<Load>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Nodes {
    pub count: usize,
    pub prefix: String,
    pub suffix: String,
    pub zones: Vec<String>,
    pub instance_type: String,
    pub cpu: String,
    pub memory: String,
    pub pods: u32,
}

impl Default for Nodes {
    fn default() -> Self {
        Nodes {
            count: 3,
            prefix: "ip-10-0-".into(),
            suffix: ".ec2.internal".into(),
            zones: vec![
                "us-east-1a".into(),
                "us-east-1b".into(),
                "us-east-1c".into(),
            ],
            instance_type: "m5.xlarge".into(),
            cpu: "4".into(),
            memory: "16Gi".into(),
            pods: 110,
        }
    }
}

/// Simulated seconds, each as `[min, max]` drawn from the seeded generator.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Timing {
    pub schedule: [f64; 2],
    pub pull: [f64; 2],
    pub start: [f64; 2],
    pub ready: [f64; 2],
    pub terminate: [f64; 2],
    pub crash_after: [f64; 2],
    /// How long a Job's pod runs before its containers exit.
    pub run: [f64; 2],
    /// HPA sync period.
    pub hpa_sync: f64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            schedule: [0.1, 0.4],
            pull: [0.5, 2.0],
            start: [0.3, 0.8],
            ready: [0.5, 2.0],
            terminate: [0.5, 1.5],
            crash_after: [2.0, 5.0],
            run: [2.0, 6.0],
            hpa_sync: 15.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct CrashRule {
    /// Exact image reference whose containers crash after starting.
    pub image: Option<String>,
    /// `namespace/name` of a deployment whose pods crash.
    pub deployment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Load {
    /// `namespace/name` of the deployment.
    pub deployment: String,
    /// `[seconds, millicores]` points: the total CPU the deployment's ready pods
    /// share, linear in between and flat after the last point.
    pub cpu: Vec<[f64; 2]>,
    /// Memory per pod, e.g. `120Mi`.
    pub memory: Option<String>,
    /// Relative per-pod jitter, e.g. 0.05.
    pub noise: f64,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Action {
    /// Simulated seconds after start.
    pub at: f64,
    pub set_image: Option<SetImage>,
    pub scale: Option<ScaleAction>,
    pub delete_pod: Option<DeletePod>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct SetImage {
    pub deployment: String,
    pub container: Option<String>,
    pub image: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ScaleAction {
    pub deployment: String,
    pub replicas: i64,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct DeletePod {
    pub namespace: String,
    pub selector: String,
}

impl Scenario {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let s: Scenario = serde_saphyr::from_str(text)?;
        Ok(s)
    }

    pub fn image_exists(&self, image: &str) -> bool {
        let (repo, tag) = split_image(image);
        match self.registry.get(repo) {
            Some(tags) => tags.iter().any(|t| t == tag),
            None => true,
        }
    }

    pub fn crashes(&self, image: &str, deployment: Option<&str>) -> bool {
        self.crash_loop.iter().any(|r| {
            r.image.as_deref() == Some(image)
                || (r.deployment.is_some() && r.deployment.as_deref() == deployment)
        })
    }

    /// Whether a Job's pod with this image, of the Job `ns/name`, fails.
    pub fn job_fails(&self, image: &str, job: Option<&str>) -> bool {
        self.job_failures
            .iter()
            .any(|f| f == image || Some(f.as_str()) == job)
    }

    pub fn load_for(&self, deployment: &str) -> Option<&Load> {
        self.load.iter().find(|l| l.deployment == deployment)
    }
}

/// `repo:tag` (default tag `latest`; a registry port is not a tag).
pub fn split_image(image: &str) -> (&str, &str) {
    let image = image.split('@').next().unwrap_or(image);
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

impl Load {
    /// Total millicores at simulated time `t`.
    pub fn cpu_at(&self, t: f64) -> f64 {
        let pts = &self.cpu;
        let Some(first) = pts.first() else { return 0.0 };
        if t <= first[0] {
            return first[1];
        }
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            if t <= b[0] {
                let span = (b[0] - a[0]).max(1e-9);
                return a[1] + (b[1] - a[1]) * (t - a[0]) / span;
            }
        }
        pts.last().map_or(0.0, |p| p[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_curve_interpolates() {
        let l = Load {
            cpu: vec![[0.0, 100.0], [10.0, 200.0]],
            ..Default::default()
        };
        assert_eq!(l.cpu_at(-1.0), 100.0);
        assert_eq!(l.cpu_at(5.0), 150.0);
        assert_eq!(l.cpu_at(50.0), 200.0);
    }

    #[test]
    fn registry_knows_tags() {
        let s = Scenario::parse("registry:\n  ghcr.io/x/app: [v1]\n").unwrap();
        assert!(s.image_exists("ghcr.io/x/app:v1"));
        assert!(!s.image_exists("ghcr.io/x/app:v2"));
        assert!(s.image_exists("nginx:1.27"));
        assert_eq!(
            split_image("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
    }
}
