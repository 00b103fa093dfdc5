//! Helm releases as Helm itself keeps them: one Secret per revision, named
//! `sh.helm.release.v1.<name>.v<revision>`, of type `helm.sh/release.v1`,
//! labelled `owner=helm`. Its `data.release` is, under the Secret's own base64,
//! the base64 text of the gzipped JSON of the release (Helm's storage driver
//! gzips since 3.0; a record that is not gzipped is plain JSON, as Helm reads it).
//!
//! tierui reads these records without Helm: `helm list` for a cluster pane.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde::Serialize;
use serde_json::{Value as Json, json};

/// The Secret type Helm's storage driver gives its records.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";

/// The label selector of Helm's records (the type is checked again here).
pub const SELECTOR: &str = "owner=helm";

/// What a masked value shows instead of itself.
pub const MASKED: &str = "[secret]";

/// A decompressed record larger than this is refused (a record is a chart's
/// templates and manifest: kilobytes, at most a few megabytes).
const MAX_RECORD: u64 = 64 << 20;

/// Gzip's magic as Helm checks it: ID1, ID2 and the deflate method.
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// One revision of a Helm release, as `helm list` and `helm get values` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmRelease {
    pub name: String,
    pub namespace: String,
    /// The chart's name (`aws-load-balancer-controller`).
    pub chart: String,
    pub chart_version: String,
    pub app_version: String,
    /// Helm's revision (the record's `version`).
    pub revision: u64,
    /// `deployed`, `superseded`, `failed`, `pending-upgrade`…
    pub status: String,
    /// When this revision was deployed, as Helm wrote it (RFC 3339).
    pub last_deployed: String,
    /// Helm's description of the revision (`Upgrade complete`).
    pub description: String,
    /// The values the operator supplied (`helm get values`); decoded releases
    /// have the values of secret-looking keys masked.
    pub values: Json,
}

impl HelmRelease {
    /// `aws-load-balancer-controller-1.8.1`, as `helm list` names a chart.
    pub fn chart_label(&self) -> String {
        if self.chart_version.is_empty() {
            self.chart.clone()
        } else {
            format!("{}-{}", self.chart, self.chart_version)
        }
    }

    /// When it was deployed, `2025-06-09 15:06 UTC` (Helm's text when that
    /// cannot be read, `—` when there is none).
    pub fn deployed(&self) -> String {
        match self.last_deployed.parse::<jiff::Timestamp>() {
            Ok(ts) => ts.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            Err(_) if self.last_deployed.is_empty() => "—".into(),
            Err(_) => self.last_deployed.clone(),
        }
    }

    /// The name of the Secret Helm keeps this revision in.
    pub fn secret_name(&self) -> String {
        format!("sh.helm.release.v1.{}.v{}", self.name, self.revision)
    }
}

/// Whether a key name looks like it holds a secret: password, secret, token,
/// key, credential… in any case (`apiKey`, `DB_PASSWORD`, `clientSecret`).
pub fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "key",
        "credential",
        "cert",
        "auth",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// Values with what a secret-looking key holds replaced by [`MASKED`]: a
/// string or number itself, a map or list everything inside it (booleans and
/// nulls stay: `existingSecret: false` tells something and hides nothing).
pub fn mask_values(v: &Json) -> Json {
    fn all(v: &Json) -> Json {
        match v {
            Json::String(_) | Json::Number(_) => Json::String(MASKED.into()),
            Json::Array(a) => Json::Array(a.iter().map(all).collect()),
            Json::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), all(v))).collect()),
            other => other.clone(),
        }
    }
    match v {
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if looks_secret(k) {
                        all(v)
                    } else {
                        mask_values(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(mask_values).collect()),
        other => other.clone(),
    }
}

/// Decodes a record: the bytes of the Secret's `data.release` after the
/// Secret's own base64 (so base64 text of gzip, or of plain JSON). Values of
/// secret-looking keys come out masked. Never panics on what it is given.
pub fn decode_release(release: &[u8]) -> Result<HelmRelease, String> {
    let text: Vec<u8> = release
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let raw = STANDARD
        .decode(&text)
        .map_err(|e| format!("not a Helm release record: its data is not base64 ({e})"))?;
    let json = if raw.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_RECORD + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("not a Helm release record: its gzip is broken ({e})"))?;
        if out.len() as u64 > MAX_RECORD {
            return Err(format!(
                "not read: the Helm release record is over {} MiB uncompressed",
                MAX_RECORD >> 20
            ));
        }
        out
    } else {
        raw
    };
    let doc: Json = serde_json::from_slice(&json)
        .map_err(|e| format!("not a Helm release record: not gzip or JSON ({e})"))?;
    from_record(&doc)
}

