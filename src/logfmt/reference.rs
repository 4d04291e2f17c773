//! Slow, obvious parsers for every format: the oracle the fast ones are tested against.
//!
//! Owns: a second, independent implementation of each format's line grammar, written for
//! clarity with nom combinators over the template's [`Piece`]s (not the compiled slots and
//! finders `line.rs` uses), plain splitting for LTSV, and a recursive grammar for JSON.
//! Property tests and fuzz targets check that [`parse`] and [`Plan::parse`] agree on every
//! line: the same fields when both accept it, and for templates and LTSV the same error.
//! Does not own: anything on the hot path. Nothing in the scanner may call this module: it
//! allocates and backtracks freely.

use nom::branch::alt;
use nom::bytes::complete::{
    is_not, tag, take, take_until, take_while, take_while1, take_while_m_n,
};
use nom::combinator::{all_consuming, eof, recognize, rest, value};
use nom::multi::{many0_count, separated_list0};
use nom::sequence::{delimited, pair, separated_pair, terminated};
use nom::{IResult, Parser};

use super::json::MAX_DEPTH;
use super::template::intern;
use super::{
    key_field, key_value, strip_cr, Format, Keys, LineError, LineErrorKind, Piece, Plan, Record,
};

type Res<'a, O> = IResult<&'a [u8], O>;

/// Parses `line` with `plan`'s format, slowly. Same contract as [`Plan::parse`].
pub fn parse<'a>(plan: &Plan, line: &'a [u8], rec: &mut Record<'a>) -> Result<(), LineError> {
    rec.clear();
    let line = strip_cr(line);
    if line.is_empty() {
        return Err(LineError::new(LineErrorKind::Empty, 0));
    }
    let parsed = match (plan.pieces(), plan.format()) {
        (Some(pieces), _) => template(pieces, line, rec),
        (None, Format::Json) => json(line, rec),
        (None, _) => ltsv(line, rec),
    };
    let parsed = parsed.and_then(|()| super::check_values(line, rec));
    if parsed.is_err() {
        rec.clear();
    }
    parsed
}

/// Bytes `a` and `b` have in common at their start.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The template: pieces alternate between literals and variables (the compiler guarantees
/// no two variables touch). A variable takes the line up to the first occurrence of the
/// literal after it, or all of the rest when it ends the template; a final literal must end
/// the line.
fn template<'a>(pieces: &[Piece], line: &'a [u8], rec: &mut Record<'a>) -> Result<(), LineError> {
    let offset = |input: &[u8]| line.len() - input.len();
    let mut input = line;
    let mut i = 0;
    while i < pieces.len() {
        match (&pieces[i], pieces.get(i + 1)) {
            (Piece::Literal(lit), next) => {
                // Only the head literal is matched on its own; the others end a variable.
                let r: Res<'_, &[u8]> = tag(lit.as_bytes()).parse(input);
                let Ok((after, _)) = r else {
                    let name = match next {
                        Some(Piece::Var(v)) => v.name,
                        _ => "",
                    };
                    return Err(LineError::new(
                        LineErrorKind::ExpectedLiteral,
                        common_prefix(lit.as_bytes(), input),
                    )
                    .with_field(name)
                    .with_literal(intern(lit)));
                };
                input = after;
                i += 1;
            }
            (Piece::Var(var), None) => {
                let r: Res<'_, &[u8]> = rest(input);
                let Ok((_, v)) = r else { break };
                if let Some(f) = var.field {
                    rec.set(f, v);
                }
                return Ok(());
            }
            (Piece::Var(var), Some(Piece::Literal(lit))) => {
                let lit_b = lit.as_bytes();
                let err = |kind, at| {
                    LineError::new(kind, at)
                        .with_field(var.name)
                        .with_literal(intern(lit))
                };
                if i + 2 == pieces.len() {
                    let r: Res<'_, &[u8]> = terminated(take_until(lit_b), tag(lit_b)).parse(input);
                    let Ok((after, v)) = r else {
                        return Err(err(LineErrorKind::MissingDelimiter, offset(input)));
                    };
                    let r: Res<'_, &[u8]> = eof(after);
                    if r.is_err() {
                        return Err(err(LineErrorKind::TrailingBytes, offset(after)));
                    }
                    if let Some(f) = var.field {
                        rec.set(f, v);
                    }
                    return Ok(());
                }
                let r: Res<'_, &[u8]> = terminated(take_until(lit_b), tag(lit_b)).parse(input);
                let Ok((after, v)) = r else {
                    return Err(err(LineErrorKind::MissingDelimiter, offset(input)));
                };
                if let Some(f) = var.field {
                    rec.set(f, v);
                }
                input = after;
                i += 2;
            }
            // Two variables in a row do not compile.
            (Piece::Var(_), Some(Piece::Var(_))) => break,
        }
    }
    Ok(())
}

