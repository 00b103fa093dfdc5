//! Label selectors (equality- and set-based, as in `?labelSelector=` and in
//! `spec.selector`) and field selectors (`?fieldSelector=`).

use std::fmt;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq,
    NotEq,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
    pub values: Vec<String>,
}

/// All requirements must hold; an empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    pub reqs: Vec<Requirement>,
    /// A null `spec.selector` selects nothing (unlike `{}`).
    pub nothing: bool,
}

impl LabelSelector {
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    pub fn is_everything(&self) -> bool {
        self.reqs.is_empty() && !self.nothing
    }

    /// Parses the string form used in query parameters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_requirement(part)?);
        }
        Ok(LabelSelector {
            reqs,
            nothing: false,
        })
    }

    /// Reads a `metav1.LabelSelector` (`matchLabels` and `matchExpressions`).
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let Some(obj) = v.as_object() else {
            return Ok(LabelSelector {
                reqs: Vec::new(),
                nothing: true,
            });
        };
        let mut reqs = Vec::new();
        if let Some(ml) = obj.get("matchLabels").and_then(Value::as_object) {
            for (k, val) in ml {
                let val = val
                    .as_str()
                    .ok_or_else(|| format!("matchLabels.{k}: must be a string"))?;
                check_key(k)?;
                reqs.push(Requirement {
                    key: k.clone(),
                    op: Op::Eq,
                    values: vec![val.to_string()],
                });
            }
        }
        if let Some(exprs) = obj.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or("matchExpressions: key is required")?;
                check_key(key)?;
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let op = match e.get("operator").and_then(Value::as_str) {
                    Some("In") => Op::In,
                    Some("NotIn") => Op::NotIn,
                    Some("Exists") => Op::Exists,
                    Some("DoesNotExist") => Op::DoesNotExist,
                    other => {
                        return Err(format!("{other:?} is not a valid label selector operator"));
                    }
                };
                if matches!(op, Op::In | Op::NotIn) && values.is_empty() {
                    return Err(format!(
                        "matchExpressions {key}: values must be non-empty for In and NotIn"
                    ));
                }
                reqs.push(Requirement {
                    key: key.to_string(),
                    op,
                    values,
                });
            }
        }
        Ok(LabelSelector {
            reqs,
            nothing: false,
        })
    }

    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        if self.nothing {
            return false;
        }
        self.reqs.iter().all(|r| {
            let got = labels
                .iter()
                .find(|(k, _)| *k == r.key)
                .map(|(_, v)| v.as_str());
            r.matches(got)
        })
    }

    pub fn matches_json(&self, labels: Option<&Value>) -> bool {
        self.matches(&labels_of(labels))
    }
}

