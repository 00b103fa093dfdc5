//! Stock kubectl against `tierui sim`: every command the simulator promises.
//! These fail (never skip) when kubectl is missing.

#[path = "sim_support.rs"]
mod support;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use support::{SimProcess, kubectl_path, wait_until};

const WEB: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  namespace: default
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - containerPort: 80
          env:
            - name: MODE
              value: prod
"#;

fn write(sim: &SimProcess, name: &str, text: &str) -> String {
    let p = sim.dir.path().join(name);
    std::fs::write(&p, text).expect("write manifest");
    p.to_string_lossy().into_owned()
}

#[test]
fn kubectl_is_installed() {
    let out = std::process::Command::new(kubectl_path())
        .args(["version", "--client"])
        .output()
        .expect("kubectl runs");
    assert!(out.status.success());
}

#[test]
fn get_all_namespaces_yaml_json_and_describe() {
    let sim = SimProcess::start(&["--scenario", "steady", "--speed", "20"]);
    wait_until("dusk-service pods running", Duration::from_secs(30), || {
        sim.ok(&["get", "pods", "-n", "dusk-service"])
            .matches("Running")
            .count()
            == 3
    });
    let all = sim.ok(&["get", "-A", "pods"]);
    assert!(
        all.contains("NAMESPACE") && all.contains("dusk-service"),
        "{all}"
    );
    let everything = sim.ok(&["get", "all", "-A"]);
    for want in [
        "deployment.apps/dusk-service",
        "replicaset.apps/dusk-service-",
        "service/dusk-service",
        "horizontalpodautoscaler.autoscaling/dusk-service",
    ] {
        assert!(
            everything.contains(want),
            "missing {want} in:\n{everything}"
        );
    }
    // Short names resolve through discovery.
    for short in ["po", "deploy", "hpa", "ing", "no", "ns", "svc", "cm", "rs"] {
        sim.ok(&["get", short, "-A"]);
    }
    let yaml = sim.ok(&[
        "get",
        "deploy",
        "dusk-service",
        "-n",
        "dusk-service",
        "-o",
        "yaml",
    ]);
    assert!(
        yaml.contains("kind: Deployment")
            && yaml.contains("image: ghcr.io/example/dusk-service:v2.4.1"),
        "{yaml}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&sim.ok(&["get", "pods", "-n", "dusk-service", "-o", "json"]))
            .expect("json");
    assert_eq!(json["kind"], "List");
    assert_eq!(json["items"].as_array().map(Vec::len), Some(3));
    let d = sim.ok(&[
        "describe",
        "deployment",
        "dusk-service",
        "-n",
        "dusk-service",
    ]);
    assert!(
        d.contains("NewReplicaSet:") && d.contains("ScalingReplicaSet"),
        "{d}"
    );
    let pod = json["items"][0]["metadata"]["name"]
        .as_str()
        .expect("pod name")
        .to_string();
    let p = sim.ok(&["describe", "pod", &pod, "-n", "dusk-service"]);
    assert!(
        p.contains("Successfully assigned") && p.contains("Started container"),
        "{p}"
    );
    wait_until("HPA metrics", Duration::from_secs(30), || {
        sim.ok(&["get", "hpa", "-n", "dusk-service"])
            .contains("cpu: ")
            && !sim
                .ok(&["get", "hpa", "-n", "dusk-service"])
                .contains("<unknown>")
    });
    let h = sim.ok(&["describe", "hpa", "dusk-service", "-n", "dusk-service"]);
    assert!(
        h.contains("ScalingActive") && h.contains("ValidMetricFound"),
        "{h}"
    );
    let svc = sim.ok(&["describe", "svc", "dusk-service", "-n", "dusk-service"]);
    assert!(
        svc.lines()
            .any(|l| l.starts_with("Endpoints:") && l.matches(":8080").count() == 3),
        "{svc}"
    );
    let top = sim.ok(&["top", "pods", "-n", "dusk-service"]);
    assert!(
        top.contains("CPU(cores)") && top.contains("dusk-service-"),
        "{top}"
    );
    sim.ok(&["top", "nodes"]);
}

#[test]
fn apply_server_side_dry_run_diff_rollout_scale_delete() {
    let sim = SimProcess::start(&["--speed", "20"]);
    let web = write(&sim, "web.yaml", WEB);
    let out = sim.ok(&["apply", "--server-side", "-f", &web]);
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );
    let rv = sim.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);

    // Server-side dry run changes nothing, even when the manifest differs.
    let changed = write(&sim, "web2.yaml", &WEB.replace("nginx:1.27", "nginx:1.28"));
    let out = sim.ok(&["apply", "--server-side", "--dry-run=server", "-f", &changed]);
    assert!(out.contains("(server dry run)"), "{out}");
    let image = sim.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "nginx:1.27");

    wait_until("rollout", Duration::from_secs(30), || {
        sim.kubectl(&["rollout", "status", "deploy/web", "--timeout=20s"])
            .status
            .success()
    });
    let rv2 = sim.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    assert_eq!(rv2, "1", "dry run must not bump the generation");
    let _ = rv;

    // diff: 0 for the applied manifest, 1 for a changed one (3-way strategic patch with dryRun=All).
    let same = sim.kubectl(&["diff", "-f", &web]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "diff of the applied manifest: {}{}",
        String::from_utf8_lossy(&same.stdout),
        String::from_utf8_lossy(&same.stderr)
    );
    let diff = sim.kubectl(&["diff", "-f", &changed]);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        text.contains("-        image: nginx:1.27") && text.contains("+        image: nginx:1.28"),
        "{text}"
    );
    let ssa_diff = sim.kubectl(&["diff", "--server-side", "-f", &changed]);
    assert_eq!(ssa_diff.status.code(), Some(1));

    // A real rollout to the new image, followed to completion by kubectl.
    sim.ok(&["apply", "--server-side", "-f", &changed]);
    let status = sim.ok(&["rollout", "status", "deploy/web", "--timeout=60s"]);
    assert!(status.contains("successfully rolled out"), "{status}");
    let rs = sim.ok(&[
        "get",
        "rs",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.spec.replicas} {end}",
    ]);
    assert_eq!(
        rs.split_whitespace()
            .collect::<Vec<_>>()
            .iter()
            .filter(|r| **r == "0")
            .count(),
        1,
        "old RS scaled to zero: {rs}"
    );

    let out = sim.ok(&["scale", "deploy/web", "--replicas=4"]);
    assert!(out.contains("scaled"), "{out}");
    sim.ok(&["rollout", "status", "deploy/web", "--timeout=60s"]);
    wait_until("4 pods", Duration::from_secs(30), || {
        sim.ok(&["get", "pods", "-l", "app=web", "--no-headers"])
            .matches("Running")
            .count()
            == 4
    });

    let out = sim.ok(&["delete", "deploy", "web"]);
    assert!(out.contains("deleted"), "{out}");
    wait_until("pods gone", Duration::from_secs(30), || {
        sim.ok(&["get", "pods", "-l", "app=web", "-o", "name"])
            .trim()
            .is_empty()
    });
    assert!(!sim.kubectl(&["get", "deploy", "web"]).status.success());
    let rs = sim.ok(&["get", "rs", "-o", "name"]);
    assert!(rs.trim().is_empty(), "replica sets cascade: {rs}");
}

