//! Pulumi programs in Python and TypeScript rendered under the Pulumi SDK's own
//! mocks, with the SDKs the README's test command installs
//! (`TIERUI_TEST_PULUMI_VENV`, `TIERUI_TEST_PULUMI_NODE_MODULES`). A missing
//! SDK fails these tests; none is skipped.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use tierui_core::render::desired::{self, How};
use tierui_core::render::holes::DECIDED_AT_APPLY;
use tierui_core::workspace::{self, Workspace};

/// The Python foundation fixture in a temp dir, its projects' toolchains linked
/// to the test SDKs.
pub fn foundation() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    common::pulumi::foundation(dir.path());
    let ws = workspace::load(dir.path());
    (dir, ws)
}

fn release<'a>(ws: &'a Workspace, service: &str, env: &str) -> &'a workspace::Release {
    ws.releases
        .iter()
        .find(|r| r.service == service && r.environment.as_deref() == Some(env))
        .unwrap_or_else(|| panic!("no release {service}/{env}"))
}

fn by_kind<'a>(objects: &'a [Json], kind: &str, name: &str) -> &'a Json {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in {objects:#?}"))
}

#[test]
fn python_app_stack_renders_object_by_object() {
    let (_d, ws) = foundation();
    let r = release(&ws, "day-service", "production");
    let d = desired::render(&ws, r, &BTreeMap::new(), tierui_backends::tools::LOCAL).unwrap();
    assert_eq!(d.how, How::PulumiProgram);
    let kinds: Vec<&str> = d
        .objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    // The program's order.
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ConfigMap",
            "Secret",
            "ConfigMap",
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "Ingress"
        ]
    );
    let dep = by_kind(&d.objects, "Deployment", "day-service");
    assert_eq!(dep["apiVersion"], "apps/v1");
    assert_eq!(dep["spec"]["replicas"], 3, "whole numbers stay integers");
    assert!(dep["spec"]["replicas"].is_u64());
    let c = &dep["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "ghcr.io/example/day-service:v1.2.3");
    assert_eq!(c["ports"][0]["containerPort"], 8080);
    assert_eq!(c["envFrom"][0]["configMapRef"]["name"], "day-service");
    assert_eq!(
        c["envFrom"][1]["secretRef"]["name"],
        "day-service-credentials"
    );
    assert_eq!(dep["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 1);
    let cm = by_kind(&d.objects, "ConfigMap", "day-service");
    assert_eq!(
        cm["data"]["CLUSTER_NAME"], "day",
        "from the infra stack's checkpoint"
    );
    let secret = by_kind(&d.objects, "Secret", "day-service-credentials");
    assert_eq!(secret["stringData"]["API_KEY"], "[secret]");
    let hpa = by_kind(&d.objects, "HorizontalPodAutoscaler", "day-service");
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(hpa["spec"]["maxReplicas"], 10);
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "day-service");
    let ing = by_kind(&d.objects, "Ingress", "day-service");
    assert_eq!(
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "day-service"
    );
    // Auto-named: shown, never sent as a name.
    let flags = by_kind(&d.objects, "ConfigMap", DECIDED_AT_APPLY);
    assert_eq!(flags["data"]["NEW_CHECKOUT"], "false");
    assert!(
        d.notes.iter().any(|n| n.contains("auto-naming")),
        "{:?}",
        d.notes
    );
    // No secret anywhere: the checkpoint's kubeconfig stays masked, the
    // placeholder never shows.
    let text = serde_json::to_string(&d.objects).unwrap();
    assert!(!text.contains("tierui-secret-"), "{text}");
}

#[test]
fn dev_stack_reads_its_own_config_and_infra_stack() {
    let (_d, ws) = foundation();
    let r = release(&ws, "day-service", "dev");
    let d = desired::render(&ws, r, &BTreeMap::new(), tierui_backends::tools::LOCAL).unwrap();
    let dep = by_kind(&d.objects, "Deployment", "day-service");
    assert_eq!(dep["metadata"]["namespace"], "day-service-dev");
    assert_eq!(dep["spec"]["replicas"], 1);
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/example/day-service:v1.3.0-rc.1"
    );
    let cm = by_kind(&d.objects, "ConfigMap", "day-service");
    assert_eq!(cm["data"]["CLUSTER_NAME"], "dusk");
    assert_eq!(cm["data"]["LOG_LEVEL"], "debug");
}

