//! One parsed access-log line, borrowed from the line buffer, and the parsing of its values.
//!
//! Owns: [`Field`] (the nginx variables realip understands), [`Record`] (a fixed array of
//! borrowed field slices: no allocation per line), and value parsing: status codes, sizes,
//! durations in seconds (`$request_time`), the multi-valued `$upstream_response_time`
//! (`0.010, 0.020`, `0.005 : 0.010`, `-`), and timestamps (`$time_local`, `$time_iso8601`,
//! `$msec`).
//! Does not own: where fields are in a line (`line`, `ltsv`, `json`), aggregation (`summary`).

use crate::bytes::ends;
use std::fmt;

macro_rules! fields {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal ),+ $(,)?) => {
        /// An nginx variable realip knows the meaning of.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Field {
            $( $(#[$doc])* $variant, )+
        }

        impl Field {
            /// Every field, in declaration order.
            pub const ALL: &'static [Field] = &[$(Field::$variant),+];
            /// How many fields there are.
            pub const COUNT: usize = Field::ALL.len();

            /// The nginx variable name, without `$`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)+
                }
            }

            /// The field for an nginx variable name (without `$`), if realip knows it.
            pub fn from_name(name: &str) -> Option<Field> {
                match name {
                    $($name => Some(Field::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

fields! {
    /// `$remote_addr`: the client address nginx logged (after realip).
    RemoteAddr = "remote_addr",
    /// `$remote_user`.
    RemoteUser = "remote_user",
    /// `$time_local`: `10/Oct/2000:13:55:36 -0700`.
    TimeLocal = "time_local",
    /// `$time_iso8601`: `2000-10-10T13:55:36-07:00`.
    TimeIso8601 = "time_iso8601",
    /// `$msec`: seconds since the epoch with milliseconds, `1700000000.123`.
    Msec = "msec",
    /// `$request`: `GET /path HTTP/1.1`.
    Request = "request",
    /// `$request_method`.
    RequestMethod = "request_method",
    /// `$request_uri`: path and query as sent.
    RequestUri = "request_uri",
    /// `$uri`: the normalised path.
    Uri = "uri",
    /// `$status`.
    Status = "status",
    /// `$body_bytes_sent`.
    BodyBytesSent = "body_bytes_sent",
    /// `$bytes_sent`.
    BytesSent = "bytes_sent",
    /// `$http_referer`.
    HttpReferer = "http_referer",
    /// `$http_user_agent`.
    HttpUserAgent = "http_user_agent",
    /// `$http_x_forwarded_for`: every XFF line joined with `", "`.
    HttpXForwardedFor = "http_x_forwarded_for",
    /// `$http_true_client_ip`.
    HttpTrueClientIp = "http_true_client_ip",
    /// `$http_x_real_ip`.
    HttpXRealIp = "http_x_real_ip",
    /// `$realip_remote_addr`: the TCP peer before realip.
    RealipRemoteAddr = "realip_remote_addr",
    /// `$request_time`: seconds with millisecond resolution.
    RequestTime = "request_time",
    /// `$upstream_response_time`: one value per upstream tried.
    UpstreamResponseTime = "upstream_response_time",
    /// `$host`.
    Host = "host",
    /// `$server_name`.
    ServerName = "server_name",
}

/// One log line's fields, borrowed from the line. Fields the format does not have, and `-`
/// values, are `None`. Two records are equal when their fields are, and their status and
/// request time read the same (whether either was parsed yet or not).
#[derive(Clone, Copy, Debug, Default)]
pub struct Record<'a> {
    fields: [Option<&'a [u8]>; Field::COUNT],
    /// `$request_time` once parsed (the line parser validates it, and the summary needs it
    /// again): parsed once per line.
    request_time: Parsed<u64>,
    /// `$status` once parsed (the line parser validates it, and the summary counts it):
    /// parsed once per line.
    status: Parsed<u16>,
}

impl PartialEq for Record<'_> {
    /// The fields, and the values read from them: a record a line parser filled (which
    /// remembers the numbers it read) equals one built with [`Record::set`], and a number
    /// remembered wrongly still shows.
    fn eq(&self, other: &Self) -> bool {
        self.fields == other.fields
            && self.status() == other.status()
            && self.request_time_us() == other.request_time_us()
    }
}

impl Eq for Record<'_> {}

/// A value derived from a field, remembered until the field changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Parsed<T> {
    #[default]
    Unknown,
    Known(Option<T>),
}

impl<'a> Record<'a> {
    /// An empty record.
    pub fn new() -> Self {
        Record {
            fields: [None; Field::COUNT],
            request_time: Parsed::Unknown,
            status: Parsed::Unknown,
        }
    }

    /// Forgets every field (reuse one record for many lines).
    #[inline]
    pub fn clear(&mut self) {
        self.fields = [None; Field::COUNT];
        self.request_time = Parsed::Unknown;
        self.status = Parsed::Unknown;
    }

    /// Forgets every field whose bit (`1 << field as usize`) is not in `keep`, for a parser
    /// that then writes every field in `keep` (a predefined template's parser): the fields
    /// it writes are not cleared first.
    #[inline(always)]
    pub(crate) fn clear_outside(&mut self, keep: u64) {
        const { assert!(Field::COUNT <= 64) };
        for (i, value) in self.fields.iter_mut().enumerate() {
            if keep >> i & 1 == 0 {
                *value = None;
            }
        }
        self.request_time = Parsed::Unknown;
        self.status = Parsed::Unknown;
    }

    /// [`clear_outside`](Record::clear_outside) for a record whose fields outside `keep` are
    /// absent already: only the values derived from fields are forgotten.
    #[inline(always)]
    pub(crate) fn forget_derived(&mut self, keep: u64) {
        debug_assert!(self
            .fields
            .iter()
            .enumerate()
            .all(|(i, v)| keep >> i & 1 == 1 || v.is_none()));
        self.request_time = Parsed::Unknown;
        self.status = Parsed::Unknown;
    }

    /// The raw value of a field as logged, if present and not `-`.
    #[inline]
    pub fn get(&self, field: Field) -> Option<&'a [u8]> {
        self.fields[field as usize]
    }

    /// Sets a field's raw value; `-` (nginx's "no value") and empty are stored as absent.
    #[inline]
    pub fn set(&mut self, field: Field, value: &'a [u8]) {
        match field {
            Field::RequestTime => self.request_time = Parsed::Unknown,
            Field::Status => self.status = Parsed::Unknown,
            _ => {}
        }
        self.fields[field as usize] = present(value);
    }

    /// [`Record::set`] for the line parser, which cleared the record first and writes each
    /// field once: nothing derived from the field is remembered yet, so there is nothing to
    /// forget.
    #[inline(always)]
    pub(crate) fn put(&mut self, field: Field, value: &'a [u8]) {
        debug_assert!(match field {
            Field::RequestTime => self.request_time == Parsed::Unknown,
            Field::Status => self.status == Parsed::Unknown,
            _ => true,
        });
        self.fields[field as usize] = present(value);
    }

    /// `$status` as a number.
    #[inline]
    pub fn status(&self) -> Option<u16> {
        match self.status {
            Parsed::Known(v) => v,
            Parsed::Unknown => parse_status(self.get(Field::Status)?),
        }
    }

    /// Checks `$status` now and remembers its number (or its absence) for
    /// [`status`](Record::status): `Err(value)` when the field is not three digits (nginx
    /// prints it with `%03ui`, so `000` and `009` are well-formed, but no status).
    #[inline]
    pub(crate) fn parse_status_digits(&mut self) -> Result<(), &'a [u8]> {
        let status = match self.get(Field::Status) {
            None => None,
            Some(v) => {
                if let Parsed::Known(_) = self.status {
                    // The line parser read it already (`know_status`).
                    return Ok(());
                }
                let &[a, b, c] = v else { return Err(v) };
                status_digits([a, b, c]).ok_or(v)?
            }
        };
        self.status = Parsed::Known(status);
        Ok(())
    }

    /// Remembers the status the line parser read from `$status` with [`status_digits`],
    /// right after [`put`](Record::put)ting the field.
    #[inline(always)]
    pub(crate) fn know_status(&mut self, status: Option<u16>) {
        self.status = Parsed::Known(status);
    }

    /// `$request_time` in microseconds.
    pub fn request_time_us(&self) -> Option<u64> {
        match self.request_time {
            Parsed::Known(v) => v,
            Parsed::Unknown => parse_seconds_us(self.get(Field::RequestTime)?),
        }
    }

    /// Parses `$request_time` now and remembers it (or its absence) for
    /// [`request_time_us`](Record::request_time_us). `Err(value)` when the field holds
    /// something else than seconds.
    #[inline]
    pub(crate) fn parse_request_time(&mut self) -> Result<Option<u64>, &'a [u8]> {
        if let Parsed::Known(value) = self.request_time {
            // Read already: by the line parser (`know_request_time`) or by an earlier call.
            return Ok(value);
        }
        let value = match self.get(Field::RequestTime) {
            None => None,
            Some(v) => Some(parse_seconds_us(v).ok_or(v)?),
        };
        self.request_time = Parsed::Known(value);
        Ok(value)
    }

    /// Remembers the `$request_time` the line parser read with [`short_seconds_us`], right
    /// after [`put`](Record::put)ting the field.
    #[inline(always)]
    pub(crate) fn know_request_time(&mut self, us: u64) {
        self.request_time = Parsed::Known(Some(us));
    }

    /// `$upstream_response_time`: the sum in microseconds and the number of values.
    pub fn upstream_time(&self) -> Option<UpstreamTime> {
        parse_upstream_times(self.get(Field::UpstreamResponseTime)?)
    }

    /// `$body_bytes_sent` (or `$bytes_sent` when that is all the log has).
    pub fn bytes(&self) -> Option<u64> {
        let v = self
            .get(Field::BodyBytesSent)
            .or_else(|| self.get(Field::BytesSent))?;
        parse_u64(v)
    }

    /// The request method: `$request_method`, or the first word of `$request`.
    #[inline]
    pub fn method(&self) -> Option<&'a [u8]> {
        if let Some(m) = self.get(Field::RequestMethod) {
            return Some(m);
        }
        let req = self.get(Field::Request)?;
        Some(&req[..first_space(req)?])
    }

    /// The request path with its query: `$request_uri`, else the second word of `$request`,
    /// else `$uri`.
    #[inline(always)]
    pub fn path(&self) -> Option<&'a [u8]> {
        if let Some(p) = self.get(Field::RequestUri) {
            return Some(p);
        }
        if let Some(req) = self.get(Field::Request) {
            // No `memchr` calls: the method and the protocol are a few bytes at either end.
            let sp = first_space(req)?;
            let rest = &req[sp + 1..];
            // The protocol is almost always `HTTP/x.y`, eight bytes after the last space:
            // checked in one step before the scan from the end.
            let end = match rest.split_last_chunk::<8>() {
                Some((head, proto)) if head.last() == Some(&b' ') && !holds_space(proto) => {
                    head.len() - 1
                }
                _ => rest.iter().rposition(|&b| b == b' ').unwrap_or(rest.len()),
            };
            return Some(&rest[..end]);
        }
        self.get(Field::Uri)
    }

    /// The time of the request in seconds since the epoch, from `$msec`, `$time_iso8601` or
    /// `$time_local`, whichever the log has.
    pub fn epoch_seconds(&self) -> Option<i64> {
        let (field, v) = self.time_value()?;
        parse_time(field, v)
    }

    /// The time field [`epoch_seconds`](Record::epoch_seconds) reads, and its raw value.
    #[inline]
    fn time_value(&self) -> Option<(Field, &'a [u8])> {
        [Field::Msec, Field::TimeIso8601, Field::TimeLocal]
            .into_iter()
            .find_map(|f| Some((f, self.get(f)?)))
    }
}