#[test]
fn server_side_apply_conflicts_need_force() {
    let sim = SimProcess::start(&["--speed", "20"]);
    let web = write(&sim, "web.yaml", WEB);
    sim.ok(&[
        "apply",
        "--server-side",
        "--field-manager=alice",
        "-f",
        &web,
    ]);
    let other = write(
        &sim,
        "other.yaml",
        &WEB.replace("replicas: 2", "replicas: 5"),
    );
    let out = sim.kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=bob",
        "-f",
        &other,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("conflict") && err.contains("alice") && err.contains(".spec.replicas"),
        "{err}"
    );
    sim.ok(&[
        "apply",
        "--server-side",
        "--field-manager=bob",
        "--force-conflicts",
        "-f",
        &other,
    ]);
    assert_eq!(
        sim.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "5"
    );
}

#[test]
fn get_watch_prints_changes() {
    let sim = SimProcess::start(&["--speed", "20"]);
    let before = write(
        &sim,
        "before.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: before\n",
    );
    sim.ok(&["apply", "--server-side", "-f", &before]);
    let mut child = sim
        .kubectl_command(&["get", "configmaps", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let next = |seen: &mut Vec<String>, want: &str| {
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
            seen.push(line.clone());
            if line.starts_with(want) {
                return true;
            }
        }
        false
    };
    // The list printed `before`; the watch resumes from the list's version, so
    // whatever is created now must arrive as a watch event.
    assert!(next(&mut seen, "before"), "{seen:?}");
    let cm = write(
        &sim,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\ndata:\n  a: '1'\n",
    );
    sim.ok(&["apply", "--server-side", "-f", &cm]);
    let got = next(&mut seen, "watched");
    let _ = child.kill();
    let _ = child.wait();
    assert!(got, "kubectl get -w printed: {seen:?}");
}

#[test]
fn strict_validation_client_side_apply_logs_nodes_and_namespaces() {
    let sim = SimProcess::start(&["--speed", "20"]);
    // kubectl asks for strict field validation; a typo is rejected by the server.
    let typo = write(&sim, "typo.yaml", &WEB.replace("replicas: 2", "replica: 2"));
    let out = sim.kubectl(&["apply", "--server-side", "-f", &typo]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field \"spec.replica\""), "{err}");
    // Plain (client-side) apply: create, then a three-way strategic patch.
    let web = write(&sim, "web.yaml", WEB);
    let out = sim.ok(&["apply", "-f", &web]);
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let changed = write(
        &sim,
        "web2.yaml",
        &WEB.replace("value: prod", "value: staging"),
    );
    let out = sim.ok(&["apply", "-f", &changed]);
    assert!(
        out.contains("deployment.apps/web configured") && out.contains("configmap/web unchanged"),
        "{out}"
    );
    let env = sim.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].env[0].value}",
    ]);
    assert_eq!(env, "staging");
    sim.ok(&["rollout", "status", "deploy/web", "--timeout=60s"]);
    let pod = sim.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let logs = sim.ok(&["logs", &pod]);
    assert!(logs.contains("starting web"), "{logs}");
    let node = sim.ok(&["get", "pod", &pod, "-o", "jsonpath={.spec.nodeName}"]);
    let d = sim.ok(&["describe", "node", &node]);
    assert!(d.contains("Non-terminated Pods") && d.contains(&pod), "{d}");
    let ev = sim.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={pod}"),
    ]);
    assert!(ev.contains("Scheduled"), "{ev}");
    let scratch = write(
        &sim,
        "scratch.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: scratch\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: scratch\ndata:\n  a: b\n",
    );
    sim.ok(&["apply", "--server-side", "-f", &scratch]);
    sim.ok(&["delete", "namespace", "scratch"]);
    assert!(
        !sim.kubectl(&["get", "configmap", "x", "-n", "scratch"])
            .status
            .success()
    );
}

