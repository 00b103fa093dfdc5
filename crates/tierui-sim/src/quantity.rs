//! Kubernetes resource quantities (`200m`, `1.5`, `128Mi`, `1G`) as numbers.

/// The quantity in base units (cores for CPU, bytes for memory).
pub fn parse(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0f64.powi(4),
        s if s.starts_with('e') || s.starts_with('E') => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * mult)
}

/// CPU as the metrics API writes it (nanocores).
pub fn cpu_nanos(millicores: f64) -> String {
    format!("{}n", (millicores.max(0.0) * 1e6).round() as u64)
}

/// Memory as the metrics API writes it (KiB).
pub fn mem_ki(bytes: f64) -> String {
    format!("{}Ki", (bytes.max(0.0) / 1024.0).round() as u64)
}

/// `"200m"` for 0.2 cores.
pub fn millis(cores: f64) -> String {
    format!("{}m", (cores * 1000.0).round() as i64)
}

/// Bytes as the HPA writes average values (`"123456k"`-style is also legal; we use Mi when exact-ish).
pub fn bytes_text(bytes: f64) -> String {
    let mi = bytes / (1024.0 * 1024.0);
    if (mi - mi.round()).abs() < 1e-9 {
        format!("{}Mi", mi.round() as i64)
    } else {
        format!("{}", bytes.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse("200m"), Some(0.2));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("128Mi"), Some(134_217_728.0));
        assert_eq!(parse("1G"), Some(1e9));
        assert_eq!(parse("1500000n").map(|x| (x * 1e6).round()), Some(1500.0));
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("1Xi"), None);
        assert_eq!(cpu_nanos(1.5), "1500000n");
        assert_eq!(bytes_text(200.0 * 1024.0 * 1024.0), "200Mi");
    }
}