/// `a == b` for the short texts compared once or twice per line (an address, a time):
/// texts of 8 to 16 bytes as two overlapping words, without a `memcmp` call.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    if (8..=16).contains(&n) {
        return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    }
    a == b
}

/// The spaces among eight bytes, as the top bit of their bytes (SWAR: the zero bytes of the
/// word xor-ed with spaces). Exact for the first space; a byte after it may show falsely.
#[inline(always)]
fn spaces_in(bytes: &[u8; 8]) -> u64 {
    let x = u64::from_le_bytes(*bytes) ^ 0x2020_2020_2020_2020;
    x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080
}

/// A field's value as stored: `-` (nginx's "no value") and empty are absent.
#[inline(always)]
fn present(value: &[u8]) -> Option<&[u8]> {
    // One length test for the common value of two bytes or more.
    if value.len() > 1 {
        return Some(value);
    }
    match value {
        [] | [b'-'] => None,
        _ => Some(value),
    }
}

/// Whether eight bytes hold a space.
#[inline(always)]
fn holds_space(bytes: &[u8; 8]) -> bool {
    spaces_in(bytes) != 0
}

/// The index of the first space: one word test when it is among the first eight bytes (the
/// method of a request line), else a scan.
#[inline(always)]
fn first_space(text: &[u8]) -> Option<usize> {
    match text.first_chunk::<8>().map(spaces_in) {
        Some(m) if m != 0 => Some(m.trailing_zeros() as usize / 8),
        _ => text.iter().position(|&b| b == b' '),
    }
}

