//! Access-log formats: which fields a line has and where.
//!
//! Owns: [`Format`] (what the user asked for: `combined`, `main`, `ltsv`, `json` or any nginx
//! `log_format` template), [`Plan`] (a format compiled once; [`Plan::parse`] is the per-line
//! entry point the scanner calls), [`LineError`] (why one line does not fit, `Copy` and
//! allocation-free), [`detect`] (`--log-format auto`), and the key names LTSV and JSON share.
//! Does not own: reading lines (`input`), counting or sampling bad lines (`scan`), what the
//! values mean (`record`), reading `log_format` out of nginx.conf (`nginx`).
//!
//! Where each part lives:
//! * `template.rs` compiles a template with nom into literals and variable slots;
//! * `line.rs` is the hot path that applies a compiled template to a line with inlined byte
//!   searches;
//! * `preset.rs` is the same path unrolled for `combined`, `main` and `realip`, with every
//!   literal a constant (lines it refuses go to `line.rs`, which reports why);
//! * `ltsv.rs` and `json.rs` read the two self-describing formats;
//! * [`mod@reference`] holds slow, obvious parsers for all three, the oracle for tests and fuzzing.
//!
//! Every parser strips one trailing `\r` (the reader may or may not have) and refuses an empty
//! line; none allocates per line.
//!
//! ```
//! use realip::logfmt::{Field, Format, Plan, Record};
//!
//! let plan = Plan::compile(&"combined".parse::<Format>()?)?;
//! let line: &[u8] = br#"203.0.113.7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 612 "-" "curl/8.5""#;
//! let mut rec = Record::new();
//! plan.parse(line, &mut rec).expect("a combined line");
//! assert_eq!(rec.get(Field::RemoteAddr), Some(&b"203.0.113.7"[..]));
//! assert_eq!(rec.status(), Some(200));
//! # Ok::<(), realip::Error>(())
//! ```

mod json;
mod line;
mod ltsv;
mod preset;
pub mod record;
pub mod reference;
pub mod template;

use std::fmt;
use std::str::FromStr;

pub(crate) use preset::Preset;
pub use record::{Field, Record, TimeCache};
pub use template::{Piece, Var};

use crate::escape::{escape_bytes, escape_str};
use crate::Error;

/// The text of `combined`, as a literal for `concat!`.
macro_rules! combined_template {
    () => {
        "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \
         \"$http_referer\" \"$http_user_agent\""
    };
}

/// The text of `main`, as a literal for `concat!`.
macro_rules! main_template {
    () => {
        concat!(combined_template!(), " \"$http_x_forwarded_for\"")
    };
}

/// nginx's predefined `combined` format.
pub const COMBINED: &str = combined_template!();

/// The `main` format from nginx's default configuration: `combined` plus
/// `"$http_x_forwarded_for"`.
pub const MAIN: &str = main_template!();

/// The format realip recommends for an exact audit: `main` plus the TCP peer before realip
/// (`$realip_remote_addr`) and both latencies. `$upstream_response_time` comes last because
/// it may hold several values separated by `, ` or ` : `.
pub const REALIP: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
                          $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \
                          \"$http_x_forwarded_for\" $realip_remote_addr $request_time \
                          $upstream_response_time";

/// Common variants of `combined` and `main` that `auto` also recognises: nginx configs
/// very often append the latencies (`$request_time`, `$upstream_response_time`) and
/// sometimes `"$http_x_forwarded_for"` to the predefined formats. `(name, template)`; the
/// name says which variant was chosen.
pub const VARIANTS: &[(&str, &str)] = &[
    (
        "main + $request_time",
        concat!(main_template!(), " $request_time"),
    ),
    (
        "main + $request_time $upstream_response_time",
        concat!(main_template!(), " $request_time $upstream_response_time"),
    ),
    (
        "main + rt= uct= uht= urt=",
        concat!(
            main_template!(),
            " rt=$request_time uct=\"$upstream_connect_time\" uht=\"$upstream_header_time\" \
             urt=\"$upstream_response_time\""
        ),
    ),
    (
        "combined + $request_time",
        concat!(combined_template!(), " $request_time"),
    ),
    (
        "combined + $request_time $upstream_response_time",
        concat!(
            combined_template!(),
            " $request_time $upstream_response_time"
        ),
    ),
];

