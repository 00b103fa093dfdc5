//! Logs go to `<state>/tierui.log` (0600), never to the terminal, rotated at
//! [`MAX_BYTES`] with [`GENERATIONS`] old files kept (`tierui.log.1` …).
//!
//! `TIERUI_LOG` sets the filter. A bare level (`debug`, `trace`) applies to
//! tierui's own targets only: the HTTP, AWS and Kubernetes clients log headers and
//! bodies at trace, and are heard only when named (`TIERUI_LOG=trace,hyper=debug`).
//! Whatever the filter, every line is redacted before it is written:
//! Authorization headers, bearer and session tokens, AWS signatures and
//! credentials, `secure:` values and ciphertexts, and the data of Kubernetes
//! Secrets never reach the file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};

/// Size at which the log is rotated.
pub const MAX_BYTES: u64 = 5 * 1024 * 1024;
/// Rotated files kept besides the current one.
pub const GENERATIONS: usize = 3;

pub fn init(state_dir: &Path) -> Result<()> {
    tierui_core::paths::private_dir(state_dir)?;
    let log = Arc::new(Mutex::new(LogFile::open(state_dir.join("tierui.log"))?));
    let filter =
        tracing_subscriber::EnvFilter::new(directives(std::env::var("TIERUI_LOG").ok().as_deref()));
    // A second init (tests, repeated runs in one process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(move || LogWriter(log.clone()))
        .try_init();
    Ok(())
}

/// The filter for a `TIERUI_LOG` value: bare levels are scoped to tierui.
pub fn directives(env: Option<&str>) -> String {
    const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];
    let env = env
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .unwrap_or("info");
    let mut out = vec!["warn".to_string()];
    for d in env.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if LEVELS.contains(&d.to_ascii_lowercase().as_str()) {
            out.push(format!("tierui={d}"));
        } else {
            out.push(d.to_string());
        }
    }
    out.join(",")
}

/// The log file, rotated by size.
struct LogFile {
    path: PathBuf,
    file: std::fs::File,
    size: u64,
}

fn open_private(path: &Path) -> Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let f = opts
        .open(path)
        .with_context(|| format!("cannot open log file {}", path.display()))?;
    // A file made by an older tierui (or another umask) is made private too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = f.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    Ok(f)
}

impl LogFile {
    fn open(path: PathBuf) -> Result<LogFile> {
        let file = open_private(&path)?;
        let size = file.metadata().map_or(0, |m| m.len());
        Ok(LogFile { path, file, size })
    }

    fn generation(&self, n: usize) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        p.into()
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let _ = std::fs::remove_file(self.generation(GENERATIONS));
        for n in (1..GENERATIONS).rev() {
            let _ = std::fs::rename(self.generation(n), self.generation(n + 1));
        }
        std::fs::rename(&self.path, self.generation(1))?;
        self.file = open_private(&self.path).map_err(std::io::Error::other)?;
        self.size = 0;
        Ok(())
    }

    fn write(&mut self, text: &str) -> std::io::Result<()> {
        if self.size > 0 && self.size + text.len() as u64 > MAX_BYTES {
            self.rotate()?;
        }
        self.file.write_all(text.as_bytes())?;
        self.size += text.len() as u64;
        Ok(())
    }
}

/// What one log event is written through: redacted, then to the rotating file.
struct LogWriter(Arc<Mutex<LogFile>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = redact(&String::from_utf8_lossy(buf));
        if let Ok(mut f) = self.0.lock() {
            f.write(&text)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.lock() {
            Ok(mut f) => f.file.flush(),
            Err(_) => Ok(()),
        }
    }
}

const MASK: &str = "[redacted]";