#[test]
fn three_way_patches_delete_list_items_and_retain_keys() {
    let sim = SimProcess::start(&["--speed", "20"]);
    let web = write(&sim, "web.yaml", WEB);
    sim.ok(&["apply", "-f", &web]);
    // Dropping the env entry makes kubectl send `$patch: delete` for it; switching to
    // Recreate makes it send `$retainKeys` for the strategy.
    let next = WEB
        .replace(
            "          env:\n            - name: MODE\n              value: prod\n",
            "",
        )
        .replace(
            "  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
            "  strategy:\n    type: Recreate\n",
        );
    assert_ne!(next, WEB);
    let next = write(&sim, "next.yaml", &next);
    let diff = sim.kubectl(&["diff", "-f", &next]);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        text.contains("-        - name: MODE")
            && text.contains("-    rollingUpdate:")
            && text.contains("+    type: Recreate"),
        "{text}"
    );
    sim.ok(&["apply", "-f", &next]);
    let live: serde_json::Value =
        serde_json::from_str(&sim.ok(&["get", "deploy", "web", "-o", "json"])).expect("json");
    assert_eq!(
        live["spec"]["strategy"],
        serde_json::json!({"type": "Recreate"})
    );
    assert!(
        live["spec"]["template"]["spec"]["containers"][0]
            .get("env")
            .is_none(),
        "{}",
        live["spec"]["template"]
    );
    let same = sim.kubectl(&["diff", "-f", &next]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    sim.ok(&["rollout", "status", "deploy/web", "--timeout=60s"]);
}

