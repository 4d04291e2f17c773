//! The hot path: one line through a compiled template into a borrowed [`Record`].
//!
//! Owns: applying a [`Template`] to a line's bytes. Each variable's value runs to the first
//! occurrence of the literal after it (an inlined byte search, or for long literals the
//! slot's precompiled `memmem` finder), or to the end of the line for a variable that ends
//! the template; a final literal must end the line.
//! Nothing here allocates, reads, locks, or uses regex or nom.
//! Does not own: compiling templates (`template.rs`), the formats that are not templates
//! (`ltsv.rs`, `json.rs`), the `\r`/empty-line handling shared by all formats
//! ([`Plan::parse`](super::Plan::parse)), or the slow oracle this is tested against
//! (`reference.rs`).

use super::template::Template;
use super::{LineError, LineErrorKind, Record};

/// Parses a non-empty line without its line ending. `rec` is already clear.
#[inline]
pub(crate) fn parse<'a>(
    t: &Template,
    line: &'a [u8],
    rec: &mut Record<'a>,
) -> Result<(), LineError> {
    let Some((last, middle)) = t.slots.split_last() else {
        return Ok(());
    };
    let head = &*t.head.bytes;
    if !head.is_empty() && !line.starts_with(head) {
        let same = head.iter().zip(line).take_while(|(a, b)| a == b).count();
        let next = t.slots.first().map_or(last.var.name, |s| s.var.name);
        return Err(LineError::new(LineErrorKind::ExpectedLiteral, same)
            .with_field(next)
            .with_literal(t.head.label));
    }
    let mut pos = head.len();
    for slot in middle {
        let rest = &line[pos..];
        let Some(end) = slot.until.find(rest) else {
            return Err(LineError::new(LineErrorKind::MissingDelimiter, pos)
                .with_field(slot.var.name)
                .with_literal(slot.until.label));
        };
        if let Some(field) = slot.var.field {
            rec.put(field, &rest[..end]);
        }
        pos += end + slot.until.bytes.len();
    }
    // The last variable: its value ends at the final literal, which must end the line.
    let rest = &line[pos..];
    let tail = &*last.until.bytes;
    let end = if tail.is_empty() {
        rest.len()
    } else {
        match last.until.find(rest) {
            Some(end) => end,
            None => {
                return Err(LineError::new(LineErrorKind::MissingDelimiter, pos)
                    .with_field(last.var.name)
                    .with_literal(last.until.label))
            }
        }
    };
    if end + tail.len() != rest.len() {
        return Err(
            LineError::new(LineErrorKind::TrailingBytes, pos + end + tail.len())
                .with_field(last.var.name)
                .with_literal(last.until.label),
        );
    }
    if let Some(field) = last.var.field {
        rec.put(field, &rest[..end]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logfmt::{Field, Format, Plan};

    fn plan(t: &str) -> Plan {
        Plan::compile(&Format::Custom(t.to_owned())).unwrap()
    }

    #[test]
    fn values_end_at_the_next_literal() {
        let p = plan("$remote_addr [$time_local] \"$request\" $status");
        let mut r = Record::new();
        p.parse(
            b"2001:db8::1 [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 499",
            &mut r,
        )
        .unwrap();
        assert_eq!(r.get(Field::RemoteAddr), Some(&b"2001:db8::1"[..]));
        assert_eq!(r.epoch_seconds(), Some(971_211_336));
        assert_eq!(r.path(), Some(&b"/"[..]));
        assert_eq!(r.status(), Some(499));
    }

    #[test]
    fn a_value_ends_at_the_first_occurrence_of_its_literal() {
        // nginx's default escaping writes `"` inside a value as `\x22`, so the first quote
        // is the closing one; with `escape=none` a quote in a value makes the line malformed.
        let p = plan("$status \"$http_user_agent\"");
        let mut r = Record::new();
        p.parse(b"200 \"a \\x22quoted\\x22 agent\"\r", &mut r)
            .unwrap();
        assert_eq!(
            r.get(Field::HttpUserAgent),
            Some(&b"a \\x22quoted\\x22 agent"[..])
        );
        let e = p.parse(b"200 \"a \"quoted\" agent\"", &mut r).unwrap_err();
        assert_eq!((e.kind, e.offset), (LineErrorKind::TrailingBytes, 8));
        let p = plan("$status $http_user_agent");
        p.parse(b"200 a \"quoted\" agent", &mut r).unwrap();
        assert_eq!(
            r.get(Field::HttpUserAgent),
            Some(&b"a \"quoted\" agent"[..])
        );
    }

    #[test]
    fn errors_say_where_the_line_diverged() {
        let p = plan("[$time_local] $status \"$request\"");
        let mut r = Record::new();
        let e = p.parse(b"[x] 200 GET", &mut r).unwrap_err();
        assert_eq!(e.kind, LineErrorKind::MissingDelimiter);
        assert_eq!(e.offset, 4);
        assert_eq!(
            e.to_string(),
            "missing ` \"` after $status (its value starts at byte 4)"
        );
        let e = p.parse(b"(x] 200 \"GET\"", &mut r).unwrap_err();
        assert_eq!(e.to_string(), "expected `[` before $time_local at byte 0");
        let e = p.parse(b"[x] 200 \"GET\" more", &mut r).unwrap_err();
        assert_eq!(e.kind, LineErrorKind::TrailingBytes);
        assert_eq!(e.offset, 13);
        assert_eq!(
            r,
            Record::new(),
            "a failed parse leaves no half-filled record"
        );
    }
}
