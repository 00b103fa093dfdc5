//! YAML documents with source positions.
//!
//! Every workspace file is read through this module so that any problem — a syntax
//! error or a field of the wrong type — can be reported as `file:line:column`.
//! The tree keeps byte spans too, which is what the quick-edit feature relies on to
//! change one value's text and nothing else.

use std::fmt;

use granit_parser::{Event, Parser, ScalarStyle, Span as RawSpan};

/// A position in a source file: 1-based line and column, 0-based byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub offset: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Byte range of a node in its source (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// How a scalar was written; `None` for collections.
    pub style: Option<Style>,
    /// An explicit non-core tag such as `!Ref`, kept so callers can refuse it.
    pub tag: Option<String>,
    /// The scalar's text as written (after escapes), so `version: 1.30` reads as
    /// "1.30" where a string is wanted, not "1.3".
    pub text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// A syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col} {message}")]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl YamlError {
    /// The error as a file diagnostic at its line:column.
    pub fn diagnostic(self) -> super::fields::Diagnostic {
        super::fields::Diagnostic::error(
            Pos {
                line: self.line,
                col: self.col,
                offset: 0,
            },
            "",
            self.message,
        )
    }

    pub fn at(pos: Pos, message: impl Into<String>) -> Self {
        YamlError {
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }
}

/// One `---`-separated document of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub root: Node,
    /// Position of the document's first content (or its `---`).
    pub start: Pos,
    /// 0-based index of the document in the file.
    pub index: usize,
}

/// Decodes bytes as UTF-8, reporting where the first invalid byte is.
pub fn decode(bytes: &[u8]) -> Result<&str, YamlError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.strip_prefix('\u{feff}').unwrap_or(s)),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let text = String::from_utf8_lossy(good);
            let line = text.matches('\n').count() + 1;
            let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Err(YamlError {
                line,
                col,
                message: "not UTF-8 text (binary file?)".into(),
            })
        }
    }
}

/// Parses every document of a YAML stream. Empty documents are kept as `Null` nodes.
pub fn parse_documents(src: &str) -> Result<Vec<Document>, YamlError> {
    if let Some((i, _)) = src
        .char_indices()
        .find(|(_, c)| *c == '\0' || (c.is_control() && !matches!(c, '\n' | '\r' | '\t')))
    {
        let pos = pos_of_offset(src, i);
        return Err(YamlError::at(
            pos,
            "control character in text (binary file?)",
        ));
    }
    let mut options = granit_parser::Options::default();
    options.emit_comments = false;
    let mut builder = Builder {
        src,
        stack: Vec::new(),
        anchors: Vec::new(),
        docs: Vec::new(),
        doc_start: Pos::default(),
        aliased: 0,
    };
    for item in Parser::new_from_str_with_options(src, options) {
        let (event, span) = item.map_err(|e| {
            let m = e.marker();
            YamlError {
                line: m.line(),
                col: m.col() + 1,
                message: e.info(),
            }
        })?;
        builder.event(event, span)?;
    }
    Ok(builder.docs)
}

/// Parses a stream that must hold exactly one document (an empty file is `Null`).
pub fn parse_single(src: &str) -> Result<Node, YamlError> {
    let mut docs = parse_documents(src)?;
    match docs.len() {
        0 => Ok(Node::null(Pos {
            line: 1,
            col: 1,
            offset: 0,
        })),
        1 => Ok(docs.remove(0).root),
        _ => Err(YamlError::at(
            docs[1].start,
            "expected a single YAML document, found a second one",
        )),
    }
}

pub fn pos_of_offset(src: &str, offset: usize) -> Pos {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos { line, col, offset }
}

enum Frame {
    Seq(Node),
    Map(Node, Option<Node>),
}

/// Nodes that aliases may add to one document by copying what their anchors
/// hold. A real manifest stays far below; a "billion laughs" file (anchors of
/// anchors, each ten times the last) reaches it within a few levels instead of
/// exhausting memory.
pub const MAX_ALIASED_NODES: usize = 100_000;

