//! `--filter EXPR`: which parsed lines a scan keeps.
//!
//! Owns: the filter language, its parser (nom, once per run) and its evaluation against a
//! borrowed [`Record`] (no allocation per line: route normalisation writes into a buffer the
//! [`Matcher`] reuses).
//! Does not own: counting what was filtered out (the scan job), time ranges (`timespec`).
//!
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | "(" expr ")" | compare
//! compare := FIELD OP VALUE
//! FIELD   := status | method | host | path | route | client
//!          | request_time | upstream_response_time | bytes
//! OP      := == | != | < | <= | > | >= | =~ | !~
//! VALUE   := "string" (\" and \\ escape) | number | number with ms, s or us (times)
//! ```
//!
//! Numbers go with `status`, `bytes` and the two times (seconds, or `250ms`); strings with
//! the other fields, where `=~`/`!~` take a regular expression (unanchored, bytes), and
//! `client == "10.0.0.0/8"` tests membership of a network. `path` is the request path without
//! its query string; `route` the path after normalisation and `--route` rules, as grouped.
//! A comparison with a value the line does not have (`-`, or a field the format lacks) is
//! false, whatever the operator: `not (status == 200)` keeps lines without a status,
//! `status != 200` does not.

use std::net::IpAddr;

use ipnet::IpNet;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::multispace0;
use nom::combinator::{opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::sequence::pair;
use nom::{IResult, Parser};
use regex::bytes::Regex;

use crate::escape::escape_str;
use crate::logfmt::{record, Field, Record};
use crate::summary::{normalize_route, RouteRule};
use crate::Error;

/// A field the filter language knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterField {
    /// `$status`.
    Status,
    /// The request method.
    Method,
    /// `$host`.
    Host,
    /// The request path without the query string.
    Path,
    /// The route: the path after normalisation and `--route` rules.
    Route,
    /// `$remote_addr`.
    Client,
    /// `$request_time`, seconds.
    RequestTime,
    /// `$upstream_response_time` (sum of the attempts), seconds.
    UpstreamResponseTime,
    /// `$body_bytes_sent` (or `$bytes_sent`).
    Bytes,
}

impl FilterField {
    const ALL: [(&'static str, FilterField); 9] = [
        ("status", FilterField::Status),
        ("method", FilterField::Method),
        ("host", FilterField::Host),
        ("path", FilterField::Path),
        ("route", FilterField::Route),
        ("client", FilterField::Client),
        ("request_time", FilterField::RequestTime),
        ("upstream_response_time", FilterField::UpstreamResponseTime),
        ("bytes", FilterField::Bytes),
    ];

    fn from_name(name: &str) -> Option<FilterField> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    fn kind(self) -> Kind {
        match self {
            FilterField::Status | FilterField::Bytes => Kind::Integer,
            FilterField::RequestTime | FilterField::UpstreamResponseTime => Kind::Seconds,
            _ => Kind::Text,
        }
    }

    /// The log fields this filter field reads (any one of them is enough).
    pub fn needs(self) -> &'static [Field] {
        match self {
            FilterField::Status => &[Field::Status],
            FilterField::Method => &[Field::RequestMethod, Field::Request],
            FilterField::Host => &[Field::Host],
            FilterField::Path | FilterField::Route => {
                &[Field::RequestUri, Field::Request, Field::Uri]
            }
            FilterField::Client => &[Field::RemoteAddr],
            FilterField::RequestTime => &[Field::RequestTime],
            FilterField::UpstreamResponseTime => &[Field::UpstreamResponseTime],
            FilterField::Bytes => &[Field::BodyBytesSent, Field::BytesSent],
        }
    }

    /// The name in expressions.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Integer,
    Seconds,
    Text,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    NotMatch,
}

#[derive(Clone, Debug)]
enum Value {
    /// An integer, or microseconds for times.
    Num(u64),
    Text(Box<[u8]>),
    Regex(Regex),
    Net(IpNet),
}

#[derive(Clone, Debug)]
enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(FilterField, Op, Value),
}

/// A parsed `--filter` expression.
#[derive(Clone, Debug)]
pub struct Filter {
    text: String,
    expr: Expr,
    routes: Vec<RouteRule>,
    fields: Vec<FilterField>,
}