impl Requirement {
    fn matches(&self, got: Option<&str>) -> bool {
        match self.op {
            Op::Eq | Op::In => got.is_some_and(|g| self.values.iter().any(|v| v == g)),
            Op::NotEq | Op::NotIn => got.is_none_or(|g| self.values.iter().all(|v| v != g)),
            Op::Exists => got.is_some(),
            Op::DoesNotExist => got.is_none(),
            Op::Gt | Op::Lt => {
                let (Some(g), Some(v)) = (
                    got.and_then(|g| g.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == Op::Gt { g > v } else { g < v }
            }
        }
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .reqs
            .iter()
            .map(|r| match r.op {
                Op::Eq => format!("{}={}", r.key, r.values.join(",")),
                Op::NotEq => format!("{}!={}", r.key, r.values.join(",")),
                Op::In => format!("{} in ({})", r.key, r.values.join(",")),
                Op::NotIn => format!("{} notin ({})", r.key, r.values.join(",")),
                Op::Exists => r.key.clone(),
                Op::DoesNotExist => format!("!{}", r.key),
                Op::Gt => format!("{}>{}", r.key, r.values.join(",")),
                Op::Lt => format!("{}<{}", r.key, r.values.join(",")),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Labels of an object's `metadata.labels` as pairs.
pub fn labels_of(labels: Option<&Value>) -> Vec<(String, String)> {
    labels
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Splits on commas that are not inside `( )`.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 316
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid label key {key:?}"))
    }
}

fn check_value(value: &str) -> Result<(), String> {
    let ok = value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid label value: {value:?}"))
    }
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    let err = || format!("unable to parse requirement: {part:?}");
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        check_key(key)?;
        return Ok(Requirement {
            key: key.into(),
            op: Op::DoesNotExist,
            values: vec![],
        });
    }
    for (sym, op) in [
        ("!=", Op::NotEq),
        ("==", Op::Eq),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
    ] {
        if let Some((k, v)) = part.split_once(sym) {
            let (k, v) = (k.trim(), v.trim());
            check_key(k)?;
            check_value(v)?;
            return Ok(Requirement {
                key: k.into(),
                op,
                values: vec![v.into()],
            });
        }
    }
    // Set-based: `key in (a,b)` / `key notin (a,b)`.
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    if words.len() == 2 {
        let key = words[0].trim();
        let rest = words[1].trim();
        let (op, list) = if let Some(l) = rest.strip_prefix("notin") {
            (Op::NotIn, l)
        } else if let Some(l) = rest.strip_prefix("in") {
            (Op::In, l)
        } else {
            return Err(err());
        };
        let list = list.trim();
        let inner = list
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .ok_or_else(err)?;
        check_key(key)?;
        let values: Vec<String> = inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        for v in &values {
            check_value(v)?;
        }
        if values.is_empty() {
            return Err(format!(
                "{}: for 'in', 'notin' operators, values set can't be empty",
                key
            ));
        }
        return Ok(Requirement {
            key: key.into(),
            op,
            values,
        });
    }
    check_key(part).map_err(|_| err())?;
    Ok(Requirement {
        key: part.into(),
        op: Op::Exists,
        values: vec![],
    })
}

/// `?fieldSelector=a=b,c!=d`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    pub reqs: Vec<(String, bool, String)>,
}

impl FieldSelector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_unescaped_commas(text) {
            if part.trim().is_empty() {
                continue;
            }
            let (field, eq, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{text}'; can't understand '{part}'"
                ));
            };
            reqs.push((field.trim().to_string(), eq, unescape(value.trim())));
        }
        Ok(FieldSelector { reqs })
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// The value a `metadata.name=x` requirement pins, which lets a lookup skip
    /// scanning.
    pub fn pinned(&self, field: &str) -> Option<&str> {
        self.reqs
            .iter()
            .find(|(f, eq, _)| f == field && *eq)
            .map(|(_, _, v)| v.as_str())
    }

    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.reqs.iter().all(|(field, eq, value)| {
            let got = get(field).unwrap_or("");
            (got == value) == *eq
        })
    }
}

fn split_unescaped_commas(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in v.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn equality_and_set_based() {
        let s = LabelSelector::parse("app=web,tier in (front, back),!legacy,env!=prod").unwrap();
        assert_eq!(s.reqs.len(), 4);
        assert!(s.matches(&l(&[("app", "web"), ("tier", "front")])));
        assert!(!s.matches(&l(&[("app", "web"), ("tier", "db")])));
        assert!(!s.matches(&l(&[("app", "web"), ("tier", "front"), ("legacy", "")])));
        assert!(!s.matches(&l(&[("app", "web"), ("tier", "back"), ("env", "prod")])));
        let s = LabelSelector::parse("tier notin (db),app").unwrap();
        assert!(s.matches(&l(&[("app", "x")])));
        assert!(!s.matches(&l(&[("app", "x"), ("tier", "db")])));
        assert!(!s.matches(&l(&[("tier", "web")])));
    }

    #[test]
    fn malformed_selectors_are_errors() {
        assert!(LabelSelector::parse("app in (").is_err());
        assert!(LabelSelector::parse("a b c").is_err());
        assert!(LabelSelector::parse("app=(x)").is_err());
        assert!(LabelSelector::parse("").unwrap().is_everything());
    }

    #[test]
    fn json_selector() {
        let s = LabelSelector::from_json(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]
        }))
        .unwrap();
        assert!(s.matches(&l(&[("app", "web"), ("tier", "a")])));
        assert_eq!(s.to_string(), "app=web,tier in (a)");
        assert!(!LabelSelector::from_json(&Value::Null).unwrap().matches(&[]));
        assert!(LabelSelector::from_json(&json!({})).unwrap().matches(&[]));
    }

    #[test]
    fn field_selectors() {
        let f = FieldSelector::parse("metadata.name=web,status.phase!=Failed").unwrap();
        assert_eq!(f.pinned("metadata.name"), Some("web"));
        let get = |k: &str| match k {
            "metadata.name" => Some("web"),
            "status.phase" => Some("Running"),
            _ => None,
        };
        assert!(f.matches(get));
        let f = FieldSelector::parse("status.phase==Running,spec.nodeName=").unwrap();
        assert!(f.matches(|k| if k == "status.phase" {
            Some("Running")
        } else {
            None
        }));
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
