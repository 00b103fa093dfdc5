//! How a self-managed node joins its cluster: the EKS-optimised image for an
//! `amiFamily` (as the SSM parameter AWS publishes it), and the user data each
//! family boots with — nodeadm's NodeConfig on AL2023, bootstrap.sh on AL2 and
//! Ubuntu, TOML settings on Bottlerocket, Start-EKSBootstrap.ps1 on Windows.
//! Pure: the endpoint and certificate come from the cluster call's outputs.

use crate::cloud::{Bootstrap, Outputs};

/// The Kubernetes version a config without `metadata.version` gets.
pub const DEFAULT_VERSION: &str = "1.33";

/// The AMI families the walkthrough can boot, with eksctl's spelling.
pub const FAMILIES: &[&str] = &[
    "AmazonLinux2023",
    "AmazonLinux2",
    "Bottlerocket",
    "Ubuntu2204",
    "Ubuntu2404",
    "WindowsServer2019CoreContainer",
    "WindowsServer2019FullContainer",
    "WindowsServer2022CoreContainer",
    "WindowsServer2022FullContainer",
];

pub fn is_windows(family: &str) -> bool {
    family.starts_with("WindowsServer")
}

/// arm64 for Graviton instance types (m6g, c7gn, t4g …), else x86_64.
pub fn architecture(instance_type: &str) -> &'static str {
    let family = instance_type.split('.').next().unwrap_or("");
    // The letters after the generation digit: "g" marks Graviton (not "g4dn"/"g5",
    // where g is the family letter itself).
    let after_digit: String = family
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .to_string();
    if !family.starts_with(['g', 'p']) && after_digit.starts_with('g') {
        "arm64"
    } else {
        "x86_64"
    }
}

/// Whether the type has NVIDIA GPUs (g4dn, g5, g6, p3, p4d, p5 …).
pub fn has_gpu(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or("");
    (family.starts_with('g') || family.starts_with('p'))
        && family[1..].starts_with(|c: char| c.is_ascii_digit())
        && !family.starts_with("g5g")
}

/// The launch template's image: a given AMI id, else the SSM parameter AWS
/// publishes for the family (`resolve:ssm:` — EC2 looks it up at launch).
pub fn image(family: &str, version: &str, instance_type: &str, ami: Option<&str>) -> String {
    if let Some(a) = ami.filter(|a| a.starts_with("ami-") || a.starts_with("resolve:ssm:")) {
        return a.to_string();
    }
    let arch = architecture(instance_type);
    let gpu = has_gpu(instance_type);
    let param = match family {
        "AmazonLinux2" => {
            let variant = match (gpu, arch) {
                (true, _) => "amazon-linux-2-gpu",
                (false, "arm64") => "amazon-linux-2-arm64",
                _ => "amazon-linux-2",
            };
            format!("/aws/service/eks/optimized-ami/{version}/{variant}/recommended/image_id")
        }
        "Bottlerocket" => {
            let flavour = if gpu { "-nvidia" } else { "" };
            format!("/aws/service/bottlerocket/aws-k8s-{version}{flavour}/{arch}/latest/image_id")
        }
        f if f.starts_with("Ubuntu") => {
            let release = if f.ends_with("2404") {
                "24.04"
            } else {
                "22.04"
            };
            let a = if arch == "arm64" { "arm64" } else { "amd64" };
            format!(
                "/aws/service/canonical/ubuntu/eks/{release}/{version}/stable/current/{a}/hvm/ebs-gp2/ami-id"
            )
        }
        f if is_windows(f) => {
            let year = if f.contains("2022") { "2022" } else { "2019" };
            let edition = if f.contains("Full") { "Full" } else { "Core" };
            format!(
                "/aws/service/ami-windows-latest/Windows_Server-{year}-English-{edition}-EKS_Optimized-{version}/image_id"
            )
        }
        _ => {
            let variant = if gpu { "nvidia" } else { "standard" };
            format!(
                "/aws/service/eks/optimized-ami/{version}/amazon-linux-2023/{arch}/{variant}/recommended/image_id"
            )
        }
    };
    format!("resolve:ssm:{param}")
}

/// The root device a family boots from.
pub fn root_device(family: &str) -> &'static str {
    if is_windows(family) {
        "/dev/sda1"
    } else if family == "Bottlerocket" {
        // Bottlerocket's data volume; its OS volume is small and fixed.
        "/dev/xvdb"
    } else {
        "/dev/xvda"
    }
}