impl Filter {
    /// Parses an expression; `routes` are the `--route` rules the `route` field applies.
    pub fn parse(text: &str, routes: Vec<RouteRule>) -> Result<Filter, Error> {
        let fail = |at: &str, reason: String| Error::Filter {
            expr: escape_str(text).into_owned(),
            column: text[..text.len() - at.len()].chars().count() + 1,
            reason,
        };
        let (rest, expr) = match or_expr(text) {
            Ok(ok) => ok,
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                return Err(fail(e.at, e.reason()));
            }
            Err(nom::Err::Incomplete(_)) => {
                return Err(fail("", "the expression is incomplete".into()));
            }
        };
        let (rest, _) = ws(rest).unwrap_or((rest, ""));
        if !rest.is_empty() {
            let reason = if rest.starts_with(')') {
                "a ')' without its '('".to_string()
            } else {
                "expected 'and', 'or' or the end of the expression".to_string()
            };
            return Err(fail(rest, reason));
        }
        let mut fields = Vec::new();
        collect_fields(&expr, &mut fields);
        Ok(Filter {
            text: text.to_string(),
            expr,
            routes,
            fields,
        })
    }

    /// The expression as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The fields the expression reads, each once, in order of appearance.
    pub fn fields(&self) -> &[FilterField] {
        &self.fields
    }

    /// A per-worker evaluator.
    pub fn matcher(&self) -> Matcher<'_> {
        Matcher {
            filter: self,
            scratch: Vec::new(),
        }
    }
}

fn collect_fields(e: &Expr, out: &mut Vec<FilterField>) {
    match e {
        Expr::Or(a, b) | Expr::And(a, b) => {
            collect_fields(a, out);
            collect_fields(b, out);
        }
        Expr::Not(a) => collect_fields(a, out),
        Expr::Cmp(f, _, _) => {
            if !out.contains(f) {
                out.push(*f);
            }
        }
    }
}

/// Evaluates a [`Filter`] line after line, reusing one buffer for routes.
#[derive(Debug)]
pub struct Matcher<'f> {
    filter: &'f Filter,
    scratch: Vec<u8>,
}

impl Matcher<'_> {
    /// Whether the line passes the filter.
    #[inline]
    pub fn matches(&mut self, rec: &Record<'_>) -> bool {
        let filter = self.filter;
        eval(&filter.expr, rec, &filter.routes, &mut self.scratch)
    }
}

fn eval(e: &Expr, rec: &Record<'_>, routes: &[RouteRule], scratch: &mut Vec<u8>) -> bool {
    match e {
        Expr::Or(a, b) => eval(a, rec, routes, scratch) || eval(b, rec, routes, scratch),
        Expr::And(a, b) => eval(a, rec, routes, scratch) && eval(b, rec, routes, scratch),
        Expr::Not(a) => !eval(a, rec, routes, scratch),
        Expr::Cmp(field, op, value) => compare(*field, *op, value, rec, routes, scratch),
    }
}

fn compare(
    field: FilterField,
    op: Op,
    value: &Value,
    rec: &Record<'_>,
    routes: &[RouteRule],
    scratch: &mut Vec<u8>,
) -> bool {
    let num = match field {
        FilterField::Status => Some(rec.status().map(u64::from)),
        FilterField::Bytes => Some(rec.bytes()),
        FilterField::RequestTime => Some(rec.request_time_us()),
        FilterField::UpstreamResponseTime => Some(rec.upstream_time().map(|u| u.total_us)),
        _ => None,
    };
    if let Some(got) = num {
        let (Some(got), Value::Num(want)) = (got, value) else {
            return false;
        };
        return match op {
            Op::Eq => got == *want,
            Op::Ne => got != *want,
            Op::Lt => got < *want,
            Op::Le => got <= *want,
            Op::Gt => got > *want,
            Op::Ge => got >= *want,
            Op::Match | Op::NotMatch => false,
        };
    }
    let text: &[u8] = match field {
        FilterField::Method => match rec.method() {
            Some(m) => m,
            None => return false,
        },
        FilterField::Host => match rec.get(Field::Host) {
            Some(h) => h,
            None => return false,
        },
        FilterField::Client => match rec.get(Field::RemoteAddr) {
            Some(c) => c,
            None => return false,
        },
        FilterField::Path => match rec.path() {
            Some(p) => match memchr::memchr(b'?', p) {
                Some(q) => &p[..q],
                None => p,
            },
            None => return false,
        },
        FilterField::Route => {
            let Some(path) = rec.path() else {
                return false;
            };
            scratch.clear();
            match routes.iter().find(|r| r.regex.is_match(path)) {
                Some(rule) => scratch.extend_from_slice(rule.name.as_bytes()),
                None => normalize_route(path, scratch),
            }
            scratch
        }
        _ => return false,
    };
    match (op, value) {
        (Op::Eq, Value::Text(want)) => text == &**want,
        (Op::Ne, Value::Text(want)) => text != &**want,
        (Op::Match, Value::Regex(re)) => re.is_match(text),
        (Op::NotMatch, Value::Regex(re)) => !re.is_match(text),
        (Op::Eq | Op::Ne, Value::Net(net)) => {
            let inside = std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<IpAddr>().ok())
                .is_some_and(|ip| net.contains(&ip));
            // An unparsable client is "missing": false for both operators.
            let parsed = std::str::from_utf8(text)
                .ok()
                .is_some_and(|t| t.parse::<IpAddr>().is_ok());
            parsed && (inside == (op == Op::Eq))
        }
        _ => false,
    }
}

