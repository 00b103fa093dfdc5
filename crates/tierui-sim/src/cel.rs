//! The part of CEL that CRDs' `x-kubernetes-validations` rules mostly use:
//! `self` and field access, `has()`, literals, `!`, `&&`, `||`, `? :`,
//! comparisons, `in`, `+`/`-`, `size()` and the string functions
//! `startsWith`, `endsWith` and `contains`. A rule outside that part is not
//! evaluated ([`Outcome::Unsupported`]); an error while evaluating (a missing
//! field read without `has()`) is the API server's runtime error.

use serde_json::{Value, json};

/// What a rule says about a value.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Holds,
    Fails,
    /// Evaluated, but not to a boolean, or a field was missing.
    Error(String),
    /// Outside the part of CEL evaluated here.
    Unsupported(String),
}

/// Evaluates `rule` with `self` bound to `value`.
pub fn check(rule: &str, value: &Value) -> Outcome {
    let tokens = match lex(rule) {
        Ok(t) => t,
        Err(e) => return Outcome::Unsupported(e),
    };
    let mut p = Parser { t: &tokens, i: 0 };
    let ast = match p.expr() {
        Ok(a) if p.i == tokens.len() => a,
        Ok(_) => return Outcome::Unsupported("unexpected text after the expression".into()),
        Err(e) => return Outcome::Unsupported(e),
    };
    match eval(&ast, value) {
        Ok(Value::Bool(true)) => Outcome::Holds,
        Ok(Value::Bool(false)) => Outcome::Fails,
        Ok(other) => Outcome::Error(format!("rule evaluated to {other}, not a boolean")),
        Err(Error::Unsupported(e)) => Outcome::Unsupported(e),
        Err(Error::Runtime(e)) => Outcome::Error(e),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Str(String),
    Op(&'static str),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    const OPS: [&str; 20] = [
        "&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "(", ")", ".", ",", "[", "]", "+", "-",
        "?", ":", "%",
    ];
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    'next: while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            let mut text = String::new();
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == '\\' && i + 1 < b.len() {
                    i += 1;
                }
                text.push(b[i]);
                i += 1;
            }
            if i >= b.len() {
                return Err("unterminated string".into());
            }
            i += 1;
            out.push(Tok::Str(text));
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = b[start..i].iter().collect();
            if i < b.len() && (b[i] == '.' || b[i] == 'u') {
                return Err("only integer literals are evaluated".into());
            }
            out.push(Tok::Int(text.parse().map_err(|_| "integer too large")?));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
            continue;
        }
        for op in OPS {
            let n = op.len();
            if b[i..].iter().take(n).collect::<String>() == op {
                out.push(Tok::Op(op));
                i += n;
                continue 'next;
            }
        }
        return Err(format!("unexpected character {c:?}"));
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Ast {
    Lit(Value),
    Var(String),
    Field(Box<Ast>, String),
    Index(Box<Ast>, Box<Ast>),
    Has(Box<Ast>, String),
    Call(Option<Box<Ast>>, String, Vec<Ast>),
    List(Vec<Ast>),
    Not(Box<Ast>),
    Neg(Box<Ast>),
    Bin(&'static str, Box<Ast>, Box<Ast>),
    Cond(Box<Ast>, Box<Ast>, Box<Ast>),
}

struct Parser<'a> {
    t: &'a [Tok],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
            || matches!(self.peek(), Some(Tok::Ident(w)) if w == op)
        {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(format!("expected {op}"))
        }
    }

    fn expr(&mut self) -> Result<Ast, String> {
        let c = self.or()?;
        if self.eat("?") {
            let a = self.expr()?;
            self.expect(":")?;
            let b = self.expr()?;
            return Ok(Ast::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }

    fn or(&mut self) -> Result<Ast, String> {
        let mut l = self.and()?;
        while self.eat("||") {
            l = Ast::Bin("||", Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Ast, String> {
        let mut l = self.rel()?;
        while self.eat("&&") {
            l = Ast::Bin("&&", Box::new(l), Box::new(self.rel()?));
        }
        Ok(l)
    }

    fn rel(&mut self) -> Result<Ast, String> {
        let l = self.add()?;
        for op in ["==", "!=", "<=", ">=", "<", ">", "in"] {
            if self.eat(op) {
                return Ok(Ast::Bin(op, Box::new(l), Box::new(self.add()?)));
            }
        }
        Ok(l)
    }

    fn add(&mut self) -> Result<Ast, String> {
        let mut l = self.unary()?;
        loop {
            if self.eat("+") {
                l = Ast::Bin("+", Box::new(l), Box::new(self.unary()?));
            } else if self.eat("-") {
                l = Ast::Bin("-", Box::new(l), Box::new(self.unary()?));
            } else {
                return Ok(l);
            }
        }
    }

    fn unary(&mut self) -> Result<Ast, String> {
        if self.eat("!") {
            return Ok(Ast::Not(Box::new(self.unary()?)));
        }
        if self.eat("-") {
            return Ok(Ast::Neg(Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn args(&mut self) -> Result<Vec<Ast>, String> {
        let mut out = Vec::new();
        if self.eat(")") {
            return Ok(out);
        }
        loop {
            out.push(self.expr()?);
            if self.eat(")") {
                return Ok(out);
            }
            self.expect(",")?;
        }
    }

    fn postfix(&mut self) -> Result<Ast, String> {
        let mut e = self.primary()?;
        loop {
            if self.eat(".") {
                let Some(Tok::Ident(name)) = self.peek().cloned() else {
                    return Err("expected a field name after '.'".into());
                };
                self.i += 1;
                if self.eat("(") {
                    let args = self.args()?;
                    e = Ast::Call(Some(Box::new(e)), name, args);
                } else {
                    e = Ast::Field(Box::new(e), name);
                }
            } else if self.eat("[") {
                let at = self.expr()?;
                self.expect("]")?;
                e = Ast::Index(Box::new(e), Box::new(at));
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Ast, String> {
        let Some(t) = self.peek().cloned() else {
            return Err("unexpected end of rule".into());
        };
        self.i += 1;
        match t {
            Tok::Int(n) => Ok(Ast::Lit(json!(n))),
            Tok::Str(s) => Ok(Ast::Lit(json!(s))),
            Tok::Op("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                if !self.eat("]") {
                    loop {
                        items.push(self.expr()?);
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Ast::List(items))
            }
            Tok::Ident(w) => match w.as_str() {
                "true" => Ok(Ast::Lit(json!(true))),
                "false" => Ok(Ast::Lit(json!(false))),
                "null" => Ok(Ast::Lit(Value::Null)),
                "has" => {
                    self.expect("(")?;
                    let inner = self.postfix()?;
                    self.expect(")")?;
                    match inner {
                        Ast::Field(of, name) => Ok(Ast::Has(of, name)),
                        _ => Err("has() takes a field selection".into()),
                    }
                }
                _ if self.eat("(") => {
                    let args = self.args()?;
                    Ok(Ast::Call(None, w, args))
                }
                _ => Ok(Ast::Var(w)),
            },
            Tok::Op(o) => Err(format!("unexpected {o}")),
        }
    }
}

enum Error {
    Unsupported(String),
    Runtime(String),
}

fn runtime<T>(e: impl Into<String>) -> Result<T, Error> {
    Err(Error::Runtime(e.into()))
}

fn eval(a: &Ast, this: &Value) -> Result<Value, Error> {
    Ok(match a {
        Ast::Lit(v) => v.clone(),
        Ast::Var(w) if w == "self" => this.clone(),
        Ast::Var(w) => return Err(Error::Unsupported(format!("variable {w}"))),
        Ast::Field(of, name) => match eval(of, this)? {
            Value::Object(m) => match m.get(name) {
                Some(v) => v.clone(),
                None => return runtime(format!("no such key: {name}")),
            },
            _ => return runtime(format!("no such key: {name}")),
        },
        Ast::Index(of, at) => match (eval(of, this)?, eval(at, this)?) {
            (Value::Array(a), Value::Number(n)) => match n.as_u64().and_then(|i| a.get(i as usize))
            {
                Some(v) => v.clone(),
                None => return runtime("index out of range"),
            },
            (Value::Object(m), Value::String(k)) => match m.get(&k) {
                Some(v) => v.clone(),
                None => return runtime(format!("no such key: {k}")),
            },
            _ => return runtime("invalid index"),
        },
        Ast::Has(of, name) => match eval(of, this)? {
            Value::Object(m) => json!(m.contains_key(name)),
            _ => json!(false),
        },
        Ast::List(items) => Value::Array(
            items
                .iter()
                .map(|i| eval(i, this))
                .collect::<Result<_, _>>()?,
        ),
        Ast::Not(x) => match eval(x, this)? {
            Value::Bool(b) => json!(!b),
            _ => return runtime("! of a non-boolean"),
        },
        Ast::Neg(x) => match eval(x, this)?.as_i64() {
            Some(n) => json!(-n),
            None => return runtime("- of a non-integer"),
        },
        Ast::Cond(c, a, b) => match eval(c, this)? {
            Value::Bool(true) => eval(a, this)?,
            Value::Bool(false) => eval(b, this)?,
            _ => return runtime("condition is not a boolean"),
        },
        Ast::Bin(op, l, r) => match *op {
            // Short-circuiting as CEL does (an error on the other side is absorbed).
            "&&" => match eval(l, this) {
                Ok(Value::Bool(false)) => json!(false),
                left => match (left, eval(r, this)?) {
                    (_, Value::Bool(false)) => json!(false),
                    (Ok(Value::Bool(true)), Value::Bool(true)) => json!(true),
                    (Err(e), _) => return Err(e),
                    _ => return runtime("&& of a non-boolean"),
                },
            },
            "||" => match eval(l, this) {
                Ok(Value::Bool(true)) => json!(true),
                left => match (left, eval(r, this)?) {
                    (_, Value::Bool(true)) => json!(true),
                    (Ok(Value::Bool(false)), Value::Bool(false)) => json!(false),
                    (Err(e), _) => return Err(e),
                    _ => return runtime("|| of a non-boolean"),
                },
            },
            _ => binary(op, eval(l, this)?, eval(r, this)?)?,
        },
        Ast::Call(recv, name, args) => {
            let mut vals = Vec::new();
            if let Some(r) = recv {
                vals.push(eval(r, this)?);
            }
            for x in args {
                vals.push(eval(x, this)?);
            }
            call(name, &vals)?
        }
    })
}

fn binary(op: &str, l: Value, r: Value) -> Result<Value, Error> {
    Ok(match op {
        "==" => json!(l == r),
        "!=" => json!(l != r),
        "in" => match (&r, &l) {
            (Value::Array(a), _) => json!(a.contains(&l)),
            (Value::Object(m), Value::String(k)) => json!(m.contains_key(k)),
            _ => return runtime("'in' needs a list or map"),
        },
        "+" => match (&l, &r) {
            (Value::String(a), Value::String(b)) => json!(format!("{a}{b}")),
            (Value::Array(a), Value::Array(b)) => {
                Value::Array(a.iter().chain(b.iter()).cloned().collect())
            }
            _ => match (l.as_i64(), r.as_i64()) {
                (Some(a), Some(b)) => json!(a + b),
                _ => return runtime("+ of unlike values"),
            },
        },
        "-" => match (l.as_i64(), r.as_i64()) {
            (Some(a), Some(b)) => json!(a - b),
            _ => return runtime("- of non-integers"),
        },
        _ => {
            let ord = match (&l, &r) {
                (Value::String(a), Value::String(b)) => a.cmp(b),
                _ => match (l.as_f64(), r.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b).ok_or(Error::Runtime("NaN".into()))?,
                    _ => return runtime(format!("{op} of unlike values")),
                },
            };
            json!(match op {
                "<" => ord.is_lt(),
                "<=" => ord.is_le(),
                ">" => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
    })
}

fn call(name: &str, v: &[Value]) -> Result<Value, Error> {
    Ok(match (name, v) {
        ("size", [x]) => json!(match x {
            Value::String(s) => s.chars().count(),
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            _ => return runtime("size() of a scalar"),
        }),
        ("startsWith", [Value::String(s), Value::String(p)]) => json!(s.starts_with(p.as_str())),
        ("endsWith", [Value::String(s), Value::String(p)]) => json!(s.ends_with(p.as_str())),
        ("contains", [Value::String(s), Value::String(p)]) => json!(s.contains(p.as_str())),
        _ => return Err(Error::Unsupported(format!("function {name}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_crds_write_are_evaluated() {
        let both = json!({"prefixListsIDs": ["a"], "PrefixListsIDs": ["b"]});
        let one = json!({"prefixListsIDs": ["a"]});
        let rule = "!(has(self.prefixListsIDs) && has(self.PrefixListsIDs))";
        assert_eq!(check(rule, &both), Outcome::Fails);
        assert_eq!(check(rule, &one), Outcome::Holds);
        let spec = json!({"min": 2, "max": 5, "name": "web-1", "tags": ["a", "b"], "mode": "fast"});
        for (rule, want) in [
            ("self.min <= self.max", Outcome::Holds),
            ("self.max - self.min > 3", Outcome::Fails),
            (
                "size(self.tags) == 2 && self.tags.size() < 3",
                Outcome::Holds,
            ),
            (
                "self.name.startsWith('web-') || self.name == \"db\"",
                Outcome::Holds,
            ),
            ("self.mode in ['fast', 'safe']", Outcome::Holds),
            (
                "has(self.replicas) ? self.replicas > 0 : true",
                Outcome::Holds,
            ),
            (
                "!has(self.missing) || self.missing.size() > 0",
                Outcome::Holds,
            ),
        ] {
            assert_eq!(check(rule, &spec), want, "{rule}");
        }
        assert!(matches!(
            check("self.missing == 1", &spec),
            Outcome::Error(_)
        ));
        assert!(matches!(
            check("self.tags.all(t, t != '')", &spec),
            Outcome::Unsupported(_)
        ));
        assert!(matches!(
            check("self == oldSelf", &spec),
            Outcome::Unsupported(_)
        ));
        assert!(matches!(
            check("self.min <", &spec),
            Outcome::Unsupported(_)
        ));
    }
}