fn labels_arg(b: &Bootstrap) -> String {
    b.labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn taints_arg(b: &Bootstrap) -> String {
    b.taints
        .iter()
        .map(|(k, v, e)| {
            if v.is_empty() {
                format!("{k}:{e}")
            } else {
                format!("{k}={v}:{e}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn kubelet_args(b: &Bootstrap) -> Vec<String> {
    let mut args = Vec::new();
    if !b.labels.is_empty() {
        args.push(format!("--node-labels={}", labels_arg(b)));
    }
    if !b.taints.is_empty() {
        args.push(format!("--register-with-taints={}", taints_arg(b)));
    }
    if let Some(m) = b.max_pods {
        args.push(format!("--max-pods={m}"));
    }
    args
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// A JSON object as TOML tables under `prefix` (Bottlerocket settings).
fn toml_tables(prefix: &str, v: &serde_json::Value, out: &mut String) {
    let serde_json::Value::Object(map) = v else {
        return;
    };
    let (scalars, tables): (Vec<_>, Vec<_>) = map.iter().partition(|(_, v)| !v.is_object());
    if !scalars.is_empty() {
        out.push_str(&format!("\n[{prefix}]\n"));
        for (k, v) in scalars {
            let text = match v {
                serde_json::Value::String(s) => toml_str(s),
                other => other.to_string(),
            };
            out.push_str(&format!("{} = {text}\n", toml_str(k)));
        }
    }
    for (k, v) in tables {
        toml_tables(&format!("{prefix}.{}", toml_str(k)), v, out);
    }
}

/// The user data of a launch template, once the cluster's endpoint and CA are known.
pub fn user_data(b: &Bootstrap, outputs: &Outputs) -> Result<String, String> {
    let endpoint = b.endpoint.resolve(outputs)?;
    let ca = b.certificate.resolve(outputs)?;
    let cluster = &b.cluster;
    let pre = b.pre_bootstrap.join("\n");
    if b.family == "Bottlerocket" {
        let mut t = format!(
            "[settings.kubernetes]\ncluster-name = {}\napi-server = {}\ncluster-certificate = {}\n",
            toml_str(cluster),
            toml_str(&endpoint),
            toml_str(&ca)
        );
        if let Some(m) = b.max_pods {
            t.push_str(&format!("max-pods = {m}\n"));
        }
        if !b.labels.is_empty() {
            t.push_str("\n[settings.kubernetes.node-labels]\n");
            for (k, v) in &b.labels {
                t.push_str(&format!("{} = {}\n", toml_str(k), toml_str(v)));
            }
        }
        if !b.taints.is_empty() {
            t.push_str("\n[settings.kubernetes.node-taints]\n");
            for (k, v, e) in &b.taints {
                t.push_str(&format!(
                    "{} = [{}]\n",
                    toml_str(k),
                    toml_str(&format!("{v}:{e}"))
                ));
            }
        }
        if let Some(extra) = &b.bottlerocket
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(extra)
        {
            if let Some(settings) = v.get("settings") {
                toml_tables("settings", settings, &mut t);
            }
            if let Some(admin) = v.get("enableAdminContainer").and_then(|a| a.as_bool()) {
                t.push_str(&format!(
                    "\n[settings.host-containers.admin]\nenabled = {admin}\n"
                ));
            }
        }
        return Ok(t);
    }
    if b.family == "ManagedMerge" {
        // A managed group on the EKS image: EKS merges this part with its own bootstrap.
        return Ok(format!(
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"//\"\n\n--//\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\n\n#!/bin/bash\nset -ex\n{pre}\n\n--//--\n"
        ));
    }
    let kubelet = kubelet_args(b).join(" ");
    if is_windows(&b.family) {
        let mut ps = format!(
            "<powershell>\n[string]$EKSBootstrapScriptFile = \"$env:ProgramFiles\\Amazon\\EKS\\Start-EKSBootstrap.ps1\"\n$EKSClusterName = \"{cluster}\"\n$APIServerEndpoint = \"{endpoint}\"\n$Base64ClusterCA = \"{ca}\"\n$KubeletExtraArgs = \"{kubelet}\"\n"
        );
        if !pre.is_empty() {
            ps.push_str(&pre);
            ps.push('\n');
        }
        match &b.override_command {
            Some(cmd) => ps.push_str(cmd.trim_end()),
            None => ps.push_str("& $EKSBootstrapScriptFile -EKSClusterName $EKSClusterName -APIServerEndpoint $APIServerEndpoint -Base64ClusterCA $Base64ClusterCA -KubeletExtraArgs $KubeletExtraArgs 3>&1 4>&1 5>&1 6>&1"),
        }
        ps.push_str("\n</powershell>\n");
        return Ok(ps);
    }
    let env = format!(
        "export CLUSTER_NAME={cluster}\nexport API_SERVER_URL={endpoint}\nexport B64_CLUSTER_CA={ca}\nexport NODE_LABELS={}\nexport NODE_TAINTS={}\n",
        shell_quote(&labels_arg(b)),
        shell_quote(&taints_arg(b))
    );
    if let Some(cmd) = &b.override_command {
        return Ok(format!(
            "#!/bin/bash\nset -ex\n{env}{pre}\n{}\n",
            cmd.trim_end()
        ));
    }
    if b.family == "AmazonLinux2023" {
        let mut flags = String::new();
        for a in kubelet_args(b) {
            flags.push_str(&format!("      - {}\n", yaml_quote(&a)));
        }
        let kubelet_section = if flags.is_empty() {
            String::new()
        } else {
            format!("  kubelet:\n    flags:\n{flags}")
        };
        let script = if pre.is_empty() {
            String::new()
        } else {
            format!(
                "--//\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\n\n#!/bin/bash\nset -ex\n{pre}\n\n"
            )
        };
        return Ok(format!(
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"//\"\n\n{script}--//\nContent-Type: application/node.eks.aws\n\n---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: {cluster}\n    apiServerEndpoint: {endpoint}\n    certificateAuthority: {ca}\n    cidr: {}\n{kubelet_section}\n--//--\n",
            b.service_cidr
        ));
    }
    // AmazonLinux2 and Ubuntu: bootstrap.sh.
    let extra = if kubelet.is_empty() {
        String::new()
    } else {
        format!(" --kubelet-extra-args {}", shell_quote(&kubelet))
    };
    let max_pods = if b.max_pods.is_some() {
        " --use-max-pods false"
    } else {
        ""
    };
    Ok(format!(
        "#!/bin/bash\nset -ex\n{env}{pre}\n/etc/eks/bootstrap.sh {cluster} --apiserver-endpoint {endpoint} --b64-cluster-ca {ca}{max_pods}{extra}\n"
    ))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| s.to_string())
}

/// One row of the instance types the selector chooses from.
pub struct InstanceType {
    pub name: &'static str,
    pub vcpus: i64,
    pub memory_gib: f64,
    pub arch: &'static str,
    pub gpus: i64,
}

macro_rules! it {
    ($n:expr, $c:expr, $m:expr, $a:expr, $g:expr) => {
        InstanceType {
            name: $n,
            vcpus: $c,
            memory_gib: $m,
            arch: $a,
            gpus: $g,
        }
    };
}

/// Current-generation types as EC2's DescribeInstanceTypes lists them (vCPUs,
/// memory, architecture, GPUs), the set `instanceSelector` is resolved against.
pub const INSTANCE_TYPES: &[InstanceType] = &[
    it!("t3.small", 2, 2.0, "x86_64", 0),
    it!("t3a.small", 2, 2.0, "x86_64", 0),
    it!("t4g.small", 2, 2.0, "arm64", 0),
    it!("t3.medium", 2, 4.0, "x86_64", 0),
    it!("t3a.medium", 2, 4.0, "x86_64", 0),
    it!("t4g.medium", 2, 4.0, "arm64", 0),
    it!("c5.large", 2, 4.0, "x86_64", 0),
    it!("c5a.large", 2, 4.0, "x86_64", 0),
    it!("c6i.large", 2, 4.0, "x86_64", 0),
    it!("c6a.large", 2, 4.0, "x86_64", 0),
    it!("c7i.large", 2, 4.0, "x86_64", 0),
    it!("c6g.large", 2, 4.0, "arm64", 0),
    it!("c7g.large", 2, 4.0, "arm64", 0),
    it!("t3.large", 2, 8.0, "x86_64", 0),
    it!("t3a.large", 2, 8.0, "x86_64", 0),
    it!("m5.large", 2, 8.0, "x86_64", 0),
    it!("m5a.large", 2, 8.0, "x86_64", 0),
    it!("m6i.large", 2, 8.0, "x86_64", 0),
    it!("m6a.large", 2, 8.0, "x86_64", 0),
    it!("m7i.large", 2, 8.0, "x86_64", 0),
    it!("m6g.large", 2, 8.0, "arm64", 0),
    it!("m7g.large", 2, 8.0, "arm64", 0),
    it!("r5.large", 2, 16.0, "x86_64", 0),
    it!("r6i.large", 2, 16.0, "x86_64", 0),
    it!("c5.xlarge", 4, 8.0, "x86_64", 0),
    it!("c6i.xlarge", 4, 8.0, "x86_64", 0),
    it!("t3.xlarge", 4, 16.0, "x86_64", 0),
    it!("m5.xlarge", 4, 16.0, "x86_64", 0),
    it!("m6i.xlarge", 4, 16.0, "x86_64", 0),
    it!("m6g.xlarge", 4, 16.0, "arm64", 0),
    it!("g4dn.xlarge", 4, 16.0, "x86_64", 1),
    it!("g5.xlarge", 4, 16.0, "x86_64", 1),
    it!("r5.xlarge", 4, 32.0, "x86_64", 0),
    it!("c5.2xlarge", 8, 16.0, "x86_64", 0),
    it!("m5.2xlarge", 8, 32.0, "x86_64", 0),
    it!("g4dn.2xlarge", 8, 32.0, "x86_64", 1),
    it!("g5.2xlarge", 8, 32.0, "x86_64", 1),
    it!("p3.2xlarge", 8, 61.0, "x86_64", 1),
    it!("m5.4xlarge", 16, 64.0, "x86_64", 0),
    it!("p3.8xlarge", 32, 244.0, "x86_64", 4),
];

/// Memory as eksctl reads it: a number of GiB, with an optional GiB/Gi/MiB suffix.
pub fn parse_memory(text: &str) -> Option<f64> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("GiB").or_else(|| t.strip_suffix("Gi")) {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("MiB").or_else(|| t.strip_suffix("Mi")) {
        (n, 1.0 / 1024.0)
    } else {
        (t, 1.0)
    };
    num.trim().parse::<f64>().ok().map(|v| v * scale)
}

/// The instance types an `instanceSelector` resolves to, with the rule stated.
pub fn select(
    vcpus: Option<i64>,
    memory: Option<&str>,
    gpus: Option<i64>,
    arch: Option<&str>,
) -> Result<(Vec<String>, String), String> {
    let mem = match memory {
        Some(m) => Some(parse_memory(m).ok_or_else(|| {
            format!("instanceSelector.memory {m:?} is not a size (e.g. 4 or 4GiB)")
        })?),
        None => None,
    };
    let arch = arch.unwrap_or("x86_64");
    let picked: Vec<String> = INSTANCE_TYPES
        .iter()
        .filter(|t| vcpus.is_none_or(|v| t.vcpus == v))
        .filter(|t| mem.is_none_or(|m| (t.memory_gib - m).abs() < 0.01))
        .filter(|t| gpus.is_none_or(|g| t.gpus == g))
        .filter(|t| t.arch == arch)
        .map(|t| t.name.to_string())
        .collect();
    let mut rule = vec![format!("architecture {arch}")];
    if let Some(v) = vcpus {
        rule.push(format!("{v} vCPUs"));
    }
    if let Some(m) = memory {
        rule.push(format!(
            "{} GiB memory",
            mem.map(|m| m.to_string()).unwrap_or_else(|| m.to_string())
        ));
    }
    if let Some(g) = gpus {
        rule.push(if g == 0 {
            "no GPUs".to_string()
        } else {
            format!("{g} GPUs")
        });
    }
    let rule = format!(
        "instanceSelector: {} → exactly these current-generation types (eksctl asks EC2 the same question with GetInstanceTypesFromInstanceRequirements)",
        rule.join(", ")
    );
    if picked.is_empty() {
        return Err(format!("{rule}: no instance type matches"));
    }
    Ok((picked, rule))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Val;

    fn b(family: &str) -> Bootstrap {
        Bootstrap {
            family: family.into(),
            cluster: "c1".into(),
            endpoint: Val::of("cluster", "endpoint"),
            certificate: Val::of("cluster", "certificate"),
            service_cidr: "10.100.0.0/16".into(),
            labels: vec![("role".into(), "web".into())],
            taints: vec![("special".into(), "true".into(), "NoSchedule".into())],
            max_pods: None,
            pre_bootstrap: vec![],
            override_command: None,
            bottlerocket: None,
        }
    }

    fn outputs() -> Outputs {
        let mut o = Outputs::new();
        o.entry("cluster".into()).or_default().extend([
            ("endpoint".to_string(), "https://ABC.eks".to_string()),
            ("certificate".to_string(), "Q0E=".to_string()),
        ]);
        o
    }

    #[test]
    fn each_family_boots_with_its_own_user_data() {
        let al2023 = user_data(&b("AmazonLinux2023"), &outputs()).unwrap();
        assert!(al2023.contains("kind: NodeConfig"), "{al2023}");
        assert!(al2023.contains("apiServerEndpoint: https://ABC.eks"));
        assert!(al2023.contains("\"--node-labels=role=web\""));
        assert!(al2023.contains("\"--register-with-taints=special=true:NoSchedule\""));
        let al2 = user_data(&b("AmazonLinux2"), &outputs()).unwrap();
        assert!(al2.contains("/etc/eks/bootstrap.sh c1 --apiserver-endpoint https://ABC.eks --b64-cluster-ca Q0E= --kubelet-extra-args '--node-labels=role=web --register-with-taints=special=true:NoSchedule'"), "{al2}");
        let br = user_data(&b("Bottlerocket"), &outputs()).unwrap();
        assert!(
            br.contains("[settings.kubernetes.node-taints]\n\"special\" = [\"true:NoSchedule\"]"),
            "{br}"
        );
        let win = user_data(&b("WindowsServer2019FullContainer"), &outputs()).unwrap();
        assert!(
            win.starts_with("<powershell>") && win.contains("Start-EKSBootstrap.ps1"),
            "{win}"
        );
        let mut o = b("AmazonLinux2");
        o.override_command = Some("/etc/eks/bootstrap.sh $CLUSTER_NAME --kubelet-extra-args \"--node-labels=${NODE_LABELS}\"".into());
        let ov = user_data(&o, &outputs()).unwrap();
        assert!(
            ov.contains("export NODE_LABELS='role=web'") && ov.ends_with("${NODE_LABELS}\"\n"),
            "{ov}"
        );
        // Without the cluster's outputs there is nothing to render yet.
        assert!(user_data(&b("AmazonLinux2023"), &Outputs::new()).is_err());
    }

    #[test]
    fn images_follow_the_published_ssm_parameters() {
        assert_eq!(
            image("AmazonLinux2023", "1.31", "m5.large", None),
            "resolve:ssm:/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id"
        );
        assert_eq!(
            image("AmazonLinux2023", "1.31", "m6g.large", None),
            "resolve:ssm:/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/arm64/standard/recommended/image_id"
        );
        assert!(image("AmazonLinux2", "1.29", "p3.2xlarge", None).contains("amazon-linux-2-gpu"));
        assert!(
            image("Bottlerocket", "1.31", "g5.xlarge", None).contains("aws-k8s-1.31-nvidia/x86_64")
        );
        assert!(
            image("WindowsServer2022FullContainer", "1.31", "m5.large", None)
                .contains("Windows_Server-2022-English-Full-EKS_Optimized-1.31")
        );
        assert_eq!(
            image("AmazonLinux2", "1.31", "m5.large", Some("ami-123")),
            "ami-123"
        );
        assert_eq!(architecture("g5.xlarge"), "x86_64");
        assert_eq!(architecture("c7gn.large"), "arm64");
        assert!(has_gpu("g4dn.xlarge") && !has_gpu("m5.large"));
    }

    #[test]
    fn the_selector_states_its_rule_and_picks_exact_matches() {
        let (types, rule) = select(Some(2), Some("4"), Some(0), None).unwrap();
        assert!(
            types.contains(&"t3.medium".to_string()) && types.contains(&"c5.large".to_string())
        );
        assert!(
            !types
                .iter()
                .any(|t| t.starts_with("t4g") || t == "m5.large")
        );
        assert!(
            rule.contains("2 vCPUs") && rule.contains("4 GiB") && rule.contains("no GPUs"),
            "{rule}"
        );
        let (types, _) = select(Some(2), Some("2GiB"), None, Some("x86_64")).unwrap();
        assert_eq!(types, vec!["t3.small", "t3a.small"]);
        assert!(select(Some(3), None, None, None).is_err());
        assert!(select(None, Some("lots"), None, None).is_err());
    }
}
