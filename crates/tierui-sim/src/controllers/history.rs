//! ControllerRevisions: the StatefulSet and DaemonSet controllers record
//! each pod template they run as a revision owned by the set, numbered in
//! order (a template coming back takes the next number, as after
//! `kubectl rollout undo`), the history trimmed to `revisionHistoryLimit`.
//! `kubectl rollout history` and `rollout undo` read and apply these.

use serde_json::{Value, json};

use crate::kinds;
use crate::state::State;

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

/// The owner's revisions as (revision, name), oldest first.
fn revisions(st: &State, ns: &str, owner_uid: &str) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = st
        .store
        .children_of(owner_uid)
        .into_iter()
        .filter(|(k, cns, _)| *k == kinds::CONTROLLERREVISION && cns == ns)
        .filter_map(|(_, _, n)| {
            let v = st.get_value(kinds::CONTROLLERREVISION, ns, &n)?;
            Some((v.get("revision").and_then(Value::as_i64).unwrap_or(0), n))
        })
        .collect();
    out.sort();
    out
}

/// Records `template` as revision `name` of `owner` (a StatefulSet or
/// DaemonSet in `ns`) unless it is already the newest; keeps `live` (the
/// revisions pods still run) and trims the rest to the owner's limit.
pub fn record(
    st: &mut State,
    ns: &str,
    owner: &Value,
    name: &str,
    template: &Value,
    live: &[&str],
) {
    let uid = s(owner, "/metadata/uid").to_string();
    let history = revisions(st, ns, &uid);
    let newest = history.last().map_or(0, |(r, _)| *r);
    match history.iter().find(|(_, n)| n == name) {
        Some((r, _)) if *r == newest => return,
        Some(_) => {
            // An older template back again: it becomes the newest revision.
            if let Some(mut cr) = st.get_value(kinds::CONTROLLERREVISION, ns, name) {
                cr["revision"] = json!(newest + 1);
                st.put(kinds::CONTROLLERREVISION, cr);
            }
        }
        None => {
            let mut tpl = template.clone();
            tpl["$patch"] = json!("replace");
            let mut labels = template
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or_else(|| json!({}));
            let hash = name.rsplit('-').next().unwrap_or(name);
            labels["controller-revision-hash"] = json!(hash);
            let cr = json!({
                "apiVersion": "apps/v1",
                "kind": "ControllerRevision",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": labels,
                    "ownerReferences": [{
                        "apiVersion": "apps/v1",
                        "kind": s(owner, "/kind"),
                        "name": s(owner, "/metadata/name"),
                        "uid": uid,
                        "controller": true,
                        "blockOwnerDeletion": true,
                    }],
                },
                "data": {"spec": {"template": tpl}},
                "revision": newest + 1,
            });
            st.put(kinds::CONTROLLERREVISION, cr);
        }
    }
    let limit = owner
        .pointer("/spec/revisionHistoryLimit")
        .and_then(Value::as_i64)
        .unwrap_or(10)
        .max(0) as usize;
    let old: Vec<String> = revisions(st, ns, &uid)
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n != name && !live.contains(&n.as_str()))
        .collect();
    for n in old.iter().take(old.len().saturating_sub(limit)) {
        st.store.remove(kinds::CONTROLLERREVISION, ns, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(st: &mut State) -> Value {
        let v = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "a", "uid": "u-db"},
            "spec": {"revisionHistoryLimit": 2, "selector": {"matchLabels": {"app": "db"}}}});
        st.put(kinds::STATEFULSET, v.clone());
        v
    }

    fn tpl(image: &str) -> Value {
        json!({"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": image}]}})
    }

    fn history(st: &State) -> Vec<(i64, String)> {
        revisions(st, "a", "u-db")
    }

    #[test]
    fn templates_are_numbered_in_order_and_a_return_takes_the_next_number() {
        let mut st = State::new(1);
        let owner = set(&mut st);
        record(&mut st, "a", &owner, "db-1111", &tpl("pg:16.3"), &[]);
        record(&mut st, "a", &owner, "db-1111", &tpl("pg:16.3"), &[]);
        record(
            &mut st,
            "a",
            &owner,
            "db-2222",
            &tpl("pg:16.4"),
            &["db-1111"],
        );
        assert_eq!(
            history(&st),
            [(1, "db-1111".to_string()), (2, "db-2222".to_string())]
        );
        let cr = st
            .get_value(kinds::CONTROLLERREVISION, "a", "db-2222")
            .unwrap();
        assert_eq!(s(&cr, "/data/spec/template/$patch"), "replace");
        assert_eq!(
            s(&cr, "/metadata/labels/app"),
            "db",
            "the set's selector finds it"
        );
        assert_eq!(s(&cr, "/metadata/ownerReferences/0/kind"), "StatefulSet");
        // Undo to the first template: it is revision 3 now.
        record(
            &mut st,
            "a",
            &owner,
            "db-1111",
            &tpl("pg:16.3"),
            &["db-2222"],
        );
        assert_eq!(
            history(&st),
            [(2, "db-2222".to_string()), (3, "db-1111".to_string())]
        );
    }

    #[test]
    fn history_is_trimmed_to_the_limit_but_never_what_pods_run() {
        let mut st = State::new(1);
        let owner = set(&mut st);
        for (i, name) in ["db-a", "db-b", "db-c", "db-d", "db-e"].iter().enumerate() {
            record(
                &mut st,
                "a",
                &owner,
                name,
                &tpl(&format!("pg:{i}")),
                &["db-a"],
            );
        }
        let names: Vec<String> = history(&st).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["db-a", "db-c", "db-d", "db-e"]);
    }
}
