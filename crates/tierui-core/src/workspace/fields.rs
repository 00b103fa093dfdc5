//! Typed reading of YAML mappings with positioned diagnostics.
//!
//! Parsers walk a mapping with [`Fields`], asking for each field by type. A field of
//! the wrong type becomes an error at its line:column, a field the format knows but
//! tierui does not model yet becomes a precise "not supported yet" note, and a field
//! nobody knows becomes an "unknown field" warning — the rest of the file still loads.

use serde::Serialize;

use super::yaml::{Node, Pos, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file (or this part of it) could not be understood.
    Error,
    /// Understood, but probably not what the author meant (unknown field).
    Warning,
    /// A valid field tierui does not act on yet.
    Unsupported,
}

/// A finding inside one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: usize,
    pub col: usize,
    /// Dotted path of the field (`managedNodeGroups[0].instanceType`), empty for syntax errors.
    pub path: String,
    pub message: String,
}

impl Diagnostic {
    pub fn error(pos: Pos, path: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, pos, path, message)
    }

    pub fn new(severity: Severity, pos: Pos, path: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            line: pos.line,
            col: pos.col,
            path: path.to_string(),
            message: message.into(),
        }
    }
}

pub type Diags = Vec<Diagnostic>;

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Reader over one mapping node.
pub struct Fields<'a> {
    node: &'a Node,
    path: String,
    seen: Vec<String>,
}

impl<'a> Fields<'a> {
    /// `None` (with an error) when `node` is not a mapping; a null node reads as empty.
    pub fn of(node: &'a Node, path: &str, diags: &mut Diags) -> Option<Self> {
        match node.value {
            Value::Map(_) | Value::Null => Some(Fields {
                node,
                path: path.to_string(),
                seen: Vec::new(),
            }),
            _ => {
                let what = if path.is_empty() {
                    "the document"
                } else {
                    path
                };
                diags.push(Diagnostic::error(
                    node.pos(),
                    path,
                    format!("expected a mapping for {what}, found {}", node.type_name()),
                ));
                None
            }
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn pos(&self) -> Pos {
        self.node.pos()
    }

    pub fn child_path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The raw node under `key`, marking it read. Null values read as absent.
    pub fn node(&mut self, key: &str) -> Option<&'a Node> {
        self.seen.push(key.to_string());
        self.node.get(key).filter(|n| !n.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.node.get(key).is_some_and(|n| !n.is_null())
    }

    /// Keys present in the mapping, in file order.
    pub fn keys(&self) -> Vec<(String, Pos)> {
        self.node
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, _)| Some((k.key_text()?, k.pos())))
            .collect()
    }

    fn wrong(&self, diags: &mut Diags, key: &str, node: &Node, want: &str) {
        diags.push(Diagnostic::error(
            node.pos(),
            &self.child_path(key),
            format!(
                "{} must be {want}, found {}",
                self.child_path(key),
                node.type_name()
            ),
        ));
    }

    /// A string field. Numbers and booleans are accepted as their text, as Kubernetes
    /// and eksctl do for string-typed fields written without quotes (`version: 1.31`).
    pub fn string(&mut self, key: &str, diags: &mut Diags) -> Option<String> {
        let node = self.node(key)?;
        match node.scalar_text() {
            Some(s) => Some(s),
            None => {
                self.wrong(diags, key, node, "a string");
                None
            }
        }
    }

    /// A string field that must be present.
    pub fn required_string(&mut self, key: &str, diags: &mut Diags) -> Option<String> {
        let value = self.string(key, diags);
        if value.is_none() && self.node.get(key).is_none_or(|n| n.is_null()) {
            diags.push(Diagnostic::error(
                self.node.pos(),
                &self.child_path(key),
                format!("missing required field {}", self.child_path(key)),
            ));
        }
        value
    }