// --- parser ---------------------------------------------------------------------------

/// A parse error: where (the rest of the input) and what was expected.
#[derive(Debug)]
struct PErr<'a> {
    at: &'a str,
    reason: Option<String>,
}

impl PErr<'_> {
    fn reason(&self) -> String {
        self.reason.clone().unwrap_or_else(|| {
            if self.at.is_empty() {
                "the expression ends too early".to_string()
            } else {
                "unexpected text".to_string()
            }
        })
    }
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(at: &'a str, _kind: ErrorKind) -> Self {
        PErr { at, reason: None }
    }

    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, T> = IResult<&'a str, T, PErr<'a>>;

fn failure<T>(at: &str, reason: impl Into<String>) -> Res<'_, T> {
    Err(nom::Err::Failure(PErr {
        at,
        reason: Some(reason.into()),
    }))
}

fn ws(i: &str) -> Res<'_, &str> {
    multispace0(i)
}

fn word(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_').parse(i)
}

/// A keyword (`and`, `or`, `not`) as a whole word.
fn keyword<'a>(kw: &'static str) -> impl Fn(&'a str) -> Res<'a, &'a str> {
    move |i: &'a str| {
        let (i, _) = ws(i)?;
        let (rest, w) = word(i)?;
        if w.eq_ignore_ascii_case(kw) {
            Ok((rest, w))
        } else {
            Err(nom::Err::Error(PErr {
                at: i,
                reason: None,
            }))
        }
    }
}

fn or_expr(i: &str) -> Res<'_, Expr> {
    let (mut i, mut left) = and_expr(i)?;
    loop {
        match keyword("or")(i) {
            Ok((rest, _)) => {
                let (rest, right) = cut_operand(rest, and_expr, "or")?;
                left = Expr::Or(Box::new(left), Box::new(right));
                i = rest;
            }
            Err(nom::Err::Error(_)) => return Ok((i, left)),
            Err(e) => return Err(e),
        }
    }
}

fn and_expr(i: &str) -> Res<'_, Expr> {
    let (mut i, mut left) = not_expr(i)?;
    loop {
        match keyword("and")(i) {
            Ok((rest, _)) => {
                let (rest, right) = cut_operand(rest, not_expr, "and")?;
                left = Expr::And(Box::new(left), Box::new(right));
                i = rest;
            }
            Err(nom::Err::Error(_)) => return Ok((i, left)),
            Err(e) => return Err(e),
        }
    }
}

/// The operand after `and`/`or`/`not`: a missing one is a failure at its column.
fn cut_operand<'a>(i: &'a str, p: fn(&'a str) -> Res<'a, Expr>, after: &str) -> Res<'a, Expr> {
    match p(i) {
        Err(nom::Err::Error(e)) => {
            let at = e.at;
            let reason = e
                .reason
                .unwrap_or_else(|| format!("expected a comparison or '(' after '{after}'"));
            failure(at, reason)
        }
        other => other,
    }
}

fn not_expr(i: &str) -> Res<'_, Expr> {
    if let Ok((rest, _)) = keyword("not")(i) {
        let (rest, inner) = cut_operand(rest, not_expr, "not")?;
        return Ok((rest, Expr::Not(Box::new(inner))));
    }
    let (i, _) = ws(i)?;
    if let Some(rest) = i.strip_prefix('(') {
        let (rest, inner) = cut_operand(rest, or_expr, "(")?;
        let (rest, _) = ws(rest)?;
        return match rest.strip_prefix(')') {
            Some(after) => Ok((after, inner)),
            None => failure(rest, "expected ')' (or 'and', 'or') here"),
        };
    }
    comparison(i)
}