struct Builder<'s> {
    src: &'s str,
    stack: Vec<(Frame, usize)>,
    /// Anchor id → the node and how many nodes it holds.
    anchors: Vec<(usize, Node, usize)>,
    docs: Vec<Document>,
    doc_start: Pos,
    /// Nodes added by aliases in this document so far.
    aliased: usize,
}

/// How many nodes a tree holds.
fn size(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(items) => items.iter().map(size).sum(),
        Value::Map(entries) => entries.iter().map(|(k, v)| size(k) + size(v)).sum(),
        _ => 0,
    }
}

impl Builder<'_> {
    fn pos(&self, m: &granit_parser::Marker) -> Pos {
        let offset = m.byte_offset().unwrap_or_else(|| {
            self.src
                .char_indices()
                .nth(m.index())
                .map_or(self.src.len(), |(i, _)| i)
        });
        Pos {
            line: m.line(),
            col: m.col() + 1,
            offset,
        }
    }

    fn span(&self, s: &RawSpan) -> Span {
        Span {
            start: self.pos(&s.start),
            end: self.pos(&s.end),
        }
    }

    fn event(&mut self, event: Event<'_>, raw: RawSpan) -> Result<(), YamlError> {
        let span = self.span(&raw);
        match event {
            Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(..) => {
                self.doc_start = span.start;
                self.anchors.clear();
                self.aliased = 0;
            }
            Event::DocumentEnd => {}
            Event::Alias(id) => {
                let (node, n) = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _, _)| *a == id)
                    .map(|(_, node, n)| (node, *n))
                    .ok_or_else(|| YamlError::at(span.start, "alias to an unknown anchor"))?;
                self.aliased = self.aliased.saturating_add(n);
                if self.aliased > MAX_ALIASED_NODES {
                    return Err(YamlError::at(
                        span.start,
                        format!(
                            "aliases expand past {MAX_ALIASED_NODES} nodes in this document (this one adds {n}): refused, as a \"billion laughs\" file would exhaust memory"
                        ),
                    ));
                }
                let node = Node {
                    span,
                    ..node.clone()
                };
                self.push_node(node, 0)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| {
                    t.core_suffix()
                        .map(|s| format!("!!{s}"))
                        .unwrap_or_else(|| t.original())
                });
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let value = resolve_scalar(&text, style, tag.as_deref())
                    .map_err(|m| YamlError::at(span.start, m))?;
                let custom_tag = tag.filter(|t| !t.starts_with("!!"));
                let node = Node {
                    value,
                    span,
                    style: Some(style),
                    tag: custom_tag,
                    text: Some(text.into_owned()),
                };
                self.push_node(node, anchor)?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                let node = Node {
                    value: Value::Seq(Vec::new()),
                    span,
                    style: None,
                    tag: custom_tag(tag.as_deref()),
                    text: None,
                };
                self.stack.push((Frame::Seq(node), anchor));
            }
            Event::MappingStart(_, anchor, tag) => {
                let node = Node {
                    value: Value::Map(Vec::new()),
                    span,
                    style: None,
                    tag: custom_tag(tag.as_deref()),
                    text: None,
                };
                self.stack.push((Frame::Map(node, None), anchor));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some((frame, anchor)) = self.stack.pop() else {
                    return Err(YamlError::at(span.start, "unbalanced collection end"));
                };
                let mut node = match frame {
                    Frame::Seq(n) => n,
                    Frame::Map(n, None) => n,
                    Frame::Map(_, Some(k)) => {
                        return Err(YamlError::at(k.span.start, "mapping key without a value"));
                    }
                };
                node.span.end = span.end;
                self.push_node(node, anchor)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn push_node(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            let n = size(&node);
            self.anchors.push((anchor, node.clone(), n));
        }
        match self.stack.last_mut() {
            None => {
                let index = self.docs.len();
                let start = if self.doc_start.line == 0 {
                    node.span.start
                } else {
                    self.doc_start
                };
                self.docs.push(Document {
                    root: node,
                    start,
                    index,
                });
                self.doc_start = Pos::default();
            }
            Some((Frame::Seq(seq), _)) => {
                if let Value::Seq(items) = &mut seq.value {
                    items.push(node);
                }
            }
            Some((Frame::Map(map, pending), _)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Value::Map(entries) = &mut map.value {
                        if let Some(name) = key.as_str()
                            && name != "<<"
                            && entries.iter().any(|(k, _)| k.as_str() == Some(name))
                        {
                            return Err(YamlError::at(
                                key.span.start,
                                format!("duplicate key \"{name}\""),
                            ));
                        }
                        entries.push((key, node));
                    }
                }
            },
        }
        Ok(())
    }
}