/// A time value of `field` (one of `$msec`, `$time_iso8601`, `$time_local`) in seconds
/// since the epoch.
fn parse_time(field: Field, v: &[u8]) -> Option<i64> {
    match field {
        Field::Msec => {
            let dot = v.iter().position(|&b| b == b'.').unwrap_or(v.len());
            parse_u64(&v[..dot]).and_then(|s| i64::try_from(s).ok())
        }
        Field::TimeIso8601 => parse_time_iso8601(v),
        _ => parse_time_local(v),
    }
}

/// [`Record::epoch_seconds`] for a stream of lines, remembering the last time text and its
/// value: consecutive log lines mostly share their second, so most lines cost one
/// comparison of a few bytes instead of a date calculation. One per worker.
#[derive(Clone, Debug, Default)]
pub struct TimeCache {
    field: Option<Field>,
    raw: Vec<u8>,
    value: Option<i64>,
}

impl TimeCache {
    /// The same answer as `rec.epoch_seconds()`.
    #[inline]
    pub fn epoch_seconds(&mut self, rec: &Record<'_>) -> Option<i64> {
        let (field, v) = rec.time_value()?;
        if self.field == Some(field) && same_short(&self.raw, v) {
            return self.value;
        }
        self.value = parse_time(field, v);
        self.field = Some(field);
        self.raw.clear();
        self.raw.extend_from_slice(v);
        self.value
    }
}