/// Keys whose value is a secret, wherever they appear (headers, JSON, YAML,
/// query strings, Debug output). Matched without regard to case.
const SECRET_KEYS: &[&str] = &[
    "authorization",
    "x-amz-security-token",
    "aws_session_token",
    "aws_secret_access_key",
    "secret_access_key",
    "session_token",
    "access_token",
    "id_token",
    "refresh_token",
    "client-key-data",
    "token",
    "password",
    "secure",
    "ciphertext",
    "signature",
    "credential",
];

/// A log line with every secret it holds masked.
pub fn redact(line: &str) -> String {
    let mut out = mask_keys(line);
    for kind in [
        "\"kind\":\"Secret\"",
        "\"kind\": \"Secret\"",
        "kind: Secret",
    ] {
        if out.contains(kind) {
            out = mask_secret_data(&out);
            break;
        }
    }
    out
}

/// Masks the value after each secret key (`key: v`, `key=v`, `"key":"v"`,
/// `key: Bearer v`).
fn mask_keys(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let mut masked = vec![false; line.len()];
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(key) {
            let start = from + i;
            from = start + key.len();
            // Whole keys only: `tokens_total` or `secured` are not secrets.
            let before = lower[..start].chars().next_back();
            let after = lower[from..].chars().next();
            if before.is_some_and(|c| c.is_ascii_alphanumeric())
                || after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                continue;
            }
            if let Some((a, b)) = value_span(line, from) {
                masked[a..b].iter_mut().for_each(|m| *m = true);
            }
        }
    }
    let mut out = String::with_capacity(line.len());
    let mut in_mask = false;
    for (i, c) in line.char_indices() {
        if masked[i] {
            if !in_mask {
                out.push_str(MASK);
                in_mask = true;
            }
        } else {
            in_mask = false;
            out.push(c);
        }
    }
    out
}

/// Where the value after a key ends: past `"`, `:`/`=` and spaces, up to the
/// closing quote or a delimiter. `Bearer`/`Basic` and an AWS signing scheme stay
/// in view; what follows them is the secret.
fn value_span(line: &str, mut i: usize) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    let skip = |i: &mut usize, set: &[u8]| {
        while *i < bytes.len() && set.contains(&bytes[*i]) {
            *i += 1;
        }
    };
    skip(&mut i, b"\"'");
    let sep = i;
    skip(&mut i, b" \t");
    if i >= bytes.len() || !matches!(bytes[i], b':' | b'=') {
        if i == sep {
            return None;
        }
    } else {
        i += 1;
    }
    skip(&mut i, b" \t");
    let quote = match bytes.get(i) {
        Some(q @ (b'"' | b'\'')) => {
            i += 1;
            Some(*q)
        }
        _ => None,
    };
    for scheme in ["bearer ", "basic ", "aws4-hmac-sha256 "] {
        if line[i..].to_ascii_lowercase().starts_with(scheme) {
            i += scheme.len();
        }
    }
    let start = i;
    while i < bytes.len() {
        let b = bytes[i];
        let end = match quote {
            Some(q) => b == q,
            None => matches!(
                b,
                b' ' | b',' | b';' | b'&' | b')' | b'}' | b']' | b'"' | b'\''
            ),
        };
        if end {
            break;
        }
        i += 1;
    }
    (i > start).then_some((start, i))
}

/// Masks the values of `data` and `stringData` maps in a line that shows a
/// Kubernetes Secret.
fn mask_secret_data(line: &str) -> String {
    let mut out = line.to_string();
    for key in ["\"data\":", "\"stringData\":", "data:", "stringData:"] {
        let mut from = 0;
        while let Some(i) = out[from..].find(key) {
            let open = from + i + key.len();
            let rest = &out[open..];
            let trimmed = rest.trim_start();
            let at = open + (rest.len() - trimmed.len());
            let Some(close) = matching_brace(&out, at) else {
                from = open;
                continue;
            };
            out.replace_range(at..close, &format!("\"{MASK}\""));
            from = at + MASK.len() + 2;
        }
    }
    out
}

