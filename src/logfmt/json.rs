//! JSON lines, as nginx writes them with `log_format … escape=json`.
//!
//! Owns: a small byte-level scanner for one flat object per line (no serde on the hot path,
//! no allocation) that stores the values of keys naming a known field (see [`key_field`]).
//! Does not own: the key table (`mod.rs`, shared with LTSV), `\r` and empty-line handling
//! ([`Plan::parse`](super::Plan::parse)), what the values mean (`record`).
//!
//! The grammar, which `reference.rs` implements a second time:
//!
//! ```text
//! line   = ws "{" ws [ member *( ws "," ws member ) ] ws "}" ws
//! member = string ws ":" ws value
//! value  = string | number | "true" | "false" | "null" | nested
//! string = '"' *( any byte but '"' and '\' | '\' any byte ) '"'
//! number = ( "-" | digit ) *( digit | "-" | "+" | "." | "e" | "E" )
//! nested = an object or array, skipped: brackets must match outside strings, at most
//!          128 levels deep; its contents are not otherwise checked
//! ws     = *( " " | "\t" | "\r" | "\n" )
//! ```
//!
//! It is looser than RFC 8259 where that costs nothing to a log reader (escapes and number
//! syntax are not validated, control bytes in strings are kept), so it accepts every line a
//! strict parser accepts. Values are stored raw: a string's bytes between its quotes, still
//! escaped (`\"`, `\u00e9`; harmless for the numbers, addresses and times realip reads),
//! a number's text, `true`/`false`. `null` and nested values leave the field unset.

use memchr::memchr2;

use super::{key_field, key_value, Keys, LineError, LineErrorKind, Record};

/// Deepest nesting skipped inside a value.
pub(crate) const MAX_DEPTH: u32 = 128;

fn bad(at: usize, expected: &'static str) -> LineError {
    LineError::new(LineErrorKind::BadJson, at).with_field(expected)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, byte: u8, expected: &'static str) -> Result<(), LineError> {
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            Err(bad(self.i, expected))
        }
    }

    /// At `"`: the raw bytes up to the closing quote, which is consumed.
    #[inline]
    fn string(&mut self) -> Result<&'a [u8], LineError> {
        let start = self.i + 1;
        let mut j = start;
        loop {
            let rest = self.b.get(j..).unwrap_or_default();
            match memchr2(b'"', b'\\', rest) {
                Some(k) if rest[k] == b'"' => {
                    self.i = j + k + 1;
                    return Ok(&self.b[start..j + k]);
                }
                // A backslash: the byte after it is escaped, whatever it is.
                Some(k) => j += k + 2,
                None => return Err(bad(self.b.len(), "'\"' to close a string")),
            }
        }
    }

    /// A value; `None` for `null` and for nested objects and arrays.
    #[inline]
    fn value(&mut self) -> Result<Option<&'a [u8]>, LineError> {
        let start = self.i;
        let rest = &self.b[start..];
        match self.peek() {
            Some(b'"') => self.string().map(Some),
            Some(b'{' | b'[') => self.skip_nested().map(|()| None),
            Some(b'-' | b'0'..=b'9') => {
                self.i += 1;
                while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.peek() {
                    self.i += 1;
                }
                Ok(Some(&self.b[start..self.i]))
            }
            _ if rest.starts_with(b"true") || rest.starts_with(b"null") => {
                self.i += 4;
                Ok((rest[0] == b't').then(|| &rest[..4]))
            }
            _ if rest.starts_with(b"false") => {
                self.i += 5;
                Ok(Some(&rest[..5]))
            }
            _ => Err(bad(start, "a value")),
        }
    }

    /// At `{` or `[`: skips to just after the matching bracket.
    fn skip_nested(&mut self) -> Result<(), LineError> {
        // One bit per open bracket, 1 for `[`: MAX_DEPTH fits in the 128 bits.
        let mut stack: u128 = 0;
        let mut depth: u32 = 0;
        loop {
            match self.peek() {
                None => return Err(bad(self.i, "the end of a nested object or array")),
                Some(b'"') => {
                    self.string()?;
                    continue;
                }
                Some(open @ (b'{' | b'[')) => {
                    if depth == MAX_DEPTH {
                        return Err(bad(self.i, "at most 128 levels of nesting"));
                    }
                    stack = (stack << 1) | u128::from(open == b'[');
                    depth += 1;
                }
                Some(close @ (b'}' | b']')) => {
                    if (stack & 1 == 1) != (close == b']') {
                        return Err(bad(self.i, "the matching bracket"));
                    }
                    stack >>= 1;
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                Some(_) => {}
            }
            self.i += 1;
        }
    }
}

