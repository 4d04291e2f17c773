//! Addresses and the trusted set (`set_real_ip_from`).
//!
//! Owns: [`Addr`] (an IP address or a UNIX-socket peer, printed as nginx prints
//! `$remote_addr`), [`TrustedSet`] (the `set_real_ip_from` list: parsing with nginx's lenient
//! grammar, host-bit masking with a warning, aggregation into sorted ranges per family, and
//! membership with nginx's IPv4-mapped rule), and, in [`inet`], nginx's address grammar and
//! text form.
//! Does not own: header values, ports and brackets (`resolve::header`), the published ranges
//! themselves (`presets`), or nginx config syntax (`nginx`).
//!
//! Membership follows `ngx_cidr_match`: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is
//! tested as IPv4 against IPv4 entries only, IPv6 entries never match a mapped address, and
//! `unix:` matches any UNIX-socket peer. Lookups are binary searches over merged ranges, so
//! 10,000 prefixes cost about 14 comparisons.

pub mod inet;
pub mod reserved;

use std::fmt;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::Error;
use crate::presets;
pub use inet::NginxText;

/// A peer or client address: an IP address, or a UNIX-socket peer (`unix:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addr {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A UNIX-domain socket peer; nginx shows it as `unix:`.
    Unix,
}

impl Addr {
    /// Parses a peer address as nginx would print it: `unix:`, or an address accepted by
    /// nginx's own parser (lenient IPv4, nginx's IPv6 grammar). Ports and brackets are refused.
    #[inline]
    pub fn parse(text: &[u8]) -> Result<Addr, Error> {
        match Addr::parse_opt(text) {
            Some(addr) => Ok(addr),
            None => Err(Addr::parse_error(text)),
        }
    }

    /// [`Addr::parse`] without the error, for the audit, which parses two or three addresses
    /// per line and only asks whether they parse. Kept a call: inlined into
    /// `Audit::record_at` it measured about 35 instructions per line more.
    #[inline(never)]
    pub(crate) fn parse_opt(text: &[u8]) -> Option<Addr> {
        // `unix:` is not an address: testing for it after a failed parse spares the common
        // case a comparison.
        match inet::parse_ip(text) {
            Some(ip) => Some(Addr::Ip(ip)),
            None if text == b"unix:" => Some(Addr::Unix),
            None => None,
        }
    }

    /// [`Addr::parse_opt`] for the audit's per-line addresses: the common IPv4 shape comes
    /// back in a register from a small call, and only other texts take the general parse
    /// (and its answer through memory).
    #[inline(always)]
    pub(crate) fn parse_line(text: &[u8]) -> Option<Addr> {
        let packed = inet::ipv4_common_packed(text);
        if packed >> 32 != 0 {
            // The low 32 bits are the address.
            return Some(Addr::Ip(IpAddr::V4(std::net::Ipv4Addr::from(
                packed as u32,
            ))));
        }
        if packed == inet::NOT_IPV4 {
            // What `parse_ip` does with such a text, without the IPv4 attempt again.
            if let Some(v6) = inet::parse_ipv6(text) {
                return Some(Addr::Ip(IpAddr::V6(v6)));
            }
        }
        Addr::parse_opt(text)
    }

    #[cold]
    fn parse_error(text: &[u8]) -> Error {
        if text.is_empty() {
            return Error::address(text, "empty address");
        }
        let zoned =
            memchr::memchr(b'%', text).is_some_and(|at| inet::parse_ip(&text[..at]).is_some());
        Error::address(
            text,
            if zoned {
                "zone ids are not supported: nginx's $remote_addr never has one; give the \
                 address without its %zone"
            } else {
                "not an IPv4 or IPv6 address (or unix:)"
            },
        )
    }

    /// The IP address, if this is not a UNIX-socket peer.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Addr::Ip(ip) => Some(*ip),
            Addr::Unix => None,
        }
    }
}

impl fmt::Display for Addr {
    /// Prints the address exactly as nginx's `$remote_addr` would show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Ip(ip) => NginxText(*ip).fmt(f),
            Addr::Unix => f.write_str("unix:"),
        }
    }
}

impl From<IpAddr> for Addr {
    fn from(ip: IpAddr) -> Self {
        Addr::Ip(ip)
    }
}

