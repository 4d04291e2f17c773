//! LTSV lines: tab-separated `label:value` fields (<http://ltsv.org/>).
//!
//! Owns: splitting a line into fields with `memchr` and storing the values whose labels name
//! a known field (variable names or kazeburo-style aliases, see [`key_field`]). Empty fields
//! (two tabs in a row) are ignored; a field that is not `label:value` with a label of
//! `[0-9A-Za-z_.-]` makes the line malformed, as does a line with no known label.
//! Does not own: the label table (`mod.rs`, shared with JSON), `\r` and empty-line handling
//! ([`Plan::parse`](super::Plan::parse)), what the values mean (`record`).

use memchr::memchr_iter;

use super::{key_field, key_value, Keys, LineError, LineErrorKind, Record};

/// A byte allowed in an LTSV label.
#[inline]
fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Parses a non-empty line without its line ending. `rec` is already clear.
#[inline]
pub(crate) fn parse<'a>(line: &'a [u8], rec: &mut Record<'a>) -> Result<(), LineError> {
    let mut known = false;
    let mut start = 0;
    let ends = memchr_iter(b'\t', line).chain(std::iter::once(line.len()));
    for end in ends {
        let field = &line[start..end];
        if !field.is_empty() {
            // Labels are short: one pass both finds the ':' and checks the label.
            let label_len = match field.iter().position(|&b| !is_label_byte(b)) {
                Some(i) if i > 0 && field[i] == b':' => i,
                _ => return Err(LineError::new(LineErrorKind::NotLtsv, start)),
            };
            let value = &field[label_len + 1..];
            if let Some(f) = key_field(&field[..label_len], value, Keys::AliasesFirst) {
                rec.set(f, key_value(f, value));
                known = true;
            }
        }
        start = end + 1;
    }
    if known {
        Ok(())
    } else {
        Err(LineError::new(LineErrorKind::NoFields, 0))
    }
}

#[cfg(test)]
mod tests {
    use crate::logfmt::{Field, Format, LineErrorKind, Plan, Record};

    #[test]
    fn labels_and_aliases_fill_fields() {
        let plan = Plan::compile(&Format::Ltsv).unwrap();
        let mut r = Record::new();
        let line = b"time:2024-05-01T10:00:00+00:00\thost:2001:db8::7\tforwardedfor:-\t\
                     req:GET /a HTTP/1.1\tstatus:502\tapptime:0.005 : 0.010\tx_custom:1\t";
        plan.parse(line, &mut r).unwrap();
        assert_eq!(r.get(Field::RemoteAddr), Some(&b"2001:db8::7"[..]));
        assert_eq!(r.get(Field::HttpXForwardedFor), None);
        assert_eq!(r.status(), Some(502));
        assert_eq!(r.upstream_time().unwrap().tries, 2);
        assert_eq!(
            r.get(Field::TimeIso8601),
            Some(&b"2024-05-01T10:00:00+00:00"[..])
        );
    }

    #[test]
    fn lines_that_are_not_ltsv_are_refused() {
        let plan = Plan::compile(&Format::Ltsv).unwrap();
        let mut r = Record::new();
        let kind = |line: &[u8]| plan.parse(line, &mut Record::new()).unwrap_err().kind;
        assert_eq!(kind(b"status:200\tno colon"), LineErrorKind::NotLtsv);
        assert_eq!(
            kind(b"1.2.3.4 - - [10/Oct/2000:13:55:36"),
            LineErrorKind::NotLtsv
        );
        assert_eq!(kind(b"a:1\tb:2"), LineErrorKind::NoFields);
        let e = plan.parse(b"status:200\t:x", &mut r).unwrap_err();
        assert_eq!((e.kind, e.offset), (LineErrorKind::NotLtsv, 11));
    }
}