/// `a == b` for texts of up to 64 bytes compared on every line (a time text, a group key, a
/// memoised path) as two overlapping loads of 4, 8, 16 or 32 bytes, without a `memcmp` call:
/// `$time_local` (26 bytes) and `$time_iso8601` (25) take two 16-byte loads.
#[inline(always)]
pub(crate) fn same_short(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        33..=64 => ends::<32>(a) == ends::<32>(b),
        16..=32 => ends::<16>(a) == ends::<16>(b),
        8..=15 => ends::<8>(a) == ends::<8>(b),
        4..=7 => ends::<4>(a) == ends::<4>(b),
        _ => a == b,
    }
}

/// The parsed `$upstream_response_time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpstreamTime {
    /// Sum of every value, in microseconds.
    pub total_us: u64,
    /// How many upstream attempts had a time (retries = `tries - 1`).
    pub tries: u32,
}

/// A 3-digit HTTP status.
#[inline]
pub fn parse_status(v: &[u8]) -> Option<u16> {
    match v {
        [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// Three bytes of `$status`: `None` when one is not a digit, else the status, which is
/// `None` below 100 (the first digit 0: nginx writes `000` and `009`, [`parse_status`] reads
/// no status in them).
#[inline(always)]
pub(crate) fn status_digits([a, b, c]: [u8; 3]) -> Option<Option<u16>> {
    let n = four_digits([b'0', a, b, c])?;
    Some(u16::try_from(n).ok().filter(|&n| n >= 100))
}

/// A decimal unsigned integer (no sign, no spaces), without overflow.
#[inline]
pub fn parse_u64(v: &[u8]) -> Option<u64> {
    match *v {
        // Every `$body_bytes_sent` under 100 MB: one word, no loop.
        [a, b, c, d] => return four_digits([a, b, c, d]).map(u64::from),
        [b, c, d] => return four_digits([b'0', b, c, d]).map(u64::from),
        [c, d] => return four_digits([b'0', b'0', c, d]).map(u64::from),
        [_, ..] if v.len() <= 8 => return eight_digits(v),
        _ => {}
    }
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    if v.len() < 20 {
        // Nineteen digits at most stay below 10^19 < u64::MAX: no step can overflow, so
        // none is checked (this runs on every line's `$body_bytes_sent`).
        let mut n: u64 = 0;
        for &c in v {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            n = n * 10 + u64::from(d);
        }
        return Some(n);
    }
    let mut n: u64 = 0;
    for &c in v {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// One to eight ASCII digits as the number they spell, or `None` when a byte is not a digit
/// (SWAR, as [`four_digits`]): the digits are loaded as two overlapping pieces into the top
/// bytes of a word (an overlapping byte is the same byte in both, so or-ing them is exact),
/// the bytes below are filled with `'0'`, every byte is tested at once, then neighbouring
/// digits are joined in three multiplications (pairs, fours, eight).
#[inline(always)]
fn eight_digits(v: &[u8]) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const TOP: u64 = 0x8080_8080_8080_8080;
    let n = v.len();
    let pad = 8usize.checked_sub(n)?;
    let word = match (v.first_chunk::<4>(), v.last_chunk::<4>()) {
        (Some(a), Some(b)) => {
            u64::from(u32::from_le_bytes(*a)) << (pad * 8) | u64::from(u32::from_le_bytes(*b)) << 32
        }
        _ => match (v.first_chunk::<2>(), v.last_chunk::<2>()) {
            (Some(a), Some(b)) => {
                u64::from(u16::from_le_bytes(*a)) << (pad * 8)
                    | u64::from(u16::from_le_bytes(*b)) << 48
            }
            _ => u64::from(*v.first()?) << 56,
        },
    };
    // `pad` is at most 7, so the shift stays inside the word.
    let w = (word | ZEROS & ((1u64 << (pad * 8)) - 1)).wrapping_sub(ZEROS);
    if (w | w.wrapping_add(0x7676_7676_7676_7676)) & TOP != 0 {
        return None;
    }
    let w = (w.wrapping_mul(10) + (w >> 8)) & 0x00ff_00ff_00ff_00ff;
    let w = (w.wrapping_mul(100) + (w >> 16)) & 0x0000_ffff_0000_ffff;
    Some((w.wrapping_mul(10_000) + (w >> 32)) & 0xffff_ffff)
}

/// Seconds as nginx logs them (`0.123`, `12`, `1.5`) in microseconds, rounding down past
/// the sixth decimal.
#[inline(always)]
pub fn parse_seconds_us(v: &[u8]) -> Option<u64> {
    // Requests under ten seconds, the shape of almost every value: `d.ddd`, read as one word
    // and inlined; anything else out of line.
    if let Ok(short) = <[u8; 5]>::try_from(v) {
        if let Some(us) = short_seconds_us(short) {
            return Some(us);
        }
    }
    parse_seconds_us_any(v)
}

/// `d.ddd` seconds in microseconds, or `None` for any other five bytes.
#[inline(always)]
pub(crate) fn short_seconds_us([s, dot, a, b, c]: [u8; 5]) -> Option<u64> {
    if dot != b'.' {
        return None;
    }
    Some(u64::from(four_digits([s, a, b, c])?) * 1_000)
}

/// Four ASCII digits as the number they spell, or `None` when a byte is not a digit. The
/// bytes are tested and combined as one word (SWAR): after subtracting `'0'` from every byte,
/// a byte that was below `'0'` has its top bit set, as has one above `'9'` once 0x76 is
/// added; the lowest such byte is exact (only bytes above it see a borrow or carry), which is
/// all the test needs. Then neighbouring digits are paired (`10 * d + next`) and the pairs
/// joined (`100 * p + next`).
#[inline(always)]
fn four_digits(digits: [u8; 4]) -> Option<u32> {
    let w = u32::from_le_bytes(digits).wrapping_sub(0x3030_3030);
    if (w | w.wrapping_add(0x7676_7676)) & 0x8080_8080 != 0 {
        return None;
    }
    let pairs = (w.wrapping_mul(10) + (w >> 8)) & 0x00ff_00ff;
    Some((pairs.wrapping_mul(100) + (pairs >> 16)) & 0xffff)
}

/// [`parse_seconds_us`] for every other shape.
#[inline(never)]
fn parse_seconds_us_any(v: &[u8]) -> Option<u64> {
    // One pass, no library call and no overflow checks for the values nginx writes (a few
    // bytes; this runs up to three times per line): up to 13 integer digits cannot overflow
    // once multiplied by 10^6. Longer integer parts take the checked path.
    let mut secs: u64 = 0;
    let mut i = 0;
    while let Some(&c) = v.get(i) {
        if c == b'.' {
            break;
        }
        if !c.is_ascii_digit() || i == 13 {
            return parse_seconds_us_checked(v);
        }
        secs = secs * 10 + u64::from(c - b'0');
        i += 1;
    }
    let frac = v.get(i + 1..).unwrap_or(&[]);
    // nginx writes milliseconds (`%T.%03M`): three decimals without a loop.
    if let [a, b, c] = *frac {
        let d = [a, b, c].map(|x| u64::from(x.wrapping_sub(b'0')));
        if d.iter().all(|&x| x < 10) {
            return Some(secs * 1_000_000 + (d[0] * 100 + d[1] * 10 + d[2]) * 1_000);
        }
        return None;
    }
    if i == 0 && frac.is_empty() {
        return None;
    }
    let us = micros(frac)?;
    Some(secs * 1_000_000 + us)
}

/// The decimals of a seconds value as microseconds (the first six digits; more are
/// dropped, fewer are padded).
#[inline]
fn micros(frac: &[u8]) -> Option<u64> {
    let mut us: u64 = 0;
    for (k, &c) in frac.iter().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        if k < 6 {
            us = us * 10 + u64::from(c - b'0');
        }
    }
    for _ in frac.len()..6 {
        us *= 10;
    }
    Some(us)
}

/// [`parse_seconds_us`] for any length, with overflow checks.
#[cold]
fn parse_seconds_us_checked(v: &[u8]) -> Option<u64> {
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &b""[..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let secs = if int.is_empty() { 0 } else { parse_u64(int)? };
    let us = micros(frac)?;
    secs.checked_mul(1_000_000)?.checked_add(us)
}

/// `$upstream_response_time`: values separated by `, ` (several upstreams tried) or ` : `
/// (internal redirect to another upstream group); `-` values (no response) are skipped.
/// `None` when no value parses.
#[inline]
pub fn parse_upstream_times(v: &[u8]) -> Option<UpstreamTime> {
    // The common case, one upstream: a plain number is its own only part. Inlined; lists
    // out of line.
    if let Some(us) = parse_seconds_us(v) {
        return Some(UpstreamTime {
            total_us: us,
            tries: 1,
        });
    }
    parse_upstream_list(v)
}

/// [`parse_upstream_times`] for anything but one plain number.
#[inline(never)]
fn parse_upstream_list(v: &[u8]) -> Option<UpstreamTime> {
    let mut total: u64 = 0;
    let mut tries = 0u32;
    for part in v.split(|&b| b == b',' || b == b':') {
        let part = trim_spaces(part);
        if part.is_empty() || part == b"-" {
            continue;
        }
        total = total.checked_add(parse_seconds_us(part)?)?;
        tries += 1;
    }
    (tries > 0).then_some(UpstreamTime {
        total_us: total,
        tries,
    })
}

fn trim_spaces(mut v: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' '] = v {
        v = rest;
    }
    v
}

fn digits(v: &[u8]) -> Option<i64> {
    parse_u64(v).and_then(|n| i64::try_from(n).ok())
}

fn epoch(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, offset_s: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(crate::timefmt::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset_s)
}

fn offset(sign: u8, hh: &[u8], mm: &[u8]) -> Option<i64> {
    let o = digits(hh)? * 3600 + digits(mm)? * 60;
    match sign {
        b'+' => Some(o),
        b'-' => Some(-o),
        _ => None,
    }
}

/// `$time_local`: `10/Oct/2000:13:55:36 -0700` -> seconds since the epoch (UTC).
pub fn parse_time_local(v: &[u8]) -> Option<i64> {
    if v.len() != 26 || v[2] != b'/' || v[6] != b'/' || v[11] != b':' || v[20] != b' ' {
        return None;
    }
    let mo = match &v[3..6] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    epoch(
        digits(&v[7..11])?,
        mo,
        digits(&v[0..2])?,
        digits(&v[12..14])?,
        digits(&v[15..17])?,
        digits(&v[18..20])?,
        offset(v[21], &v[22..24], &v[24..26])?,
    )
}

/// `$time_iso8601`: `2000-10-10T13:55:36-07:00` (or `Z`) -> seconds since the epoch (UTC).
pub fn parse_time_iso8601(v: &[u8]) -> Option<i64> {
    if v.len() < 20 || v[4] != b'-' || v[7] != b'-' || v[10] != b'T' || v[13] != b':' {
        return None;
    }
    let off = match &v[19..] {
        b"Z" => 0,
        [sign, h1, h2, b':', m1, m2] => offset(*sign, &[*h1, *h2], &[*m1, *m2])?,
        _ => return None,
    };
    epoch(
        digits(&v[0..4])?,
        digits(&v[5..7])?,
        digits(&v[8..10])?,
        digits(&v[11..13])?,
        digits(&v[14..16])?,
        digits(&v[17..19])?,
        off,
    )
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record whose numbers were read (as a line parser does) equals one built with `set`,
    /// and a remembered number that disagrees with its field makes them differ.
    #[test]
    fn equality_reads_the_numbers_whether_remembered_or_not() {
        let mut built = Record::new();
        built.set(Field::Status, b"404");
        built.set(Field::RequestTime, b"0.250");
        let mut parsed = built;
        assert_eq!(parsed.parse_status_digits(), Ok(()));
        assert_eq!(parsed.parse_request_time(), Ok(Some(250_000)));
        assert_eq!(parsed, built);
        let mut wrong = parsed;
        wrong.status = Parsed::Known(Some(200));
        assert_ne!(wrong, built);
        let mut wrong = parsed;
        wrong.request_time = Parsed::Known(None);
        assert_ne!(wrong, built);
    }

    /// `present` keeps every value but `-` and the empty one: all values up to three bytes
    /// over an alphabet with `-` in it, against the plain rule.
    #[test]
    fn present_drops_only_dash_and_empty() {
        let alphabet = [b'-', b'a', b' ', 0xff];
        let mut values: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=3u32 {
            for code in 0..4usize.pow(len) {
                let value = (0..len)
                    .map(|i| alphabet[code / 4usize.pow(i) % 4])
                    .collect();
                values.push(value);
            }
        }
        for v in &values {
            let plain = (v.as_slice() != b"-" && !v.is_empty()).then_some(v.as_slice());
            assert_eq!(present(v), plain, "{v:?}");
        }
    }

    /// The one-word reading of up to eight digits answers like the standard library at every
    /// length, with a byte next to `0` or `9` (or with the top bit set) at every place.
    #[test]
    fn short_integers_parse_like_std_at_every_place() {
        let odd = [
            b'/', b':', b'0', b'9', 0, b' ', 0x7f, 0x80, 0xb0, 0xb9, 0xba, 0xff,
        ];
        for len in 1..=8usize {
            let base: Vec<u8> = (0..len).map(|i| b"98765432"[i]).collect();
            for at in 0..len {
                for byte in odd {
                    let mut v = base.clone();
                    v[at] = byte;
                    let want = std::str::from_utf8(&v)
                        .ok()
                        .and_then(|t| t.parse::<u64>().ok());
                    assert_eq!(parse_u64(&v), want, "{v:?}");
                }
            }
            assert_eq!(parse_u64(&vec![b'9'; len]), Some(10u64.pow(len as u32) - 1));
            assert_eq!(parse_u64(&vec![b'0'; len]), Some(0));
        }
    }

    /// The status the line parser remembers is the one [`parse_status`] reads, and setting
    /// the field again forgets it.
    #[test]
    fn status_is_remembered_until_the_field_changes() {
        for (v, want) in [
            (&b"200"[..], Ok(Some(200))),
            (b"000", Ok(None)),
            (b"099", Ok(None)),
            (b"999", Ok(Some(999))),
            (b"20", Err(())),
            (b"2x0", Err(())),
            (b"2000", Err(())),
            (b"-", Ok(None)),
        ] {
            let mut r = Record::new();
            r.set(Field::Status, v);
            let before = r.status();
            assert_eq!(
                r.parse_status_digits().map_err(|_| ()),
                want.map(|_| ()),
                "{v:?}"
            );
            if let Ok(n) = want {
                assert_eq!(r.status(), n, "{v:?}");
                assert_eq!(before, n, "{v:?}");
            }
            r.set(Field::Status, b"404");
            assert_eq!(r.status(), Some(404));
        }
    }

    #[test]
    fn field_names_round_trip() {
        for &f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
        assert_eq!(Field::from_name("nope"), None);
    }

    #[test]
    fn values_parse_like_nginx_writes_them() {
        assert_eq!(parse_status(b"200"), Some(200));
        assert_eq!(parse_status(b"099"), None);
        assert_eq!(parse_status(b"2000"), None);
        assert_eq!(parse_seconds_us(b"0.123"), Some(123_000));
        assert_eq!(parse_seconds_us(b"12"), Some(12_000_000));
        assert_eq!(parse_seconds_us(b"1.5"), Some(1_500_000));
        assert_eq!(parse_seconds_us(b"0.0000019"), Some(1));
        assert_eq!(parse_seconds_us(b"-"), None);
        assert_eq!(parse_seconds_us(b"."), None);
        assert_eq!(parse_seconds_us(b"1e3"), None);
    }

    proptest::proptest! {
        /// Decimal integers read like the standard library reads digit strings, at every
        /// length up to one past `u64::MAX`'s twenty digits, overflow and junk included.
        #[test]
        fn integers_parse_like_std(
            digits in proptest::collection::vec(proptest::sample::select(b"0123456789".to_vec()), 0..22),
            junk in proptest::option::of((0usize..22, proptest::sample::select(vec![b' ', b'+', b'-', b'/', b':', b'a', 0xff]))),
            near_max in 0u64..1000,
        ) {
            let mut v = digits;
            if let Some((at, byte)) = junk {
                let at = at.min(v.len());
                v.insert(at, byte);
            }
            // Longer than twenty bytes is refused even with leading zeros (nginx writes none).
            let want = std::str::from_utf8(&v)
                .ok()
                .filter(|t| !t.starts_with('+') && t.len() <= 20)
                .and_then(|t| t.parse::<u64>().ok());
            proptest::prop_assert_eq!(parse_u64(&v), want);
            let big = (u64::MAX - near_max).to_string();
            proptest::prop_assert_eq!(parse_u64(big.as_bytes()), Some(u64::MAX - near_max));
            let over = (u128::from(u64::MAX) + 1 + u128::from(near_max)).to_string();
            proptest::prop_assert_eq!(parse_u64(over.as_bytes()), None);
        }

        /// The word comparison answers like `==` at every length, equal or not.
        #[test]
        fn same_bytes_is_slice_equality(
            a in proptest::collection::vec(proptest::sample::select(vec![b'1', b'.', b':', 0xff]), 0..24),
            flip in proptest::option::of(0usize..24),
            cut in proptest::option::of(0usize..24),
        ) {
            let mut b = a.clone();
            if let Some(i) = flip.filter(|&i| i < b.len()) {
                b[i] ^= 1;
            }
            if let Some(n) = cut.filter(|&n| n < b.len()) {
                b.truncate(n);
            }
            proptest::prop_assert_eq!(same_bytes(&a, &b), a == b);
        }

        /// The short texts' comparison answers like `==` at every length up to 72 (each load
        /// size and past them), equal or not, wherever the one differing byte is.
        #[test]
        fn same_short_is_slice_equality(
            a in proptest::collection::vec(proptest::sample::select(vec![b'1', b'/', b':', 0xff]), 0..72),
            flip in proptest::option::of(0usize..72),
            cut in proptest::option::of(0usize..72),
        ) {
            let mut b = a.clone();
            if let Some(i) = flip.filter(|&i| i < b.len()) {
                b[i] ^= 1;
            }
            if let Some(n) = cut.filter(|&n| n < b.len()) {
                b.truncate(n);
            }
            proptest::prop_assert_eq!(same_short(&a, &b), a == b);
        }

        /// The one-pass seconds parser agrees with the plain reading: split at the first
        /// dot, both sides decimal, six decimals kept.
        #[test]
        fn seconds_parse_like_the_plain_reading(v in "[0-9.x]{0,24}|[0-9]{10,22}(\\.[0-9]{0,8})?|[0-9]{0,4}\\.[0-9x.]{3}|[0-9]{1,3}\\.[0-9]{3}") {
            proptest::prop_assert_eq!(parse_seconds_us(v.as_bytes()), plain_seconds(v.as_bytes()));
        }

        /// The word-at-a-time reading of `d.ddd` agrees with the plain reading for any bytes
        /// in the digits' places, those next to `0` and `9` and with the top bit set included.
        #[test]
        fn five_byte_seconds_parse_like_the_plain_reading(
            digits in proptest::array::uniform4(proptest::prop_oneof![
                proptest::sample::select(vec![b'0', b'1', b'5', b'8', b'9', b'/', b':', b'.', 0, 0x7f, 0x80, 0xb0, 0xb9, 0xba, 0xff]),
                proptest::num::u8::ANY,
            ]),
        ) {
            let [s, a, b, c] = digits;
            let v = [s, b'.', a, b, c];
            proptest::prop_assert_eq!(parse_seconds_us(&v), plain_seconds(&v));
        }
    }

    /// Seconds read the plain way: split at the first dot, both sides decimal, six decimals
    /// kept.
    fn plain_seconds(v: &[u8]) -> Option<u64> {
        let (int, frac) = match v.iter().position(|&b| b == b'.') {
            Some(i) => (&v[..i], &v[i + 1..]),
            None => (v, &b""[..]),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let secs = if int.is_empty() { 0 } else { parse_u64(int)? };
        if !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut us = 0u64;
        for i in 0..6 {
            us = us * 10 + frac.get(i).map_or(0, |c| u64::from(c - b'0'));
        }
        secs.checked_mul(1_000_000)?.checked_add(us)
    }

    #[test]
    fn upstream_times_sum_and_count_retries() {
        let t = |s: &str| parse_upstream_times(s.as_bytes());
        assert_eq!(
            t("0.010"),
            Some(UpstreamTime {
                total_us: 10_000,
                tries: 1
            })
        );
        assert_eq!(
            t("0.010, 0.020"),
            Some(UpstreamTime {
                total_us: 30_000,
                tries: 2
            })
        );
        assert_eq!(
            t("0.005 : 0.010"),
            Some(UpstreamTime {
                total_us: 15_000,
                tries: 2
            })
        );
        assert_eq!(
            t("-, 0.020"),
            Some(UpstreamTime {
                total_us: 20_000,
                tries: 1
            })
        );
        assert_eq!(t("-"), None);
        assert_eq!(t("x"), None);
    }

    #[test]
    fn timestamps_convert_to_utc_epoch() {
        assert_eq!(
            parse_time_local(b"10/Oct/2000:13:55:36 -0700"),
            Some(971_211_336)
        );
        assert_eq!(
            parse_time_iso8601(b"2000-10-10T13:55:36-07:00"),
            Some(971_211_336)
        );
        assert_eq!(
            parse_time_iso8601(b"2000-10-10T20:55:36Z"),
            Some(971_211_336)
        );
        assert_eq!(parse_time_local(b"01/Jan/1970:00:00:00 +0000"), Some(0));
        assert_eq!(parse_time_local(b"10/Foo/2000:13:55:36 -0700"), None);
    }

    #[test]
    fn request_line_gives_method_and_path() {
        let mut r = Record::new();
        r.set(Field::Request, b"GET /a/b?c=1 HTTP/1.1");
        assert_eq!(r.method(), Some(&b"GET"[..]));
        assert_eq!(r.path(), Some(&b"/a/b?c=1"[..]));
        r.set(Field::Status, b"-");
        assert_eq!(r.get(Field::Status), None);
        for (line, path) in [
            (&b"GET /x HTTP/2.0"[..], &b"/x"[..]),
            (b"GET /a b HTTP/1.1", b"/a b"),
            (b"GET /a HTTP/1.1 x", b"/a HTTP/1.1"),
            (b"GET /a HTTP/1 1", b"/a HTTP/1"),
            (b"GET /abcdefgh", b"/abcdefgh"),
            (b"GET  HTTP/1.1", b""),
            (b"GET /", b"/"),
        ] {
            r.set(Field::Request, line);
            assert_eq!(r.path(), Some(path), "{}", String::from_utf8_lossy(line));
        }
    }

    proptest::proptest! {
        /// The one-step check for the protocol agrees with the scan for the last space.
        #[test]
        fn path_is_the_text_between_the_first_and_the_last_space(
            line in "([ A-Z/a.1x]{0,24}|[A-Z]{1,9} [ a/.]{0,12}|[A-Z]{0,3} {1,3}[a/]{0,9}( HTTP/1.1)?)"
        ) {
            let mut r = Record::new();
            r.set(Field::Request, line.as_bytes());
            let want = line.split_once(' ').map(|(_, rest)| {
                rest.rsplit_once(' ').map_or(rest, |(p, _)| p).as_bytes()
            });
            proptest::prop_assert_eq!(r.path(), want);
            let method = line.split_once(' ').map(|(m, _)| m.as_bytes());
            proptest::prop_assert_eq!(r.method(), method);
        }
    }
}
