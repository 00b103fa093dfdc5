//! The simulator's HTTP API at the wire: Status errors with the right codes for
//! bad requests (never a crash or a hang), selectors, pagination, dry run,
//! watch semantics (410, bookmarks, timeouts), subresources, tables, discovery
//! and OpenAPI.

mod support;

use serde_json::{Value, json};
use support::{http, json};
use tierui_sim::{SimConfig, SimHandle, start};

const JSON: (&str, &str) = ("Content-Type", "application/json");

struct Api {
    h: SimHandle,
}

impl Api {
    async fn new() -> Api {
        Api {
            h: start(SimConfig::default()).await.expect("start"),
        }
    }

    async fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let port = self.h.addr().port();
        let (m, p) = (method.to_string(), path.to_string());
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let body = body.to_vec();
        tokio::task::spawn_blocking(move || {
            let hs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            http(port, &m, &p, &hs, &body).expect("request")
        })
        .await
        .expect("join")
    }

    async fn status(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let (code, text) = self.req(method, path, headers, body).await;
        (code, json(&text))
    }

    async fn create_cm(&self, name: &str, labels: Value) -> Value {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"a": "1"}});
        let (code, v) = self
            .status(
                "POST",
                "/api/v1/namespaces/default/configmaps",
                &[JSON],
                body.to_string().as_bytes(),
            )
            .await;
        assert_eq!(code, 201, "{v}");
        v
    }
}