#[test]
fn typed_client_commands_send_protobuf() {
    let sim = SimProcess::start(&["--speed", "20"]);
    sim.ok(&["create", "namespace", "scratch"]);
    sim.ok(&[
        "create",
        "configmap",
        "cfg",
        "-n",
        "scratch",
        "--from-literal=a=b",
    ]);
    sim.ok(&[
        "create",
        "secret",
        "generic",
        "sec",
        "-n",
        "scratch",
        "--from-literal=password=hunter2",
    ]);
    sim.ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "scratch",
        "--image=nginx:1.27",
        "--replicas=2",
        "--port=80",
    ]);
    sim.ok(&[
        "run",
        "solo",
        "-n",
        "scratch",
        "--image=busybox",
        "--env=A=1",
        "--",
        "sleep",
        "3600",
    ]);
    sim.ok(&[
        "expose",
        "deployment",
        "web",
        "-n",
        "scratch",
        "--port=8080",
        "--target-port=80",
    ]);
    assert_eq!(
        sim.ok(&[
            "get",
            "cm",
            "cfg",
            "-n",
            "scratch",
            "-o",
            "jsonpath={.data.a}"
        ]),
        "b"
    );
    assert_eq!(
        sim.ok(&[
            "get",
            "secret",
            "sec",
            "-n",
            "scratch",
            "-o",
            "jsonpath={.data.password}"
        ]),
        "aHVudGVyMg=="
    );
    assert_eq!(
        sim.ok(&[
            "get",
            "pod",
            "solo",
            "-n",
            "scratch",
            "-o",
            "jsonpath={.spec.containers[0].args}"
        ]),
        r#"["sleep","3600"]"#
    );
    assert_eq!(
        sim.ok(&[
            "get",
            "svc",
            "web",
            "-n",
            "scratch",
            "-o",
            "jsonpath={.spec.ports[0].targetPort}"
        ]),
        "80"
    );
    let out = sim.ok(&[
        "rollout",
        "status",
        "deploy/web",
        "-n",
        "scratch",
        "--timeout=60s",
    ]);
    assert!(out.contains("successfully rolled out"), "{out}");
    sim.ok(&["delete", "namespace", "scratch"]);
}

