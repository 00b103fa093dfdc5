//! `:KIND` against a simulated cluster over HTTP: discovery lists the kinds
//! an application uses with their short names, and the table watcher follows
//! CronJobs, the Jobs they schedule and a StatefulSet's claims as the server
//! prints them, through creation, change and deletion.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::json;
use tierui_backends::kube::connect::{Endpoint, client};
use tierui_backends::kube::table::{self, Column, TableRow};
use tierui_backends::kube::watch::{Change, Scope, Update};

#[derive(Default)]
struct Seen {
    columns: Vec<Column>,
    rows: std::collections::BTreeMap<String, TableRow>,
    listed: bool,
}

fn wait(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn watch(
    c: &kube::Client,
    res: &table::Resource,
    ns: &str,
) -> (Arc<Mutex<Seen>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s2 = seen.clone();
    let sink: tierui_backends::kube::watch::Sink = Arc::new(move |u| {
        let mut s = s2.lock().unwrap();
        match u {
            Update::Columns(c) => s.columns = c,
            Update::Table(Change::Upsert { row }) => {
                s.rows.insert(row.name.clone(), row);
            }
            Update::Table(Change::Delete { name, .. }) => {
                s.rows.remove(&name);
            }
            Update::Table(Change::Listed) => s.listed = true,
            _ => {}
        }
    });
    let scope = Scope {
        namespace: Some(ns.into()),
        selector: None,
        resource: Some(res.clone()),
    };
    let task = tokio::spawn(table::watch_table(c.clone(), scope, sink));
    (seen, task)
}

async fn apply(
    c: &kube::Client,
    api_version: &str,
    kind: &str,
    plural: &str,
    body: serde_json::Value,
) {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let ar = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    let name = body["metadata"]["name"].as_str().unwrap().to_string();
    Api::<DynamicObject>::namespaced_with(c.clone(), "shop", &ar)
        .patch(
            &name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(body),
        )
        .await
        .unwrap_or_else(|e| panic!("{kind} {name}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_live_tables_of_any_kind() {
    let sim = tierui_sim::start(tierui_sim::SimConfig {
        speed: 30.0,
        scenario: tierui_sim::scenario::Scenario::parse("addons: [aws-ebs-csi-driver]\n").unwrap(),
        ..tierui_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let c = client(&Endpoint::Url(sim.url())).await.unwrap();
    let all = table::resources(&c).await.unwrap();
    for (word, kind) in [
        ("cj", "CronJob"),
        ("sts", "StatefulSet"),
        ("pvc", "PersistentVolumeClaim"),
        ("pdb", "PodDisruptionBudget"),
        ("netpol", "NetworkPolicy"),
        ("sc", "StorageClass"),
        ("jobs", "Job"),
        ("ds", "DaemonSet"),
    ] {
        assert_eq!(table::resolve(&all, word).unwrap().kind, kind, "{word}");
    }
    assert!(
        !all.iter().any(|r| r.plural.contains('/')),
        "no subresources"
    );

    let ns: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(json!({"metadata": {"name": "shop"}})).unwrap();
    Api::<k8s_openapi::api::core::v1::Namespace>::all(c.clone())
        .create(&Default::default(), &ns)
        .await
        .unwrap();
    let cronjobs = table::resolve(&all, "cronjobs").unwrap().clone();
    let (seen, task) = watch(&c, &cronjobs, "shop");
    wait("the first list", Duration::from_secs(10), || {
        seen.lock().unwrap().listed
    });
    let names: Vec<String> = seen
        .lock()
        .unwrap()
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(
        &names[..7],
        [
            "Name",
            "Schedule",
            "Timezone",
            "Suspend",
            "Active",
            "Last Schedule",
            "Age"
        ]
    );

    apply(&c, "batch/v1", "CronJob", "cronjobs", json!({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "shop"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "r", "image": "report:1"}]}}}}}})).await;
    wait("the CronJob's row", Duration::from_secs(10), || {
        seen.lock()
            .unwrap()
            .rows
            .get("report")
            .is_some_and(|r| r.cells[1] == "* * * * *")
    });
    // Its first Job is scheduled (a minute is 2 s here): LAST SCHEDULE fills in live.
    wait("a last schedule", Duration::from_secs(30), || {
        seen.lock()
            .unwrap()
            .rows
            .get("report")
            .is_some_and(|r| r.cells[5] != "<none>")
    });
    let cj_uid = seen.lock().unwrap().rows["report"].uid.clone();

    // The Jobs it owns, found by the owner's uid as Enter finds them.
    let jobs = table::resolve(&all, "jobs").unwrap().clone();
    let (jseen, jtask) = watch(&c, &jobs, "shop");
    wait(
        "a Complete job of the CronJob",
        Duration::from_secs(30),
        || {
            jseen.lock().unwrap().rows.values().any(|r| {
                r.owners
                    .iter()
                    .any(|(o, u)| o == "CronJob/report" && *u == cj_uid)
                    && r.cells[1] == "Complete"
            })
        },
    );

    // Deleted: the row goes.
    let ar = ApiResource {
        group: "batch".into(),
        version: "v1".into(),
        api_version: "batch/v1".into(),
        kind: "CronJob".into(),
        plural: "cronjobs".into(),
    };
    Api::<DynamicObject>::namespaced_with(c.clone(), "shop", &ar)
        .delete("report", &DeleteParams::default())
        .await
        .unwrap();
    wait("the row gone", Duration::from_secs(10), || {
        !seen.lock().unwrap().rows.contains_key("report")
    });

    // A StatefulSet's claims, Bound, under :pvc.
    apply(&c, "apps/v1", "StatefulSet", "statefulsets", json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "shop"},
        "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})).await;
    let pvc = table::resolve(&all, "pvc").unwrap().clone();
    let (pseen, ptask) = watch(&c, &pvc, "shop");
    wait("two claims bound on gp3", Duration::from_secs(60), || {
        let s = pseen.lock().unwrap();
        ["data-db-0", "data-db-1"].iter().all(|n| {
            s.rows
                .get(*n)
                .is_some_and(|r| r.cells[1] == "Bound" && r.cells[5] == "gp3")
        })
    });
    for t in [task, jtask, ptask] {
        t.abort();
    }
}