/// The end (exclusive) of the `{…}` that starts at `at`.
fn matching_brace(s: &str, at: usize) -> Option<usize> {
    if s.as_bytes().get(at) != Some(&b'{') {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in s[at..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_levels_are_scoped_to_tierui() {
        assert_eq!(directives(None), "warn,tierui=info");
        assert_eq!(directives(Some("trace")), "warn,tierui=trace");
        assert_eq!(directives(Some("DEBUG")), "warn,tierui=DEBUG");
        // Naming another target is an explicit choice (still redacted).
        assert_eq!(
            directives(Some("trace,hyper=debug")),
            "warn,tierui=trace,hyper=debug"
        );
    }

    #[test]
    fn secrets_are_masked_in_every_shape_they_are_logged() {
        let cases = [
            ("authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
            (
                "headers: {\"authorization\": \"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261201/eu-west-1/eks/aws4_request, SignedHeaders=host, Signature=deadbeef\"}",
                "AKIAEXAMPLE",
            ),
            (
                "x-amz-security-token: FQoGZXIvYXdzEXAMPLETOKEN",
                "FQoGZXIvYXdzEXAMPLETOKEN",
            ),
            (
                "url=https://x/?X-Amz-Signature=0123abcd&X-Amz-Credential=AKIAX",
                "0123abcd",
            ),
            ("user: {token: s3cr3t-token-value}", "s3cr3t-token-value"),
            (
                "  day-service:api_key:\n    secure: AAABAF9wcm9kLWtleS1jaXBoZXJ0ZXh0",
                "AAABAF9w",
            ),
            ("{\"ciphertext\":\"v1:Zk9vYmFy\"}", "Zk9vYmFy"),
            ("password=hunter2 next", "hunter2"),
        ];
        for (line, secret) in cases {
            let r = redact(line);
            assert!(!r.contains(secret), "{line:?} → {r:?}");
            assert!(r.contains(MASK), "{r:?}");
        }
        // The scheme stays readable; words that only contain a key do not trip it.
        assert!(
            redact("authorization: Bearer abc").starts_with("authorization: Bearer [redacted]")
        );
        assert_eq!(
            redact("tokens_total=3 secured=yes"),
            "tokens_total=3 secured=yes"
        );
        assert_eq!(redact("GET /api/v1/pods 200"), "GET /api/v1/pods 200");
    }

    #[test]
    fn secret_data_is_masked_and_the_rest_kept() {
        let line = r#"body={"apiVersion":"v1","kind":"Secret","metadata":{"name":"api"},"data":{"api_key":"c2VjcmV0LXZhbHVl"},"type":"Opaque"}"#;
        let r = redact(line);
        assert!(!r.contains("c2VjcmV0LXZhbHVl"), "{r}");
        assert!(
            r.contains(r#""metadata":{"name":"api"}"#) && r.contains(r#""type":"Opaque""#),
            "{r}"
        );
        // A ConfigMap's data is not a secret.
        let cm = r#"{"kind":"ConfigMap","data":{"LOG_LEVEL":"info"}}"#;
        assert_eq!(redact(cm), cm);
    }

    #[test]
    fn the_log_rotates_keeps_a_few_generations_and_stays_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tierui.log");
        let mut log = LogFile::open(path.clone()).unwrap();
        let line = format!("{}\n", "x".repeat(1023));
        for _ in 0..(MAX_BYTES as usize / 1024) * (GENERATIONS + 2) {
            log.write(&line).unwrap();
        }
        for p in std::iter::once(path.clone()).chain((1..=GENERATIONS).map(|n| log.generation(n))) {
            let m = std::fs::metadata(&p).unwrap();
            assert!(m.len() <= MAX_BYTES, "{} is {}", p.display(), m.len());
            assert_eq!(m.permissions().mode() & 0o777, 0o600, "{}", p.display());
        }
        assert!(!log.generation(GENERATIONS + 1).exists());
    }
}