/// What one trusted entry covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrustNet {
    /// `unix:`: every UNIX-socket peer.
    Unix,
    /// An IPv4 or IPv6 prefix (host bits already masked).
    Net(IpNet),
}

impl fmt::Display for TrustNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustNet::Unix => f.write_str("unix:"),
            TrustNet::Net(net) => write!(f, "{}/{}", NginxText(net.addr()), net.prefix_len()),
        }
    }
}

/// Where a trusted entry came from: typed by the user, or part of a preset.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Given directly (`--trust 34.120.5.6`, `set_real_ip_from 34.120.5.6;`), as written.
    Given(String),
    /// Expanded from a preset (`--trust gcp`).
    Preset(&'static str),
    /// A `set_real_ip_from` line of an nginx configuration: its value as written and its
    /// `file:line`.
    Config {
        /// The value as written.
        text: String,
        /// `file:line`, escaped.
        at: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Given(text) => write!(f, "--trust {text}"),
            Origin::Preset(name) => write!(f, "preset {name}"),
            Origin::Config { text, at } => write!(f, "set_real_ip_from {text} at {at}"),
        }
    }
}

/// One `set_real_ip_from` entry and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrustEntry {
    /// The range it trusts.
    pub net: TrustNet,
    /// Who asked for it.
    pub origin: Origin,
}

impl TrustEntry {
    /// Whether this entry trusts `addr`, by nginx's `ngx_cidr_match` rule for one entry.
    pub fn matches(&self, addr: &Addr) -> bool {
        match (&self.net, addr) {
            (TrustNet::Unix, Addr::Unix) => true,
            (TrustNet::Net(net), Addr::Ip(ip)) => match (net, normalize(*ip)) {
                (IpNet::V4(net), IpAddr::V4(ip)) => net.contains(&ip),
                (IpNet::V6(net), IpAddr::V6(ip)) => net.contains(&ip),
                _ => false,
            },
            _ => false,
        }
    }
}

/// A warning about a trusted entry that was accepted with a change (nginx warns too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustWarning {
    /// The value as written.
    pub text: String,
    /// The range actually used.
    pub used: IpNet,
}

impl fmt::Display for TrustWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "low address bits of {} are meaningless; using {}",
            self.text,
            TrustNet::Net(self.used)
        )
    }
}

/// The set of trusted proxies: nginx's `set_real_ip_from` list.
///
/// ```
/// use realip::{Addr, TrustedSet};
/// let (set, _warnings) = TrustedSet::parse(["gcp", "34.120.5.6"]).unwrap();
/// assert!(set.contains(&Addr::parse(b"35.191.10.20").unwrap()));
/// assert!(set.contains(&Addr::parse(b"::ffff:34.120.5.6").unwrap()));
/// assert!(!set.contains(&Addr::parse(b"203.0.113.7").unwrap()));
/// ```
#[derive(Clone, Debug, Default)]
pub struct TrustedSet {
    entries: Vec<TrustEntry>,
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    unix: bool,
}

impl TrustedSet {
    /// An empty set: nothing is trusted, so nothing is ever resolved (nginx's realip is
    /// inactive without `set_real_ip_from`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the set from entries, in order.
    pub fn from_entries(entries: Vec<TrustEntry>) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let mut unix = false;
        for entry in &entries {
            match entry.net {
                TrustNet::Unix => unix = true,
                TrustNet::Net(IpNet::V4(n)) => v4.push(n),
                TrustNet::Net(IpNet::V6(n)) => v6.push(n),
            }
        }
        let v4 = Ipv4Net::aggregate(&v4)
            .iter()
            .map(|n| (u32::from(n.network()), u32::from(n.broadcast())))
            .collect();
        let v6 = Ipv6Net::aggregate(&v6)
            .iter()
            .map(|n| (u128::from(n.network()), u128::from(n.broadcast())))
            .collect();
        TrustedSet {
            entries,
            v4,
            v6,
            unix,
        }
    }

    /// Parses `--trust` values: preset names, `unix:`, addresses and CIDRs (see
    /// [`parse_trust_spec`]). Returns the set and the warnings for masked host bits.
    pub fn parse<I, S>(specs: I) -> Result<(Self, Vec<TrustWarning>), Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut entries = Vec::new();
        let mut warnings = Vec::new();
        for spec in specs {
            if let Some(w) = parse_trust_spec(spec.as_ref(), &mut entries)? {
                warnings.push(w);
            }
        }
        Ok((Self::from_entries(entries), warnings))
    }

    /// The entries in the order they were given.
    pub fn entries(&self) -> &[TrustEntry] {
        &self.entries
    }

    /// True when nothing is trusted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `addr` is a trusted proxy.
    #[inline]
    pub fn contains(&self, addr: &Addr) -> bool {
        match addr {
            Addr::Ip(ip) => self.contains_ip(*ip),
            Addr::Unix => self.unix,
        }
    }

    /// Whether the IP address is trusted (IPv4-mapped IPv6 is tested as IPv4).
    #[inline]
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        match normalize(ip) {
            IpAddr::V4(v4) => in_ranges(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => in_ranges(&self.v6, u128::from(v6)),
        }
    }

    /// The first entry that trusts `addr`, in the order given (the one nginx would match).
    /// Linear: for explanations, not for the hot path.
    pub fn matching_entry(&self, addr: &Addr) -> Option<&TrustEntry> {
        self.entries.iter().find(|e| e.matches(addr))
    }
}