/// How many non-empty lines [`detect`] looks at.
pub const DETECT_LINES: usize = 20;

/// Most bytes of a line quoted in a [`detect`] error.
const DETECT_SHOWN_BYTES: usize = 200;

/// An access-log format, as the user names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// nginx's predefined `combined` ([`COMBINED`]).
    Combined,
    /// nginx's example `main` ([`MAIN`]): combined plus `"$http_x_forwarded_for"`.
    Main,
    /// realip's recommended format ([`REALIP`]): `main` plus `$realip_remote_addr`,
    /// `$request_time` and `$upstream_response_time`.
    Realip,
    /// Tab-separated `label:value` (LTSV); labels are nginx variable names or the usual
    /// aliases (`host`, `reqtime`, `apptime`, `ua`, …; see [`Plan::parse`]).
    Ltsv,
    /// One flat JSON object per line, as `log_format … escape=json` writes it.
    Json,
    /// An nginx `log_format` template, e.g. `$remote_addr [$time_local] "$request" $status`.
    Custom(String),
}

impl Format {
    /// The format's name: `combined`, `main`, `realip`, `ltsv`, `json` or `custom`.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Combined => "combined",
            Format::Main => "main",
            Format::Realip => "realip",
            Format::Ltsv => "ltsv",
            Format::Json => "json",
            Format::Custom(_) => "custom",
        }
    }

    /// The `log_format` template of a template-based format.
    pub fn template(&self) -> Option<&str> {
        match self {
            Format::Combined => Some(COMBINED),
            Format::Main => Some(MAIN),
            Format::Realip => Some(REALIP),
            Format::Custom(t) => Some(t),
            Format::Ltsv | Format::Json => None,
        }
    }
}

impl FromStr for Format {
    type Err = Error;

    /// `combined`, `main`, `ltsv` or `json` (any case), or any text containing `$`, which is
    /// taken as a `log_format` template (compiled, and checked, by [`Plan::compile`]).
    fn from_str(s: &str) -> Result<Format, Error> {
        if s.contains('$') {
            return Ok(Format::Custom(s.to_owned()));
        }
        match s.to_ascii_lowercase().as_str() {
            "combined" => Ok(Format::Combined),
            "main" => Ok(Format::Main),
            "realip" => Ok(Format::Realip),
            "ltsv" => Ok(Format::Ltsv),
            "json" => Ok(Format::Json),
            _ => Err(Error::LogFormat {
                text: escape_str(s).into_owned(),
            }),
        }
    }
}

/// A [`Format`] compiled once, then applied to every line with [`Plan::parse`].
#[derive(Clone, Debug)]
pub struct Plan {
    format: Format,
    kind: Kind,
    fields: Box<[Field]>,
}

#[derive(Clone, Debug)]
enum Kind {
    /// A template, and its specialised parser when it is a predefined one.
    Template(Box<template::Template>, Option<preset::Preset>),
    Ltsv,
    Json,
}

impl Plan {
    /// Compiles a format. Only templates can fail; the error names the column and the
    /// offending text.
    pub fn compile(format: &Format) -> Result<Plan, Error> {
        let (kind, fields) = match format.template() {
            Some(text) => {
                let t = template::Template::compile(text)?;
                let fields = t.fields();
                (
                    Kind::Template(Box::new(t), preset::Preset::of(text)),
                    fields,
                )
            }
            None if *format == Format::Json => (Kind::Json, Field::ALL.to_vec()),
            None => (Kind::Ltsv, Field::ALL.to_vec()),
        };
        Ok(Plan {
            format: format.clone(),
            kind,
            fields: fields.into(),
        })
    }