#[test]
fn an_edited_config_renders_before_it_is_saved() {
    let (_d, ws) = foundation();
    let r = release(&ws, "day-service", "production");
    let config_file = pulumi_config(r);
    let text = std::fs::read_to_string(ws.root.join(&config_file)).unwrap();
    let edited = text.replace("image_tag: v1.2.3", "image_tag: v1.2.4");
    let overrides = BTreeMap::from([(config_file, edited)]);
    let d = desired::render(&ws, r, &overrides, tierui_backends::tools::LOCAL).unwrap();
    let dep = by_kind(&d.objects, "Deployment", "day-service");
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/example/day-service:v1.2.4"
    );
}

fn pulumi_config(r: &workspace::Release) -> PathBuf {
    match &r.source {
        workspace::ReleaseSource::Pulumi(ps) => ps.config_file.clone(),
        _ => panic!("{} is not a Pulumi release", r.title()),
    }
}

#[test]
fn typescript_app_stack_renders_with_the_sdks_own_ts_node() {
    let (_d, ws) = foundation();
    let r = release(&ws, "night-service", "production");
    let d = desired::render(&ws, r, &BTreeMap::new(), tierui_backends::tools::LOCAL).unwrap();
    assert_eq!(d.how, How::PulumiProgram);
    let dep = by_kind(&d.objects, "Deployment", "night-service");
    assert_eq!(dep["spec"]["replicas"], 2);
    let c = &dep["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "ghcr.io/example/night-service:v0.9.1");
    assert_eq!(c["env"][0]["value"], "[secret]");
    by_kind(&d.objects, "Service", "night-service");
}

#[test]
fn a_failing_program_names_the_users_file_and_line() {
    let (d, _) = foundation();
    let cfg = d.path().join("gitops/pulumi_deploy/Pulumi.production.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("  day-service:image_tag: v1.2.3\n", "")).unwrap();
    let ws = workspace::load(d.path());
    let r = release(&ws, "day-service", "production");
    let e = desired::render(&ws, r, &BTreeMap::new(), tierui_backends::tools::LOCAL).unwrap_err();
    let main = std::fs::read_to_string(d.path().join("gitops/pulumi_deploy/__main__.py")).unwrap();
    let line = main
        .lines()
        .position(|l| l.contains("config.require(\"image_tag\")"))
        .unwrap()
        + 1;
    assert!(
        e.starts_with(&format!("gitops/pulumi_deploy/__main__.py:{line}: ")),
        "{e}"
    );
    assert!(e.contains("image_tag"), "{e}");
}

#[test]
fn an_exception_in_an_apply_names_the_line_of_the_callback() {
    let (d, _) = foundation();
    let main = d.path().join("gitops/pulumi_deploy/__main__.py");
    let mut program = std::fs::read_to_string(&main).unwrap();
    program.push_str("\n\ndef check(name):\n    raise ValueError(f\"bad name {name}\")\n\n\nsettings.metadata.name.apply(check)\n");
    std::fs::write(&main, &program).unwrap();
    let ws = workspace::load(d.path());
    let r = release(&ws, "day-service", "production");
    let e = desired::render(&ws, r, &BTreeMap::new(), tierui_backends::tools::LOCAL).unwrap_err();
    let line = program
        .lines()
        .position(|l| l.contains("raise ValueError"))
        .unwrap()
        + 1;
    let first = e.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "gitops/pulumi_deploy/__main__.py:{line}: ValueError: bad name day-service"
        )),
        "{e}"
    );
    assert!(
        e.contains("Traceback") || e.lines().count() > 1,
        "the traceback follows: {e}"
    );
}

