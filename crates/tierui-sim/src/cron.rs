//! CronJob schedules: the five-field cron syntax the CronJob controller
//! accepts (robfig/cron's standard parser: `*`, lists, ranges, steps, month and
//! weekday names, `?`, and the `@hourly`-style macros), and the next time a
//! schedule fires after a given minute, in UTC.

use jiff::civil::DateTime;
use jiff::{Timestamp, ToSpan, tz::TimeZone};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Day of month and day of week both restricted: either matches (cron's rule).
    either_day: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Schedule {
    /// Parses a schedule; the error is the message the API server gives after
    /// `spec.schedule: Invalid value: "<schedule>": `.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let text = text.trim();
        if text.starts_with("TZ=") || text.starts_with("CRON_TZ=") {
            return Err(
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead".to_string(),
            );
        }
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            t if t.starts_with('@') => return Err(format!("unrecognized descriptor: {t}")),
            t => t,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: {text}",
                fields.len()
            ));
        }
        let restricted = |f: &str| !(f == "*" || f == "?" || f.starts_with("*/"));
        Ok(Schedule {
            minutes: field(fields[0], 0, 59, &[])?,
            hours: field(fields[1], 0, 23, &[])?,
            days: field(fields[2], 1, 31, &[])?,
            months: field(fields[3], 1, 12, &MONTHS)?,
            weekdays: {
                // 7 is Sunday as well.
                let w = field(fields[4], 0, 7, &DAYS)?;
                (w | (w >> 7)) & 0x7f
            },
            either_day: restricted(fields[2]) && restricted(fields[4]),
        })
    }

    fn day_matches(&self, d: DateTime) -> bool {
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        if self.either_day {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The first minute strictly after `after` (unix seconds) the schedule
    /// fires, within five years; `None` for a schedule that never fires (30 February).
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let start = Timestamp::from_second(after).ok()?;
        let mut t = start.to_zoned(TimeZone::UTC).datetime();
        // The next whole minute.
        t = t
            .with()
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(1.minute())
            .ok()?;
        let limit = t.checked_add(5.years()).ok()?;
        while t < limit {
            if self.months & (1 << t.month()) == 0 {
                t = t
                    .first_of_month()
                    .checked_add(1.month())
                    .ok()?
                    .with()
                    .hour(0)
                    .minute(0)
                    .build()
                    .ok()?;
                continue;
            }
            if !self.day_matches(t) {
                t = t
                    .checked_add(1.day())
                    .ok()?
                    .with()
                    .hour(0)
                    .minute(0)
                    .build()
                    .ok()?;
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t
                    .checked_add(1.hour())
                    .ok()?
                    .with()
                    .minute(0)
                    .build()
                    .ok()?;
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
                continue;
            }
            return Some(t.to_zoned(TimeZone::UTC).ok()?.timestamp().as_second());
        }
        None
    }
}

/// One field as a bit set of the values it allows.
fn field(text: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| format!("failed to parse int from {s}: invalid syntax"))?;
                if step == 0 {
                    return Err(format!("step of range should be a positive number: {part}"));
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" || range == "?" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, lo, names)?, value(b, lo, names)?)
        } else {
            let a = value(range, lo, names)?;
            // `5/15` means from 5 to the end in steps of 15.
            (a, if part.contains('/') { hi } else { a })
        };
        if a < lo {
            return Err(format!(
                "beginning of range ({a}) below minimum ({lo}): {part}"
            ));
        }
        if b > hi {
            return Err(format!("end of range ({b}) above maximum ({hi}): {part}"));
        }
        if a > b {
            return Err(format!(
                "beginning of range ({a}) beyond end of range ({b}): {part}"
            ));
        }
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn value(text: &str, lo: u32, names: &[&str]) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        // Months count from 1, weekdays from 0 (Sunday).
        return Ok(i as u32 + lo);
    }
    text.parse()
        .map_err(|_| format!("failed to parse int from {text}: invalid syntax"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_second()
    }

    fn next(sched: &str, after: &str) -> String {
        let s = Schedule::parse(sched).unwrap();
        Timestamp::from_second(s.next_after(at(after)).unwrap())
            .unwrap()
            .to_string()
    }

    #[test]
    fn common_schedules() {
        assert_eq!(
            next("*/5 * * * *", "2026-12-03T10:02:30Z"),
            "2026-12-03T10:05:00Z"
        );
        assert_eq!(
            next("*/5 * * * *", "2026-12-03T10:05:00Z"),
            "2026-12-03T10:10:00Z"
        );
        assert_eq!(
            next("@hourly", "2026-12-03T10:02:00Z"),
            "2026-12-03T11:00:00Z"
        );
        assert_eq!(
            next("@daily", "2026-12-31T23:59:00Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("30 2 * * MON-FRI", "2026-12-04T03:00:00Z"),
            "2026-12-07T02:30:00Z"
        );
        assert_eq!(
            next("0 0 29 2 *", "2026-03-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(
            next("15 6 1 JAN,jul *", "2026-12-03T00:00:00Z"),
            "2027-01-01T06:15:00Z"
        );
        // Sunday as 7; day of month OR day of week when both are restricted.
        assert_eq!(
            next("0 12 * * 7", "2026-12-03T00:00:00Z"),
            "2026-12-06T12:00:00Z"
        );
        assert_eq!(
            next("0 0 10 * 5", "2026-12-03T00:00:00Z"),
            "2026-12-04T00:00:00Z"
        );
        assert_eq!(
            next("5/20 * * * *", "2026-12-03T10:06:00Z"),
            "2026-12-03T10:25:00Z"
        );
    }

    #[test]
    fn bad_schedules_say_why_as_the_api_server_does() {
        for (s, want) in [
            ("* * * *", "expected exactly 5 fields, found 4: * * * *"),
            ("61 * * * *", "end of range (61) above maximum (59): 61"),
            ("x * * * *", "failed to parse int from x: invalid syntax"),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            (
                "5-1 * * * *",
                "beginning of range (5) beyond end of range (1): 5-1",
            ),
            ("@often", "unrecognized descriptor: @often"),
            (
                "TZ=UTC 0 * * * *",
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ),
            ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ] {
            assert_eq!(Schedule::parse(s).unwrap_err(), want, "{s}");
        }
        assert_eq!(Schedule::parse("0 0 30 2 *").unwrap().next_after(0), None);
    }
}