fn assert_status(code: u16, v: &Value, want_code: u16, reason: &str) {
    assert_eq!(code, want_code, "{v}");
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["code"], want_code, "{v}");
    assert_eq!(v["reason"], reason, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_status_errors() {
    let api = Api::new().await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let (c, v) = api.status("POST", cms, &[JSON], b"{\"kind\": ").await;
    assert_status(c, &v, 400, "BadRequest");
    let (c, v) = api
        .status(
            "POST",
            cms,
            &[("Content-Type", "application/yaml")],
            b"kind: [unclosed\n  - x: {",
        )
        .await;
    assert_status(c, &v, 400, "BadRequest");
    let (c, v) = api
        .status("POST", cms, &[JSON], &[0xff, 0xfe, 0x00, 0x01])
        .await;
    assert_status(c, &v, 400, "BadRequest");
    let (c, v) = api.status("POST", cms, &[JSON], b"").await;
    assert_status(c, &v, 400, "BadRequest");
    let (c, v) = api.status("POST", cms, &[JSON], b"[1, 2]").await;
    assert_status(c, &v, 400, "BadRequest");
    let (c, v) = api
        .status(
            "POST",
            cms,
            &[JSON],
            br#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}"#,
        )
        .await;
    assert_status(c, &v, 400, "BadRequest");
    let (c, v) = api.status("POST", cms, &[JSON], br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": 5}}"#).await;
    assert_status(c, &v, 400, "BadRequest");
    // Unknown kinds and paths.
    let (c, v) = api
        .status("GET", "/apis/apps/v1/namespaces/default/widgets", &[], b"")
        .await;
    assert_status(c, &v, 404, "NotFound");
    let (c, v) = api
        .status("GET", "/apis/nope.example.com/v1", &[], b"")
        .await;
    assert_status(c, &v, 404, "NotFound");
    let (c, v) = api
        .status(
            "GET",
            "/api/v1/namespaces/default/configmaps/missing",
            &[],
            b"",
        )
        .await;
    assert_status(c, &v, 404, "NotFound");
    assert_eq!(v["message"], "configmaps \"missing\" not found");
    // Invalid names and fields: 422 with causes.
    let (c, v) = api
        .status(
            "POST",
            cms,
            &[JSON],
            br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_Valid"}}"#,
        )
        .await;
    assert_status(c, &v, 422, "Invalid");
    assert_eq!(v["details"]["causes"][0]["field"], "metadata.name");
    let bad_deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c"}]}}}});
    let (c, v) = api
        .status(
            "POST",
            "/apis/apps/v1/namespaces/default/deployments",
            &[JSON],
            bad_deploy.to_string().as_bytes(),
        )
        .await;
    assert_status(c, &v, 422, "Invalid");
    assert_eq!(
        v["details"]["causes"].as_array().map(Vec::len),
        Some(2),
        "{v}"
    );
    // Namespaces that do not exist.
    let (c, v) = api
        .status(
            "POST",
            "/api/v1/namespaces/nowhere/configmaps",
            &[JSON],
            br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}"#,
        )
        .await;
    assert_status(c, &v, 404, "NotFound");
    // Selectors, patch types, methods.
    let (c, v) = api
        .status("GET", "/api/v1/pods?labelSelector=app%20in%20(", &[], b"")
        .await;
    assert_status(c, &v, 400, "BadRequest");
    let (c, v) = api
        .status("GET", "/api/v1/pods?fieldSelector=spec.nope%3Dx", &[], b"")
        .await;
    assert_status(c, &v, 400, "BadRequest");
    api.create_cm("p", json!({})).await;
    let (c, v) = api
        .status(
            "PATCH",
            &format!("{cms}/p"),
            &[("Content-Type", "text/plain")],
            b"{}",
        )
        .await;
    assert_status(c, &v, 415, "UnsupportedMediaType");
    let (c, v) = api
        .status(
            "PATCH",
            &format!("{cms}/p"),
            &[("Content-Type", "application/merge-patch+json")],
            b"{oops",
        )
        .await;
    assert_status(c, &v, 400, "BadRequest");
    let (c, v) = api
        .status(
            "PATCH",
            &format!("{cms}/p"),
            &[("Content-Type", "application/apply-patch+yaml")],
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p}\n",
        )
        .await;
    assert_status(c, &v, 400, "BadRequest");
    let (c, v) = api.status("PUT", cms, &[JSON], b"{}").await;
    assert_status(c, &v, 405, "MethodNotAllowed");
    let big = vec![b' '; 4 * 1024 * 1024];
    let (c, v) = api.status("POST", cms, &[JSON], &big).await;
    assert_status(c, &v, 413, "RequestEntityTooLarge");
    // Still serving after all of that.
    let (c, _) = api.req("GET", "/healthz", &[], b"").await;
    assert_eq!(c, 200);
    api.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_and_dry_run() {
    let api = Api::new().await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let created = api.create_cm("c", json!({})).await;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let (c, v) = api
        .status("POST", cms, &[JSON], body.to_string().as_bytes())
        .await;
    assert_status(c, &v, 409, "AlreadyExists");
    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    stale["data"]["a"] = json!("2");
    let (c, v) = api
        .status(
            "PUT",
            &format!("{cms}/c"),
            &[JSON],
            stale.to_string().as_bytes(),
        )
        .await;
    assert_status(c, &v, 409, "Conflict");
    // dryRun=All on every write leaves the store as it was.
    let mut fresh = created.clone();
    fresh["data"]["a"] = json!("dry");
    let (c, v) = api
        .status(
            "PUT",
            &format!("{cms}/c?dryRun=All"),
            &[JSON],
            fresh.to_string().as_bytes(),
        )
        .await;
    assert_eq!((c, &v["data"]["a"]), (200, &json!("dry")));
    let (c, v) = api
        .status(
            "PATCH",
            &format!("{cms}/c?dryRun=All"),
            &[("Content-Type", "application/merge-patch+json")],
            br#"{"data": {"a": "dry2"}}"#,
        )
        .await;
    assert_eq!((c, &v["data"]["a"]), (200, &json!("dry2")));
    let (c, _) = api
        .status(
            "POST",
            &format!("{cms}?dryRun=All"),
            &[JSON],
            br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ghost"}}"#,
        )
        .await;
    assert_eq!(c, 201);
    let (c, _) = api
        .status("DELETE", &format!("{cms}/c?dryRun=All"), &[], b"")
        .await;
    assert_eq!(c, 200);
    let (_, v) = api.status("GET", &format!("{cms}/c"), &[], b"").await;
    assert_eq!(v["data"]["a"], "1");
    assert_eq!(
        v["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    let (c, _) = api.status("GET", &format!("{cms}/ghost"), &[], b"").await;
    assert_eq!(c, 404);
    let (c, v) = api
        .status("POST", &format!("{cms}?dryRun=Some"), &[JSON], b"{}")
        .await;
    assert_status(c, &v, 400, "BadRequest");
    api.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selectors_and_pagination() {
    let api = Api::new().await;
    for (i, tier) in ["web", "api", "db", "web", "api"].iter().enumerate() {
        api.create_cm(&format!("cm{i}"), json!({"tier": tier, "n": i.to_string()}))
            .await;
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| {
                        i["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, v) = api
        .status(
            "GET",
            "/api/v1/namespaces/default/configmaps?labelSelector=tier%20in%20(web%2Capi)%2Cn!%3D0",
            &[],
            b"",
        )
        .await;
    assert_eq!(names(&v), ["cm1", "cm3", "cm4"]);
    let (_, v) = api
        .status("GET", "/api/v1/configmaps?labelSelector=!tier", &[], b"")
        .await;
    assert!(names(&v).is_empty());
    let (_, v) = api
        .status(
            "GET",
            "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcm2",
            &[],
            b"",
        )
        .await;
    assert_eq!(names(&v), ["cm2"]);
    let mut all = Vec::new();
    let mut remaining = Vec::new();
    let mut path = "/api/v1/namespaces/default/configmaps?limit=2".to_string();
    loop {
        let (_, v) = api.status("GET", &path, &[], b"").await;
        all.extend(names(&v));
        remaining.push(v["metadata"]["remainingItemCount"].as_i64());
        match v["metadata"]["continue"].as_str() {
            Some(c) if !c.is_empty() => {
                path = format!("/api/v1/namespaces/default/configmaps?limit=2&continue={c}")
            }
            _ => break,
        }
    }
    assert_eq!(all, ["cm0", "cm1", "cm2", "cm3", "cm4"]);
    // What is left after each page, as the API server estimates it; none on the last.
    assert_eq!(remaining, [Some(3), Some(1), None]);
    // With a selector the count is omitted (Kubernetes cannot know it cheaply).
    let (_, v) = api
        .status(
            "GET",
            "/api/v1/namespaces/default/configmaps?limit=2&labelSelector=x!%3Dy",
            &[],
            b"",
        )
        .await;
    assert!(
        v["metadata"]["continue"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    assert!(v["metadata"].get("remainingItemCount").is_none(), "{v}");
    let (c, v) = api
        .status(
            "GET",
            "/api/v1/namespaces/default/configmaps?limit=2&continue=garbage!",
            &[],
            b"",
        )
        .await;
    assert_status(c, &v, 400, "BadRequest");
    api.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_semantics() {
    let api = Api::new().await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let first = api.create_cm("w1", json!({})).await;
    let rv: u64 = first["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .expect("rv");
    api.create_cm("w2", json!({})).await;
    // From a version: only what came after, then a closing bookmark at the timeout.
    let (c, body) = api
        .req(
            "GET",
            &format!(
                "{cms}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1"
            ),
            &[],
            b"",
        )
        .await;
    assert_eq!(c, 200);
    let events: Vec<Value> = body.lines().map(json).collect();
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "w2");
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("BOOKMARK"))
    );
    // Without a version: the current state as ADDED events.
    let (_, body) = api
        .req(
            "GET",
            &format!("{cms}?watch=true&timeoutSeconds=1"),
            &[],
            b"",
        )
        .await;
    assert_eq!(body.lines().filter(|l| l.contains("\"ADDED\"")).count(), 2);
    // After compaction an old version gets an ERROR event with a 410 Status.
    api.h.compact();
    let (c, body) = api
        .req(
            "GET",
            &format!("{cms}?watch=1&resourceVersion={rv}&timeoutSeconds=5"),
            &[],
            b"",
        )
        .await;
    assert_eq!(c, 200);
    let ev = json(body.lines().next().expect("an event"));
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    let (c, v) = api
        .status(
            "GET",
            &format!("{cms}?watch=1&resourceVersion=abc"),
            &[],
            b"",
        )
        .await;
    assert_status(c, &v, 400, "BadRequest");
    api.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_scale_tables_discovery_and_openapi() {
    let api = Api::new().await;
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}},
            "spec": {"containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]}, {"name": "b", "image": "b:1"}]}}}});
    let base = "/apis/apps/v1/namespaces/default/deployments";
    let (c, _) = api
        .status("POST", base, &[JSON], deploy.to_string().as_bytes())
        .await;
    assert_eq!(c, 201);
    let smp = json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
        "containers": [{"name": "b", "image": "b:2"}, {"name": "a", "env": [{"name": "X", "$patch": "delete"}, {"name": "Y", "value": "2"}]}]}}}});
    let (c, v) = api
        .status(
            "PATCH",
            &format!("{base}/d"),
            &[("Content-Type", "application/strategic-merge-patch+json")],
            smp.to_string().as_bytes(),
        )
        .await;
    assert_eq!(c, 200, "{v}");
    let cs = &v["spec"]["template"]["spec"]["containers"];
    assert_eq!(
        (cs[0]["name"].as_str(), cs[1]["image"].as_str()),
        (Some("a"), Some("b:2"))
    );
    assert_eq!(cs[0]["env"], json!([{"name": "Y", "value": "2"}]));
    assert_eq!(v["metadata"]["generation"], 2);
    let (c, v) = api
        .status(
            "PATCH",
            &format!("{base}/d"),
            &[("Content-Type", "application/json-patch+json")],
            br#"[{"op": "replace", "path": "/spec/replicas", "value": 2}]"#,
        )
        .await;
    assert_eq!((c, &v["spec"]["replicas"]), (200, &json!(2)));
    // The scale subresource, as kubectl scale uses it.
    let (c, v) = api
        .status(
            "PATCH",
            &format!("{base}/d/scale"),
            &[("Content-Type", "application/merge-patch+json")],
            br#"{"spec": {"replicas": 3}}"#,
        )
        .await;
    assert_eq!(
        (c, &v["kind"], &v["spec"]["replicas"]),
        (200, &json!("Scale"), &json!(3))
    );
    let (_, v) = api
        .status("GET", &format!("{base}/d/scale"), &[], b"")
        .await;
    assert_eq!(v["status"]["selector"], "app=d");
    // Server-side printing.
    let table = (
        "Accept",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    );
    let (_, v) = api.status("GET", base, &[table], b"").await;
    assert_eq!(v["kind"], "Table");
    assert_eq!(v["columnDefinitions"][1]["name"], "Ready");
    assert_eq!(v["rows"][0]["cells"][0], "d");
    // Legacy discovery, even when aggregated discovery is asked for.
    let agg = (
        "Accept",
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    );
    let (_, v) = api.status("GET", "/apis", &[agg], b"").await;
    assert_eq!(v["kind"], "APIGroupList");
    let (_, v) = api.status("GET", "/api/v1", &[], b"").await;
    let pods = v["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["name"] == "pods"))
        .cloned()
        .expect("pods");
    assert_eq!(pods["shortNames"], json!(["po"]));
    let (_, v) = api.status("GET", "/apis/autoscaling/v2", &[], b"").await;
    assert!(v["resources"].to_string().contains("\"hpa\""));
    let (_, v) = api.status("GET", "/version", &[], b"").await;
    assert_eq!(v["major"], "1");
    let (_, idx) = api.status("GET", "/openapi/v3", &[], b"").await;
    let url = idx["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .expect("apps/v1 in the v3 index")
        .to_string();
    let (c, doc) = api.status("GET", &url, &[], b"").await;
    assert_eq!(c, 200);
    assert!(doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"].is_object());
    let (c, v2) = api
        .status("GET", "/openapi/v2", &[("Accept", "application/json")], b"")
        .await;
    assert_eq!((c, &v2["swagger"]), (200, &json!("2.0")));
    // Metrics are computed, read-only.
    let (c, v) = api
        .status("GET", "/apis/metrics.k8s.io/v1beta1/nodes", &[], b"")
        .await;
    assert_eq!((c, &v["kind"]), (200, &json!("NodeMetricsList")));
    let (c, v) = api
        .status("POST", "/apis/metrics.k8s.io/v1beta1/nodes", &[JSON], b"{}")
        .await;
    assert_status(c, &v, 405, "MethodNotAllowed");
    api.h.shutdown().await;
}

/// Pod metrics are paged like any list (limit/continue): every pod of the
/// unpaged list, once, in pages of at most 2 — at 150,000 pods a page is
/// computed at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_metrics_are_paged() {
    let api = Api {
        h: start(SimConfig {
            pods: 7,
            ..SimConfig::default()
        })
        .await
        .expect("start"),
    };
    let (c, all) = api
        .status("GET", "/apis/metrics.k8s.io/v1beta1/pods", &[], b"")
        .await;
    assert_eq!(c, 200);
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| format!("{}/{}", m["metadata"]["namespace"], m["metadata"]["name"]))
            .collect()
    };
    let want = names(&all);
    assert!(want.len() > 2, "the scenario runs pods: {want:?}");
    let (mut got, mut cont, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let path = format!("/apis/metrics.k8s.io/v1beta1/pods?limit=2&continue={cont}");
        let (c, page) = api.status("GET", &path, &[], b"").await;
        assert_eq!(c, 200, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 2);
        got.extend(names(&page));
        pages += 1;
        match page["metadata"]["continue"].as_str() {
            Some(c) if !c.is_empty() => cont = c.to_string(),
            _ => break,
        }
    }
    assert_eq!(got, want);
    assert!(pages >= want.len().div_ceil(2));
    api.h.shutdown().await;
}

/// Metadata-only reads (`as=PartialObjectMetadata[List]`, what kube-rs's
/// metadata watchers ask for): list, get and watch carry the metadata and
/// never a Secret's data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_reads() {
    let api = Api::new().await;
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "default"},
        "data": {"password": "aHVudGVyMg=="}});
    let (c, _) = api
        .status(
            "POST",
            "/api/v1/namespaces/default/secrets",
            &[JSON],
            secret.to_string().as_bytes(),
        )
        .await;
    assert_eq!(c, 201);
    let meta = (
        "Accept",
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
    );
    let (c, body) = api
        .req("GET", "/api/v1/namespaces/default/secrets", &[meta], b"")
        .await;
    assert_eq!(c, 200);
    assert!(
        !body.contains("aHVudGVyMg"),
        "no data in a metadata list: {body}"
    );
    let v = json(&body);
    assert_eq!(v["kind"], "PartialObjectMetadataList");
    assert_eq!(v["items"][0]["kind"], "PartialObjectMetadata");
    assert_eq!(v["items"][0]["metadata"]["name"], "creds");
    let one = (
        "Accept",
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
    );
    let (_, body) = api
        .req(
            "GET",
            "/api/v1/namespaces/default/secrets/creds",
            &[one],
            b"",
        )
        .await;
    assert!(!body.contains("aHVudGVyMg"), "{body}");
    assert_eq!(json(&body)["metadata"]["name"], "creds");
    let (_, body) = api
        .req(
            "GET",
            "/api/v1/namespaces/default/secrets?watch=true&timeoutSeconds=1",
            &[meta],
            b"",
        )
        .await;
    assert!(
        body.contains("\"ADDED\"") && body.contains("PartialObjectMetadata"),
        "{body}"
    );
    assert!(!body.contains("aHVudGVyMg"), "{body}");
    // Without the header: the whole object, as before.
    let (_, body) = api
        .req("GET", "/api/v1/namespaces/default/secrets/creds", &[], b"")
        .await;
    assert!(body.contains("aHVudGVyMg"));
    api.h.shutdown().await;
}