#[inline]
fn in_ranges<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
    // A handful of ranges (the Google front ends, a short `set_real_ip_from` list): testing
    // each costs less than the binary search's setup. Per line, for every line the audit
    // checks against the front ends.
    if ranges.len() <= 4 {
        return ranges.iter().any(|&(start, end)| start <= x && x <= end);
    }
    let i = ranges.partition_point(|&(start, _)| start <= x);
    i > 0 && ranges[i - 1].1 >= x
}

/// nginx tests an IPv4-mapped IPv6 address as IPv4 (`ngx_cidr_match`).
#[inline]
fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Parses one `--trust` value into `out`: a preset name (see [`presets`]), `unix:`, or
/// `addr[/len]` with nginx's lenient address grammar (`ngx_ptocidr`). Host bits are masked
/// and reported as a warning, as nginx does. Hostnames are not resolved.
pub fn parse_trust_spec(
    spec: &str,
    out: &mut Vec<TrustEntry>,
) -> Result<Option<TrustWarning>, Error> {
    let text = spec.trim();
    if let Some(preset) = presets::find(text) {
        for range in preset.ranges {
            let (net, _) =
                parse_cidr(range).map_err(|reason| Error::trust(range.as_bytes(), reason))?;
            out.push(TrustEntry {
                net,
                origin: Origin::Preset(preset.name),
            });
        }
        return Ok(None);
    }
    let (net, masked) = parse_cidr(text).map_err(|reason| Error::trust(text.as_bytes(), reason))?;
    out.push(TrustEntry {
        net,
        origin: Origin::Given(text.to_string()),
    });
    Ok(match (masked, net) {
        (true, TrustNet::Net(used)) => Some(TrustWarning {
            text: text.to_string(),
            used,
        }),
        _ => None,
    })
}

