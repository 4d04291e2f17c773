//! The nginx realip algorithm: one request in, `$remote_addr` out.
//!
//! Owns: [`Resolver`] (trusted set + `real_ip_header` + `real_ip_recursive` + version quirks)
//! and the walk of `ngx_http_get_forwarded_addr`: the TCP peer must be trusted, then tokens
//! are taken right to left while the address just taken is trusted; `X-Forwarded-For` (that
//! exact spelling) reads every line from the last to the first, any other header its first line
//! only. The outcome is a [`Resolution`] that also says why the walk stopped; [`Explanation`]
//! records every step for `--explain` and the audit.
//! Does not own: splitting a value into tokens (`header`), address grammar and trust
//! membership (`net`), reading logs or configs, printing.
//!
//! The walk is pure and allocates nothing; tracing is a generic [`Trace`] parameter whose
//! no-op implementation compiles away.

pub mod header;

use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use crate::error::Error;
use crate::net::{Addr, TrustEntry, TrustedSet};
pub use header::TokenError;

/// The header realip reads: nginx's `real_ip_header`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    name: String,
    all_lines: bool,
}

impl Header {
    /// A header name as written in `real_ip_header`. Only the exact spelling
    /// `X-Forwarded-For` reads every line; any other name (even `x-forwarded-for`) reads the
    /// first line whose name matches case-insensitively, as nginx does.
    pub fn new(name: &str) -> Result<Header, Error> {
        if name.is_empty() {
            return Err(Error::header_name(name.as_bytes(), "empty"));
        }
        if name == "proxy_protocol" {
            return Err(Error::header_name(
                name.as_bytes(),
                "proxy_protocol takes the address from the PROXY protocol line, not from a \
                 request header; it is not supported here",
            ));
        }
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if !name.bytes().all(tchar) {
            return Err(Error::header_name(
                name.as_bytes(),
                "not a valid HTTP header name",
            ));
        }
        Ok(Header {
            name: name.to_string(),
            all_lines: name == "X-Forwarded-For",
        })
    }

    /// `X-Forwarded-For`, the usual choice behind load balancers.
    pub fn x_forwarded_for() -> Header {
        Header {
            name: "X-Forwarded-For".into(),
            all_lines: true,
        }
    }

    /// The name as configured.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether every line of the header is walked (only for `X-Forwarded-For`).
    pub fn all_lines(&self) -> bool {
        self.all_lines
    }
}

impl Default for Header {
    /// nginx's default `real_ip_header` is `X-Real-IP`.
    fn default() -> Self {
        Header {
            name: "X-Real-IP".into(),
            all_lines: false,
        }
    }
}

/// An nginx version, for the one realip behaviour that changed: `[addr]` without a port is a
/// valid token from 1.27.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NginxVersion(pub u32, pub u32, pub u32);

impl NginxVersion {
    /// The oldest version whose realip rules this crate reproduces.
    pub const OLDEST: NginxVersion = NginxVersion(1, 11, 5);
    /// The first version that accepts `[addr]` without a port.
    pub const BRACKETS_WITHOUT_PORT: NginxVersion = NginxVersion(1, 27, 3);

    /// Parses `1.22.1` (also `nginx/1.22.1`, or `1.27` meaning `1.27.0`).
    pub fn parse(text: &str) -> Result<NginxVersion, Error> {
        let bad = |reason| Error::nginx_version(text.as_bytes(), reason);
        let t = text.trim();
        let t = t.strip_prefix("nginx/").unwrap_or(t);
        let mut parts = t.split('.');
        let mut num = || -> Result<u32, Error> {
            match parts.next() {
                None => Ok(0),
                Some(p) => p
                    .parse()
                    .map_err(|_| bad("expected MAJOR.MINOR.PATCH, e.g. 1.22.1")),
            }
        };
        let v = NginxVersion(num()?, num()?, num()?);
        if parts.next().is_some() || t.is_empty() {
            return Err(bad("expected MAJOR.MINOR.PATCH, e.g. 1.22.1"));
        }
        if v < Self::OLDEST {
            return Err(bad(
                "realip rules before nginx 1.11.5 differ and are not reproduced",
            ));
        }
        Ok(v)
    }

    /// Whether `[addr]` without a port is a valid token in this version.
    pub fn brackets_without_port(self) -> bool {
        self >= Self::BRACKETS_WITHOUT_PORT
    }
}