/// The LTSV label alphabet, spelled out (`ltsv.rs` has its own test for it).
const LABEL_BYTES: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-";

/// LTSV: split at tabs, then each non-empty field must be `label:value`.
fn ltsv<'a>(line: &'a [u8], rec: &mut Record<'a>) -> Result<(), LineError> {
    let mut known = false;
    let mut start = 0;
    for field in line.split(|&b| b == b'\t') {
        if !field.is_empty() {
            let r: Res<'_, (&[u8], &[u8])> = all_consuming(separated_pair(
                take_while1(|b| LABEL_BYTES.contains(&b)),
                tag(":"),
                rest,
            ))
            .parse(field);
            let Ok((_, (label, v))) = r else {
                return Err(LineError::new(LineErrorKind::NotLtsv, start));
            };
            if let Some(f) = key_field(label, v, Keys::AliasesFirst) {
                rec.set(f, key_value(f, v));
                known = true;
            }
        }
        start += field.len() + 1;
    }
    if known {
        Ok(())
    } else {
        Err(LineError::new(LineErrorKind::NoFields, 0))
    }
}

fn ws(i: &[u8]) -> Res<'_, &[u8]> {
    take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')).parse(i)
}

fn string(i: &[u8]) -> Res<'_, &[u8]> {
    delimited(
        tag("\""),
        recognize(many0_count(alt((
            is_not("\"\\"),
            recognize(pair(tag("\\"), take(1usize))),
        )))),
        tag("\""),
    )
    .parse(i)
}

fn number(i: &[u8]) -> Res<'_, &[u8]> {
    recognize(pair(
        take_while_m_n(1, 1, |b: u8| b == b'-' || b.is_ascii_digit()),
        take_while(|b: u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')),
    ))
    .parse(i)
}

/// An object or array: brackets matched, strings whole, anything else skipped.
fn nested(i: &[u8], depth: u32) -> Res<'_, ()> {
    let fail = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::TooLarge));
    if depth >= MAX_DEPTH {
        return Err(fail());
    }
    let (mut i, open) = alt((tag("{"), tag("["))).parse(i)?;
    let close: &[u8] = if open == b"{" { b"}" } else { b"]" };
    loop {
        if let Ok((after, _)) = tag::<_, _, nom::error::Error<&[u8]>>(close).parse(i) {
            return Ok((after, ()));
        }
        i = match i.first() {
            Some(b'"') => string(i)?.0,
            Some(b'{' | b'[') => nested(i, depth + 1)?.0,
            _ => is_not("\"{}[]").parse(i)?.0,
        };
    }
}

/// A value: `Some` raw text for strings, numbers and booleans, `None` for null and nesting.
fn json_value(i: &[u8]) -> Res<'_, Option<&[u8]>> {
    alt((
        string.map(Some),
        number.map(Some),
        tag("true").map(Some),
        tag("false").map(Some),
        value(None, tag("null")),
        (|i| nested(i, 0)).map(|()| None),
    ))
    .parse(i)
}

type Member<'a> = (&'a [u8], Option<&'a [u8]>);

fn member(i: &[u8]) -> Res<'_, Member<'_>> {
    (string, ws, tag(":"), ws, json_value)
        .map(|(k, _, _, _, v)| (k, v))
        .parse(i)
}

fn object(i: &[u8]) -> Res<'_, Vec<Member<'_>>> {
    delimited(
        (ws, tag("{"), ws),
        separated_list0((ws, tag(","), ws), member),
        (ws, tag("}"), ws, eof),
    )
    .parse(i)
}

/// JSON: the whole line is one object; the fields are read after it has been accepted.
fn json<'a>(line: &'a [u8], rec: &mut Record<'a>) -> Result<(), LineError> {
    if line.iter().find(|b| !b" \t\r\n".contains(b)) != Some(&b'{') {
        let at = line.iter().take_while(|b| b" \t\r\n".contains(b)).count();
        return Err(LineError::new(LineErrorKind::NotJsonObject, at));
    }
    let members = match object(line) {
        Ok((_, members)) => members,
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            return Err(
                LineError::new(LineErrorKind::BadJson, line.len() - e.input.len())
                    .with_field("valid JSON"),
            )
        }
        Err(nom::Err::Incomplete(_)) => {
            return Err(LineError::new(LineErrorKind::BadJson, line.len()).with_field("more"))
        }
    };
    let mut known = false;
    for (key, v) in members {
        if let Some(f) = key_field(key, v.unwrap_or_default(), Keys::NamesFirst) {
            known = true;
            if let Some(v) = v {
                rec.set(f, key_value(f, v));
            }
        }
    }
    if known {
        Ok(())
    } else {
        Err(LineError::new(LineErrorKind::NoFields, 0))
    }
}
