//! Monitoring-check semantics for `realip scan --check`: Nagios threshold ranges, the
//! status of a run, and its performance data.
//!
//! Owns: parsing `--warning` / `--critical` as Nagios plugin ranges (`N`, `N:`, `~:N`, `N:M`,
//! `@N:M`, each optionally followed by `%` to judge the misresolved *share* instead of the
//! count), refusing a warning range that alerts later than the critical one, deciding OK /
//! WARNING / CRITICAL / UNKNOWN from the audit's numbers, and the perfdata that echoes the
//! thresholds exactly as typed (the count as `misresolved`, the share as `misresolved_pct`).
//!
//! Does not own: the status line's wording of the audit (that is `report::text::verdict`),
//! printing, or exit codes (the CLI maps a [`Status`] to 0/1/2/3).
//!
//! # Ranges (Nagios plugin development guidelines)
//!
//! | range | alert when the value is |
//! |---|---|
//! | `10` | outside `0..=10` (below 0 or above 10) |
//! | `10:` | below 10 |
//! | `~:10` | above 10 |
//! | `10:20` | outside `10..=20` |
//! | `@10:20` | inside `10..=20` |
//!
//! So `--warning 5` is OK at 5 misresolved lines and WARNING at 6, and `--critical 1%` is OK
//! at a share of exactly 1 % and CRITICAL above it.

use std::fmt;

use crate::report::escape::escape_str;
use crate::report::text::{utc, verdict};
use crate::report::ScanReport;

/// A threshold that could not be understood, or a pair of thresholds that makes no sense.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {text:?}: {why}")]
pub struct ThresholdError {
    /// The flag (`--warning`, `--critical`).
    pub flag: String,
    /// What was typed.
    pub text: String,
    /// What is wrong with it.
    pub why: String,
}

/// A Nagios range: the values in `lo..=hi` are OK (or, with `@`, the values outside it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Lower end (`f64::NEG_INFINITY` for `~`).
    pub lo: f64,
    /// Upper end (`f64::INFINITY` when open).
    pub hi: f64,
    /// `@`: alert inside the range instead of outside.
    pub inside: bool,
}

impl Range {
    /// Parses `N`, `N:`, `~:N`, `N:M` or `@N:M` (no `%`).
    pub fn parse(text: &str) -> Result<Range, String> {
        let (inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if body.is_empty() {
            return Err("empty range".into());
        }
        let number = |s: &str, what: &str| -> Result<f64, String> {
            let v: f64 = s
                .parse()
                .map_err(|_| format!("{what} {s:?} is not a number"))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(format!("{what} {s:?} is not a finite number"))
            }
        };
        let (lo, hi) = match body.split_once(':') {
            None => (0.0, number(body, "the upper end")?),
            Some((lo, hi)) => {
                let lo = match lo {
                    "~" => f64::NEG_INFINITY,
                    "" => 0.0,
                    s => number(s, "the lower end")?,
                };
                let hi = if hi.is_empty() {
                    f64::INFINITY
                } else {
                    number(hi, "the upper end")?
                };
                (lo, hi)
            }
        };
        if lo > hi {
            return Err(format!(
                "the lower end {lo} is above the upper end {hi} (Nagios ranges are LOW:HIGH)"
            ));
        }
        Ok(Range { lo, hi, inside })
    }

    /// Whether `value` is in the alert zone of this range.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.lo <= value && value <= self.hi;
        within == self.inside
    }
}

/// What a threshold judges: the number of misresolved lines, or their share in percent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Misresolved lines.
    Count,
    /// Misresolved lines per 100 checked lines.
    Percent,
}

/// A `--warning` or `--critical` threshold as typed and as understood.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// What was typed (echoed in perfdata, without a trailing `%`).
    pub text: String,
    /// The range.
    pub range: Range,
    /// What it judges.
    pub metric: Metric,
}

impl Threshold {
    /// Parses a range, with a trailing `%` for the misresolved share (0 to 100).
    pub fn parse(flag: &str, text: &str) -> Result<Threshold, ThresholdError> {
        let err = |why: String| ThresholdError {
            flag: flag.to_string(),
            text: text.to_string(),
            why: format!(
                "{why}; expected a Nagios range (N, N:, ~:N, N:M, @N:M), optionally followed \
                 by % for the share of checked lines"
            ),
        };
        let t = text.trim();
        let (body, metric) = match t.strip_suffix('%') {
            Some(b) => (b.trim_end(), Metric::Percent),
            None => (t, Metric::Count),
        };
        if body.contains('%') {
            return Err(err("% may only end the range".into()));
        }
        let range = Range::parse(body).map_err(err)?;
        Ok(Threshold {
            text: body.to_string(),
            range,
            metric,
        })
    }
}

/// The `--warning` and `--critical` pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// WARNING threshold.
    pub warning: Threshold,
    /// CRITICAL threshold.
    pub critical: Threshold,
}