fn custom_tag(tag: Option<&granit_parser::Tag>) -> Option<String> {
    tag.filter(|t| t.core_suffix().is_none())
        .map(|t| t.original())
}

fn resolve_scalar(text: &str, style: Style, tag: Option<&str>) -> Result<Value, String> {
    match tag {
        Some("!!str") => return Ok(Value::Str(text.to_string())),
        Some("!!null") => return Ok(Value::Null),
        Some("!!bool") => {
            return parse_bool(text)
                .map(Value::Bool)
                .ok_or_else(|| format!("\"{text}\" is not a boolean"));
        }
        Some("!!int") => {
            return parse_int(text)
                .map(Value::Int)
                .ok_or_else(|| format!("\"{text}\" is not an integer"));
        }
        Some("!!float") => {
            return parse_float(text)
                .or_else(|| parse_int(text).map(|i| i as f64))
                .map(Value::Float)
                .ok_or_else(|| format!("\"{text}\" is not a number"));
        }
        _ => {}
    }
    if style != Style::Plain || tag.is_some() {
        return Ok(Value::Str(text.to_string()));
    }
    Ok(plain_scalar(text))
}

/// YAML 1.2 core schema resolution of a plain scalar.
pub fn plain_scalar(text: &str) -> Value {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if let Some(b) = parse_bool(text) {
        return Value::Bool(b);
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    if let Some(f) = parse_float(text) {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -magnitude } else { magnitude })
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let body = text.trim_start_matches(['-', '+']);
    let starts_ok = body.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    let has_digit = body.bytes().any(|b| b.is_ascii_digit());
    let chars_ok = body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if starts_ok && has_digit && chars_ok {
        text.parse().ok()
    } else {
        None
    }
}

impl Node {
    pub fn null(at: Pos) -> Node {
        Node {
            value: Value::Null,
            span: Span { start: at, end: at },
            style: None,
            tag: None,
            text: None,
        }
    }

    pub fn pos(&self) -> Pos {
        self.span.start
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key_text().as_deref() == Some(key))
            .map(|(_, v)| v)
    }

    /// The key entry (key node and value node) under `key`.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key_text().as_deref() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// Follows a path of mapping keys and sequence indices (`"spec.replicas"`,
    /// `"spec.template.spec.containers.0.image"`).
    pub fn at_path(&self, path: &str) -> Option<&Node> {
        let mut node = self;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            node = match &node.value {
                Value::Map(_) => node.get(part)?,
                Value::Seq(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Text of a scalar as written (after escapes): what a mapping key reads as.
    pub fn key_text(&self) -> Option<String> {
        if let (Some(text), Value::Int(_) | Value::Float(_) | Value::Bool(_)) =
            (&self.text, &self.value)
        {
            return Some(text.clone());
        }
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Null => Some(String::new()),
            _ => None,
        }
    }

    /// A short name for the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Scalars as text, the way Kubernetes and Pulumi read numbers and booleans in
    /// string-typed fields.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Seq(_) | Value::Map(_) | Value::Null => None,
            _ => self.key_text(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    if k.as_str() == Some("<<") {
                        merge_key(&mut map, v);
                        continue;
                    }
                    map.insert(k.key_text().unwrap_or_default(), v.to_json());
                }
                J::Object(map)
            }
        }
    }
}