/// Parses a non-empty line without its line ending. `rec` is already clear.
#[inline]
pub(crate) fn parse<'a>(line: &'a [u8], rec: &mut Record<'a>) -> Result<(), LineError> {
    let mut c = Cursor { b: line, i: 0 };
    c.ws();
    if c.peek() != Some(b'{') {
        return Err(LineError::new(LineErrorKind::NotJsonObject, c.i));
    }
    c.i += 1;
    c.ws();
    let mut known = false;
    if c.peek() == Some(b'}') {
        c.i += 1;
    } else {
        loop {
            if c.peek() != Some(b'"') {
                return Err(bad(c.i, "'\"' to start a key"));
            }
            let key = c.string()?;
            c.ws();
            c.eat(b':', "':' after a key")?;
            c.ws();
            let value = c.value()?;
            if let Some(field) = key_field(key, value.unwrap_or_default(), Keys::NamesFirst) {
                known = true;
                if let Some(v) = value {
                    rec.set(field, key_value(field, v));
                }
            }
            c.ws();
            match c.peek() {
                Some(b',') => {
                    c.i += 1;
                    c.ws();
                }
                Some(b'}') => {
                    c.i += 1;
                    break;
                }
                _ => return Err(bad(c.i, "',' or '}' after a value")),
            }
        }
    }
    c.ws();
    if c.i < line.len() {
        return Err(LineError::new(LineErrorKind::TrailingBytes, c.i));
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

    fn plan() -> Plan {
        Plan::compile(&Format::Json).unwrap()
    }

    #[test]
    fn strings_and_numbers_are_stored_raw() {
        let p = plan();
        let mut r = Record::new();
        let line = br#" {"remote_addr":"2001:db8::1", "status": 503, "request_time":0.250,
            "http_user_agent":"a \"b\" c", "ignored":{"a":[1,{"b":"]"}]}, "x":null,
            "upstream_response_time":"0.010, 0.020","host":"example.com","ok":true} "#;
        let line: Vec<u8> = line.iter().copied().filter(|&b| b != b'\n').collect();
        p.parse(&line, &mut r).unwrap();
        assert_eq!(r.get(Field::RemoteAddr), Some(&b"2001:db8::1"[..]));
        assert_eq!(r.status(), Some(503));
        assert_eq!(r.request_time_us(), Some(250_000));
        assert_eq!(r.get(Field::HttpUserAgent), Some(&br#"a \"b\" c"#[..]));
        assert_eq!(r.upstream_time().unwrap().total_us, 30_000);
        assert_eq!(r.get(Field::Host), Some(&b"example.com"[..]));
    }

    #[test]
    fn malformed_json_is_reported_not_panicked_on() {
        let p = plan();
        let mut r = Record::new();
        let err = |line: &[u8]| p.parse(line, &mut Record::new()).unwrap_err();
        assert_eq!(err(b"[1,2]").kind, LineErrorKind::NotJsonObject);
        assert_eq!(err(b"{}").kind, LineErrorKind::NoFields);
        assert_eq!(err(b"{\"a\":1}").kind, LineErrorKind::NoFields);
        assert_eq!(
            err(b"{\"status\":200} x").kind,
            LineErrorKind::TrailingBytes
        );
        let e = err(b"{\"status\" 200}");
        assert_eq!(
            e.to_string(),
            "invalid JSON at byte 10: expected ':' after a key"
        );
        let e = err(b"{\"status\":200,}");
        assert_eq!(
            e.to_string(),
            "invalid JSON at byte 14: expected '\"' to start a key"
        );
        assert_eq!(err(b"{\"status\":\"20").kind, LineErrorKind::BadJson);
        assert_eq!(err(b"{\"status\":\"2\\").kind, LineErrorKind::BadJson);
        assert_eq!(err(b"{\"a\":[1}").kind, LineErrorKind::BadJson);
        assert_eq!(err(b"{\"status\":nul}").kind, LineErrorKind::BadJson);
        let deep = [
            &b"{\"status\":200,\"a\":"[..],
            &[b'['; 129],
            &[b']'; 129],
            b"}",
        ]
        .concat();
        assert_eq!(err(&deep).kind, LineErrorKind::BadJson);
        let ok = [
            &b"{\"status\":200,\"a\":"[..],
            &[b'['; 128],
            &[b']'; 128],
            b"}",
        ]
        .concat();
        assert!(p.parse(&ok, &mut r).is_ok());
    }
}