impl Thresholds {
    /// Parses both and refuses a warning range that alerts later than the critical one
    /// (a value that is CRITICAL must also be past the warning threshold, when both judge
    /// the same metric).
    pub fn parse(warning: &str, critical: &str) -> Result<Thresholds, ThresholdError> {
        let w = Threshold::parse("--warning", warning)?;
        let c = Threshold::parse("--critical", critical)?;
        if w.metric == c.metric && alerts_later(&w.range, &c.range, w.metric) {
            return Err(ThresholdError {
                flag: "--warning".into(),
                text: warning.to_string(),
                why: format!(
                    "alerts later than --critical {critical:?}: some values would be CRITICAL \
                     without being WARNING first; the warning range must alert at least \
                     wherever the critical one does"
                ),
            });
        }
        Ok(Thresholds {
            warning: w,
            critical: c,
        })
    }
}

/// Whether some value in the metric's domain alerts for `critical` but not for `warning`.
fn alerts_later(warning: &Range, critical: &Range, metric: Metric) -> bool {
    let (dlo, dhi) = match metric {
        Metric::Count => (0.0, f64::INFINITY),
        Metric::Percent => (0.0, 100.0),
    };
    let clip = |r: &Range| (r.lo.max(dlo), r.hi.min(dhi));
    match (warning.inside, critical.inside) {
        // OK zones: the warning's must lie within the critical's.
        (false, false) => {
            let (wl, wh) = clip(warning);
            let (cl, ch) = clip(critical);
            wl <= wh && (wl < cl || wh > ch)
        }
        // Alert zones: the critical's must lie within the warning's.
        (true, true) => {
            let (wl, wh) = clip(warning);
            let (cl, ch) = clip(critical);
            cl <= ch && (cl < wl || ch > wh)
        }
        // Mixed kinds: accepted as typed.
        _ => false,
    }
}

/// A check plugin status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// All is well (exit 0).
    Ok,
    /// WARNING (exit 1).
    Warning,
    /// CRITICAL (exit 2).
    Critical,
    /// UNKNOWN: realip could not do its job (exit 3).
    Unknown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        })
    }
}

/// The numbers a check judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figures {
    /// Lines audited.
    pub checked: u64,
    /// Lines whose logged client is not the real client.
    pub misresolved: u64,
}

impl Figures {
    /// The misresolved share in percent (0 when nothing was checked).
    pub fn percent(&self) -> f64 {
        if self.checked == 0 {
            0.0
        } else {
            self.misresolved as f64 * 100.0 / self.checked as f64
        }
    }
}

impl Thresholds {
    /// The status the thresholds give these figures (OK, WARNING or CRITICAL).
    pub fn judge(&self, f: &Figures) -> Status {
        let value = |t: &Threshold| match t.metric {
            Metric::Count => f.misresolved as f64,
            Metric::Percent => f.percent(),
        };
        if self.critical.range.alerts(value(&self.critical)) {
            Status::Critical
        } else if self.warning.range.alerts(value(&self.warning)) {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// Performance data: `misresolved=N;W;C;0; misresolved_pct=P%;W;C;0;100 checked=N`, each
    /// threshold on the metric it judges, echoed as typed.
    pub fn perfdata(&self, f: &Figures) -> String {
        let on = |m: Metric, t: &Threshold| {
            if t.metric == m {
                t.text.clone()
            } else {
                String::new()
            }
        };
        format!(
            "misresolved={};{};{};0; misresolved_pct={}%;{};{};0;100 checked={}",
            f.misresolved,
            on(Metric::Count, &self.warning),
            on(Metric::Count, &self.critical),
            percent_text(f.percent()),
            on(Metric::Percent, &self.warning),
            on(Metric::Percent, &self.critical),
            f.checked
        )
    }
}

/// Bytes a run could not read because their file was rotated away (from
/// [`crate::state::Skipped`] with `lost`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    /// The file they were in.
    pub name: String,
    /// How many bytes were pending in it when last seen.
    pub bytes: u64,
}

/// A check's answer: the status and the text after `REALIP <STATUS>: ` (perfdata included).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// OK, WARNING, CRITICAL or UNKNOWN.
    pub status: Status,
    /// The status text, ` | ` and the perfdata (untrusted parts escaped).
    pub text: String,
}

impl Outcome {
    /// The one line a check plugin prints: `REALIP OK: … | perfdata`.
    pub fn line(&self) -> String {
        format!("REALIP {}: {}", self.status, self.text)
    }
}