fn parse_cidr(text: &str) -> Result<(TrustNet, bool), String> {
    if text == "unix:" {
        return Ok((TrustNet::Unix, false));
    }
    if text.is_empty() {
        return Err("empty value".into());
    }
    let (addr_text, len_text) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let Some(ip) = inet::parse_ip(addr_text.as_bytes()) else {
        return Err(format!(
            "not unix:, an address, a CIDR or a preset name (presets: {}; hostnames are not \
             resolved)",
            presets::names().join(", ")
        ));
    };
    let max = match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let len = match len_text {
        None => max,
        Some(l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
            match l.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("prefix length must be 0..={max}")),
            }
        }
        Some(_) => return Err("prefix length must be a decimal number".into()),
    };
    let net = match ip {
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::new(v4, len).map_err(|e| e.to_string())?),
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::new(v6, len).map_err(|e| e.to_string())?),
    };
    let trunc = net.trunc();
    Ok((TrustNet::Net(trunc), trunc.addr() != ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Membership answers like a plain scan of the ranges, on both sides of the
        /// linear-test threshold and at every range edge.
        #[test]
        fn in_ranges_is_any_range_holding_it(
            mut points in proptest::collection::vec(0u32..200, 0..16),
            probe in 0u32..210,
        ) {
            points.sort_unstable();
            points.dedup();
            // Sorted, disjoint, non-adjacent ranges, as `from_entries` merges them.
            let ranges: Vec<(u32, u32)> = points
                .chunks_exact(2)
                .map(|p| (p[0], p[1]))
                .filter(|(a, b)| a <= b)
                .collect();
            let want = ranges.iter().any(|&(a, b)| a <= probe && probe <= b);
            proptest::prop_assert_eq!(in_ranges(&ranges, probe), want);
            for &(a, b) in &ranges {
                proptest::prop_assert!(in_ranges(&ranges, a) && in_ranges(&ranges, b));
            }
        }
    }

    fn set(specs: &[&str]) -> TrustedSet {
        TrustedSet::parse(specs).unwrap().0
    }

    fn addr(s: &str) -> Addr {
        Addr::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn host_bits_are_masked_with_a_warning() {
        let (s, w) = TrustedSet::parse(["127.0.0.1/24"]).unwrap();
        assert!(s.contains(&addr("127.0.0.200")));
        assert!(!s.contains(&addr("127.0.1.1")));
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].to_string(),
            "low address bits of 127.0.0.1/24 are meaningless; using 127.0.0.0/24"
        );
    }

    #[test]
    fn mapped_addresses_match_ipv4_entries_only() {
        let s = set(&["10.0.0.0/8"]);
        assert!(s.contains(&addr("::ffff:10.0.0.1")));
        let s = set(&["::/0"]);
        assert!(!s.contains(&addr("::ffff:10.0.0.1")));
        assert!(s.contains(&addr("2001:db8::1")));
        let s = set(&["::ffff:10.0.0.1"]);
        assert!(!s.contains(&addr("::ffff:10.0.0.1")));
        assert!(!s.contains(&addr("10.0.0.1")));
        let s = set(&["0.0.0.0/0"]);
        assert!(s.contains(&addr("::ffff:1.2.3.4")));
        assert!(!s.contains(&addr("2001:db8::1")));
    }

    #[test]
    fn unix_entry_trusts_unix_peers_only() {
        let s = set(&["unix:"]);
        assert!(s.contains(&Addr::Unix));
        assert!(!s.contains(&addr("127.0.0.1")));
        assert!(!set(&["127.0.0.1"]).contains(&Addr::Unix));
    }

    #[test]
    fn lenient_forms_are_accepted_like_ngx_ptocidr() {
        assert!(set(&["010.0.0.1"]).contains(&addr("10.0.0.1")));
        assert!(set(&["1..2.3"]).contains(&addr("1.0.2.3")));
        assert!(set(&["0.0.0.0/0"]).contains(&addr("255.255.255.254")));
    }

    #[test]
    fn bad_specs_name_the_offending_text() {
        for bad in [
            "127.0.0.0/33",
            "127.0.0.1/",
            "127.0.0.1/-1",
            "::1/129",
            "UNIX:",
            "unix:/x",
            "localhost/8",
            "no-such-host.invalid",
            "255.255.255.255/32",
            "[::1]",
            "127.0.0.1:80",
            "",
        ] {
            let err = TrustedSet::parse([bad]).unwrap_err().to_string();
            assert!(err.contains(&format!("\"{bad}\"")), "{err}");
        }
    }

    #[test]
    fn ranges_are_merged_and_searched() {
        let s = set(&[
            "10.0.0.0/9",
            "10.128.0.0/9",
            "192.0.2.7",
            "2001:db8::/32",
            "::1",
        ]);
        assert_eq!(s.v4.len(), 2);
        assert!(s.contains(&addr("10.255.255.255")));
        assert!(!s.contains(&addr("11.0.0.0")));
        assert!(s.contains(&addr("192.0.2.7")));
        assert!(!s.contains(&addr("192.0.2.8")));
        assert!(!s.contains(&addr("192.0.2.6")));
        assert!(s.contains(&addr("2001:db8:ffff::1")));
        assert!(!s.contains(&addr("2001:db9::1")));
        assert!(s.contains(&addr("::1")));
        assert!(!s.contains(&addr("::2")));
    }

    #[test]
    fn first_matching_entry_is_reported() {
        let s = set(&["10.0.0.0/8", "10.1.0.0/16"]);
        let e = s.matching_entry(&addr("10.1.2.3")).unwrap();
        assert_eq!(e.origin, Origin::Given("10.0.0.0/8".into()));
        assert_eq!(e.net.to_string(), "10.0.0.0/8");
    }
}