/// The fields of a decoded record (Helm's `release.Release` JSON).
fn from_record(doc: &Json) -> Result<HelmRelease, String> {
    let s = |p: &str| {
        doc.pointer(p)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let name = s("/name");
    if name.is_empty() {
        return Err("not a Helm release record: it has no release name".into());
    }
    let values = match doc.get("config") {
        Some(v @ Json::Object(_)) => mask_values(v),
        _ => json!({}),
    };
    Ok(HelmRelease {
        name,
        namespace: s("/namespace"),
        chart: s("/chart/metadata/name"),
        chart_version: s("/chart/metadata/version"),
        app_version: s("/chart/metadata/appVersion"),
        revision: doc.get("version").and_then(Json::as_u64).unwrap_or(0),
        status: s("/info/status"),
        last_deployed: s("/info/last_deployed"),
        description: s("/info/description"),
        values,
    })
}

/// The record Helm would store for `r` (its values as given, unmasked): the
/// base64 text of the gzipped JSON, which is what `data.release` holds under
/// the Secret's own base64. For the sandbox's seed and tests.
pub fn encode_release(r: &HelmRelease) -> Vec<u8> {
    let doc = json!({
        "name": r.name,
        "namespace": r.namespace,
        "version": r.revision,
        "info": {
            "first_deployed": r.last_deployed,
            "last_deployed": r.last_deployed,
            "deleted": "",
            "description": r.description,
            "status": r.status,
        },
        "chart": {
            "metadata": {
                "apiVersion": "v2",
                "name": r.chart,
                "version": r.chart_version,
                "appVersion": r.app_version,
            },
            "values": {},
        },
        "config": r.values,
        "manifest": "",
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(doc.to_string().as_bytes());
    let zipped = gz.finish().unwrap_or_default();
    STANDARD.encode(zipped).into_bytes()
}

/// The Secret Helm keeps revision `r` in, ready to create or apply.
pub fn release_secret(r: &HelmRelease) -> Json {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": r.secret_name(),
            "namespace": r.namespace,
            "labels": {
                "name": r.name,
                "owner": "helm",
                "status": r.status,
                "version": r.revision.to_string(),
            },
        },
        "type": SECRET_TYPE,
        "data": {"release": STANDARD.encode(encode_release(r))},
    })
}

/// Keeps the newest revision of each release (by namespace and name), as
/// `helm list` shows it, whatever that revision's status; sorted by
/// namespace and name.
pub fn newest(records: impl IntoIterator<Item = HelmRelease>) -> Vec<HelmRelease> {
    let mut by_release: BTreeMap<(String, String), HelmRelease> = BTreeMap::new();
    for r in records {
        let key = (r.namespace.clone(), r.name.clone());
        match by_release.get(&key) {
            Some(have) if have.revision >= r.revision => {}
            _ => {
                by_release.insert(key, r);
            }
        }
    }
    by_release.into_values().collect()
}

/// Helm's records (its type; the selector asked only for owner=helm), and of
/// each release only the newest revision by its `name`/`version` labels, so
/// the superseded ones (each a gzipped chart and manifest) are not decoded.
/// Records without those labels are all kept (decoded, then [`newest`]).
fn newest_records(secrets: Vec<Secret>) -> Vec<Secret> {
    let mut best: BTreeMap<(String, String), (u64, Secret)> = BTreeMap::new();
    let mut unlabelled = Vec::new();
    for s in secrets {
        if s.type_.as_deref() != Some(SECRET_TYPE) {
            continue;
        }
        let labels = s.metadata.labels.as_ref();
        let label = |k: &str| labels.and_then(|l| l.get(k)).cloned();
        match (
            label("name"),
            label("version").and_then(|v| v.parse::<u64>().ok()),
        ) {
            (Some(name), Some(version)) => {
                let key = (s.metadata.namespace.clone().unwrap_or_default(), name);
                if best.get(&key).is_none_or(|(have, _)| *have < version) {
                    best.insert(key, (version, s));
                }
            }
            _ => unlabelled.push(s),
        }
    }
    unlabelled.extend(best.into_values().map(|(_, s)| s));
    unlabelled
}