/// The YAML merge key (`<<: *base`): entries of the merged mapping(s) that the
/// mapping does not set itself.
fn merge_key(map: &mut serde_json::Map<String, serde_json::Value>, from: &Node) {
    let sources: Vec<&Node> = match &from.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![from],
    };
    for source in sources {
        if let serde_json::Value::Object(m) = source.to_json() {
            for (k, v) in m {
                map.entry(k).or_insert(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_resolve_by_core_schema() {
        let doc = parse_single("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: v1.2\ng: 0x1f\n").unwrap();
        assert_eq!(doc.get("a").unwrap().value, Value::Int(1));
        assert_eq!(doc.get("b").unwrap().value, Value::Str("1".into()));
        assert_eq!(doc.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(doc.get("d").unwrap().value, Value::Null);
        assert_eq!(doc.get("e").unwrap().value, Value::Float(1.5));
        assert_eq!(doc.get("f").unwrap().value, Value::Str("v1.2".into()));
        assert_eq!(doc.get("g").unwrap().value, Value::Int(31));
    }

    #[test]
    fn spans_cover_value_text() {
        let src = "spec:\n  replicas: 3 # comment\n  image: \"x:v1\"\n";
        let doc = parse_single(src).unwrap();
        let r = doc.at_path("spec.replicas").unwrap();
        assert_eq!(&src[r.span.start.offset..r.span.end.offset], "3");
        assert_eq!((r.span.start.line, r.span.start.col), (2, 13));
        let i = doc.at_path("spec.image").unwrap();
        assert_eq!(&src[i.span.start.offset..i.span.end.offset], "\"x:v1\"");
    }

    #[test]
    fn multi_document_streams() {
        let docs = parse_documents("a: 1\n---\nb: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].start.line, 2);
        assert!(docs[2].root.is_null());
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let err = parse_documents("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err}");
        let err = parse_documents("a:\n  - x\n b: 2\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse_single("a: 1\na: 2\n").unwrap_err();
        assert_eq!((err.line, err.col), (2, 1));
        assert!(err.message.contains("duplicate key \"a\""));
    }

    #[test]
    fn binary_junk_is_an_error_not_a_panic() {
        let err = decode(b"ok: 1\n\xff\xfe\x00junk").unwrap_err();
        assert_eq!((err.line, err.col), (2, 1));
        let err = parse_documents("a: 1\n\u{0}\u{1}").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn a_billion_laughs_is_refused_at_the_alias_that_tips_it() {
        let mut src = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            src.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        let e = parse_documents(&src).unwrap_err();
        assert!(e.message.contains("aliases expand past"), "{e:?}");
        // Level 5 holds 10^5 lols: the line of a5 is where it stops.
        assert_eq!(e.line, 5, "{e:?}");
        assert!(e.col > 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Ordinary anchors are fine.
        assert!(parse_documents("x: &x {a: 1}\ny: *x\nz: *x\n").is_ok());
    }

    #[test]
    fn deep_nesting_is_a_positioned_error_not_a_stack_overflow() {
        let src = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse_documents(&src).unwrap_err();
        assert_eq!(e.line, 1, "{e:?}");
        assert!(e.col > 1 && e.col < 1000, "{e:?}");
    }

    #[test]
    fn anchors_and_merge_keys() {
        let doc = parse_single("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n").unwrap();
        let json = doc.to_json();
        assert_eq!(json["other"], serde_json::json!({"y": 3, "x": 1}));
    }

    #[test]
    fn empty_file_is_null() {
        assert!(parse_single("").unwrap().is_null());
        assert!(parse_single("# only a comment\n").unwrap().is_null());
    }
}
