//! Values a render cannot know: Pulumi secrets (never decrypted), outputs known
//! only after apply, and names Pulumi picks at apply. A rendered object marks
//! them with placeholder strings; before anything is sent to a cluster each
//! placeholder is replaced by what the cluster already has there, or left out,
//! so no cluster ever stores "[secret]".

use serde_json::{Map, Value as Json};

use crate::workspace::pulumi::SECRET;

/// An output the program only learns after apply.
pub const KNOWN_AFTER_APPLY: &str = "[known after apply]";
/// A Kubernetes name Pulumi's provider chooses at apply (auto-naming).
pub const DECIDED_AT_APPLY: &str = "[decided at apply]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hole {
    Secret,
    KnownAfterApply,
    DecidedAtApply,
}

impl Hole {
    fn of(s: &str) -> Option<Hole> {
        match s {
            SECRET => Some(Hole::Secret),
            KNOWN_AFTER_APPLY => Some(Hole::KnownAfterApply),
            DECIDED_AT_APPLY => Some(Hole::DecidedAtApply),
            _ => None,
        }
    }
}

/// Every placeholder in `obj`, by JSON pointer.
pub fn holes(obj: &Json) -> Vec<(String, Hole)> {
    let mut out = Vec::new();
    walk(obj, String::new(), &mut out);
    out
}

fn walk(v: &Json, at: String, out: &mut Vec<(String, Hole)>) {
    match v {
        Json::String(s) => {
            if let Some(h) = Hole::of(s) {
                out.push((at, h));
            }
        }
        Json::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(x, format!("{at}/{i}"), out);
            }
        }
        Json::Object(m) => {
            for (k, x) in m {
                walk(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

/// What filling an object's holes from the cluster did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filled {
    /// One line per hole, for the diff's notes.
    pub notes: Vec<String>,
}

/// Replaces every placeholder in `body` with the live object's value at the same
/// place (a Secret's `stringData` key with its `data` key), or removes it when
/// the cluster has none. `Err` when the object's own name is decided at apply:
/// it cannot be sent at all.
pub fn fill(body: &mut Json, live: Option<&Json>, object: &str) -> Result<Filled, String> {
    let mut filled = Filled::default();
    for (at, hole) in holes(body) {
        if hole == Hole::DecidedAtApply && (at == "/metadata/name" || at.ends_with("/name")) {
            return Err(format!(
                "{object}: its name is decided by Pulumi at apply (auto-naming); it is not sent"
            ));
        }
        let what = match hole {
            Hole::Secret => "a Pulumi secret",
            Hole::KnownAfterApply => "known only after apply",
            Hole::DecidedAtApply => "decided at apply",
        };
        let live_at = live.and_then(|l| live_value(body, l, &at));
        match live_at {
            Some((target, value)) => {
                remove(body, &at);
                set(body, &target, value);
                filled.notes.push(format!(
                    "{object} {at}: {what}; compared by presence only (the cluster has one, kept as it is)"
                ));
            }
            None => {
                remove(body, &at);
                filled.notes.push(format!(
                    "{object} {at}: {what}; not in the cluster — it is left out of this diff and apply (`pulumi up` sets it)"
                ));
            }
        }
    }
    Ok(filled)
}

/// The object as the sandbox deploys it, as if `pulumi up` had run: a secret
/// becomes a stand-in that is not the placeholder, a value known only after
/// apply is left out, an auto-named object is not deployed (None).
pub fn stand_in(mut obj: Json) -> Option<Json> {
    for (at, hole) in holes(&obj) {
        match hole {
            Hole::DecidedAtApply => return None,
            Hole::KnownAfterApply => remove(&mut obj, &at),
            Hole::Secret => {
                if let Some(v) = obj.pointer_mut(&at) {
                    *v = Json::String(SANDBOX_SECRET.into());
                }
            }
        }
    }
    Some(obj)
}

/// What the sandbox holds where a real cluster holds a secret's value.
pub const SANDBOX_SECRET: &str = "sandbox-stand-in";

/// Where the live object holds the value for `at`, and that value.
fn live_value(body: &Json, live: &Json, at: &str) -> Option<(String, Json)> {
    if body["kind"] == "Secret"
        && let Some(key) = at.strip_prefix("/stringData/")
    {
        let target = format!("/data/{key}");
        return live.pointer(&target).map(|v| (target, v.clone()));
    }
    live.pointer(at).map(|v| (at.to_string(), v.clone()))
}

fn remove(obj: &mut Json, at: &str) {
    let Some((parent, last)) = at.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match obj.pointer_mut(parent) {
        Some(Json::Object(m)) => {
            m.remove(&last);
        }
        Some(Json::Array(a)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                a.remove(i);
            }
        }
        _ => {}
    }
}

fn set(obj: &mut Json, at: &str, value: Json) {
    let mut cur = obj;
    let parts: Vec<String> = at
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let Json::Object(m) = cur else { return };
        if last {
            m.insert(p.clone(), value);
            return;
        }
        cur = m
            .entry(p.clone())
            .or_insert_with(|| Json::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_secret_is_kept_from_the_cluster_and_never_sent() {
        let mut body = json!({"kind": "Secret", "metadata": {"name": "c"}, "stringData": {"API_KEY": SECRET, "MODE": "x"}});
        let live = json!({"kind": "Secret", "data": {"API_KEY": "c2VjcmV0"}});
        let f = fill(&mut body, Some(&live), "Secret/c").unwrap();
        assert_eq!(body["data"]["API_KEY"], "c2VjcmV0");
        assert!(body["stringData"].get("API_KEY").is_none());
        assert_eq!(body["stringData"]["MODE"], "x");
        assert!(f.notes[0].contains("presence only"));
        assert!(!body.to_string().contains(SECRET));
    }

    #[test]
    fn without_a_live_value_the_hole_is_left_out() {
        let mut body = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"HOST": KNOWN_AFTER_APPLY}});
        let f = fill(&mut body, None, "ConfigMap/c").unwrap();
        assert_eq!(body["data"], json!({}));
        assert!(f.notes[0].contains("not in the cluster"));
    }

    #[test]
    fn an_auto_named_object_is_not_sent() {
        let mut body = json!({"kind": "ConfigMap", "metadata": {"name": DECIDED_AT_APPLY}});
        assert!(fill(&mut body, None, "ConfigMap/x").is_err());
    }

    #[test]
    fn holes_are_found_by_pointer() {
        let o = json!({"a": [{"b": SECRET}], "c/d": KNOWN_AFTER_APPLY});
        let mut h = holes(&o);
        h.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(
            h,
            vec![
                ("/a/0/b".to_string(), Hole::Secret),
                ("/c~1d".to_string(), Hole::KnownAfterApply)
            ]
        );
    }
}
