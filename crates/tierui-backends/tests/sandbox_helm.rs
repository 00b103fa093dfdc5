//! The demo's sandbox clusters carry the platform's Helm releases as Helm
//! records; a cluster kept from before that seed receives them once, and a
//! release the operator uninstalled stays uninstalled.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams};
use tierui_backends::kube::connect::{Endpoint, client};
use tierui_backends::kube::helm;
use tierui_backends::sandbox::clusters::{CLUSTER_SEED, Sandbox, SimClusters};
use tierui_core::context::{Context, Options};
use tierui_core::paths::Dirs;

fn demo(tmp: &std::path::Path) -> Context {
    let root = tmp.join("demo");
    tierui_core::paths::extract_demo(&root).unwrap();
    Context {
        dirs: Dirs {
            config: tmp.join("config"),
            state: tmp.join("state"),
        },
        root,
        demo: true,
        sandbox: true,
        readonly: false,
        options: Options::default(),
    }
}

/// Starts day (as the UI would), lists its Helm releases, runs `then` on it
/// and stops it (its state file is written).
async fn with_day<F, Fut>(ctx: &Context, then: F) -> Vec<(String, u64, String)>
where
    F: FnOnce(kube::Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let ws = tierui_core::workspace::load(&ctx.root);
    let sandbox = Sandbox::open(ctx, &ws).unwrap();
    let sims = SimClusters::new(&sandbox, true);
    let url = sims
        .endpoint(&ws, ws.cluster("day").unwrap())
        .await
        .unwrap();
    let c = client(&Endpoint::Url(url)).await.unwrap();
    let listed = helm::list(&c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.chart_label(), r.revision, r.status))
        .collect();
    then(c).await;
    sims.shutdown().await;
    listed
}

async fn delete(c: kube::Client, names: &[&str]) {
    let api: Api<Secret> = Api::namespaced(c, "kube-system");
    for n in names {
        api.delete(n, &DeleteParams::default()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_carries_the_platform_releases_and_a_kept_cluster_receives_them_once() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = demo(tmp.path());
    let platform = vec![
        (
            "aws-load-balancer-controller-1.8.1".to_string(),
            2,
            "deployed".to_string(),
        ),
        (
            "metrics-server-3.12.1".to_string(),
            1,
            "deployed".to_string(),
        ),
    ];
    const RECORDS: [&str; 3] = [
        "sh.helm.release.v1.aws-load-balancer-controller.v1",
        "sh.helm.release.v1.aws-load-balancer-controller.v2",
        "sh.helm.release.v1.metrics-server.v1",
    ];
    // Fresh: seeded with the cluster; then made into a cluster from before the
    // Helm seed (no records, no seed version).
    let fresh = with_day(&ctx, |c| delete(c, &RECORDS)).await;
    assert_eq!(fresh, platform);
    let clusters = Sandbox::dir_of(&ctx).join("clusters");
    let version = clusters.join("day.seed-version");
    assert_eq!(
        std::fs::read_to_string(&version).unwrap(),
        CLUSTER_SEED.to_string()
    );
    std::fs::remove_file(&version).unwrap();

    // Kept from the older seed: the records arrive at the next start; then
    // the operator uninstalls metrics-server.
    let upgraded = with_day(&ctx, |c| delete(c, &[RECORDS[2]])).await;
    assert_eq!(upgraded, platform);
    assert_eq!(
        std::fs::read_to_string(&version).unwrap(),
        CLUSTER_SEED.to_string()
    );

    // Up to date: nothing comes back.
    let after = with_day(&ctx, |_| async {}).await;
    assert_eq!(after, platform[..1]);
}