impl fmt::Display for NginxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Why the walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stop {
    /// The header was not sent: nothing changes.
    HeaderAbsent,
    /// The TCP peer is not trusted: the header is ignored, nothing changes.
    PeerUntrusted,
    /// The rightmost token (of the last line read) is not an address: nothing changes.
    RightmostInvalid,
    /// Recursion is off: the rightmost token is the client, trusted or not.
    NotRecursive,
    /// The walk reached an address that is not trusted: that is the client.
    Untrusted,
    /// The walk met a token that is not an address: the trusted address to its right is
    /// the client.
    InvalidToken,
    /// Every address was trusted: the leftmost one is the client.
    AllTrusted,
}

impl Stop {
    /// Whether realip changed the address.
    pub fn applied(self) -> bool {
        !matches!(
            self,
            Stop::HeaderAbsent | Stop::PeerUntrusted | Stop::RightmostInvalid
        )
    }

    /// A short machine-readable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::HeaderAbsent => "header_absent",
            Stop::PeerUntrusted => "peer_untrusted",
            Stop::RightmostInvalid => "rightmost_invalid",
            Stop::NotRecursive => "not_recursive",
            Stop::Untrusted => "untrusted",
            Stop::InvalidToken => "invalid_token",
            Stop::AllTrusted => "all_trusted",
        }
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stop::HeaderAbsent => "header absent: address unchanged",
            Stop::PeerUntrusted => "peer not trusted: header ignored, address unchanged",
            Stop::RightmostInvalid => "rightmost value is not an address: address unchanged",
            Stop::NotRecursive => "recursion off: rightmost address taken",
            Stop::Untrusted => "first untrusted address from the right",
            Stop::InvalidToken => {
                "stopped at a value that is not an address: kept the trusted \
                                   address to its right"
            }
            Stop::AllTrusted => "every address trusted: leftmost address taken",
        })
    }
}

/// The outcome for one request: what nginx's `$remote_addr` and `$remote_port` become.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Resolution {
    /// `$remote_addr`: the resolved client, or the peer when realip did not apply.
    pub addr: Addr,
    /// The port of the token taken (`$remote_port`); `None` when realip applied a token
    /// without a port (nginx logs an empty `$remote_port`) or did not apply.
    pub port: Option<u16>,
    /// Why the walk ended; [`Stop::applied`] tells whether the address changed.
    pub stop: Stop,
    /// How many tokens were taken from the header.
    pub taken: u32,
}

impl Resolution {
    /// Whether realip changed the address.
    pub fn applied(&self) -> bool {
        self.stop.applied()
    }
}

/// Observes the walk. Every method has a no-op default; [`NoTrace`] uses them all.
pub trait Trace {
    /// A trust check of `addr` (the peer first, then each address taken).
    fn check(&mut self, _addr: &Addr, _trusted: bool) {}
    /// A token examined in header line `line` at `span` of `value`.
    fn token(
        &mut self,
        _line: LineRef,
        _value: &[u8],
        _span: Range<usize>,
        _parsed: &Result<(IpAddr, Option<u16>), TokenError>,
    ) {
    }
}

/// Which header line a traced token comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineRef {
    /// Counting from the last line (0 = last), for `X-Forwarded-For`.
    FromLast(usize),
    /// The first line, for every other header.
    First,
}

/// The tracer that records nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTrace;
impl Trace for NoTrace {}

/// The result of one `internal` call (one header line).
enum LineResult {
    Ok,
    Done(Stop),
    /// Nothing taken from this line; `true` when the cause was an untrusted address.
    Declined {
        untrusted: bool,
    },
}

/// nginx's realip for one location: trusted set, header and recursion.
///
/// ```
/// use realip::{Addr, Header, Resolver, TrustedSet};
/// let (trusted, _) = TrustedSet::parse(["gcp", "34.120.5.6"]).unwrap();
/// let r = Resolver::new(trusted, Header::x_forwarded_for(), true);
/// let peer = Addr::parse(b"35.191.10.20").unwrap();
/// let res = r.resolve(peer, [&b"203.0.113.7, 34.120.5.6"[..]]);
/// assert_eq!(res.addr.to_string(), "203.0.113.7");
/// ```
#[derive(Clone, Debug)]
pub struct Resolver {
    trusted: TrustedSet,
    header: Header,
    recursive: bool,
    brackets_without_port: bool,
}