#[test]
fn a_missing_virtualenv_says_how_to_create_it() {
    let (d, _) = foundation();
    std::fs::remove_file(d.path().join("gitops/pulumi_deploy/venv")).unwrap();
    let ws = workspace::load(d.path());
    let r = release(&ws, "day-service", "production");
    let e = desired::render(&ws, r, &BTreeMap::new(), tierui_backends::tools::LOCAL).unwrap_err();
    assert!(
        e.contains("python3 -m venv venv && venv/bin/pip install -r requirements.txt"),
        "{e}"
    );
}

#[test]
fn the_public_guestbook_is_an_application_and_renders_with_auto_names() {
    let dir = tempfile::tempdir().unwrap();
    common::pulumi::fixture("pulumi-examples/kubernetes-py-guestbook", dir.path());
    std::os::unix::fs::symlink(
        common::pulumi::sdk("TIERUI_TEST_PULUMI_VENV"),
        dir.path().join("venv"),
    )
    .unwrap();
    let ws = workspace::load(dir.path());
    assert!(
        ws.clusters.is_empty(),
        "became a cluster: {:?}",
        ws.clusters.iter().map(|c| &c.name).collect::<Vec<_>>()
    );
    assert_eq!(ws.releases.len(), 1, "{:?}", ws.problems);
    let d = desired::render(
        &ws,
        &ws.releases[0],
        &BTreeMap::new(),
        tierui_backends::tools::LOCAL,
    )
    .unwrap();
    assert_eq!(d.objects.len(), 6);
    // Deployments without metadata.name are named by Pulumi at apply.
    let deployments: Vec<&Json> = d
        .objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .collect();
    assert_eq!(deployments.len(), 3);
    assert!(
        deployments
            .iter()
            .all(|o| o["metadata"]["name"] == DECIDED_AT_APPLY)
    );
    let frontend = by_kind(&d.objects, "Service", "frontend");
    assert_eq!(frontend["spec"]["type"], "LoadBalancer");
    assert_eq!(frontend["spec"]["ports"][0]["port"], 80);
}

#[test]
fn a_python_infra_project_stays_a_cluster_stack() {
    let (_d, ws) = foundation();
    let names: Vec<&str> = ws.clusters.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.contains(&"day") && names.contains(&"dusk"),
        "{names:?}"
    );
    assert!(!ws.releases.iter().any(|r| r.service == "infrastructure"));
}

#[test]
fn infra_programs_say_what_they_declare() {
    let (d, _) = foundation();
    let main = d.path().join("provisioning/pulumi/__main__.py");
    let mut program = std::fs::read_to_string(&main).unwrap();
    // A node group the config does not mention: only the program knows it.
    program.push_str(
        "\naws.eks.NodeGroup(\"system\", cluster_name=cluster.eks_cluster.name, node_group_name=\"system\", node_role_arn=node_role.arn, subnet_ids=[s.id for s in private_subnets], instance_types=[\"t3.medium\"], scaling_config={\"min_size\": 1, \"desired_size\": 2, \"max_size\": 2})\n",
    );
    std::fs::write(&main, program).unwrap();
    let mut ws = workspace::load(d.path());
    tierui_backends::programs::declare_clusters(&mut ws, tierui_backends::tools::LOCAL);
    let day = ws.cluster("day").unwrap().spec().unwrap();
    assert!(
        day.source.contains("what the program declares"),
        "{}",
        day.source
    );
    let groups: Vec<(&str, &[String], i64)> = day
        .node_groups
        .iter()
        .map(|g| (g.name.as_str(), g.instance_types.as_slice(), g.desired_size))
        .collect();
    assert_eq!(groups.len(), 3, "{groups:?}");
    assert_eq!(groups[2], ("system", &["t3.medium".to_string()][..], 2));
    assert_eq!(day.node_groups[1].capacity_type, "SPOT");
    assert_eq!(day.kubernetes_version.as_deref(), Some("1.31"));
    assert_eq!(day.oidc, Some(true));
    assert_eq!(day.endpoint_private_access, Some(true));
    assert_eq!(day.vpc_cidr.as_deref(), Some("10.10.0.0/16"));
    assert_eq!(
        day.availability_zones,
        ["us-west-2a", "us-west-2b", "us-west-2c"]
    );
}