/// The Helm releases installed in a cluster (every namespace): the newest
/// revision of each, from Helm's Secrets. A record that cannot be decoded is
/// left out (and logged); a failed list is the API's answer.
pub async fn list(client: &kube::Client) -> Result<Vec<HelmRelease>, String> {
    let api: Api<Secret> = Api::all(client.clone());
    let secrets = api
        .list(&ListParams::default().labels(SELECTOR))
        .await
        .map_err(|e| {
            format!(
                "listing Helm's release Secrets: {}",
                super::apply::api_error(e)
            )
        })?;
    let mut records = Vec::new();
    for s in newest_records(secrets.items) {
        let ns = s.metadata.namespace.clone().unwrap_or_default();
        let name = s.metadata.name.clone().unwrap_or_default();
        let Some(data) = s.data.as_ref().and_then(|d| d.get("release")) else {
            tracing::warn!("helm: Secret {ns}/{name} has no release data");
            continue;
        };
        match decode_release(&data.0) {
            Ok(mut r) => {
                if r.namespace.is_empty() {
                    r.namespace = ns;
                }
                records.push(r);
            }
            Err(e) => tracing::warn!("helm: Secret {ns}/{name}: {e}"),
        }
    }
    Ok(newest(records))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(name: &str, revision: u64, status: &str) -> HelmRelease {
        HelmRelease {
            name: name.into(),
            namespace: "kube-system".into(),
            chart: "metrics-server".into(),
            chart_version: "3.12.1".into(),
            app_version: "0.7.1".into(),
            revision,
            status: status.into(),
            last_deployed: "2025-01-02T03:04:05.000000006Z".into(),
            description: "Install complete".into(),
            values: json!({
                "args": ["--kubelet-insecure-tls"],
                "replicas": 2,
                "auth": {"existingSecret": false},
                "db": {"password": "hunter2", "user": "me", "port": 5432},
                "credentials": {"id": "AKIA", "value": "xyz"},
                "apiToken": 12345,
            }),
        }
    }

    #[test]
    fn round_trip_masks_secret_looking_values() {
        let r = release("metrics-server", 1, "deployed");
        let back = decode_release(&encode_release(&r)).unwrap();
        assert_eq!(back.name, "metrics-server");
        assert_eq!(back.namespace, "kube-system");
        assert_eq!(back.chart_label(), "metrics-server-3.12.1");
        assert_eq!(back.app_version, "0.7.1");
        assert_eq!(back.revision, 1);
        assert_eq!(back.status, "deployed");
        assert_eq!(back.last_deployed, r.last_deployed);
        assert_eq!(back.deployed(), "2025-01-02 03:04 UTC");
        assert_eq!(back.description, "Install complete");
        assert_eq!(
            back.values,
            json!({
                "args": ["--kubelet-insecure-tls"],
                "replicas": 2,
                "auth": {"existingSecret": false},
                "db": {"password": MASKED, "user": "me", "port": 5432},
                "credentials": {"id": MASKED, "value": MASKED},
                "apiToken": MASKED,
            })
        );
        assert_eq!(mask_values(&r.values), back.values);
    }

    #[test]
    fn secret_is_what_helm_stores() {
        let r = release("metrics-server", 3, "deployed");
        let s = release_secret(&r);
        assert_eq!(
            s["metadata"]["name"],
            "sh.helm.release.v1.metrics-server.v3"
        );
        assert_eq!(s["type"], SECRET_TYPE);
        assert_eq!(s["metadata"]["labels"]["owner"], "helm");
        assert_eq!(s["metadata"]["labels"]["version"], "3");
        // Under the Secret's base64: base64 text, whose bytes are gzip.
        let inner = STANDARD
            .decode(s["data"]["release"].as_str().unwrap())
            .unwrap();
        let zipped = STANDARD.decode(&inner).unwrap();
        assert_eq!(zipped[..3], GZIP_MAGIC);
        assert_eq!(decode_release(&inner).unwrap().revision, 3);
    }

    #[test]
    fn plain_json_records_are_read_as_helm_reads_them() {
        let plain = json!({"name": "x", "namespace": "ns", "version": 2, "info": {"status": "failed"}, "chart": {"metadata": {"name": "c", "version": "1.0.0"}}});
        let r = decode_release(STANDARD.encode(plain.to_string()).as_bytes()).unwrap();
        assert_eq!((r.name.as_str(), r.revision), ("x", 2));
        assert_eq!(r.status, "failed");
        assert_eq!(r.values, json!({}), "no config: no values");
    }

    #[test]
    fn garbage_gives_a_clear_error() {
        for (input, says) in [
            (&b"%%% not base64"[..], "not base64"),
            (STANDARD.encode("hello").as_bytes(), "not gzip or JSON"),
            (
                STANDARD.encode([0x1f, 0x8b, 0x08, 1, 2, 3]).as_bytes(),
                "gzip is broken",
            ),
            (
                STANDARD.encode(r#"{"version": 1}"#).as_bytes(),
                "no release name",
            ),
            (&b""[..], "not gzip or JSON"),
        ] {
            let e = decode_release(input).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn newest_revision_wins_whatever_its_status() {
        let mut other_ns = release("metrics-server", 9, "deployed");
        other_ns.namespace = "monitoring".into();
        let list = newest([
            release("metrics-server", 1, "superseded"),
            release("metrics-server", 3, "pending-upgrade"),
            release("metrics-server", 2, "superseded"),
            other_ns,
            release("alb", 1, "failed"),
        ]);
        let got: Vec<_> = list
            .iter()
            .map(|r| {
                (
                    r.namespace.as_str(),
                    r.name.as_str(),
                    r.revision,
                    r.status.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("kube-system", "alb", 1, "failed"),
                ("kube-system", "metrics-server", 3, "pending-upgrade"),
                ("monitoring", "metrics-server", 9, "deployed"),
            ]
        );
    }

    #[test]
    fn secret_looking_names() {
        for k in [
            "password",
            "DB_PASSWORD",
            "clientSecret",
            "apiKey",
            "token",
            "awsCredentials",
            "tlsCert",
        ] {
            assert!(looks_secret(k), "{k}");
        }
        for k in [
            "clusterName",
            "replicas",
            "image",
            "serviceAccount",
            "region",
        ] {
            assert!(!looks_secret(k), "{k}");
        }
    }
}