impl Resolver {
    /// A resolver with current nginx's token rules.
    pub fn new(trusted: TrustedSet, header: Header, recursive: bool) -> Self {
        Resolver {
            trusted,
            header,
            recursive,
            brackets_without_port: true,
        }
    }

    /// Reproduces the token rules of `version` (only `[addr]` without a port differs).
    pub fn with_nginx_version(mut self, version: NginxVersion) -> Self {
        self.brackets_without_port = version.brackets_without_port();
        self
    }

    /// The trusted set.
    pub fn trusted(&self) -> &TrustedSet {
        &self.trusted
    }

    /// The header read.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Whether recursion is on.
    pub fn recursive(&self) -> bool {
        self.recursive
    }

    /// Resolves one request. `lines` are the values of every line of the configured header, in
    /// arrival order (empty when the header is absent), as nginx stores them (HTTP/1 strips
    /// leading and trailing spaces: see [`header::http1_value`]; HTTP/2 does not).
    #[inline]
    pub fn resolve<'a, I>(&self, peer: Addr, lines: I) -> Resolution
    where
        I: IntoIterator<Item = &'a [u8]>,
        I::IntoIter: DoubleEndedIterator,
    {
        self.resolve_traced(peer, lines, &mut NoTrace)
    }

    /// Resolves one request and records every step (allocates; not for the hot path).
    pub fn explain<'a, I>(&self, peer: Addr, lines: I) -> Explanation
    where
        I: IntoIterator<Item = &'a [u8]>,
        I::IntoIter: DoubleEndedIterator,
    {
        let lines: Vec<&[u8]> = lines.into_iter().collect();
        let mut rec = Recorder {
            trusted: &self.trusted,
            lines: lines.len(),
            steps: Vec::new(),
        };
        let resolution = self.resolve_traced(peer, lines.iter().copied(), &mut rec);
        Explanation {
            peer,
            header: self.header.name.clone(),
            all_lines: self.header.all_lines,
            recursive: self.recursive,
            lines: lines.len(),
            steps: rec.steps,
            resolution,
        }
    }

    /// Resolves one request, reporting each step to `trace`.
    pub fn resolve_traced<'a, I, T>(&self, peer: Addr, lines: I, trace: &mut T) -> Resolution
    where
        I: IntoIterator<Item = &'a [u8]>,
        I::IntoIter: DoubleEndedIterator,
        T: Trace,
    {
        let mut cur = peer;
        let mut port = None;
        let mut taken = 0u32;
        let mut lines = lines.into_iter();

        let result = if self.header.all_lines {
            // X-Forwarded-For: every line, from the last to the first.
            let mut rev = lines.rev();
            match rev.next() {
                None => Err(Stop::HeaderAbsent),
                Some(last) => {
                    let line = LineRef::FromLast(0);
                    match self.walk_line(line, last, &mut cur, &mut port, &mut taken, trace) {
                        LineResult::Declined { untrusted: true } => Err(Stop::PeerUntrusted),
                        LineResult::Declined { untrusted: false } => Err(Stop::RightmostInvalid),
                        LineResult::Done(stop) => Ok(stop),
                        LineResult::Ok if !self.recursive => Ok(Stop::NotRecursive),
                        LineResult::Ok => {
                            let mut stop = None;
                            for (k, value) in rev.enumerate() {
                                let line = LineRef::FromLast(k + 1);
                                match self
                                    .walk_line(line, value, &mut cur, &mut port, &mut taken, trace)
                                {
                                    LineResult::Ok => continue,
                                    LineResult::Done(s) => stop = Some(s),
                                    LineResult::Declined { untrusted: true } => {
                                        stop = Some(Stop::Untrusted)
                                    }
                                    LineResult::Declined { untrusted: false } => {
                                        stop = Some(Stop::InvalidToken)
                                    }
                                }
                                break;
                            }
                            Ok(stop.unwrap_or_else(|| self.final_stop(&cur)))
                        }
                    }
                }
            }
        } else {
            // Any other header: its first line only.
            match lines.next() {
                None => Err(Stop::HeaderAbsent),
                Some(v) => {
                    match self.walk_line(LineRef::First, v, &mut cur, &mut port, &mut taken, trace)
                    {
                        LineResult::Ok => Ok(self.final_stop(&cur)),
                        LineResult::Done(stop) => Ok(stop),
                        LineResult::Declined { untrusted: true } => Err(Stop::PeerUntrusted),
                        LineResult::Declined { untrusted: false } => Err(Stop::RightmostInvalid),
                    }
                }
            }
        };
        match result {
            Ok(stop) => Resolution {
                addr: cur,
                port,
                stop,
                taken,
            },
            Err(stop) => Resolution {
                addr: peer,
                port: None,
                stop,
                taken,
            },
        }
    }