fn field_list() -> String {
    FilterField::ALL
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One comparison: a field, an operator and a value that fits both.
fn comparison(i: &str) -> Res<'_, Expr> {
    let (i, (field, name)) = field_name(i)?;
    let (i, _) = ws(i)?;
    let op_at = i;
    let (i, (op, op_text)) = operator(i, name)?;
    let kind = field.kind();
    match (kind, op) {
        (Kind::Text, Op::Lt | Op::Le | Op::Gt | Op::Ge) => {
            return failure(
                op_at,
                format!("'{name}' is text: use == != =~ !~, not {op_text}"),
            )
        }
        (Kind::Integer | Kind::Seconds, Op::Match | Op::NotMatch) => {
            return failure(
                op_at,
                format!("'{name}' is a number: use == != < <= > >=, not {op_text}"),
            )
        }
        _ => {}
    }
    let (i, _) = ws(i)?;
    if i.starts_with('"') {
        let (rest, value) = quoted_value(i, field, name, op)?;
        return Ok((rest, Expr::Cmp(field, op, value)));
    }
    let (rest, value) = number_value(i, kind, name)?;
    Ok((rest, Expr::Cmp(field, op, Value::Num(value))))
}

/// The field a comparison starts with, and its name as written.
fn field_name(i: &str) -> Res<'_, (FilterField, &str)> {
    let (i, _) = ws(i)?;
    if i.is_empty() {
        return failure(
            i,
            format!("the expression ends too early: expected a comparison such as status >= 500 (fields: {})", field_list()),
        );
    }
    let field_at = i;
    let (i, name) = match word(i) {
        Ok(ok) => ok,
        Err(_) => {
            return failure(
                field_at,
                format!("expected a field name ({}) or '('", field_list()),
            )
        }
    };
    let Some(field) = FilterField::from_name(name) else {
        return failure(
            field_at,
            format!(
                "unknown field '{}'; fields: {}",
                escape_str(name),
                field_list()
            ),
        );
    };
    Ok((i, (field, name)))
}

/// The comparison operator after field `name`, and its text; a run of operator characters
/// that is no operator is an error.
fn operator<'a>(op_at: &'a str, name: &str) -> Res<'a, (Op, &'a str)> {
    let mut op_parser = alt((
        tag("=="),
        tag("!="),
        tag("<="),
        tag(">="),
        tag("=~"),
        tag("!~"),
        tag("<"),
        tag(">"),
    ));
    let parsed: Res<'_, &str> = op_parser.parse(op_at);
    let (i, op_text) = match parsed {
        Ok(ok) => ok,
        Err(_) => {
            return failure(
                op_at,
                format!("expected an operator after '{name}': == != < <= > >= =~ !~"),
            )
        }
    };
    if i.starts_with(['=', '<', '>', '!', '~']) {
        let len = op_at
            .find(|c: char| !matches!(c, '=' | '<' | '>' | '!' | '~'))
            .unwrap_or(op_at.len());
        return failure(
            op_at,
            format!(
                "unknown operator '{}'; use == != < <= > >= =~ !~",
                &op_at[..len]
            ),
        );
    }
    let op = match op_text {
        "==" => Op::Eq,
        "!=" => Op::Ne,
        "<=" => Op::Le,
        ">=" => Op::Ge,
        "=~" => Op::Match,
        "!~" => Op::NotMatch,
        "<" => Op::Lt,
        _ => Op::Gt,
    };
    Ok((i, (op, op_text)))
}

/// A value in double quotes for `field`: a regular expression, a client network, or text.
fn quoted_value<'a>(value_at: &'a str, field: FilterField, name: &str, op: Op) -> Res<'a, Value> {
    let (rest, text) = string(value_at)?;
    if field.kind() != Kind::Text {
        return failure(
            value_at,
            format!("'{name}' is a number: write the value without quotes"),
        );
    }
    let value = match op {
        Op::Match | Op::NotMatch => match Regex::new(&text) {
            Ok(re) => Value::Regex(re),
            Err(e) => {
                let msg = e.to_string().replace('\n', " ");
                return failure(value_at, format!("invalid regular expression: {msg}"));
            }
        },
        _ if field == FilterField::Client && text.contains('/') => match text.parse::<IpNet>() {
            Ok(net) => Value::Net(net.trunc()),
            Err(_) => return failure(value_at, "expected a network such as \"10.0.0.0/8\""),
        },
        _ => Value::Text(text.into_bytes().into_boxed_slice()),
    };
    Ok((rest, value))
}

