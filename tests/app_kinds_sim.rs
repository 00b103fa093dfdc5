//! The kinds an application ships beside its Deployments, against the
//! simulator: stock kubectl applies `fixtures/app-kinds` and sees each reach the
//! end state EKS gives it (PVC Bound on a provisioned gp3 volume, Job Complete,
//! CronJob scheduling Jobs, PDB status and the eviction API that kubectl drain
//! uses), and tierui applies the same manifests as part of the demo's
//! dusk-service release with an empty diff afterwards. Fails (never skips)
//! without kubectl.

#[path = "sim_support.rs"]
mod support;

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{SimProcess, wait_until};

const NS: &str = "dusk-service";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/app-kinds")
}

fn crds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/crds")
}

fn jsonpath(sim: &SimProcess, what: &[&str], path: &str) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    let jp = format!("jsonpath={path}");
    args.extend_from_slice(&["-n", NS, "-o", &jp]);
    let out = sim.kubectl(&args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn err_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn kubectl_sees_every_kind_reach_its_end_state() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("app-kinds.yaml");
    std::fs::write(
        &scenario,
        "name: app-kinds\naddons: [aws-ebs-csi-driver, aws-load-balancer-controller]\njobFailures: [example/flaky:1]\ntiming: {run: [1, 3]}\n",
    )
    .unwrap();
    let sim = SimProcess::start(&["--scenario", scenario.to_str().unwrap(), "--speed", "20"]);
    sim.ok(&["create", "namespace", NS]);

    // EKS's classes: gp2 and, with the EBS CSI add-on, gp3 as the default.
    let sc = sim.ok(&["get", "storageclass"]);
    assert!(
        sc.contains("gp3 (default)") && sc.contains("ebs.csi.aws.com"),
        "{sc}"
    );
    assert!(
        sc.contains("WaitForFirstConsumer") && sc.contains("gp2 "),
        "{sc}"
    );

    // The ALB controller's and Argo CD's published CRDs, served at once.
    let crd_out = sim.ok(&["apply", "--server-side", "-f", crds().to_str().unwrap()]);
    assert!(
        crd_out.contains("customresourcedefinition.apiextensions.k8s.io/targetgroupbindings.elbv2.k8s.aws serverside-applied"),
        "{crd_out}"
    );
    let established = jsonpath(
        &sim,
        &["crd", "applications.argoproj.io"],
        "{.status.conditions[?(@.type==\"Established\")].status}",
    );
    assert_eq!(established, "True");
    // kubectl explain reads the CRD's schema from the cluster's OpenAPI v3.
    let explain = sim.ok(&["explain", "targetgroupbindings.spec.serviceRef"]);
    for want in [
        "GROUP:      elbv2.k8s.aws",
        "KIND:       TargetGroupBinding",
        "VERSION:    v1beta1",
        "serviceRef is a reference to a Kubernetes Service",
        "name\t<string> -required-",
    ] {
        assert!(explain.contains(want), "{want:?} in {explain}");
    }
    let explain = sim.ok(&["explain", "applications.spec"]);
    assert!(
        explain.contains("KIND:       Application") && explain.contains("destination"),
        "{explain}"
    );

    // The CRD's CEL rules hold too: the ALB controller refuses both spellings.
    let params = dir.path().join("params.yaml");
    std::fs::write(
        &params,
        "apiVersion: elbv2.k8s.aws/v1beta1\nkind: IngressClassParams\nmetadata: {name: both}\nspec:\n  prefixListsIDs: [pl-0a1b]\n  PrefixListsIDs: [pl-2c3d]\n",
    )
    .unwrap();
    let refused = sim.kubectl(&["apply", "--server-side", "-f", params.to_str().unwrap()]);
    let said = err_of(&refused);
    assert!(
        !refused.status.success()
            && said.contains("spec: Invalid value: \"object\": cannot specify both 'prefixListsIDs' and 'PrefixListsIDs' fields"),
        "{said}"
    );
    std::fs::write(
        &params,
        "apiVersion: elbv2.k8s.aws/v1beta1\nkind: IngressClassParams\nmetadata: {name: one}\nspec:\n  prefixListsIDs: [pl-0a1b]\n",
    )
    .unwrap();
    sim.ok(&["apply", "--server-side", "-f", params.to_str().unwrap()]);

    // A schema's defaults are filled in on write, as the API server does.
    let defaulted = dir.path().join("defaulted.yaml");
    std::fs::write(&defaulted, CACHE_CRD).unwrap();
    sim.ok(&["apply", "--server-side", "-f", defaulted.to_str().unwrap()]);
    let cache = dir.path().join("cache.yaml");
    std::fs::write(
        &cache,
        format!("apiVersion: example.com/v1\nkind: Cache\nmetadata: {{name: sessions, namespace: {NS}}}\nspec: {{size: 4Gi}}\n"),
    )
    .unwrap();
    wait_until("the Cache kind served", Duration::from_secs(10), || {
        sim.kubectl(&["apply", "--server-side", "-f", cache.to_str().unwrap()])
            .status
            .success()
    });
    assert_eq!(
        jsonpath(
            &sim,
            &["cache", "sessions"],
            "{.spec.size} {.spec.evictionPolicy}"
        ),
        "4Gi allkeys-lru"
    );

    let applied = sim.ok(&["apply", "--server-side", "-f", fixtures().to_str().unwrap()]);
    for what in [
        "persistentvolumeclaim/dusk-uploads serverside-applied",
        "job.batch/dusk-migrate serverside-applied",
        "cronjob.batch/dusk-report serverside-applied",
        "poddisruptionbudget.policy/dusk-service serverside-applied",
        "networkpolicy.networking.k8s.io/dusk-service-ingress serverside-applied",
        "role.rbac.authorization.k8s.io/dusk-reporter serverside-applied",
        "rolebinding.rbac.authorization.k8s.io/dusk-reporter serverside-applied",
        "targetgroupbinding.elbv2.k8s.aws/dusk-service serverside-applied",
        "statefulset.apps/dusk-cache serverside-applied",
        "service/dusk-cache serverside-applied",
    ] {
        assert!(applied.contains(what), "{what} in {applied}");
    }

    // The StatefulSet rolls out in order, each ordinal with its own bound claim.
    let rollout = sim.ok(&[
        "rollout",
        "status",
        "statefulset/dusk-cache",
        "-n",
        NS,
        "--timeout=120s",
    ]);
    assert!(
        rollout.contains("partitioned roll out complete") || rollout.contains("roll out complete"),
        "{rollout}"
    );
    for ordinal in 0..2 {
        let claim = format!("pvc/data-dusk-cache-{ordinal}");
        assert_eq!(jsonpath(&sim, &[&claim], "{.status.phase}"), "Bound");
    }

    // The Job runs its two completions one at a time and completes.
    sim.ok(&[
        "wait",
        "--for=condition=complete",
        "job/dusk-migrate",
        "-n",
        NS,
        "--timeout=120s",
    ]);
    let jobs = sim.ok(&["get", "job", "dusk-migrate", "-n", NS]);
    assert!(jobs.contains("Complete") && jobs.contains("2/2"), "{jobs}");
    let done = sim.ok(&[
        "get",
        "pods",
        "-n",
        NS,
        "-l",
        "batch.kubernetes.io/job-name=dusk-migrate",
    ]);
    assert_eq!(done.matches("Completed").count(), 2, "{done}");

    // The claim waited for its first consumer, then bound to a new volume.
    wait_until("the claim bound", Duration::from_secs(60), || {
        jsonpath(&sim, &["pvc", "dusk-uploads"], "{.status.phase}") == "Bound"
    });

    // A claim of a class the cluster lacks stays Pending, and so does its pod,
    // with the scheduler's and the volume controller's words.
    let stuck = dir.path().join("stuck.yaml");
    std::fs::write(
        &stuck,
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: fast, namespace: {NS}}}\nspec:\n  storageClassName: io2-fast\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: uses-fast, namespace: {NS}}}\nspec:\n  containers: [{{name: c, image: 'busybox:1.36'}}]\n  volumes: [{{name: d, persistentVolumeClaim: {{claimName: fast}}}}]\n"
        ),
    )
    .unwrap();
    sim.ok(&["apply", "--server-side", "-f", stuck.to_str().unwrap()]);
    wait_until("the scheduler's event", Duration::from_secs(30), || {
        sim.ok(&[
            "get",
            "events",
            "-n",
            NS,
            "--field-selector",
            "involvedObject.name=uses-fast",
        ])
        .contains("pod has unbound immediate PersistentVolumeClaims")
    });
    assert_eq!(
        jsonpath(&sim, &["pod", "uses-fast"], "{.status.phase}"),
        "Pending"
    );
    assert_eq!(
        jsonpath(&sim, &["pod", "uses-fast"], "{.spec.nodeName}"),
        ""
    );
    let events = sim.ok(&[
        "get",
        "events",
        "-n",
        NS,
        "--field-selector",
        "involvedObject.name=fast",
    ]);
    assert!(
        events.contains("storageclass.storage.k8s.io \"io2-fast\" not found"),
        "{events}"
    );
    sim.ok(&["delete", "-f", stuck.to_str().unwrap(), "--wait=false"]);
    let pv = sim.ok(&["get", "pv"]);
    assert!(
        pv.contains("dusk-service/dusk-uploads") && pv.contains("5Gi") && pv.contains("gp3"),
        "{pv}"
    );
    let events = sim.ok(&[
        "get",
        "events",
        "-n",
        NS,
        "--field-selector",
        "involvedObject.name=dusk-uploads",
    ]);
    assert!(events.contains("WaitForFirstConsumer"), "{events}");
    assert!(events.contains("ProvisioningSucceeded"), "{events}");

    // The CronJob schedules a Job a minute (3 s at --speed 20) and records it.
    wait_until("a scheduled report", Duration::from_secs(60), || {
        let jobs = sim.ok(&["get", "jobs", "-n", NS]);
        jobs.lines()
            .any(|l| l.starts_with("dusk-report-") && l.contains("Complete"))
    });
    let cj = sim.ok(&["get", "cronjob", "dusk-report", "-n", NS]);
    assert!(
        cj.contains("* * * * *") && !cj.contains("<none>   <none>"),
        "{cj}"
    );
    assert!(
        !jsonpath(
            &sim,
            &["cronjob", "dusk-report"],
            "{.status.lastScheduleTime}"
        )
        .is_empty()
    );
    // kubectl builds a Job from the CronJob's template on the client side.
    sim.ok(&[
        "create",
        "job",
        "--from=cronjob/dusk-report",
        "report-by-hand",
        "-n",
        NS,
    ]);
    sim.ok(&[
        "wait",
        "--for=condition=complete",
        "job/report-by-hand",
        "-n",
        NS,
        "--timeout=60s",
    ]);

    // A Job whose pods fail exhausts its backoff limit.
    sim.ok_stdin(
        &["apply", "--server-side", "-f", "-"],
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: flaky, namespace: dusk-service}\nspec:\n  backoffLimit: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: 'example/flaky:1'}]\n",
    );
    sim.ok(&[
        "wait",
        "--for=condition=failed",
        "job/flaky",
        "-n",
        NS,
        "--timeout=90s",
    ]);
    assert_eq!(
        jsonpath(
            &sim,
            &["job", "flaky"],
            "{.status.conditions[?(@.type==\"Failed\")].reason}"
        ),
        "BackoffLimitExceeded"
    );

    // Tables as kubectl prints them.
    let t = sim.ok(&["get", "netpol,role,rolebinding,pdb", "-n", NS]);
    for want in [
        "app=dusk-service",
        "Role/dusk-reporter",
        "MIN AVAILABLE",
        "ALLOWED DISRUPTIONS",
    ] {
        assert!(t.contains(want), "{want} in {t}");
    }
    assert_eq!(
        jsonpath(&sim, &["pdb", "dusk-service"], "{.status.expectedPods}"),
        "0"
    );

    // A budget on the uploads pod: drain waits on it (the eviction API's 429),
    // then goes through once the budget allows it.
    sim.ok_stdin(
        &["apply", "--server-side", "-f", "-"],
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: uploads, namespace: dusk-service}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: dusk-uploads}}\n",
    );
    wait_until("the budget counted", Duration::from_secs(30), || {
        jsonpath(&sim, &["pdb", "uploads"], "{.status.currentHealthy}") == "1"
    });
    let node = jsonpath(
        &sim,
        &["pods", "-l", "app=dusk-uploads"],
        "{.items[0].spec.nodeName}",
    );
    let drain = sim.kubectl(&[
        "drain",
        &node,
        "--pod-selector",
        "app=dusk-uploads",
        "--ignore-daemonsets",
        "--timeout=6s",
    ]);
    assert!(!drain.status.success());
    assert!(
        err_of(&drain).contains("violate the pod's disruption budget"),
        "{}",
        err_of(&drain)
    );
    sim.ok(&[
        "patch",
        "pdb",
        "uploads",
        "-n",
        NS,
        "--type=merge",
        "-p",
        "{\"spec\":{\"minAvailable\":0}}",
    ]);
    wait_until("the budget allows one", Duration::from_secs(30), || {
        jsonpath(&sim, &["pdb", "uploads"], "{.status.disruptionsAllowed}") == "1"
    });
    let drained = sim.ok(&[
        "drain",
        &node,
        "--pod-selector",
        "app=dusk-uploads",
        "--timeout=30s",
    ]);
    assert!(drained.contains("evicted"), "{drained}");

    // A custom resource prints the CRD's columns, and its schema is enforced.
    let tgb = sim.ok(&["get", "targetgroupbindings", "-n", NS]);
    for want in [
        "SERVICE-NAME",
        "SERVICE-PORT",
        "TARGET-TYPE",
        "dusk-service",
        "80",
        "ip",
    ] {
        assert!(tgb.contains(want), "{want} in {tgb}");
    }
    let apps = sim.kubectl(&["get", "applications.argoproj.io", "-A"]);
    assert!(apps.status.success(), "{}", err_of(&apps));
    let bad_tgb = |spec: &str| {
        sim.kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            Some(&format!("apiVersion: elbv2.k8s.aws/v1beta1\nkind: TargetGroupBinding\nmetadata: {{name: bad, namespace: dusk-service}}\nspec: {spec}\n")),
        )
    };
    let e = err_of(&bad_tgb(
        "{serviceRef: {name: x, port: 80}, targetType: pod}",
    ));
    assert!(
        e.contains("spec.targetType: Unsupported value: \"pod\""),
        "{e}"
    );
    let e = err_of(&bad_tgb("{serviceRef: {name: x, port: 80}, targetTyp: ip}"));
    assert!(e.contains("unknown field \"spec.targetTyp\""), "{e}");
    let e = err_of(&bad_tgb("{targetType: ip}"));
    assert!(e.contains("spec.serviceRef: Required value"), "{e}");

    // Nothing to change: kubectl diff of the same manifests is empty.
    let diff = sim.kubectl(&["diff", "--server-side", "-f", fixtures().to_str().unwrap()]);
    assert_eq!(diff.status.code(), Some(0), "{}", err_of(&diff));

    // The ALB controller names an Ingress of class alb; an ELB names a LoadBalancer Service.
    sim.ok_stdin(
        &["apply", "--server-side", "-f", "-"],
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: dusk-service}\nspec:\n  ingressClassName: alb\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: edge, namespace: dusk-service}\nspec:\n  type: LoadBalancer\n  ports: [{port: 443}]\n",
    );
    wait_until("the ALB's name", Duration::from_secs(30), || {
        let host = jsonpath(
            &sim,
            &["ingress", "web"],
            "{.status.loadBalancer.ingress[0].hostname}",
        );
        host.starts_with("k8s-duskserv-web-") && host.ends_with(".elb.amazonaws.com")
    });
    wait_until("the ELB's name", Duration::from_secs(30), || {
        jsonpath(
            &sim,
            &["svc", "edge"],
            "{.status.loadBalancer.ingress[0].hostname}",
        )
        .ends_with(".elb.amazonaws.com")
    });
    let classes = sim.ok(&["get", "ingressclass"]);
    assert!(classes.contains("ingress.k8s.aws/alb"), "{classes}");

    // A CRD that goes takes its kind and objects with it.
    sim.ok(&["delete", "crd", "targetgroupbindings.elbv2.k8s.aws"]);
    wait_until("the kind unserved", Duration::from_secs(30), || {
        let (code, _) = sim.http(
            "GET",
            "/apis/elbv2.k8s.aws/v1beta1/namespaces/dusk-service/targetgroupbindings",
            &[],
            b"",
        );
        code == 404
    });

    // The API server's validation of the new kinds.
    let bad = sim.kubectl_stdin(
        &["apply", "--server-side", "-f", "-"],
        Some("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: bad, namespace: dusk-service}\nspec:\n  schedule: '61 * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Always\n          containers: [{name: c, image: x}]\n"),
    );
    let e = err_of(&bad);
    assert!(!bad.status.success());
    assert!(
        e.contains(
            "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"
        ),
        "{e}"
    );
    assert!(
        e.contains(
            "spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\""
        ),
        "{e}"
    );

    // A claim in use is protected: deleting it leaves it Terminating until
    // the pod using it is gone, then it goes and its volume with it.
    let volume = jsonpath(&sim, &["pvc", "dusk-uploads"], "{.spec.volumeName}");
    assert!(!volume.is_empty());
    sim.ok(&["delete", "pvc", "dusk-uploads", "-n", NS, "--wait=false"]);
    let claims = sim.ok(&["get", "pvc", "dusk-uploads", "-n", NS]);
    assert!(claims.contains("Terminating"), "{claims}");
    assert!(
        jsonpath(&sim, &["pvc", "dusk-uploads"], "{.metadata.finalizers}")
            .contains("kubernetes.io/pvc-protection")
    );
    sim.ok(&["delete", "deployment", "dusk-uploads", "-n", NS]);
    wait_until(
        "the claim gone with its user",
        Duration::from_secs(60),
        || {
            !sim.kubectl(&["get", "pvc", "dusk-uploads", "-n", NS])
                .status
                .success()
        },
    );
    wait_until("its volume deleted", Duration::from_secs(30), || {
        !sim.kubectl(&["get", "pv", &volume]).status.success()
    });
}