    pub fn bool(&mut self, key: &str, diags: &mut Diags) -> Option<bool> {
        let node = self.node(key)?;
        match &node.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if s == "true" || s == "false" => Some(s == "true"),
            _ => {
                self.wrong(diags, key, node, "true or false");
                None
            }
        }
    }

    pub fn int(&mut self, key: &str, diags: &mut Diags) -> Option<i64> {
        let node = self.node(key)?;
        match &node.value {
            Value::Int(i) => Some(*i),
            _ => {
                self.wrong(diags, key, node, "an integer");
                None
            }
        }
    }

    /// A list of strings; a single scalar is accepted as a one-element list.
    pub fn strings(&mut self, key: &str, diags: &mut Diags) -> Vec<String> {
        let Some(node) = self.node(key) else {
            return Vec::new();
        };
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item.scalar_text() {
                    Some(s) => Some(s),
                    None => {
                        diags.push(Diagnostic::error(
                            item.pos(),
                            &format!("{}[{i}]", self.child_path(key)),
                            format!(
                                "{}[{i}] must be a string, found {}",
                                self.child_path(key),
                                item.type_name()
                            ),
                        ));
                        None
                    }
                })
                .collect(),
            _ => match node.scalar_text() {
                Some(s) => vec![s],
                None => {
                    self.wrong(diags, key, node, "a list of strings");
                    Vec::new()
                }
            },
        }
    }

    /// A mapping of string to string (labels, tags).
    pub fn string_map(&mut self, key: &str, diags: &mut Diags) -> Vec<(String, String)> {
        let Some(node) = self.node(key) else {
            return Vec::new();
        };
        let Some(entries) = node.as_map() else {
            self.wrong(diags, key, node, "a mapping of strings");
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|(k, v)| {
                let name = k.key_text()?;
                match v.scalar_text() {
                    Some(s) => Some((name, s)),
                    None if v.is_null() => Some((name, String::new())),
                    None => {
                        let path = self.child_path(key);
                        diags.push(Diagnostic::error(
                            v.pos(),
                            &join(&path, &name),
                            format!("{path}.{name} must be a string, found {}", v.type_name()),
                        ));
                        None
                    }
                }
            })
            .collect()
    }

    /// A nested mapping.
    pub fn map(&mut self, key: &str, diags: &mut Diags) -> Option<Fields<'a>> {
        let path = self.child_path(key);
        let node = self.node(key)?;
        Fields::of(node, &path, diags)
    }

    /// A list of items; each comes with its own path (`key[i]`).
    pub fn seq(&mut self, key: &str, diags: &mut Diags) -> Vec<(String, &'a Node)> {
        let path = self.child_path(key);
        let Some(node) = self.node(key) else {
            return Vec::new();
        };
        match node.as_seq() {
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("{path}[{i}]"), n))
                .collect(),
            None => {
                self.wrong(diags, key, node, "a list");
                Vec::new()
            }
        }
    }

    /// Every entry of the mapping with its path, all marked read (for maps keyed by
    /// data, such as subnets by availability zone).
    pub fn entries(&mut self) -> Vec<(String, String, &'a Node)> {
        let entries: Vec<_> = self
            .node
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, v)| {
                let key = k.key_text()?;
                Some((key.clone(), self.child_path(&key), v))
            })
            .collect();
        self.seen.extend(entries.iter().map(|(k, _, _)| k.clone()));
        entries
    }

    /// Marks fields as read without looking at them.
    pub fn ignore(&mut self, keys: &[&str]) {
        self.seen.extend(keys.iter().map(|k| k.to_string()));
    }

    /// Reports each present key of `keys` as a valid field tierui does not act on yet.
    pub fn unsupported(&mut self, keys: &[&str], diags: &mut Diags) {
        for key in keys {
            if let Some((k, v)) = self.node.entry(key) {
                self.seen.push(key.to_string());
                if v.is_null() {
                    continue;
                }
                diags.push(Diagnostic::new(
                    Severity::Unsupported,
                    k.pos(),
                    &self.child_path(key),
                    format!("not supported yet: {}", self.child_path(key)),
                ));
            }
        }
    }

    /// Reports keys nobody asked for as unknown fields.
    pub fn finish(self, diags: &mut Diags) {
        for (key, pos) in self.keys() {
            if !self.seen.contains(&key) {
                diags.push(Diagnostic::new(
                    Severity::Warning,
                    pos,
                    &self.child_path(&key),
                    format!("unknown field {}", self.child_path(&key)),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::yaml::parse_single;

    #[test]
    fn wrong_types_are_positioned_errors() {
        let doc = parse_single("name: x\nsize: big\ntags: [a]\n").unwrap();
        let mut d = Diags::new();
        let mut f = Fields::of(&doc, "", &mut d).unwrap();
        assert_eq!(f.string("name", &mut d).as_deref(), Some("x"));
        assert_eq!(f.int("size", &mut d), None);
        assert!(f.string_map("tags", &mut d).is_empty());
        f.finish(&mut d);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].line, d[0].col), (2, 7));
        assert_eq!(d[0].message, "size must be an integer, found a string");
        assert_eq!(
            d[1].message,
            "tags must be a mapping of strings, found a list"
        );
    }

    #[test]
    fn unknown_and_unsupported_fields() {
        let doc = parse_single("a: 1\nfargate: [x]\ntypo: 2\n").unwrap();
        let mut d = Diags::new();
        let mut f = Fields::of(&doc, "spec", &mut d).unwrap();
        f.int("a", &mut d);
        f.unsupported(&["fargate"], &mut d);
        f.finish(&mut d);
        assert_eq!(d[0].severity, Severity::Unsupported);
        assert_eq!(d[0].message, "not supported yet: spec.fargate");
        assert_eq!(d[1].severity, Severity::Warning);
        assert_eq!(
            (d[1].line, d[1].message.as_str()),
            (3, "unknown field spec.typo")
        );
    }

    #[test]
    fn numbers_read_as_strings_keep_their_text() {
        let doc = parse_single("version: 1.30\n").unwrap();
        let mut d = Diags::new();
        let mut f = Fields::of(&doc, "", &mut d).unwrap();
        assert_eq!(f.string("version", &mut d).as_deref(), Some("1.30"));
    }

    #[test]
    fn missing_required_field() {
        let doc = parse_single("a: 1\n").unwrap();
        let mut d = Diags::new();
        let mut f = Fields::of(&doc, "metadata", &mut d).unwrap();
        assert!(f.required_string("name", &mut d).is_none());
        assert_eq!(d[0].message, "missing required field metadata.name");
    }
}