/// An unquoted number for a field of `kind`: whole, or seconds (as microseconds) with an
/// optional unit.
fn number_value<'a>(value_at: &'a str, kind: Kind, name: &str) -> Res<'a, u64> {
    let (rest, n) = match number(value_at) {
        Ok(ok) => ok,
        Err(_) => {
            let hint = match kind {
                Kind::Text => "a string in double quotes, e.g. \"GET\"",
                Kind::Integer => "a whole number, e.g. 500",
                Kind::Seconds => "seconds, e.g. 0.5 or 500ms",
            };
            return failure(value_at, format!("expected {hint}"));
        }
    };
    let (digits, unit) = n;
    if kind == Kind::Text {
        return failure(
            value_at,
            format!("'{name}' is text: write the value in double quotes"),
        );
    }
    let value = match kind {
        Kind::Seconds => {
            let scale: u64 = match unit {
                "" | "s" => 1,
                "ms" => 1_000,
                "us" => 1_000_000,
                _ => {
                    return failure(
                        value_at,
                        format!("unknown unit '{unit}': use s, ms or us (or none for seconds)"),
                    )
                }
            };
            let Some(us) = seconds_us(digits, scale) else {
                return failure(value_at, "expected seconds, e.g. 0.5 or 500ms");
            };
            us
        }
        _ => {
            if !unit.is_empty() || digits.contains('.') {
                return failure(
                    value_at,
                    format!("'{name}' takes a whole number without a unit"),
                );
            }
            match digits.parse::<u64>() {
                Ok(n) => n,
                Err(_) => return failure(value_at, "number too large"),
            }
        }
    };
    Ok((rest, value))
}

/// `digits` in units of 1/`scale` seconds, as microseconds.
fn seconds_us(digits: &str, scale: u64) -> Option<u64> {
    // Exact decimal arithmetic: shift the decimal point by the unit, then parse as seconds.
    let us = record::parse_seconds_us(digits.as_bytes())?;
    Some(us / scale)
}

/// A number (`12`, `0.5`) with an optional unit of letters right after it.
fn number(i: &str) -> Res<'_, (&str, &str)> {
    let (rest, digits) = recognize(pair(
        take_while1(|c: char| c.is_ascii_digit()),
        opt(pair(tag("."), take_while(|c: char| c.is_ascii_digit()))),
    ))
    .parse(i)?;
    let (rest, unit) = take_while(|c: char| c.is_ascii_alphabetic()).parse(rest)?;
    Ok((rest, (digits, unit)))
}