    /// The format this plan was compiled from.
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// The known fields this plan can fill. For a template these are exactly its known
    /// variables; for LTSV and JSON, where each line names its own keys, every field.
    pub fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.fields.iter().copied()
    }

    /// The template's pieces, for template-based formats.
    pub fn pieces(&self) -> Option<&[Piece]> {
        match &self.kind {
            Kind::Template(t, _) => Some(&t.pieces),
            Kind::Ltsv | Kind::Json => None,
        }
    }

    /// Reads one line (without its `\n`; a trailing `\r` is ignored) into `rec`, which is
    /// cleared first (and again on error, so it never holds half a line). Fields borrow from
    /// `line`; `-` and empty values are left unset.
    ///
    /// * Templates: each variable's value runs up to the first occurrence of the literal
    ///   that follows it (nginx escapes `"` in values as `\x22`, so a quote is a safe
    ///   delimiter); a variable that ends the template runs to the end of the line, and a
    ///   literal that ends the template must end the line.
    /// * LTSV: every non-empty tab-separated field must be `label:value` with a label of
    ///   `[0-9A-Za-z_.-]`. Labels are variable names or the aliases `host` (`$remote_addr`),
    ///   `forwardedfor`, `reqtime`, `apptime` (`$upstream_response_time`), `size`
    ///   (`$body_bytes_sent`), `req`, `method`, `uri` (`$request_uri`), `ua`, `referer`,
    ///   `vhost` (`$host`) and `time`; aliases win over variable names. A `time` or
    ///   `time_local` value in brackets (`[$time_local]`) is stored without them.
    /// * JSON: one flat object; keys as for LTSV except that variable names win (`host` is
    ///   `$host`, `uri` is `$uri`). String values are stored as the raw bytes between the
    ///   quotes, still JSON-escaped; nested objects and arrays are skipped.
    ///
    /// LTSV and JSON lines must name at least one known field. `time` is read as
    /// `$time_iso8601`, `$msec` or `$time_local` by the shape of its value.
    #[inline]
    pub fn parse<'a>(&self, line: &'a [u8], rec: &mut Record<'a>) -> Result<(), LineError> {
        if let Kind::Template(_, Some(preset)) = self.kind {
            return self.parse_preset(preset, line, rec, false);
        }
        let line = strip_cr(line);
        if line.is_empty() {
            rec.clear();
            return Err(LineError::new(LineErrorKind::Empty, 0));
        }
        let parsed = match &self.kind {
            Kind::Template(t, Some(_)) => {
                rec.clear();
                line::parse(t, line, rec)
            }
            Kind::Template(t, None) => {
                rec.clear();
                line::parse(t, line, rec)
            }
            Kind::Ltsv => {
                rec.clear();
                ltsv::parse(line, rec)
            }
            Kind::Json => {
                rec.clear();
                json::parse(line, rec)
            }
        };
        let parsed = parsed.and_then(|()| check_values(line, rec));
        if parsed.is_err() {
            rec.clear();
        }
        parsed
    }
}

impl Plan {
    /// The specialised parser of the plan's predefined template, if it has one.
    #[inline]
    pub(crate) fn preset(&self) -> Option<Preset> {
        match self.kind {
            Kind::Template(_, preset) => preset,
            Kind::Ltsv | Kind::Json => None,
        }
    }

    /// [`Plan::parse`] of a plan whose [`preset`](Plan::preset) is `preset`. Inlined, so that
    /// a scan loop that picks the preset once per block of lines (a constant `preset`) runs
    /// its parser without a call or a jump on the format per line. `reused`: `rec` is new or
    /// has been given to this function only, with this plan (its fields outside the template
    /// are absent, and are not cleared again).
    #[inline(always)]
    pub(crate) fn parse_preset<'a>(
        &self,
        preset: Preset,
        line: &'a [u8],
        rec: &mut Record<'a>,
        reused: bool,
    ) -> Result<(), LineError> {
        let line = strip_cr(line);
        if line.is_empty() {
            rec.clear();
            return Err(LineError::new(LineErrorKind::Empty, 0));
        }
        // The predefined parser clears only the fields it does not write.
        let parsed = if preset.parse(line, rec, reused) {
            Ok(())
        } else {
            self.explain(line, rec)
        };
        let parsed = parsed.and_then(|()| check_values(line, rec));
        if parsed.is_err() {
            rec.clear();
        }
        parsed
    }

    /// A line the predefined parser refused: the general parser says where and why it does
    /// not match.
    #[cold]
    #[inline(never)]
    fn explain<'a>(&self, line: &'a [u8], rec: &mut Record<'a>) -> Result<(), LineError> {
        rec.clear();
        match &self.kind {
            Kind::Template(t, _) => line::parse(t, line, rec),
            Kind::Ltsv => ltsv::parse(line, rec),
            Kind::Json => json::parse(line, rec),
        }
    }
}