    /// The stop reason when the walk consumed everything it was allowed to.
    fn final_stop(&self, cur: &Addr) -> Stop {
        if !self.recursive {
            Stop::NotRecursive
        } else if self.trusted.contains(cur) {
            Stop::AllTrusted
        } else {
            Stop::Untrusted
        }
    }

    /// `ngx_http_get_forwarded_addr_internal` over one header value.
    #[inline]
    fn walk_line<T: Trace>(
        &self,
        line: LineRef,
        value: &[u8],
        cur: &mut Addr,
        port: &mut Option<u16>,
        taken: &mut u32,
        trace: &mut T,
    ) -> LineResult {
        let mut found = false;
        let mut len = value.len();
        loop {
            let trusted = self.trusted.contains(cur);
            trace.check(cur, trusted);
            if !trusted {
                return if found {
                    LineResult::Done(Stop::Untrusted)
                } else {
                    LineResult::Declined { untrusted: true }
                };
            }
            let span = header::token_span(value, len);
            let parsed = header::parse_token(&value[span.clone()], self.brackets_without_port);
            trace.token(line, value, span.clone(), &parsed);
            match parsed {
                Err(_) => {
                    return if found {
                        LineResult::Done(Stop::InvalidToken)
                    } else {
                        LineResult::Declined { untrusted: false }
                    };
                }
                Ok((ip, p)) => {
                    *cur = Addr::Ip(ip);
                    *port = p;
                    *taken += 1;
                    found = true;
                }
            }
            if !(self.recursive && span.start > 0) {
                return LineResult::Ok;
            }
            len = span.start - 1;
        }
    }
}

/// One step of the walk, for `--explain` and the audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A trust check: the peer first, then each address taken.
    Check {
        /// The address checked.
        addr: Addr,
        /// The first entry that trusts it (the one nginx matches), if any.
        trusted_by: Option<TrustEntry>,
    },
    /// A token examined.
    Token {
        /// The header line it comes from, counted from 0 in arrival order.
        line: usize,
        /// Its byte range within that line.
        span: Range<usize>,
        /// Its bytes.
        text: Vec<u8>,
        /// The address and port it parsed to, or why it did not.
        parsed: Result<(IpAddr, Option<u16>), TokenError>,
    },
}

/// A resolution with every step that led to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The TCP peer.
    pub peer: Addr,
    /// The header name as configured.
    pub header: String,
    /// Whether every line of the header was eligible (`X-Forwarded-For`).
    pub all_lines: bool,
    /// Whether recursion was on.
    pub recursive: bool,
    /// How many header lines the request carried.
    pub lines: usize,
    /// The steps, in the order nginx takes them.
    pub steps: Vec<Step>,
    /// The outcome.
    pub resolution: Resolution,
}

struct Recorder<'t> {
    trusted: &'t TrustedSet,
    lines: usize,
    steps: Vec<Step>,
}

impl Trace for Recorder<'_> {
    fn check(&mut self, addr: &Addr, trusted: bool) {
        let trusted_by = if trusted {
            self.trusted.matching_entry(addr).cloned()
        } else {
            None
        };
        self.steps.push(Step::Check {
            addr: *addr,
            trusted_by,
        });
    }

    fn token(
        &mut self,
        line: LineRef,
        value: &[u8],
        span: Range<usize>,
        parsed: &Result<(IpAddr, Option<u16>), TokenError>,
    ) {
        let line = match line {
            LineRef::First => 0,
            LineRef::FromLast(k) => self.lines.saturating_sub(k + 1),
        };
        let text = value[span.clone()].to_vec();
        self.steps.push(Step::Token {
            line,
            span,
            text,
            parsed: *parsed,
        });
    }
}