/// `kubectl create job --from=cronjob/x` copies the CronJob's pod template
/// into a Job sent as protobuf: every field an application's template uses
/// (volumes of each common source, mounts, envFrom and valueFrom, probes,
/// lifecycle, security contexts, tolerations, affinity, spread) arrives whole.
#[test]
fn a_job_from_a_cronjob_keeps_the_whole_pod_template() {
    let sim = SimProcess::start(&["--speed", "20"]);
    let dir = tempfile::tempdir().unwrap();
    let cj = dir.path().join("cj.yaml");
    std::fs::write(
        &cj,
        r#"apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: default}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: OnFailure
          serviceAccountName: reporter
          automountServiceAccountToken: false
          securityContext: {runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000, supplementalGroups: [3000, 3001], seccompProfile: {type: RuntimeDefault}}
          tolerations:
            - {key: dedicated, operator: Equal, value: batch, effect: NoSchedule}
            - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
          affinity:
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms:
                  - matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [arm64, amd64]}]
            podAntiAffinity:
              preferredDuringSchedulingIgnoredDuringExecution:
                - weight: 50
                  podAffinityTerm:
                    topologyKey: kubernetes.io/hostname
                    labelSelector: {matchLabels: {app: nightly}}
          topologySpreadConstraints:
            - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: nightly}}}
          imagePullSecrets: [{name: ghcr}]
          volumes:
            - {name: config, configMap: {name: nightly-config, defaultMode: 420, items: [{key: app.yaml, path: app.yaml}]}}
            - {name: creds, secret: {secretName: nightly-creds, optional: true}}
            - {name: scratch, emptyDir: {sizeLimit: 1Gi}}
            - {name: data, persistentVolumeClaim: {claimName: reports}}
            - name: token
              projected:
                sources:
                  - serviceAccountToken: {audience: sts.amazonaws.com, expirationSeconds: 86400, path: token}
          containers:
            - name: report
              image: ghcr.io/example/report:1.4.0
              command: [/bin/report]
              args: [--since=24h]
              envFrom:
                - configMapRef: {name: nightly-env}
                - prefix: DB_
                  secretRef: {name: nightly-db, optional: true}
              env:
                - {name: MODE, value: nightly}
                - name: POD_NAME
                  valueFrom: {fieldRef: {fieldPath: metadata.name}}
                - name: TOKEN
                  valueFrom: {secretKeyRef: {name: nightly-creds, key: token}}
                - name: MEM
                  valueFrom: {resourceFieldRef: {containerName: report, resource: limits.memory}}
              resources:
                requests: {cpu: 100m, memory: 128Mi}
                limits: {memory: 256Mi}
              volumeMounts:
                - {name: config, mountPath: /etc/report, readOnly: true}
                - {name: data, mountPath: /data, subPath: reports}
              readinessProbe:
                httpGet: {path: /healthz, port: http, httpHeaders: [{name: X-Probe, value: "1"}]}
                periodSeconds: 5
              livenessProbe:
                exec: {command: [cat, /tmp/alive]}
                initialDelaySeconds: 10
              lifecycle:
                preStop:
                  sleep: {seconds: 5}
              securityContext:
                allowPrivilegeEscalation: false
                readOnlyRootFilesystem: true
                capabilities: {drop: [ALL]}
"#,
    )
    .unwrap();
    sim.ok(&["apply", "--server-side", "-f", cj.to_str().unwrap()]);
    sim.ok(&["create", "job", "by-hand", "--from=cronjob/nightly"]);
    let spec = |what: &str, path: &str| -> serde_json::Value {
        let text = sim.ok(&["get", what, "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v.pointer(path).cloned().unwrap_or_default()
    };
    let want = spec("cronjob/nightly", "/spec/jobTemplate/spec/template/spec");
    let got = spec("job/by-hand", "/spec/template/spec");
    assert!(
        want["volumes"].as_array().is_some_and(|v| v.len() == 5),
        "{want}"
    );
    assert_eq!(got, want, "the Job's pod template is the CronJob's");
    assert_eq!(spec("job/by-hand", "/spec/backoffLimit"), 2);
}

#[test]
fn drain_moves_pods_off_a_cordoned_node() {
    let sim = SimProcess::start(&["--scenario", "steady", "--speed", "20"]);
    wait_until("pods running", Duration::from_secs(30), || {
        sim.ok(&["get", "pods", "-n", "dusk-service"])
            .matches("Running")
            .count()
            == 3
    });
    let node = sim.ok(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    let out = sim.ok(&["drain", &node, "--ignore-daemonsets", "--timeout=60s"]);
    assert!(out.contains("drained"), "{out}");
    assert!(
        sim.ok(&["get", "node", &node])
            .contains("SchedulingDisabled")
    );
    wait_until(
        "pods rescheduled elsewhere",
        Duration::from_secs(30),
        || {
            let nodes = sim.ok(&[
                "get",
                "pods",
                "-n",
                "dusk-service",
                "-o",
                "jsonpath={.items[*].spec.nodeName}",
            ]);
            nodes.split_whitespace().count() == 3 && !nodes.contains(&node)
        },
    );
    sim.ok(&["uncordon", &node]);
}