/// The issue's first try, redone: a CronJob, a PVC, a PDB and the rest added to
/// the demo's `k8s/dusk` apply with the release, reach their end states, and
/// the diff afterwards is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tierui_applies_them_with_the_release_and_then_sees_no_drift() {
    let sb = common::Sandbox::new();
    let ws = tempfile::tempdir().unwrap();
    tierui_core::paths::extract_demo(ws.path()).unwrap();
    for f in std::fs::read_dir(fixtures()).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&f, ws.path().join("k8s/dusk").join(f.file_name().unwrap())).unwrap();
        }
    }
    let sim = tierui_sim::start(tierui_sim::SimConfig {
        cluster_name: "dusk".into(),
        speed: 20.0,
        scenario: tierui_sim::scenario::Scenario {
            addons: vec!["aws-ebs-csi-driver".into()],
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let kubeconfig = ws.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig_yaml("dusk")).unwrap();
    let env = sb.env();
    let (root, kc) = (ws.path().to_path_buf(), kubeconfig.clone());
    let run = move |args: Vec<&'static str>| {
        let (env, root, kc) = (env.clone(), root.clone(), kc.clone());
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_tierui"))
                .envs(env)
                .current_dir(&root)
                .env("KUBECONFIG", &kc)
                .args(&args)
                .output()
                .expect("run tierui");
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
    };
    let kubectl = move |args: Vec<String>| {
        let kc = kubeconfig.clone();
        tokio::task::spawn_blocking(move || {
            let out = Command::new(support::kubectl_path())
                .env("KUBECONFIG", &kc)
                .args(&args)
                .output()
                .expect("kubectl must be installed (the README's test command installs it)");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    };

    // The ALB controller's CRD is there before the release, as its chart puts it.
    kubectl(vec![
        "apply".into(),
        "--server-side".into(),
        "-f".into(),
        crds()
            .join("elbv2.k8s.aws_targetgroupbindings.yaml")
            .to_string_lossy()
            .into_owned(),
    ])
    .await
    .unwrap();
    // A custom kind with schema defaults ships with the release too: the
    // defaults the server fills in must not show as drift.
    let crd = ws.path().join("cache-crd.yaml");
    std::fs::write(&crd, CACHE_CRD).unwrap();
    kubectl(vec![
        "apply".into(),
        "--server-side".into(),
        "-f".into(),
        crd.to_string_lossy().into_owned(),
    ])
    .await
    .unwrap();
    std::fs::write(
        ws.path().join("k8s/dusk/cache.yaml"),
        format!("apiVersion: example.com/v1\nkind: Cache\nmetadata: {{name: sessions, namespace: {NS}}}\nspec: {{size: 4Gi}}\n"),
    )
    .unwrap();
    let (code, out, err) = run(vec!["diff", "dusk-service", "--json"]).await.unwrap();
    assert_eq!(code, 1, "every object would be created: {out}{err}");
    let (code, out, err) = run(vec!["apply", "dusk-service", "--yes"]).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    for what in [
        "CronJob/dusk-report serverside-applied",
        "PersistentVolumeClaim/dusk-uploads serverside-applied",
        "PodDisruptionBudget/dusk-service serverside-applied",
        "Job/dusk-migrate serverside-applied",
        "TargetGroupBinding/dusk-service serverside-applied",
        "StatefulSet/dusk-cache serverside-applied",
        "Cache/sessions serverside-applied",
    ] {
        assert!(out.contains(what), "{what} in {out}");
    }
    let get = |what: &'static str, path: &'static str| {
        kubectl(vec![
            "get".into(),
            what.into(),
            "-n".into(),
            NS.into(),
            "-o".into(),
            format!("jsonpath={path}"),
        ])
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let pvc = get("pvc/dusk-uploads", "{.status.phase}").await.unwrap();
        let job = get(
            "job/dusk-migrate",
            "{.status.conditions[?(@.type==\"Complete\")].status}",
        )
        .await
        .unwrap();
        let cj = get("cronjob/dusk-report", "{.status.lastScheduleTime}")
            .await
            .unwrap();
        let sts = get("statefulset/dusk-cache", "{.status.readyReplicas}")
            .await
            .unwrap();
        let claim = get("pvc/data-dusk-cache-1", "{.status.phase}")
            .await
            .unwrap_or_default();
        if pvc == "Bound" && job == "True" && !cj.is_empty() && sts == "2" && claim == "Bound" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "end states not reached: pvc {pvc:?}, job complete {job:?}, cronjob last schedule {cj:?}, statefulset ready {sts:?}, its claim {claim:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The server filled in the schema's default the manifest leaves out…
    let policy = get("cache/sessions", "{.spec.evictionPolicy}")
        .await
        .unwrap();
    assert_eq!(policy, "allkeys-lru");
    // …and the diff does not call it drift.
    let (code, out, err) = run(vec!["diff", "dusk-service"]).await.unwrap();
    assert_eq!((code, out.as_str()), (0, ""), "no drift after apply: {err}");
    drop(sim);
}

/// A CRD whose schema has defaults (a cache size and eviction policy).
const CACHE_CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: caches.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: caches, singular: cache, kind: Cache}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: string, default: 1Gi}
                evictionPolicy: {type: string, default: allkeys-lru}
";

const STATEFUL: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: dusk-service}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "postgres:16.4"}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: gp3
        resources: {requests: {storage: 2Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent, namespace: dusk-service}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      containers: [{name: agent, image: "fluent/fluent-bit:3.1"}]
"#;

#[test]
fn statefulsets_and_daemonsets_roll_out_as_kubectl_expects() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("app-kinds.yaml");
    std::fs::write(&scenario, "name: app-kinds\naddons: [aws-ebs-csi-driver]\n").unwrap();
    let sim = SimProcess::start(&["--scenario", scenario.to_str().unwrap(), "--speed", "20"]);
    sim.ok(&["create", "namespace", NS]);
    sim.ok_stdin(&["apply", "--server-side", "-f", "-"], STATEFUL);

    let out = sim.ok(&[
        "rollout",
        "status",
        "statefulset/db",
        "-n",
        NS,
        "--timeout=120s",
    ]);
    assert!(
        out.contains("roll out complete") || out.contains("rolling update complete"),
        "{out}"
    );
    let pods = sim.ok(&["get", "pods", "-n", NS, "-l", "app=db", "-o", "name"]);
    assert_eq!(
        pods.lines().collect::<Vec<_>>(),
        ["pod/db-0", "pod/db-1", "pod/db-2"],
        "stable names"
    );
    wait_until("three claims bound", Duration::from_secs(60), || {
        jsonpath(&sim, &["pvc", "-l", "app=db"], "{.items[*].status.phase}") == "Bound Bound Bound"
    });
    let sts = sim.ok(&["get", "sts", "db", "-n", NS]);
    assert!(sts.contains("3/3"), "{sts}");

    // A new image rolls from db-2 down; then a scale-down keeps the claims.
    sim.ok(&[
        "set",
        "image",
        "statefulset/db",
        "db=postgres:16.5",
        "-n",
        NS,
    ]);
    sim.ok(&[
        "rollout",
        "status",
        "statefulset/db",
        "-n",
        NS,
        "--timeout=120s",
    ]);
    let images = jsonpath(
        &sim,
        &["pods", "-l", "app=db"],
        "{.items[*].spec.containers[0].image}",
    );
    assert_eq!(images, "postgres:16.5 postgres:16.5 postgres:16.5");

    // Each template is a revision: rollout history lists them, undo rolls back.
    let history = sim.ok(&["rollout", "history", "statefulset/db", "-n", NS]);
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(revisions, ["1", "2"], "{history}");
    let first = sim.ok(&[
        "rollout",
        "history",
        "statefulset/db",
        "-n",
        NS,
        "--revision=1",
    ]);
    assert!(first.contains("postgres:16.4"), "{first}");
    let revs = sim.ok(&["get", "controllerrevisions", "-n", NS]);
    assert!(revs.contains("statefulset.apps/db"), "{revs}");
    sim.ok(&[
        "rollout",
        "undo",
        "statefulset/db",
        "-n",
        NS,
        "--to-revision=1",
    ]);
    sim.ok(&[
        "rollout",
        "status",
        "statefulset/db",
        "-n",
        NS,
        "--timeout=120s",
    ]);
    wait_until("rolled back to 16.4", Duration::from_secs(60), || {
        jsonpath(
            &sim,
            &["pods", "-l", "app=db"],
            "{.items[*].spec.containers[0].image}",
        ) == "postgres:16.4 postgres:16.4 postgres:16.4"
    });
    let history = sim.ok(&["rollout", "history", "statefulset/db", "-n", NS]);
    let revisions: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(
        revisions,
        ["2", "3"],
        "the old template is the newest now: {history}"
    );
    sim.ok(&["scale", "statefulset/db", "--replicas=1", "-n", NS]);
    wait_until("scaled to one", Duration::from_secs(60), || {
        sim.ok(&["get", "pods", "-n", NS, "-l", "app=db", "-o", "name"])
            .trim()
            == "pod/db-0"
    });
    let claims = sim.ok(&["get", "pvc", "-n", NS, "-o", "name"]);
    assert_eq!(
        claims.lines().count(),
        3,
        "claims outlive the scale-down: {claims}"
    );

    // One agent per node, rolled out.
    let out = sim.ok(&[
        "rollout",
        "status",
        "daemonset/node-agent",
        "-n",
        NS,
        "--timeout=120s",
    ]);
    assert!(out.contains("successfully rolled out"), "{out}");
    let nodes = sim.ok(&["get", "nodes", "-o", "name"]).lines().count();
    let agents = jsonpath(
        &sim,
        &["pods", "-l", "app=node-agent"],
        "{.items[*].spec.nodeName}",
    );
    let mut on: Vec<&str> = agents.split_whitespace().collect();
    on.sort();
    on.dedup();
    assert_eq!(on.len(), nodes, "one per node: {agents}");
    let counts = jsonpath(
        &sim,
        &["ds", "node-agent"],
        "{.status.desiredNumberScheduled} {.status.numberReady} {.status.updatedNumberScheduled}",
    );
    assert_eq!(counts, format!("{nodes} {nodes} {nodes}"));

    // The DaemonSet's templates are revisions too.
    sim.ok(&[
        "set",
        "image",
        "daemonset/node-agent",
        "agent=fluent/fluent-bit:3.2",
        "-n",
        NS,
    ]);
    sim.ok(&[
        "rollout",
        "status",
        "daemonset/node-agent",
        "-n",
        NS,
        "--timeout=120s",
    ]);
    let history = sim.ok(&["rollout", "history", "daemonset/node-agent", "-n", NS]);
    assert!(
        history.lines().any(|l| l.trim_start().starts_with('2')),
        "{history}"
    );
    sim.ok(&["rollout", "undo", "daemonset/node-agent", "-n", NS]);
    wait_until("the agents back on 3.1", Duration::from_secs(60), || {
        let images = jsonpath(
            &sim,
            &["pods", "-l", "app=node-agent"],
            "{.items[*].spec.containers[0].image}",
        );
        !images.is_empty()
            && images
                .split_whitespace()
                .all(|i| i == "fluent/fluent-bit:3.1")
    });
}
