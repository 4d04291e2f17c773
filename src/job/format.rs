//! Choosing a scan's log format: given, named in nginx.conf, the format of the `access_log`
//! that writes the file, the candidate that parses most of the first lines, or detected from
//! the first lines of the first input.

use std::path::Path;

use super::Notice;
use crate::error::Error;
use crate::escape::escape_str;
use crate::input;
use crate::logfmt::{self, Format, Plan, Record};
use crate::nginx::ast::Config;
use crate::nginx::log_format::{access_logs, format_named};
use crate::scan::ScanInput;

/// How the job's format is chosen.
#[derive(Clone, Debug)]
pub(super) enum Choice {
    /// `auto`, a built-in name, a `log_format` name from nginx.conf, or a template.
    Text(String),
    /// Exactly this format.
    Given(Format),
    /// The candidate that parses most of the first lines (the earlier one on a tie), else
    /// detected.
    BestFit(Vec<Format>),
}

/// The format for `choice`. Detection peeks at the first input and puts it back. With a
/// configuration, a `log_format` name defined there wins over a built-in of the same name,
/// and `auto` takes the format of the `access_log` writing a file of the first input's name,
/// when there is one.
pub(super) fn choose(
    inputs: &mut Vec<ScanInput>,
    names: &[std::ffi::OsString],
    choice: &Choice,
    cfg: Option<&Config>,
    notices: &mut Vec<Notice>,
) -> Result<Format, Error> {
    let given = match choice {
        Choice::Given(f) => return Ok(f.clone()),
        Choice::BestFit(candidates) => {
            let head = peek(inputs)?;
            let lines = as_slices(&head);
            return match best_fit(candidates, &lines) {
                Some(f) => Ok(f),
                None => detect(&lines, notices),
            };
        }
        Choice::Text(t) => t.as_str(),
    };
    if given != "auto" {
        if let Some(f) = cfg
            .filter(|_| !given.contains('$'))
            .and_then(|c| format_named(c, given))
        {
            return Ok(f);
        }
        return given
            .parse::<Format>()
            .map_err(|e| Error::context("--log-format", e));
    }
    let head = peek(inputs)?;
    let detected = detect(&as_slices(&head), notices)?;
    let Some(cfg) = cfg else {
        return Ok(detected);
    };
    let first = names.first().map(Path::new);
    let by_path = first.and_then(|f| {
        let name = f.file_name()?;
        access_logs(cfg)
            .into_iter()
            .find(|a| Path::new(&a.path).file_name() == Some(name))
    });
    Ok(by_path
        .and_then(|a| format_named(cfg, &a.format))
        .unwrap_or(detected))
}

/// The first non-empty whole lines of the first input (at most `logfmt::DETECT_LINES`, read
/// past a first line longer than the peek window), which is put back to be read whole.
fn peek(inputs: &mut Vec<ScanInput>) -> Result<Vec<Vec<u8>>, Error> {
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let first = inputs.remove(0);
    let name = first.name;
    let (lines, opened) =
        input::peek_lines(first.opened, logfmt::DETECT_LINES).map_err(|e| Error::io(&name, &e))?;
    inputs.insert(
        0,
        ScanInput {
            name,
            opened,
            first_line: first.first_line,
        },
    );
    Ok(lines)
}

fn as_slices(lines: &[Vec<u8>]) -> Vec<&[u8]> {
    lines.iter().map(Vec::as_slice).collect()
}

/// The candidate that parses most of `lines` (at least one), the earlier on a tie.
fn best_fit(candidates: &[Format], lines: &[&[u8]]) -> Option<Format> {
    let mut best: Option<(&Format, usize)> = None;
    let mut rec = Record::new();
    for format in candidates {
        let Ok(plan) = Plan::compile(format) else {
            continue;
        };
        let parsed = lines
            .iter()
            .filter(|l| plan.parse(l, &mut rec).is_ok())
            .count();
        if parsed > 0 && best.is_none_or(|(_, b)| parsed > b) {
            best = Some((format, parsed));
        }
    }
    best.map(|(f, _)| f.clone())
}

/// Detects the format from `lines` (`realip` when there are none).
fn detect(lines: &[&[u8]], notices: &mut Vec<Notice>) -> Result<Format, Error> {
    if lines.is_empty() {
        return Ok(Format::Realip);
    }
    let d = logfmt::detect_detailed(lines).map_err(|e| Error::context("--log-format auto", e))?;
    if d.parsed < d.sampled {
        notices.push(Notice::Warning(format!(
            "detected {} from only {} of the first {} lines; if that is wrong, give --log-format",
            d.variant.unwrap_or(d.format.name()),
            d.parsed,
            d.sampled
        )));
    }
    if let Some(v) = d.variant {
        notices.push(Notice::Note(format!(
            "log format: {v}, a common variant of a built-in format (detected; its template: \
             --log-format '{}')",
            escape_str(d.format.template().unwrap_or_default())
        )));
    }
    Ok(d.format)
}