/// Refuses values nginx cannot write (issue #10): a `$status` that is not three digits
/// (nginx prints it with `%03ui`, so `000` and `009` are real) and a `$request_time` that is
/// not seconds with decimals. Such a line is malformed, not a request without a status.
/// Shared by the fast and the reference parser, which call it after a successful parse.
#[inline(always)]
pub(crate) fn check_values(line: &[u8], rec: &mut Record<'_>) -> Result<(), LineError> {
    let offset = |v: &[u8]| (v.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
    if let Err(v) = rec.parse_status_digits() {
        return Err(LineError::new(LineErrorKind::BadValue, offset(v)).with_field("status"));
    }
    if let Err(v) = rec.parse_request_time() {
        return Err(LineError::new(LineErrorKind::BadValue, offset(v)).with_field("request_time"));
    }
    Ok(())
}

/// The line without one trailing `\r`.
#[inline]
pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    match line {
        [rest @ .., b'\r'] => rest,
        _ => line,
    }
}

/// Why a line does not fit its format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LineErrorKind {
    /// Nothing on the line (or only `\r`).
    Empty,
    /// The template's leading literal is not at the start of the line.
    ExpectedLiteral,
    /// The literal that ends a variable's value is not on the rest of the line.
    MissingDelimiter,
    /// The line goes on after the format is complete.
    TrailingBytes,
    /// An LTSV field that is not `label:value`.
    NotLtsv,
    /// An LTSV or JSON line without any key realip knows.
    NoFields,
    /// A JSON line that does not start with `{`.
    NotJsonObject,
    /// A JSON line that breaks the grammar after its `{`.
    BadJson,
    /// A value nginx cannot write: a `$status` that is not three digits, a `$request_time`
    /// that is not a number of seconds.
    BadValue,
}

impl fmt::Display for LineErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineErrorKind::Empty => "empty line",
            LineErrorKind::ExpectedLiteral => "expected literal",
            LineErrorKind::MissingDelimiter => "missing delimiter",
            LineErrorKind::TrailingBytes => "trailing bytes",
            LineErrorKind::NotLtsv => "not label:value",
            LineErrorKind::NoFields => "no known field",
            LineErrorKind::NotJsonObject => "not a JSON object",
            LineErrorKind::BadJson => "invalid JSON",
            LineErrorKind::BadValue => "invalid value",
        })
    }
}

/// Where and why a line does not fit its format. `Copy` and allocation-free, so that a
/// malformed line costs no more than a good one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LineError {
    /// What went wrong.
    pub kind: LineErrorKind,
    /// Byte offset in the line (after `\r` stripping) where it diverged. For
    /// [`LineErrorKind::MissingDelimiter`], where the variable's value started.
    pub offset: usize,
    /// For template kinds, the variable involved (`"status"`, no `$`); for JSON, what was
    /// expected at `offset` (`"':' after a key"`).
    pub field: Option<&'static str>,
    /// For template kinds, the template literal that was expected or searched for.
    pub literal: Option<&'static str>,
}

impl LineError {
    pub(crate) const fn new(kind: LineErrorKind, offset: usize) -> LineError {
        LineError {
            kind,
            offset,
            field: None,
            literal: None,
        }
    }

    pub(crate) const fn with_field(mut self, field: &'static str) -> LineError {
        self.field = Some(field);
        self
    }

    pub(crate) const fn with_literal(mut self, literal: Option<&'static str>) -> LineError {
        self.literal = literal;
        self
    }
}

