//! Times and durations typed on the command line: `--bucket 5m`, `--since -1h`,
//! `--until 2026-11-25T10:00:00Z`.
//!
//! Owns: parsing durations (`30s`, `5m`, `1h`, `1d`, combinations such as `1h30m`), points in
//! time (RFC 3339, nginx `$time_local`, a bare date, or relative to now: `-1h`, `now`), and
//! [`TimeRange`], the half-open `[since, until)` window a scan keeps.
//! Does not own: timestamps in log lines (`logfmt::record`), the clock (callers pass `now`).

use crate::escape::escape_str;
use crate::logfmt::record::{parse_time_iso8601, parse_time_local};
use crate::Error;

/// Parses a duration: one or more `<number><unit>` with units `s`, `m`, `h`, `d`, `w`
/// (`90s`, `5m`, `1h30m`), in whole seconds, at least one second.
pub fn parse_duration(flag: &'static str, text: &str) -> Result<u64, Error> {
    let bad = |reason: &str| Error::TimeSpec {
        flag,
        text: escape_str(text).into_owned(),
        reason: reason.to_string(),
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad("empty; expected a duration such as 1m, 5m, 1h or 1d"));
    }
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad("expected a number followed by a unit (s, m, h, d, w)"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            "" => return Err(bad("a unit is missing: write 60s, 1m, 1h or 1d")),
            _ => return Err(bad("unknown unit; use s, m, h, d or w")),
        };
        total = n
            .checked_mul(scale)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| bad("too long"))?;
    }
    if total == 0 {
        return Err(bad("must be at least one second"));
    }
    Ok(total)
}

/// Parses a point in time as seconds since the epoch: RFC 3339 (`2026-11-25T10:00:00Z`,
/// `2026-11-25T10:00:00+01:00`, a space instead of `T` too), a date (`2026-11-25`, midnight
/// UTC), nginx `$time_local` (`25/Nov/2026:10:00:00 +0000`), `now`, or relative to `now`
/// (`-1h`, `-30m`, `-1d12h`).
pub fn parse_time(flag: &'static str, text: &str, now: i64) -> Result<i64, Error> {
    let bad = || Error::TimeSpec {
        flag,
        text: escape_str(text).into_owned(),
        reason: "expected RFC 3339 (2026-11-25T10:00:00Z), a date (2026-11-25), nginx \
                 $time_local (25/Nov/2026:10:00:00 +0000), now, or a time relative to now \
                 (-1h, -30m, -2d)"
            .to_string(),
    };
    let t = text.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(rel) = t.strip_prefix('-') {
        let secs = parse_duration(flag, rel).map_err(|_| bad())?;
        let secs = i64::try_from(secs).map_err(|_| bad())?;
        return now.checked_sub(secs).ok_or_else(bad);
    }
    let b = t.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let mut full = t.to_string();
        full.push_str("T00:00:00Z");
        return parse_time_iso8601(full.as_bytes()).ok_or_else(bad);
    }
    if let Some(v) = parse_time_local(b) {
        return Ok(v);
    }
    // RFC 3339: optional fraction (dropped), `T` or a space, `Z`/`z` or an offset.
    if b.len() >= 20 {
        let mut norm: Vec<u8> = b[..19].to_vec();
        if norm[10] == b' ' || norm[10] == b't' {
            norm[10] = b'T';
        }
        let mut rest = &b[19..];
        if let Some(r) = rest.strip_prefix(b".") {
            let digits = r.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return Err(bad());
            }
            rest = &r[digits..];
        }
        match rest {
            b"z" | b"Z" => norm.push(b'Z'),
            _ => norm.extend_from_slice(rest),
        }
        return parse_time_iso8601(&norm).ok_or_else(bad);
    }
    Err(bad())
}

/// The half-open window `[since, until)` of request times a scan keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Earliest second kept, inclusive.
    pub since: Option<i64>,
    /// First second no longer kept.
    pub until: Option<i64>,
}

impl TimeRange {
    /// Whether any bound is set.
    pub fn is_set(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// Whether `t` (seconds since the epoch) is inside.
    #[inline]
    pub fn contains(&self, t: i64) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |s| parse_duration("--bucket", s);
        assert_eq!(d("1m").unwrap(), 60);
        assert_eq!(d("5m").unwrap(), 300);
        assert_eq!(d("1h").unwrap(), 3600);
        assert_eq!(d("1h30m").unwrap(), 5400);
        assert_eq!(d("90s").unwrap(), 90);
        assert_eq!(d("1d").unwrap(), 86_400);
        assert_eq!(d("1w").unwrap(), 604_800);
        for bad in [
            "",
            "5",
            "m",
            "0s",
            "5x",
            "-5m",
            "1.5h",
            "99999999999999999999s",
        ] {
            assert!(d(bad).is_err(), "{bad}");
        }
        let e = d("5").unwrap_err().to_string();
        assert!(e.starts_with("--bucket \"5\": a unit is missing"), "{e}");
    }

    #[test]
    fn times() {
        let now = 1_795_000_000;
        let t = |s| parse_time("--since", s, now);
        assert_eq!(t("2000-10-10T20:55:36Z").unwrap(), 971_211_336);
        assert_eq!(t("2000-10-10T13:55:36-07:00").unwrap(), 971_211_336);
        assert_eq!(t("2000-10-10 20:55:36Z").unwrap(), 971_211_336);
        assert_eq!(t("2000-10-10T20:55:36.123Z").unwrap(), 971_211_336);
        assert_eq!(t("10/Oct/2000:13:55:36 -0700").unwrap(), 971_211_336);
        assert_eq!(t("2000-10-10").unwrap(), 971_136_000);
        assert_eq!(t("now").unwrap(), now);
        assert_eq!(t("-1h").unwrap(), now - 3600);
        assert_eq!(t("-1d12h").unwrap(), now - 129_600);
        for bad in [
            "",
            "yesterday",
            "2000-13-10",
            "-1",
            "2000-10-10T20:55:36",
            "1h",
        ] {
            assert!(t(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_are_half_open() {
        let r = TimeRange {
            since: Some(10),
            until: Some(20),
        };
        assert!(!r.contains(9));
        assert!(r.contains(10));
        assert!(r.contains(19));
        assert!(!r.contains(20));
        assert!(TimeRange::default().contains(i64::MIN));
    }
}