/// A double-quoted string; `\"` and `\\` are escapes.
fn string(i: &str) -> Res<'_, String> {
    let start = i;
    let mut out = String::new();
    let mut chars = i.char_indices().skip(1);
    while let Some((pos, c)) = chars.next() {
        match c {
            '"' => return Ok((&i[pos + 1..], out)),
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                // Other backslashes stay as written (regular expressions need them).
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    failure(start, "this string has no closing '\"'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(fields: &[(Field, &'a str)]) -> Record<'a> {
        let mut r = Record::new();
        for (f, v) in fields {
            r.set(*f, v.as_bytes());
        }
        r
    }

    fn check(expr: &str, r: &Record<'_>) -> bool {
        Filter::parse(expr, vec![]).unwrap().matcher().matches(r)
    }

    fn err(expr: &str) -> (usize, String) {
        match Filter::parse(expr, vec![]) {
            Err(Error::Filter { column, reason, .. }) => (column, reason),
            other => panic!("{expr}: expected a filter error, got {other:?}"),
        }
    }

    #[test]
    fn comparisons_on_every_field() {
        let r = rec(&[
            (Field::Status, "503"),
            (Field::Request, "POST /api/users/42?x=1 HTTP/1.1"),
            (Field::Host, "example.com"),
            (Field::RemoteAddr, "10.1.2.3"),
            (Field::RequestTime, "0.250"),
            (Field::UpstreamResponseTime, "0.100, 0.120"),
            (Field::BodyBytesSent, "1234"),
        ]);
        for (e, want) in [
            ("status >= 500", true),
            ("status < 500", false),
            ("status == 503 and method == \"POST\"", true),
            ("method != \"POST\"", false),
            ("host == \"example.com\"", true),
            ("host =~ \"^ex\"", true),
            ("host !~ \"^ex\"", false),
            ("path == \"/api/users/42\"", true),
            ("route == \"/api/users/{id}\"", true),
            ("client == \"10.0.0.0/8\"", true),
            ("client != \"10.0.0.0/8\"", false),
            ("client == \"10.1.2.3\"", true),
            ("request_time > 0.2", true),
            ("request_time > 250ms", false),
            ("request_time >= 250ms", true),
            ("upstream_response_time == 0.22", true),
            ("bytes > 1000", true),
            ("not status == 503", false),
            (
                "status == 200 or (bytes == 1234 and not host == \"x\")",
                true,
            ),
            ("STATUS == 503", false),
        ] {
            if e.starts_with("STATUS") {
                assert!(Filter::parse(e, vec![]).is_err());
                continue;
            }
            assert_eq!(check(e, &r), want, "{e}");
        }
    }

    #[test]
    fn missing_values_compare_false() {
        let r = rec(&[(Field::Status, "200")]);
        assert!(!check("request_time > 0", &r));
        assert!(!check("request_time <= 1", &r));
        assert!(!check("host != \"x\"", &r));
        assert!(check("not host == \"x\"", &r));
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let r = rec(&[(Field::Status, "200"), (Field::Host, "a")]);
        // or binds looser than and: true or (false and false)
        assert!(check(
            "status == 200 or host == \"b\" and status == 404",
            &r
        ));
        assert!(!check(
            "(status == 200 or host == \"b\") and status == 404",
            &r
        ));
        assert!(check("not not status == 200", &r));
    }

    #[test]
    fn route_rules_apply_to_route() {
        let rule = RouteRule::parse("^/api/v[0-9]+/users=users").unwrap();
        let f = Filter::parse("route == \"users\"", vec![rule]).unwrap();
        let r = rec(&[(Field::RequestUri, "/api/v2/users/7")]);
        assert!(f.matcher().matches(&r));
    }

    #[test]
    fn errors_point_at_the_column() {
        assert_eq!(err("status >> 500").0, 8);
        assert_eq!(err("stat == 5").0, 1);
        assert!(err("stat == 5").1.contains("unknown field"));
        assert_eq!(err("status == 500 and").0, 18);
        assert_eq!(err("method == GET").0, 11);
        assert!(err("method == GET").1.contains("double quotes"));
        assert_eq!(err("method < \"GET\"").0, 8);
        assert_eq!(err("status =~ \"5..\"").0, 8);
        assert_eq!(err("(status == 500").0, 15);
        assert_eq!(err("status == 500)").0, 14);
        assert_eq!(err("host == \"abc").0, 9);
        assert_eq!(err("path =~ \"(\"").0, 9);
        assert_eq!(err("request_time > 5min").0, 16);
        assert_eq!(err("status == 5.5").0, 11);
        assert_eq!(err("").0, 1);
        assert_eq!(err("status == 500 foo").0, 15);
        assert_eq!(err("client == \"10.0.0.0/99\"").0, 11);
        // Columns count characters, not bytes.
        assert_eq!(err("host == \"é\" xx").0, 13);
    }

    #[test]
    fn the_error_message_shows_a_caret() {
        let e = Filter::parse("status >> 500", vec![])
            .unwrap_err()
            .to_string();
        assert!(e.contains("column 8"), "{e}");
        assert!(e.ends_with("\n  status >> 500\n         ^"), "{e:?}");
    }

    #[test]
    fn strings_take_escapes() {
        let r = rec(&[(Field::RequestUri, "/a\"b\\c")]);
        assert!(check(r#"path == "/a\"b\\c""#, &r));
        let r = rec(&[(Field::RequestUri, "/a.b")]);
        assert!(check(r#"path =~ "^/a\.b$""#, &r));
    }

    #[test]
    fn fields_are_listed_once() {
        let f = Filter::parse("status == 1 or status == 2 and host == \"x\"", vec![]).unwrap();
        assert_eq!(f.fields(), [FilterField::Status, FilterField::Host]);
    }
}
