//! Helm's release records read over HTTP from a simulated cluster: records
//! created through the API as Helm creates them, one look-alike that is not a
//! record, and the list `helm list` would show.

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use serde_json::json;
use tierui_backends::kube::connect::{Endpoint, client};
use tierui_backends::kube::helm::{self, HelmRelease};

fn release(name: &str, ns: &str, chart: (&str, &str, &str), rev: u64, status: &str) -> HelmRelease {
    HelmRelease {
        name: name.into(),
        namespace: ns.into(),
        chart: chart.0.into(),
        chart_version: chart.1.into(),
        app_version: chart.2.into(),
        revision: rev,
        status: status.into(),
        last_deployed: format!("2025-03-0{rev}T10:00:00Z"),
        description: "Upgrade complete".into(),
        values: json!({"clusterName": "day", "webhook": {"token": "s3cret"}}),
    }
}

async fn create(secrets: &Api<Secret>, s: serde_json::Value) {
    let s: Secret = serde_json::from_value(s).unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_the_newest_revision_of_each_release() {
    let sim = tierui_sim::start(tierui_sim::SimConfig::default())
        .await
        .unwrap();
    let c = client(&Endpoint::Url(sim.url())).await.unwrap();
    let namespaces: Api<Namespace> = Api::all(c.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "monitoring"}})).unwrap(),
        )
        .await
        .unwrap();
    let alb = ("aws-load-balancer-controller", "1.8.1", "v2.8.1");
    let ms = ("metrics-server", "3.12.1", "0.7.1");
    let records = [
        release(
            "aws-load-balancer-controller",
            "kube-system",
            alb,
            1,
            "superseded",
        ),
        release(
            "aws-load-balancer-controller",
            "kube-system",
            alb,
            2,
            "deployed",
        ),
        release("metrics-server", "monitoring", ms, 1, "superseded"),
        release("metrics-server", "monitoring", ms, 2, "failed"),
    ];
    for r in &records {
        let ns: Api<Secret> = Api::namespaced(c.clone(), &r.namespace);
        create(&ns, helm::release_secret(r)).await;
    }
    // Labelled like a record, but not Helm's type: not a release.
    let mut impostor = helm::release_secret(&release("impostor", "kube-system", ms, 7, "deployed"));
    impostor["type"] = json!("Opaque");
    impostor["metadata"]["name"] = json!("not-a-release");
    create(&Api::namespaced(c.clone(), "kube-system"), impostor).await;
    // Helm's type but no owner=helm label: not listed by the selector either.
    let mut unlabelled = helm::release_secret(&release("stray", "default", ms, 1, "deployed"));
    unlabelled["metadata"]["labels"] = json!({"name": "stray"});
    create(&Api::namespaced(c.clone(), "default"), unlabelled).await;

    let list = helm::list(&c).await.unwrap();
    let got: Vec<_> = list
        .iter()
        .map(|r| {
            (
                r.namespace.as_str(),
                r.name.as_str(),
                r.chart_label(),
                r.app_version.as_str(),
                r.revision,
                r.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "kube-system",
                "aws-load-balancer-controller",
                "aws-load-balancer-controller-1.8.1".to_string(),
                "v2.8.1",
                2,
                "deployed"
            ),
            (
                "monitoring",
                "metrics-server",
                "metrics-server-3.12.1".to_string(),
                "0.7.1",
                2,
                "failed"
            ),
        ]
    );
    assert_eq!(list[0].last_deployed, "2025-03-02T10:00:00Z");
    assert_eq!(
        list[0].values,
        json!({"clusterName": "day", "webhook": {"token": helm::MASKED}}),
        "values on request, secrets masked"
    );
    sim.shutdown().await;
}

/// A cluster that refuses the list says why (the API's status), rather than
/// showing no releases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_an_error_not_an_empty_list() {
    let sim = tierui_sim::start(tierui_sim::SimConfig::default())
        .await
        .unwrap();
    let url = sim.url();
    sim.shutdown().await;
    let c = client(&Endpoint::Url(url)).await.unwrap();
    let e = helm::list(&c).await.unwrap_err();
    assert!(e.starts_with("listing Helm's release Secrets:"), "{e}");
}