/// Writes a template literal between backquotes, escaped for a terminal.
struct Quoted(Option<&'static str>);

impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(lit) = self.0 else {
            return f.write_str("the template's literal text");
        };
        // Backquotes, so the usual `"` in a literal needs no escaping.
        write!(f, "`{}`", escape_str(lit))
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset;
        let lit = Quoted(self.literal);
        match (self.kind, self.field) {
            (LineErrorKind::Empty, _) => f.write_str("empty line"),
            (LineErrorKind::ExpectedLiteral, Some(var)) => {
                write!(f, "expected {lit} before ${var} at byte {at}")
            }
            (LineErrorKind::MissingDelimiter, Some(var)) => {
                write!(
                    f,
                    "missing {lit} after ${var} (its value starts at byte {at})"
                )
            }
            (LineErrorKind::TrailingBytes, Some(var)) => write!(
                f,
                "unexpected bytes at byte {at}, after the {lit} that ends ${var}"
            ),
            (LineErrorKind::NotLtsv, _) => write!(f, "expected label:value at byte {at}"),
            (LineErrorKind::NoFields, _) => write!(
                f,
                "no field realip knows (such as status, remote_addr or request_time)"
            ),
            (LineErrorKind::NotJsonObject, _) => {
                write!(f, "not a JSON object: expected '{{' at byte {at}")
            }
            (LineErrorKind::BadValue, Some(var)) => {
                write!(f, "invalid ${var} value at byte {at} (nginx cannot log it)")
            }
            (LineErrorKind::BadJson, Some(what)) => {
                write!(f, "invalid JSON at byte {at}: expected {what}")
            }
            (kind, _) => write!(f, "{kind} at byte {at}"),
        }
    }
}

impl std::error::Error for LineError {}

/// The result of [`detect_detailed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// The chosen format.
    pub format: Format,
    /// How many of the sampled lines it parses.
    pub parsed: usize,
    /// How many non-empty lines were sampled.
    pub sampled: usize,
    /// When the format is one of the common [`VARIANTS`] of `combined`/`main` (then a
    /// [`Format::Custom`] template), its name, e.g. `main + $request_time`.
    pub variant: Option<&'static str>,
}

/// `--log-format auto`: the built-in format that parses most of the first
/// [`DETECT_LINES`] non-empty lines. See [`detect_detailed`].
pub fn detect(lines: &[&[u8]]) -> Result<Format, Error> {
    detect_detailed(lines).map(|d| d.format)
}

