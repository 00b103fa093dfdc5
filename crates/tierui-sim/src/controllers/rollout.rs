//! Rolling-update arithmetic and the pod-template hash, free of I/O.

use serde_json::{Map, Value};

use crate::clock::fnv;

/// `25%` or `1` against `total`; percentages round up for surge, down otherwise.
pub fn int_or_percent(v: Option<&Value>, total: i64, round_up: bool, default: &str) -> i64 {
    let text = match v {
        Some(Value::Number(n)) => return n.as_i64().unwrap_or(0).max(0),
        Some(Value::String(s)) => s.as_str(),
        _ => default,
    };
    match text
        .strip_suffix('%')
        .and_then(|p| p.trim().parse::<f64>().ok())
    {
        Some(p) => {
            let x = p * total as f64 / 100.0;
            (if round_up { x.ceil() } else { x.floor() }) as i64
        }
        None => text.parse().unwrap_or(0),
    }
}

/// (maxSurge, maxUnavailable) as the controller uses them: never both zero.
pub fn surge_and_unavailable(strategy: Option<&Value>, replicas: i64) -> (i64, i64) {
    let ru = strategy.and_then(|s| s.get("rollingUpdate"));
    let surge = int_or_percent(ru.and_then(|r| r.get("maxSurge")), replicas, true, "25%");
    let unavailable = int_or_percent(
        ru.and_then(|r| r.get("maxUnavailable")),
        replicas,
        false,
        "25%",
    );
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// How far the new ReplicaSet may grow now.
pub fn new_rs_target(replicas: i64, surge: i64, total_now: i64, new_now: i64) -> i64 {
    if new_now >= replicas {
        return replicas;
    }
    let room = (replicas + surge - total_now).max(0);
    (new_now + room).min(replicas)
}

/// How many old pods may go now without dropping below minimum availability.
pub fn old_scale_down_budget(
    replicas: i64,
    unavailable: i64,
    all_pods: i64,
    new_unavailable: i64,
) -> i64 {
    (all_pods - (replicas - unavailable) - new_unavailable).max(0)
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(x) = m.get(k) {
                    out.insert(k.clone(), canonical(x));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// pod-template-hash the way the controller spells it (decimal digits of a
/// 32-bit hash mapped through the name-suffix alphabet).
pub fn template_hash(template: &Value) -> String {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove("pod-template-hash");
    }
    let text = canonical(&t).to_string();
    let h = (fnv(text.as_bytes()) & 0xffff_ffff) as u32;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string()
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn surge_rounds_up_unavailable_down() {
        let strategy = json!({"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
        assert_eq!(surge_and_unavailable(Some(&strategy), 3), (1, 0));
        assert_eq!(surge_and_unavailable(Some(&strategy), 10), (3, 2));
        let zero = json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}});
        assert_eq!(surge_and_unavailable(Some(&zero), 5), (0, 1));
    }

    #[test]
    fn rolling_update_steps() {
        // 3 replicas, surge 1, unavailable 0: the new RS grows one at a time.
        assert_eq!(new_rs_target(3, 1, 3, 0), 1);
        assert_eq!(new_rs_target(3, 1, 4, 1), 1);
        // Old pods may go only as new ones become available.
        assert_eq!(old_scale_down_budget(3, 0, 4, 1), 0);
        assert_eq!(old_scale_down_budget(3, 0, 4, 0), 1);
        assert_eq!(new_rs_target(3, 1, 3, 1), 2);
    }

    #[test]
    fn template_hash_is_stable_and_label_blind() {
        let a = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "a", "image": "a:1"}]}});
        let mut b = a.clone();
        b["metadata"]["labels"]["pod-template-hash"] = json!("zzz");
        assert_eq!(template_hash(&a), template_hash(&b));
        let mut c = a.clone();
        c["spec"]["containers"][0]["image"] = json!("a:2");
        assert_ne!(template_hash(&a), template_hash(&c));
        assert!(
            template_hash(&a)
                .chars()
                .all(|ch| "bcdfghjklm456789".contains(ch))
        );
    }
}