#[test]
fn data_sources_are_looked_up_at_apply_not_queried() {
    let (_d, ws) = foundation();
    let c = ws.cluster("day").unwrap();
    let tierui_core::workspace::model::ClusterSource::Pulumi(ps) = &c.source else {
        panic!("day is a Pulumi stack")
    };
    let req = tierui_core::render::program::request(
        &ws,
        ps,
        ps.project.as_ref().unwrap(),
        ps.config.as_ref().unwrap(),
    )
    .unwrap();
    let ran = tierui_backends::programs::run(&req).unwrap();
    assert_eq!(
        ran.invokes,
        ["aws:index/getCallerIdentity:getCallerIdentity"]
    );
    assert!(ran.invoke_note().unwrap().contains("looked up at apply"));
    let vpc = ran
        .registered
        .iter()
        .find(|r| r.type_ == "aws:ec2/vpc:Vpc")
        .unwrap();
    assert_eq!(vpc.inputs["tags"]["Name"], "day-vpc");
}

/// The Pulumi CLI as a stack on Pulumi Cloud answers `pulumi stack output
/// --json --show-secrets=false`: secrets come back as "[secret]".
struct CloudBackend;

impl tierui_core::render::desired::Renderers for CloudBackend {
    fn kustomize(&self, _dir: &Path, _sealed: bool) -> Result<String, String> {
        Err("no kustomize here".into())
    }
    fn preview(&self, _dir: &Path, _stack: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
    fn program(
        &self,
        req: &tierui_core::render::program::ProgramRequest,
    ) -> Result<tierui_core::render::program::Ran, tierui_core::render::program::ProgramFailure>
    {
        tierui_backends::programs::run(req)
    }
    fn stack_outputs(&self, _dir: &Path, stack: &str) -> Result<Option<Json>, String> {
        Ok(Some(
            serde_json::json!({"cluster_name": stack, "kubeconfig": "[secret]"}),
        ))
    }
}

#[test]
fn stacks_on_another_backend_are_read_with_the_cli_and_named_by_their_organization() {
    let (d, _) = foundation();
    // The infra stacks' state is on Pulumi Cloud, in organization "acme".
    std::fs::remove_dir_all(d.path().join(".pulumi")).unwrap();
    let infra = d.path().join("provisioning/pulumi/Pulumi.yaml");
    let text = std::fs::read_to_string(&infra).unwrap();
    std::fs::write(&infra, text.replace("backend:\n  url: file://../..\n", "")).unwrap();
    let app = d.path().join("gitops/pulumi_deploy/__main__.py");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        text.replace("organization/infrastructure/", "acme/infrastructure/"),
    )
    .unwrap();
    let desc = d.path().join("tierui.yaml");
    let text = std::fs::read_to_string(&desc).unwrap();
    std::fs::write(
        &desc,
        text.replace(
            "name: foundation\n",
            "name: foundation\npulumiOrganization: acme\n",
        ),
    )
    .unwrap();
    let ws = workspace::load(d.path());
    assert!(
        ws.problems
            .iter()
            .all(|p| !p.message.contains("pulumiOrganization")),
        "{:?}",
        ws.problems
    );
    let r = release(&ws, "day-service", "production");
    let tools = desired::Tools {
        sealed: false,
        renderers: &CloudBackend,
    };
    let out = desired::render(&ws, r, &BTreeMap::new(), tools).unwrap();
    let cm = by_kind(&out.objects, "ConfigMap", "day-service");
    assert_eq!(cm["data"]["CLUSTER_NAME"], "day");
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("acme/infrastructure/day: outputs read with `pulumi stack output")),
        "{:?}",
        out.notes
    );
    // Sealed (the sandbox): no CLI, the outputs are unknown and said to be.
    let sealed = desired::Tools {
        sealed: true,
        renderers: &CloudBackend,
    };
    let out = desired::render(&ws, r, &BTreeMap::new(), sealed).unwrap();
    let cm = by_kind(&out.objects, "ConfigMap", "day-service");
    assert_eq!(cm["data"]["CLUSTER_NAME"], "[known after apply]", "{cm:#}");
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("runs no `pulumi stack output`")),
        "{:?}",
        out.notes
    );
}