/// Tries `json`, `ltsv`, `realip`, `main` and `combined`, then the common [`VARIANTS`] of the
/// last two, on the first [`DETECT_LINES`] non-empty lines and picks the one that parses the
/// most; on a tie, the first in that order.
///
/// When no format parses any line, the error quotes the first line (escaped, at most 200
/// bytes) and, for the format that got furthest into it, where and why it diverged.
pub fn detect_detailed(lines: &[&[u8]]) -> Result<Detected, Error> {
    let sample: Vec<&[u8]> = lines
        .iter()
        .map(|l| strip_cr(l))
        .filter(|l| !l.is_empty())
        .take(DETECT_LINES)
        .collect();
    let Some(&first) = sample.first() else {
        return Err(Error::DetectEmpty);
    };
    // In order of preference on a tie: the built-ins, then their common variants.
    let builtins = [
        Format::Json,
        Format::Ltsv,
        Format::Realip,
        Format::Main,
        Format::Combined,
    ]
    .map(|f| (None, f));
    let variants = VARIANTS
        .iter()
        .map(|&(name, t)| (Some(name), Format::Custom(t.to_string())));
    let candidates = builtins
        .into_iter()
        .chain(variants)
        .map(|(name, f)| Plan::compile(&f).map(|p| (name, p)))
        .collect::<Result<Vec<(Option<&'static str>, Plan)>, Error>>()?;
    let mut rec = Record::new();
    let mut best: Option<(Option<&'static str>, &Plan, usize)> = None;
    for (name, plan) in &candidates {
        let parsed = sample
            .iter()
            .filter(|l| plan.parse(l, &mut rec).is_ok())
            .count();
        if parsed > 0 && best.is_none_or(|(_, _, n)| parsed > n) {
            best = Some((*name, plan, parsed));
        }
    }
    if let Some((variant, plan, parsed)) = best {
        return Ok(Detected {
            format: plan.format().clone(),
            parsed,
            sampled: sample.len(),
            variant,
        });
    }
    // The error explains with the built-ins only.
    let candidates: Vec<Plan> = candidates
        .into_iter()
        .filter(|(name, _)| name.is_none())
        .map(|(_, p)| p)
        .collect();
    // Nothing fits: explain with the format that got furthest into the first line, preferring
    // the common formats on a tie.
    let mut closest: Option<(&Plan, LineError)> = None;
    for plan in candidates.iter().rev() {
        if let Err(e) = plan.parse(first, &mut rec) {
            if closest.is_none_or(|(_, c)| e.offset > c.offset) {
                closest = Some((plan, e));
            }
        }
    }
    let (closest, reason) = match closest {
        Some((plan, e)) => (plan.format().name(), e.to_string()),
        None => ("none", String::new()),
    };
    let shown = &first[..first.len().min(DETECT_SHOWN_BYTES)];
    let mut line = escape_bytes(shown).into_owned();
    if shown.len() < first.len() {
        line.push('…');
    }
    Err(Error::DetectFormat {
        lines: sample.len(),
        line,
        closest,
        reason,
    })
}

/// How LTSV and JSON keys map to fields when an alias is also a variable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keys {
    /// LTSV convention: `host` is the client, `uri` is `$request_uri`.
    AliasesFirst,
    /// JSON convention: keys are usually the variable names (`host` is `$host`).
    NamesFirst,
}

/// The field an LTSV label or JSON key names, if any.
#[inline]
pub(crate) fn key_field(key: &[u8], value: &[u8], keys: Keys) -> Option<Field> {
    match keys {
        Keys::AliasesFirst => alias(key, value).or_else(|| field_named(key)),
        Keys::NamesFirst => field_named(key).or_else(|| alias(key, value)),
    }
}

/// [`Field::from_name`] on bytes: keys come from the line, and checking them as UTF-8 first
/// cost a fifth of the LTSV parser's time. A unit test keeps the two in step.
#[inline]
fn field_named(key: &[u8]) -> Option<Field> {
    Some(match key {
        b"remote_addr" => Field::RemoteAddr,
        b"remote_user" => Field::RemoteUser,
        b"time_local" => Field::TimeLocal,
        b"time_iso8601" => Field::TimeIso8601,
        b"msec" => Field::Msec,
        b"request" => Field::Request,
        b"request_method" => Field::RequestMethod,
        b"request_uri" => Field::RequestUri,
        b"uri" => Field::Uri,
        b"status" => Field::Status,
        b"body_bytes_sent" => Field::BodyBytesSent,
        b"bytes_sent" => Field::BytesSent,
        b"http_referer" => Field::HttpReferer,
        b"http_user_agent" => Field::HttpUserAgent,
        b"http_x_forwarded_for" => Field::HttpXForwardedFor,
        b"http_true_client_ip" => Field::HttpTrueClientIp,
        b"http_x_real_ip" => Field::HttpXRealIp,
        b"realip_remote_addr" => Field::RealipRemoteAddr,
        b"request_time" => Field::RequestTime,
        b"upstream_response_time" => Field::UpstreamResponseTime,
        b"host" => Field::Host,
        b"server_name" => Field::ServerName,
        _ => return None,
    })
}

/// The aliases of kazeburo-style LTSV configs (also accepted in JSON).
#[inline]
fn alias(key: &[u8], value: &[u8]) -> Option<Field> {
    Some(match key {
        b"host" => Field::RemoteAddr,
        b"forwardedfor" => Field::HttpXForwardedFor,
        b"reqtime" => Field::RequestTime,
        b"apptime" => Field::UpstreamResponseTime,
        b"size" => Field::BodyBytesSent,
        b"req" => Field::Request,
        b"method" => Field::RequestMethod,
        b"uri" => Field::RequestUri,
        b"ua" => Field::HttpUserAgent,
        b"referer" | b"referrer" | b"http_referrer" => Field::HttpReferer,
        b"vhost" => Field::Host,
        b"time" => time_field(value),
        _ => return None,
    })
}

/// The value to store: a `time` logged as `[$time_local]` loses its brackets.
#[inline]
pub(crate) fn key_value(field: Field, value: &[u8]) -> &[u8] {
    match (field, value) {
        (Field::TimeLocal, [b'[', inner @ .., b']']) => inner,
        _ => value,
    }
}

/// `time` holds whichever timestamp the config put there; tell them apart by shape.
fn time_field(value: &[u8]) -> Field {
    match value {
        [_, _, _, _, b'-', _, _, b'-', _, _, b'T', ..] => Field::TimeIso8601,
        [b'[', ..] => Field::TimeLocal,
        [b'0'..=b'9', ..] if value.iter().all(|&b| b.is_ascii_digit() || b == b'.') => Field::Msec,
        _ => Field::TimeLocal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_parse_and_templates_are_custom() {
        assert_eq!("combined".parse::<Format>().unwrap(), Format::Combined);
        assert_eq!("MAIN".parse::<Format>().unwrap(), Format::Main);
        assert_eq!("ltsv".parse::<Format>().unwrap().name(), "ltsv");
        assert_eq!("json".parse::<Format>().unwrap().name(), "json");
        let custom = "$remote_addr $status".parse::<Format>().unwrap();
        assert_eq!(custom.name(), "custom");
        assert_eq!(custom.template(), Some("$remote_addr $status"));
        let err = "apache".parse::<Format>().unwrap_err().to_string();
        assert!(
            err.starts_with("unknown log format \"apache\": use combined, main, ltsv, json, or"),
            "{err}"
        );
    }

    #[test]
    fn plans_are_shareable_across_threads() {
        fn check<T: Send + Sync + Clone + fmt::Debug>() {}
        check::<Plan>();
        check::<LineError>();
    }

    #[test]
    fn time_alias_follows_the_value_shape() {
        assert_eq!(time_field(b"2024-05-01T10:00:00+00:00"), Field::TimeIso8601);
        assert_eq!(time_field(b"1714557600.123"), Field::Msec);
        assert_eq!(time_field(b"01/May/2024:10:00:00 +0000"), Field::TimeLocal);
    }

    #[test]
    fn byte_keys_name_every_field() {
        for &f in Field::ALL {
            assert_eq!(field_named(f.name().as_bytes()), Some(f));
        }
        assert_eq!(field_named(b"Status"), None);
    }

    #[test]
    fn keys_resolve_by_convention() {
        let f = |k: &str, keys| key_field(k.as_bytes(), b"x", keys);
        assert_eq!(f("host", Keys::AliasesFirst), Some(Field::RemoteAddr));
        assert_eq!(f("host", Keys::NamesFirst), Some(Field::Host));
        assert_eq!(f("uri", Keys::AliasesFirst), Some(Field::RequestUri));
        assert_eq!(f("uri", Keys::NamesFirst), Some(Field::Uri));
        assert_eq!(
            f("apptime", Keys::NamesFirst),
            Some(Field::UpstreamResponseTime)
        );
        assert_eq!(f("status", Keys::AliasesFirst), Some(Field::Status));
        assert_eq!(f("upstream_addr", Keys::NamesFirst), None);
    }

    #[test]
    fn line_errors_read_well() {
        let e = LineError::new(LineErrorKind::ExpectedLiteral, 43)
            .with_field("request")
            .with_literal(Some("\""));
        assert_eq!(e.to_string(), "expected `\"` before $request at byte 43");
        let e = LineError::new(LineErrorKind::MissingDelimiter, 7)
            .with_field("status")
            .with_literal(Some(" "));
        assert_eq!(
            e.to_string(),
            "missing ` ` after $status (its value starts at byte 7)"
        );
        let e = LineError::new(LineErrorKind::BadJson, 9).with_field("':' after a key");
        assert_eq!(
            e.to_string(),
            "invalid JSON at byte 9: expected ':' after a key"
        );
        assert_eq!(
            LineError::new(LineErrorKind::Empty, 0).to_string(),
            "empty line"
        );
    }
}