/// Judges a finished scan: UNKNOWN when realip could not do its job (an input it could not
/// read, no audit possible, lines that none parsed), OK when nothing new arrived, else the
/// thresholds' verdict, raised to WARNING when rotated lines were lost. `previous_run` is
/// when the previous `--state` run began, if there was one.
pub fn outcome(
    report: &ScanReport,
    thresholds: &Thresholds,
    lost: &[Lost],
    previous_run: Option<u64>,
) -> Outcome {
    let unknown = |why: String| Outcome {
        status: Status::Unknown,
        text: why,
    };
    if let Some(e) = report.errors.first() {
        return unknown(format!("cannot read input: {}", escape_str(e)));
    }
    let Some(a) = &report.audit else {
        let why = report
            .audit_note
            .clone()
            .unwrap_or_else(|| "audit disabled".to_string());
        return unknown(format!("no audit: {}", escape_str(&why)));
    };
    if report.lines > 0 && report.parsed == 0 {
        return unknown(format!(
            "no line of {} matched the log format {}",
            report.lines,
            escape_str(&report.format)
        ));
    }
    let figures = Figures {
        checked: a.checked,
        misresolved: a.misresolved,
    };
    let perf = thresholds.perfdata(&figures);
    let mut status = thresholds.judge(&figures);
    let mut text = if report.lines == 0 {
        match (report.state_notes.is_some(), previous_run) {
            (true, Some(t)) => format!(
                "no new requests since {}",
                utc(i64::try_from(t).unwrap_or(i64::MAX))
            ),
            (true, None) => "no requests in the logs yet".to_string(),
            (false, _) => "no requests in the log".to_string(),
        }
    } else if a.checked == 0 {
        format!("no request to audit among {} parsed lines", report.parsed)
    } else {
        verdict(a)
    };
    if !lost.is_empty() {
        let bytes: u64 = lost.iter().map(|l| l.bytes).sum();
        let names: Vec<String> = lost
            .iter()
            .map(|l| escape_str(&l.name).into_owned())
            .collect();
        let how_much = if bytes > 0 {
            format!("at least {bytes} pending bytes")
        } else {
            "lines (how many is unknown)".to_string()
        };
        text = format!(
            "{text}; {how_much} lost in rotation ({}: not found before this run)",
            names.join(", ")
        );
        status = status.max(Status::Warning);
    }
    Outcome {
        status,
        text: format!("{text} | {perf}"),
    }
}

/// A percentage with at most 4 decimals and no trailing zeros: `2.41`, `0`, `33.3333`.
pub fn percent_text(p: f64) -> String {
    let s = format!("{p:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Range {
        Range::parse(text).unwrap()
    }

    #[test]
    fn nagios_range_forms() {
        // N: outside 0..N
        assert!(!r("10").alerts(10.0));
        assert!(r("10").alerts(11.0));
        assert!(r("10").alerts(-1.0));
        assert!(!r("10").alerts(0.0));
        // N: below N
        assert!(r("10:").alerts(9.0));
        assert!(!r("10:").alerts(10.0));
        assert!(!r("10:").alerts(1e12));
        // ~:N above N
        assert!(!r("~:10").alerts(-1e12));
        assert!(r("~:10").alerts(10.5));
        // N:M
        assert!(r("10:20").alerts(9.99));
        assert!(!r("10:20").alerts(20.0));
        assert!(r("10:20").alerts(21.0));
        // @N:M inside
        assert!(r("@10:20").alerts(10.0));
        assert!(r("@10:20").alerts(20.0));
        assert!(!r("@10:20").alerts(21.0));
        assert!(!r("@10:20").alerts(9.0));
    }

    #[test]
    fn bad_ranges_are_refused() {
        for bad in ["", "@", "x", "20:10", "1:x", "nan", "inf", "~", "5%:10"] {
            assert!(Threshold::parse("--warning", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percent_thresholds_judge_the_share() {
        let t = Thresholds::parse("0", "10%").unwrap();
        let f = |m, c| Figures {
            misresolved: m,
            checked: c,
        };
        assert_eq!(t.judge(&f(0, 100)), Status::Ok);
        assert_eq!(t.judge(&f(1, 100)), Status::Warning);
        assert_eq!(t.judge(&f(10, 100)), Status::Warning);
        assert_eq!(t.judge(&f(11, 100)), Status::Critical);
        assert_eq!(
            t.perfdata(&f(3, 100)),
            "misresolved=3;0;;0; misresolved_pct=3%;;10;0;100 checked=100"
        );
    }

    #[test]
    fn warning_later_than_critical_is_refused() {
        assert!(Thresholds::parse("100", "10").is_err());
        assert!(Thresholds::parse("10%", "5%").is_err());
        assert!(Thresholds::parse("@0:5", "@0:10").is_err());
        assert!(Thresholds::parse("10", "10").is_ok());
        assert!(Thresholds::parse("5", "10").is_ok());
        assert!(Thresholds::parse("~:5", "10").is_ok());
        assert!(Thresholds::parse("@0:10", "@2:5").is_ok());
        // Different metrics cannot be compared: accepted.
        assert!(Thresholds::parse("100", "1%").is_ok());
    }

    #[test]
    fn percent_text_is_compact() {
        assert_eq!(percent_text(0.0), "0");
        assert_eq!(percent_text(2.41), "2.41");
        assert_eq!(percent_text(100.0 / 3.0), "33.3333");
        assert_eq!(percent_text(50.0), "50");
    }
}
