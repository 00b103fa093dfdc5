//! Simulated time and seeded randomness.
//!
//! Object timestamps are real wall-clock time so that kubectl's AGE column stays
//! truthful; everything that *waits* (pod start delays, HPA sync period,
//! stabilization windows, scenario curves) runs on simulated seconds, which pass
//! `speed` times faster than real ones.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Clock {
    start: Instant,
    /// Wall-clock unix seconds when the cluster started.
    start_wall: f64,
    speed: f64,
}

impl Clock {
    pub fn new(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Clock {
            start: Instant::now(),
            start_wall: jiff::Timestamp::now().as_microsecond() as f64 / 1e6,
            speed,
        }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Simulated seconds since the cluster started.
    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.speed
    }

    /// The cluster's own wall clock at simulated time `t`, in unix seconds:
    /// the real time it started plus the simulated seconds since, so at
    /// `--speed 60` a CronJob's `*/5` fires every five real seconds.
    pub fn wall_at(&self, t: f64) -> i64 {
        (self.start_wall + t).floor() as i64
    }

    /// Real time until simulated time `at`.
    pub fn real_until(&self, at: f64) -> Duration {
        let dt = (at - self.now()) / self.speed;
        if dt.is_nan() {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(dt.clamp(0.0, 3600.0))
    }

    /// Wall-clock time as Kubernetes writes it (RFC 3339, seconds).
    pub fn timestamp() -> String {
        let now = jiff::Timestamp::now();
        now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// Wall-clock time with microseconds, for managedFields and metrics.
    pub fn timestamp_micro() -> String {
        let now = jiff::Timestamp::now();
        now.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

/// splitmix64: tiny, fast and good enough to make names and delays look random
/// while replaying exactly for a given seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// A generator for one purpose, so that e.g. API-created uids do not shift the
    /// controllers' sequence of pod names.
    pub fn stream(seed: u64, purpose: &str) -> Self {
        let mut h = seed;
        for b in purpose.bytes() {
            h = mix(h ^ u64::from(b));
        }
        Rng::new(h)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// The alphabet Kubernetes uses for generated name suffixes (no vowels, no
    /// look-alikes).
    pub fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| char::from(ALPHABET[self.below(ALPHABET.len())]))
            .collect()
    }

    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable hash of text (FNV-1a), e.g. for pod-template-hash.
pub fn fnv(text: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::stream(7, "pods");
        let mut b = Rng::stream(7, "pods");
        assert_eq!(a.suffix(5), b.suffix(5));
        assert_eq!(a.uuid(), b.uuid());
        let mut c = Rng::stream(8, "pods");
        assert_ne!(Rng::stream(7, "pods").suffix(10), c.suffix(10));
    }

    #[test]
    fn uuid_has_the_right_shape() {
        let u = Rng::new(1).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(
            u.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
    }

    #[test]
    fn unit_stays_in_range() {
        let mut r = Rng::new(3);
        for _ in 0..1000 {
            let x = r.unit();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
