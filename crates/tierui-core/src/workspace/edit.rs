//! Quick edits: change one value's text in a YAML file and nothing else — every
//! other byte (comments, order, indentation, quoting elsewhere) stays as it was.

use super::yaml::{self, Node, Style, Value};

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// `"spec.template.spec.containers.0.image"` → steps (numbers index lists).
pub fn path(dotted: &str) -> Vec<Step> {
    dotted
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_or_else(|_| Step::Key(p.to_string()), Step::Index)
        })
        .collect()
}

/// The value to write, with the type it must keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewValue {
    Str(String),
    Int(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("{0}")]
    Yaml(#[from] yaml::YamlError),
    #[error("{path} not found in document {doc}")]
    NotFound { path: String, doc: usize },
    #[error("{path} is {found}, not a single value that can be edited in place")]
    NotScalar { path: String, found: &'static str },
}

fn describe(p: &[Step]) -> String {
    p.iter()
        .map(|s| match s {
            Step::Key(k) => k.clone(),
            Step::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn find<'a>(root: &'a Node, p: &[Step]) -> Option<&'a Node> {
    let mut node = root;
    for step in p {
        node = match (step, &node.value) {
            (Step::Key(k), Value::Map(_)) => node.get(k)?,
            (Step::Index(i), Value::Seq(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Text of a scalar in the style the old one had, or quoted when the plain form
/// would read back as another type or break the line.
pub fn render_scalar(v: &NewValue, old_style: Style) -> String {
    match v {
        NewValue::Int(i) => i.to_string(),
        NewValue::Str(s) => {
            // Plain only when it reads back as this very string, in block and in
            // flow context alike.
            let reads_back = |doc: String, get: fn(&Node) -> Option<&Node>| {
                yaml::parse_single(&doc)
                    .ok()
                    .is_some_and(|n| get(&n).is_some_and(|v| v.value == Value::Str(s.clone())))
            };
            let plain_ok = !s.is_empty()
                && reads_back(format!("k: {s}\n"), |n| n.get("k"))
                && reads_back(format!("[{s}]\n"), |n| n.as_seq().and_then(|i| i.first()))
                && !s.starts_with([
                    ' ', '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>',
                    '\'', '"', '%', '@', '`',
                ])
                && !s.ends_with(' ')
                && !s.contains(": ")
                && !s.contains(" #")
                && !s.contains(['\n', '\t', '\r']);
            match old_style {
                Style::SingleQuoted if !s.contains(['\n', '\r']) => {
                    format!("'{}'", s.replace('\'', "''"))
                }
                Style::Plain if plain_ok => s.clone(),
                _ => double_quoted(s),
            }
        }
    }
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Replaces the scalar at `p` in document `doc` with `value`.
pub fn set_scalar(
    src: &str,
    doc: usize,
    p: &[Step],
    value: &NewValue,
) -> Result<String, EditError> {
    let docs = yaml::parse_documents(src)?;
    let root = docs
        .get(doc)
        .map(|d| &d.root)
        .ok_or_else(|| EditError::NotFound {
            path: describe(p),
            doc,
        })?;
    let node = find(root, p).ok_or_else(|| EditError::NotFound {
        path: describe(p),
        doc,
    })?;
    let style = match (&node.value, node.style) {
        (Value::Seq(_) | Value::Map(_), _) => {
            return Err(EditError::NotScalar {
                path: describe(p),
                found: node.type_name(),
            });
        }
        (_, Some(Style::Literal | Style::Folded)) => {
            return Err(EditError::NotScalar {
                path: describe(p),
                found: "a block scalar",
            });
        }
        (_, Some(s)) => s,
        (_, None) => Style::Plain,
    };
    let (start, end) = (node.span.start.offset, node.span.end.offset);
    let mut out = String::with_capacity(src.len() + 16);
    out.push_str(&src[..start]);
    out.push_str(&render_scalar(value, style));
    out.push_str(&src[end..]);
    Ok(out)
}

/// Sets `key: value` in the mapping at `p` (the document root when empty): in
/// place when the key exists, else as a new line after the mapping's last entry,
/// with the same indentation.
pub fn set_key(
    src: &str,
    doc: usize,
    p: &[Step],
    key: &str,
    value: &NewValue,
) -> Result<String, EditError> {
    let docs = yaml::parse_documents(src)?;
    let root = docs
        .get(doc)
        .map(|d| &d.root)
        .ok_or_else(|| EditError::NotFound {
            path: describe(p),
            doc,
        })?;
    let map = find(root, p).ok_or_else(|| EditError::NotFound {
        path: describe(p),
        doc,
    })?;
    let Some(entries) = map.as_map() else {
        return Err(EditError::NotScalar {
            path: describe(p),
            found: map.type_name(),
        });
    };
    if entries
        .iter()
        .any(|(k, _)| k.key_text().as_deref() == Some(key))
    {
        let mut full = p.to_vec();
        full.push(Step::Key(key.to_string()));
        return set_scalar(src, doc, &full, value);
    }
    let Some((last_key, last_val)) = entries.last() else {
        return Err(EditError::NotFound {
            path: format!("{} (an empty mapping)", describe(p)),
            doc,
        });
    };
    let indent = last_key.span.start.col - 1;
    // Insert after the line where the last value's last scalar ends (a block
    // collection's own span runs on to the next token, past comments).
    let end = last_scalar_end(last_val).max(last_key.span.end.offset);

    let line_end = src[end..].find('\n').map_or(src.len(), |i| end + i);
    let key_text = if yaml::plain_scalar(key) == Value::Str(key.to_string()) && !key.contains(": ")
    {
        key.to_string()
    } else {
        double_quoted(key)
    };
    let line = format!(
        "\n{}{}: {}",
        " ".repeat(indent),
        key_text,
        render_scalar(value, Style::Plain)
    );
    let mut out = String::with_capacity(src.len() + line.len());
    out.push_str(&src[..line_end]);
    out.push_str(&line);
    out.push_str(&src[line_end..]);
    Ok(out)
}

/// Removes `key` (and its value's lines) from the mapping at `p`; unchanged
/// text when the key is not there. Comments above the key stay.
pub fn remove_key(src: &str, doc: usize, p: &[Step], key: &str) -> Result<String, EditError> {
    let docs = yaml::parse_documents(src)?;
    let root = docs
        .get(doc)
        .map(|d| &d.root)
        .ok_or_else(|| EditError::NotFound {
            path: describe(p),
            doc,
        })?;
    let Some(entries) = find(root, p).and_then(|m| m.as_map()) else {
        return Err(EditError::NotFound {
            path: describe(p),
            doc,
        });
    };
    let Some((k, v)) = entries
        .iter()
        .find(|(k, _)| k.key_text().as_deref() == Some(key))
    else {
        return Ok(src.to_string());
    };
    let start = src[..k.span.start.offset].rfind('\n').map_or(0, |i| i + 1);
    let end = last_scalar_end(v).max(k.span.end.offset);
    let end = src[end..].find('\n').map_or(src.len(), |i| end + i + 1);
    Ok(format!("{}{}", &src[..start], &src[end..]))
}

/// Sets `key` in the mapping at `p` to a `secure:` value (Pulumi's encrypted
/// config), in place when it is one already, else replacing or adding the key.
pub fn set_secure(
    src: &str,
    doc: usize,
    p: &[Step],
    key: &str,
    ciphertext: &str,
) -> Result<String, EditError> {
    let mut full = p.to_vec();
    full.push(Step::Key(key.to_string()));
    full.push(Step::Key("secure".into()));
    if let Ok(out) = set_scalar(src, doc, &full, &NewValue::Str(ciphertext.to_string())) {
        return Ok(out);
    }
    // Not a secure value yet: written as one, where the key was (or at the end).
    const MARK: &str = "tierui-secure-placeholder";
    let with = set_key(src, doc, p, key, &NewValue::Str(MARK.into()))?;
    let at = with.find(MARK).ok_or_else(|| EditError::NotFound {
        path: describe(&full),
        doc,
    })?;
    let line_start = with[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent = with[line_start..].len() - with[line_start..].trim_start().len();
    let block = format!(":\n{}secure: {}", " ".repeat(indent + 2), ciphertext);
    Ok(with.replacen(&format!(": {MARK}"), &block, 1))
}

/// The image reference with its tag replaced (a digest, if any, is dropped).
pub fn with_tag(image: &str, tag: &str) -> String {
    let base = image.split('@').next().unwrap_or(image);
    let last_slash = base.rfind('/').map_or(0, |i| i + 1);
    let repo = match base[last_slash..].rfind(':') {
        Some(i) => &base[..last_slash + i],
        None => base,
    };
    format!("{repo}:{tag}")
}

fn last_scalar_end(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => items.last().map_or(node.span.start.offset, last_scalar_end),
        Value::Map(entries) => entries.last().map_or(node.span.start.offset, |(k, v)| {
            last_scalar_end(v).max(k.span.end.offset)
        }),
        _ => node.span.end.offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEP: &str = "# web\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # the name\nspec:\n  replicas: 2   # HPA owns this\n  template:\n    spec:\n      containers:\n        - name: web\n          image: \"ghcr.io/x/web:v1\"  # pinned\n";

    #[test]
    fn changes_only_the_value() {
        let out = set_scalar(DEP, 0, &path("spec.replicas"), &NewValue::Int(5)).unwrap();
        assert_eq!(out, DEP.replace("replicas: 2   #", "replicas: 5   #"));
        let out = set_scalar(
            DEP,
            0,
            &path("spec.template.spec.containers.0.image"),
            &NewValue::Str("ghcr.io/x/web:v2".into()),
        )
        .unwrap();
        assert_eq!(
            out,
            DEP.replace("\"ghcr.io/x/web:v1\"", "\"ghcr.io/x/web:v2\"")
        );
    }

    #[test]
    fn keeps_types_by_quoting() {
        let src = "config:\n  app:version: v1\n  app:count: '3'\n";
        let out = set_scalar(
            src,
            0,
            &path("config.app:version"),
            &NewValue::Str("1.30".into()),
        )
        .unwrap();
        assert_eq!(out, "config:\n  app:version: \"1.30\"\n  app:count: '3'\n");
        let out = set_scalar(
            src,
            0,
            &path("config.app:count"),
            &NewValue::Str("4".into()),
        )
        .unwrap();
        assert_eq!(out, "config:\n  app:version: v1\n  app:count: '4'\n");
        let out = set_scalar(
            src,
            0,
            &path("config.app:version"),
            &NewValue::Str("a: b".into()),
        )
        .unwrap();
        assert_eq!(out, "config:\n  app:version: \"a: b\"\n  app:count: '3'\n");
    }

    #[test]
    fn adds_missing_keys_at_the_mapping_indent() {
        let src = "config:\n  app:a: x # note\n  app:b:\n    - 1\n# trailing comment\n";
        let out = set_key(src, 0, &path("config"), "app:c", &NewValue::Str("y".into())).unwrap();
        assert_eq!(
            out,
            "config:\n  app:a: x # note\n  app:b:\n    - 1\n  app:c: y\n# trailing comment\n"
        );
        let out = set_key(src, 0, &path("config"), "app:a", &NewValue::Str("z".into())).unwrap();
        assert_eq!(out, src.replace("app:a: x", "app:a: z"));
    }

    #[test]
    fn refuses_what_it_cannot_edit_in_place() {
        assert!(matches!(
            set_scalar(DEP, 0, &path("spec"), &NewValue::Int(1)),
            Err(EditError::NotScalar { .. })
        ));
        assert!(matches!(
            set_scalar(DEP, 0, &path("spec.nope"), &NewValue::Int(1)),
            Err(EditError::NotFound { .. })
        ));
        assert!(matches!(
            set_scalar(DEP, 3, &path("spec"), &NewValue::Int(1)),
            Err(EditError::NotFound { .. })
        ));
        assert!(matches!(
            set_scalar("a: [1,\n", 0, &path("a"), &NewValue::Int(1)),
            Err(EditError::Yaml(_))
        ));
    }

    #[test]
    fn multi_document_files() {
        let src = "kind: A\nx: 1\n---\nkind: B\nx: 1\n";
        assert_eq!(
            set_scalar(src, 1, &path("x"), &NewValue::Int(2)).unwrap(),
            "kind: A\nx: 1\n---\nkind: B\nx: 2\n"
        );
    }

    #[test]
    fn image_tags() {
        assert_eq!(with_tag("ghcr.io/x/web:v1", "v2"), "ghcr.io/x/web:v2");
        assert_eq!(
            with_tag("localhost:5000/web", "v2"),
            "localhost:5000/web:v2"
        );
        assert_eq!(with_tag("web@sha256:abc", "v2"), "web:v2");
    }

    fn arb_value() -> impl Strategy<Value = NewValue> {
        prop_oneof![
            any::<i64>().prop_map(NewValue::Int),
            "[ -~]{0,20}".prop_map(NewValue::Str),
            "[a-z0-9.:/-]{1,12}".prop_map(NewValue::Str)
        ]
    }

    fn arb_doc() -> impl Strategy<Value = (String, Vec<String>)> {
        // Mappings of scalars in various styles, with comments and blank lines.
        let entry = (
            "[a-z]{1,6}",
            prop_oneof![
                "[a-z0-9]{1,8}",
                "\"[a-z :#]{0,8}\"",
                "'[a-z ]{0,8}'",
                "[0-9]{1,4}"
            ],
            prop_oneof![Just(""), Just("  # c"), Just(" #x")],
        );
        proptest::collection::vec(entry, 1..8).prop_map(|entries| {
            let mut text = String::from("# header\n");
            let mut keys = Vec::new();
            for (i, (k, v, c)) in entries.into_iter().enumerate() {
                let k = format!("{k}{i}");
                text.push_str(&format!("{k}: {v}{c}\n"));
                if i % 3 == 0 {
                    text.push('\n');
                }
                keys.push(k);
            }
            (text, keys)
        })
    }

    proptest! {
        /// Editing a value never changes any other byte, and reads back as written.
        #[test]
        fn editing_a_value_changes_no_other_byte((src, keys) in arb_doc(), pick in any::<prop::sample::Index>(), value in arb_value()) {
            let key = &keys[pick.index(keys.len())];
            let node = yaml::parse_single(&src).unwrap();
            let old = node.get(key).unwrap().span;
            let out = set_scalar(&src, 0, &[Step::Key(key.clone())], &value).unwrap();
            prop_assert_eq!(&out[..old.start.offset], &src[..old.start.offset]);
            let tail = &src[old.end.offset..];
            prop_assert!(out.ends_with(tail));
            let reread = yaml::parse_single(&out).unwrap();
            let expected = match &value {
                NewValue::Int(i) => Value::Int(*i),
                NewValue::Str(s) => Value::Str(s.clone()),
            };
            prop_assert_eq!(&reread.get(key).unwrap().value, &expected);
            for other in keys.iter().filter(|k| *k != key) {
                prop_assert_eq!(&reread.get(other).unwrap().value, &node.get(other).unwrap().value);
            }
        }
    }
}
