//! Auditing logged client addresses: which load-balancer IPs did nginx trust, which did it
//! forget, and is every logged client the real client?
//!
//! Owns: the misresolution policy and the trust it judges by. nginx's realip walk leaves its
//! trace in every line that logs the forwarding header: nginx started at its TCP peer
//! (`$realip_remote_addr`), walked leftwards through the entries it trusted and logged the
//! first one it did not trust as `$remote_addr`. So each line shows which hops nginx walked past
//! (trusted) and where it stopped. The load-balancer hop is the rightmost entry a front end
//! appended (`<client>,<lb-ip>`: a Google front end, or whatever `--front-end` names):
//! * **inferred trust** ([`TrustSource::Inferred`], nothing declared): LB IPs nginx walked past
//!   are trusted (`trusted_lb_ips`), LB IPs it logged as the client are forgotten
//!   (`unresolved_lb_ips`, with the `set_real_ip_from` line that fixes each);
//! * **declared trust** (`--trust`, or the trust of an nginx config): the same, plus the
//!   differences between what the user declared and what nginx did, as two kinds of
//!   `config_drift`: "nginx trusts X, which you did not declare" (information) and "you
//!   declared X, but nginx did not trust it" (a misresolution).
//!
//! Every line counts in at most one misresolution kind (`unresolved_lb_ip`,
//! `untrusted_front_end`, `config_drift` with direction `declared_not_trusted`), so that
//! `misresolved` is their sum. Informational findings: direct hits (untrusted peers sending
//! forwarding headers), spoof attempts (entries left of the real client, never the client
//! itself), reserved "clients", walks stopped at garbage, all-trusted chains, health checks,
//! lines the log cannot explain or decide.
//!
//! Produces data ([`Audit`], merged with [`Audit::merge`], viewed with [`Audit::view`]); never
//! prints, never exits. Positions stay [`LineAt`] until the scan resolves them to `path:line`.
//! Does not own: the resolution algorithm (`resolve`), rendering (`report`), flags (`cli`).

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use std::net::IpAddr;
use std::ops::Range;

use crate::accumulate::{Accumulate, LineAt};
use crate::logfmt::record::same_bytes;
use crate::logfmt::{Field, Record, TimeCache};
use crate::net::{reserved, Addr, NginxText, Origin, TrustNet, TrustedSet};
use crate::presets;
use crate::resolve::{header, Header, Resolution, Resolver, Stop};

/// Maps on the hot path hash with foldhash (seeded per process): SipHash showed in profiles,
/// and these maps are bounded per worker, so a slow hash buys no protection worth its cost.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Where the trust an audit judges by comes from (`audit.trust_source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustSource {
    /// Nothing declared: read from the log itself.
    Inferred,
    /// Declared with `--trust`.
    Declared,
    /// Read from the nginx configuration (`--nginx-conf`, `nginx check --log`).
    NginxConf,
}

impl TrustSource {
    /// The JSON name: `inferred`, `declared` or `nginx-conf`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustSource::Inferred => "inferred",
            TrustSource::Declared => "declared",
            TrustSource::NginxConf => "nginx-conf",
        }
    }
}

/// The trust the user chose for an audit: the one input [`AuditConfig::for_log`] needs
/// besides the front ends, shared by `realip scan` and `realip nginx check --log`.
#[derive(Clone, Debug)]
pub enum TrustChoice {
    /// Nothing declared: infer nginx's trust from the log; `header` is the logged header
    /// nginx reads (its `real_ip_header`).
    Inferred(Header),
    /// `--trust …` (with `--header`, `--no-recursive`).
    Declared(Resolver),
    /// The realip settings of an nginx configuration.
    NginxConf(Resolver),
}

/// Why a log cannot be audited.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip {
    /// The header nginx reads is not one an access log can carry.
    HeaderNotLogged(String),
    /// The log format lacks `$remote_addr` or the header's field.
    FieldsMissing(Field),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::HeaderNotLogged(h) => write!(
                f,
                "access logs carry X-Forwarded-For, True-Client-IP and X-Real-IP, not {h}"
            ),
            Skip::FieldsMissing(field) => write!(
                f,
                "the log format has no $remote_addr or ${}; use the recommended log_format \
                 (see --help)",
                field.name()
            ),
        }
    }
}

/// What the audit checks against.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// The declared realip configuration; with inferred trust, an empty trust with the header
    /// read (nothing is resolved with it).
    pub resolver: Resolver,
    /// Where the trust comes from; with [`TrustSource::Inferred`] `resolver`'s trust is unused.
    pub source: TrustSource,
    /// Front ends that append `<client>,<lb-ip>` (the GCP shape): Google's front-end ranges.
    pub front_ends: TrustedSet,
    /// The front ends, in words ("the Google front ends").
    pub front_ends_name: String,
    /// The logged field holding the configured header.
    pub header_field: Field,
    /// Whether the log has `$realip_remote_addr` (the TCP peer); without it some findings
    /// cannot be decided.
    pub peer_logged: bool,
    /// Sample positions kept per finding.
    pub samples: usize,
    /// Distinct spoofed values tracked for the "top values" list.
    pub max_spoof_values: usize,
    /// Distinct addresses tracked per list (LB IPs, drift, trusted peers); further ones are
    /// counted under "others".
    pub max_addresses: usize,
}

/// Google's front ends, the default `--front-end`.
fn gcp_front_ends() -> TrustedSet {
    TrustedSet::parse([presets::GCP.name])
        .map(|(s, _)| s)
        .unwrap_or_default()
}

/// Parses `--front-end` values (as `--trust`); none means Google's front ends (`None`).
pub fn front_ends(specs: &[String]) -> Result<Option<TrustedSet>, crate::Error> {
    if specs.is_empty() {
        return Ok(None);
    }
    TrustedSet::parse(specs).map(|(set, _)| Some(set))
}

/// "the Google front ends", or "the front ends 127.0.0.1, 10.0.0.0/8".
fn front_ends_name(set: &TrustedSet) -> String {
    let entries = set.entries();
    if !entries.is_empty()
        && entries
            .iter()
            .all(|e| e.origin == Origin::Preset(presets::GCP.name))
    {
        return "the Google front ends".to_string();
    }
    let nets: Vec<String> = entries.iter().map(|e| net_text(&e.net)).collect();
    match nets.len() {
        0 => "no front end".to_string(),
        1 => format!("the front end {}", nets[0]),
        _ => format!("the front ends {}", nets.join(", ")),
    }
}

/// A trusted range as people write it: a bare address for a single host.
pub fn net_text(net: &TrustNet) -> String {
    match net {
        TrustNet::Net(n) if n.prefix_len() == n.max_prefix_len() => NginxText(n.addr()).to_string(),
        other => other.to_string(),
    }
}

impl AuditConfig {
    /// An audit of `resolver`'s configuration (declared trust), with Google's front ends as
    /// the GCP shape.
    pub fn new(resolver: Resolver, header_field: Field, peer_logged: bool) -> Self {
        Self::with_front_ends(resolver, gcp_front_ends(), header_field, peer_logged)
    }

    /// An audit of declared trust with other front ends: the peers that append
    /// `<client>,<lb-ip>`.
    pub fn with_front_ends(
        resolver: Resolver,
        front_ends: TrustedSet,
        header_field: Field,
        peer_logged: bool,
    ) -> Self {
        AuditConfig {
            resolver,
            source: TrustSource::Declared,
            front_ends_name: front_ends_name(&front_ends),
            front_ends,
            header_field,
            peer_logged,
            samples: 5,
            max_spoof_values: 1000,
            max_addresses: 1000,
        }
    }

    /// An audit that infers nginx's trust from the log (nothing declared).
    pub fn inferred(
        header: Header,
        front_ends: TrustedSet,
        header_field: Field,
        peer_logged: bool,
    ) -> Self {
        let resolver = Resolver::new(TrustedSet::new(), header, true);
        let mut c = Self::with_front_ends(resolver, front_ends, header_field, peer_logged);
        c.source = TrustSource::Inferred;
        c
    }

    /// The one way both `realip scan` and `realip nginx check --log` configure an audit: the
    /// trust chosen, the front ends (`None`: Google's), and the fields the log format has.
    pub fn for_log(
        trust: TrustChoice,
        front_ends: Option<TrustedSet>,
        fields: &[Field],
    ) -> Result<AuditConfig, Skip> {
        let header = match &trust {
            TrustChoice::Inferred(h) => h,
            TrustChoice::Declared(r) | TrustChoice::NginxConf(r) => r.header(),
        };
        let Some(field) = Self::field_for_header(header.name()) else {
            return Err(Skip::HeaderNotLogged(header.name().to_string()));
        };
        if !fields.contains(&Field::RemoteAddr) || !fields.contains(&field) {
            return Err(Skip::FieldsMissing(field));
        }
        let peer_logged = fields.contains(&Field::RealipRemoteAddr);
        let front_ends = front_ends.unwrap_or_else(gcp_front_ends);
        Ok(match trust {
            TrustChoice::Inferred(h) => Self::inferred(h, front_ends, field, peer_logged),
            TrustChoice::Declared(r) => Self::with_front_ends(r, front_ends, field, peer_logged),
            TrustChoice::NginxConf(r) => {
                let mut c = Self::with_front_ends(r, front_ends, field, peer_logged);
                c.source = TrustSource::NginxConf;
                c
            }
        })
    }

    /// The logged field for a `real_ip_header` name, if access logs can carry it.
    pub fn field_for_header(name: &str) -> Option<Field> {
        match name.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Some(Field::HttpXForwardedFor),
            "true-client-ip" => Some(Field::HttpTrueClientIp),
            "x-real-ip" => Some(Field::HttpXRealIp),
            _ => None,
        }
    }

    /// The declared resolver, unless the trust is inferred.
    pub(crate) fn declared(&self) -> Option<&Resolver> {
        (self.source != TrustSource::Inferred).then_some(&self.resolver)
    }
}

/// The kinds of finding, with their JSON names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The logged client is a load-balancer hop nginx did not trust.
    UnresolvedLbIp,
    /// The logged client is the front end itself: nginx did not trust it.
    UntrustedFrontEnd,
    /// nginx's trust and the declared trust differ (see [`Direction`]).
    ConfigDrift,
    /// The peer is not trusted but sent a forwarding header (a direct hit).
    UntrustedPeer,
    /// Entries left of the real client (client-supplied, spoofable).
    SpoofAttempt,
    /// The logged client is in a private, loopback or reserved range.
    ReservedClient,
    /// The walk stopped at a value that is not an address.
    GarbageInHeader,
    /// Every address in the header was trusted; the leftmost became the client.
    AllTrusted,
    /// A front-end health check (no forwarding header, `GoogleHC/` user agent).
    HealthCheck,
    /// The peer is not logged and the line needed it to be classified.
    Undecided,
    /// The logged client is neither the peer nor an entry of the header.
    Unexplained,
}

impl Kind {
    const ALL: [Kind; 11] = [
        Kind::UnresolvedLbIp,
        Kind::UntrustedFrontEnd,
        Kind::ConfigDrift,
        Kind::UntrustedPeer,
        Kind::SpoofAttempt,
        Kind::ReservedClient,
        Kind::GarbageInHeader,
        Kind::AllTrusted,
        Kind::HealthCheck,
        Kind::Undecided,
        Kind::Unexplained,
    ];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::UnresolvedLbIp => "unresolved_lb_ip",
            Kind::UntrustedFrontEnd => "untrusted_front_end",
            Kind::ConfigDrift => "config_drift",
            Kind::UntrustedPeer => "untrusted_peer",
            Kind::SpoofAttempt => "spoof_attempt",
            Kind::ReservedClient => "reserved_client",
            Kind::GarbageInHeader => "garbage_in_header",
            Kind::AllTrusted => "all_trusted",
            Kind::HealthCheck => "health_check",
            Kind::Undecided => "undecided",
            Kind::Unexplained => "unexplained",
        }
    }

    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::UnresolvedLbIp => "logged client is a load-balancer IP nginx does not trust",
            Kind::UntrustedFrontEnd => {
                "logged client is the front end itself: nginx does not trust it"
            }
            Kind::ConfigDrift => "nginx's trust differs from the declared trust",
            Kind::UntrustedPeer => "direct hits: untrusted peer sent a forwarding header",
            Kind::SpoofAttempt => "client-supplied entries left of the real client (ignored)",
            Kind::ReservedClient => "logged client in a private, loopback or reserved range",
            Kind::GarbageInHeader => "walk stopped at a header value that is not an address",
            Kind::AllTrusted => "every address in the header trusted; leftmost taken",
            Kind::HealthCheck => "load-balancer health checks (not misresolution)",
            Kind::Undecided => "needs $realip_remote_addr in the log to classify",
            Kind::Unexplained => "logged client is neither the peer nor in the header",
        }
    }

    /// Whether lines of this kind have a wrong logged client (count in `misresolved`).
    pub fn misresolution(self) -> bool {
        matches!(self, Kind::UnresolvedLbIp | Kind::UntrustedFrontEnd)
    }
}

/// Which way nginx's trust and the declared trust differ (`config_drift`'s `direction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// nginx walked past an address the declared trust does not contain (information).
    TrustedNotDeclared,
    /// The declared trust contains an address nginx stopped at (a misresolution).
    DeclaredNotTrusted,
    /// nginx walked past a declared address recursively, but recursion was declared off.
    RecursionNotDeclared,
}

impl Direction {
    const ALL: [Direction; 3] = [
        Direction::DeclaredNotTrusted,
        Direction::TrustedNotDeclared,
        Direction::RecursionNotDeclared,
    ];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::TrustedNotDeclared => "trusted_not_declared",
            Direction::DeclaredNotTrusted => "declared_not_trusted",
            Direction::RecursionNotDeclared => "recursion_not_declared",
        }
    }

    /// Whether lines of this direction have a wrong logged client.
    pub fn misresolution(self) -> bool {
        self == Direction::DeclaredNotTrusted
    }
}

/// An address or range a list is keyed by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    Net(TrustNet),
    Unix,
    Others,
}

impl Key {
    fn of(addr: &Addr) -> Key {
        match addr {
            Addr::Ip(ip) => Key::Ip(*ip),
            Addr::Unix => Key::Unix,
        }
    }

    fn text(&self) -> String {
        match self {
            Key::Ip(ip) => NginxText(*ip).to_string(),
            Key::Net(n) => net_text(n),
            Key::Unix => "unix:".to_string(),
            Key::Others => "others".to_string(),
        }
    }
}

/// Counts, first/last time and the first sample positions of one kind of finding.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Lines.
    pub count: u64,
    /// First sample positions, by position.
    pub samples: Vec<LineAt>,
    /// Earliest and latest request time seen (seconds since the epoch), when logged.
    pub first_time: Option<i64>,
    /// Latest request time seen.
    pub last_time: Option<i64>,
}

impl Tally {
    #[inline]
    fn add(&mut self, at: LineAt, time: Option<i64>, limit: usize) {
        self.add_inline(at, time, limit);
    }

    /// [`Tally::add`] inlined, for the per-line caller ([`Tallies::add_ip`]).
    #[inline(always)]
    fn add_inline(&mut self, at: LineAt, time: Option<i64>, limit: usize) {
        self.count += 1;
        if self.samples.len() < limit || self.samples.last().is_some_and(|l| at < *l) {
            self.sample(at, limit);
        }
        if let Some(t) = time {
            // Written only when they move (lines mostly share or advance the second).
            if self.first_time.is_none_or(|f| f > t) {
                self.first_time = Some(t);
            }
            if self.last_time.is_none_or(|l| l < t) {
                self.last_time = Some(t);
            }
        }
    }

    /// Keeps `at` among the first `limit` sample positions.
    #[cold]
    fn sample(&mut self, at: LineAt, limit: usize) {
        let i = self.samples.partition_point(|p| *p < at);
        self.samples.insert(i, at);
        self.samples.truncate(limit);
    }

    fn merge(&mut self, other: Tally, limit: usize) {
        self.count += other.count;
        self.samples.extend(other.samples);
        self.samples.sort_unstable();
        self.samples.truncate(limit);
        self.first_time = match (self.first_time, other.first_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_time = match (self.last_time, other.last_time) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// A bounded map of tallies by address: keys past `max` are counted under [`Key::Others`].
///
/// The entry of the last key added is kept out of the map (`hot`): most lines behind a load
/// balancer repeat the previous line's LB IP, and a run of the same key then costs one
/// comparison per line instead of a hash and a lookup. Readers go through [`Tallies::iter`].
#[derive(Clone, Debug)]
struct Tallies<K: std::hash::Hash + Eq> {
    map: HashMap<K, Tally>,
    hot: Option<(K, Tally)>,
}

impl<K: std::hash::Hash + Eq> Default for Tallies<K> {
    fn default() -> Self {
        Tallies {
            map: HashMap::default(),
            hot: None,
        }
    }
}

impl<K: std::hash::Hash + Eq> Tallies<K> {
    #[inline]
    fn add(&mut self, key: K, others: K, at: LineAt, time: Option<i64>, cfg: &AuditConfig) {
        if let Some((k, t)) = &mut self.hot {
            if *k == key {
                t.add(at, time, cfg.samples);
                return;
            }
        }
        self.add_cold(key, others, at, time, cfg);
    }

    /// A key other than the last one: it becomes the hot entry when it is (or may become)
    /// in the map; a key past `max` goes to `others`, exactly as without the hot entry.
    #[inline(never)]
    fn add_cold(&mut self, key: K, others: K, at: LineAt, time: Option<i64>, cfg: &AuditConfig) {
        self.settle();
        if self.map.len() >= cfg.max_addresses && !self.map.contains_key(&key) {
            self.map
                .entry(others)
                .or_default()
                .add(at, time, cfg.samples);
            return;
        }
        let mut t = self.map.remove(&key).unwrap_or_default();
        t.add(at, time, cfg.samples);
        self.hot = Some((key, t));
    }

    /// Puts the hot entry back into the map.
    fn settle(&mut self) {
        if let Some((k, t)) = self.hot.take() {
            self.map.insert(k, t);
        }
    }

    /// Every key with its tally.
    fn iter(&self) -> impl Iterator<Item = (&K, &Tally)> {
        self.map
            .iter()
            .chain(self.hot.as_ref().map(|(k, t)| (k, t)))
    }

    fn merge(&mut self, mut other: Tallies<K>, others: impl Fn(&K) -> K, cfg: &AuditConfig) {
        self.settle();
        other.settle();
        for (k, t) in other.map {
            let k = if self.map.len() >= cfg.max_addresses && !self.map.contains_key(&k) {
                others(&k)
            } else {
                k
            };
            self.map.entry(k).or_default().merge(t, cfg.samples);
        }
    }
}

impl Tallies<Key> {
    /// [`Tallies::add`] of `Key::Ip(ip)` (others: `Key::Others`), the per-line call: the hot
    /// entry's test compares addresses, not keys, and stays inline.
    #[inline(always)]
    fn add_ip(&mut self, ip: IpAddr, at: LineAt, time: Option<i64>, cfg: &AuditConfig) {
        if let Some((Key::Ip(k), t)) = &mut self.hot {
            if *k == ip {
                t.add_inline(at, time, cfg.samples);
                return;
            }
        }
        self.add_cold(Key::Ip(ip), Key::Others, at, time, cfg);
    }
}

/// What one line's header shows about nginx's walk, right to left (entry 1 = rightmost).
#[cfg_attr(test, derive(Debug, PartialEq))]
struct Walk {
    /// Entries (tokens) in the header.
    n: usize,
    /// The rightmost entry, when it is an address.
    e1: Option<IpAddr>,
    /// The second entry from the right, when it is an address.
    e2: Option<IpAddr>,
    /// The rightmost entry equal to the logged client: where nginx stopped.
    stop: Option<usize>,
    /// The leftmost entry (what a client typed first).
    leftmost: Range<usize>,
}

/// `logged_text` is the logged client as written (`logged` parsed): an entry with the same
/// text is that address without parsing it again.
/// `rightmost` remembers the last rightmost entry's text and address: behind a load
/// balancer it is one of a few LB IPs on almost every line.
fn walk(value: &[u8], logged: &Addr, logged_text: &[u8], rightmost: &mut TokenMemo) -> Walk {
    match walk_client_lb(value, logged, logged_text, rightmost) {
        Some(w) => w,
        None => walk_entries(value, logged, logged_text, rightmost),
    }
}

/// [`walk`] of the shape a Google front end writes when the client sent no header,
/// `<client>,<lb-ip>` (most lines behind it): the logged client's text, a comma and the last
/// rightmost entry's text, recognised by three comparisons instead of a token search. `None`
/// for any other value.
///
/// Exact: `logged_text` parsed as an address, so it holds no separator; the memo's text is
/// a token [`header::token_span`] found, which can hold a separator only as its first byte
/// (tested here). So the general walk would find the same two tokens.
#[inline(always)]
fn walk_client_lb(
    value: &[u8],
    logged: &Addr,
    logged_text: &[u8],
    rightmost: &TokenMemo,
) -> Option<Walk> {
    let lt = logged_text.len();
    let lb = &rightmost.text;
    if value.len() != lt + 1 + lb.len() || value.get(lt) != Some(&b',') {
        return None;
    }
    let (client, rest) = value.split_at_checked(lt)?;
    let lb_text = rest.get(1..)?;
    if !matches!(lb_text.first(), Some(b) if *b != b' ' && *b != b',')
        || !same_bytes(lb_text, lb)
        || !same_bytes(client, logged_text)
    {
        return None;
    }
    let e1 = if same_bytes(lb_text, logged_text) {
        logged.ip()
    } else {
        rightmost.ip
    };
    let e2 = logged.ip();
    let is_logged = |ip: Option<IpAddr>| ip.is_some_and(|ip| Addr::Ip(ip) == *logged);
    let stop = if is_logged(e1) {
        Some(1)
    } else if is_logged(e2) {
        Some(2)
    } else {
        None
    };
    Some(Walk {
        n: 2,
        e1,
        e2,
        stop,
        leftmost: 0..lt,
    })
}

/// [`walk`] token by token.
#[inline(always)]
fn walk_entries(
    value: &[u8],
    logged: &Addr,
    logged_text: &[u8],
    rightmost: &mut TokenMemo,
) -> Walk {
    let mut w = Walk {
        n: 0,
        e1: None,
        e2: None,
        stop: None,
        leftmost: 0..0,
    };
    let mut len = value.len();
    loop {
        let span = header::token_span(value, len);
        w.n += 1;
        // Parse only what is needed: the two rightmost entries, and until the stop.
        let need = w.n <= 2 || w.stop.is_none();
        if need {
            let token = &value[span.clone()];
            let ip = if same_bytes(token, logged_text) {
                logged.ip()
            } else if w.n == 1 {
                rightmost.parse(token)
            } else {
                header::parse_token(token, true).ok().map(|(ip, _)| ip)
            };
            match w.n {
                1 => w.e1 = ip,
                2 => w.e2 = ip,
                _ => {}
            }
            if w.stop.is_none() && ip.is_some_and(|ip| Addr::Ip(ip) == *logged) {
                w.stop = Some(w.n);
            }
        }
        if span.start == 0 {
            w.leftmost = span;
            return w;
        }
        len = span.start - 1;
    }
}

/// The address of the last header entry parsed, by its text (see [`walk`]).
#[derive(Clone, Debug, Default)]
#[cfg_attr(test, derive(PartialEq))]
struct TokenMemo {
    text: Vec<u8>,
    ip: Option<IpAddr>,
}

impl TokenMemo {
    /// Entries longer than this are parsed every time (bounds the memo).
    const MAX_TEXT: usize = 64;

    /// `header::parse_token(token, true)`'s address, parsed only when the text changed.
    #[inline]
    fn parse(&mut self, token: &[u8]) -> Option<IpAddr> {
        if same_bytes(token, &self.text) && !token.is_empty() {
            return self.ip;
        }
        let ip = header::parse_token(token, true).ok().map(|(ip, _)| ip);
        if token.len() <= Self::MAX_TEXT {
            self.text.clear();
            self.text.extend_from_slice(token);
            self.ip = ip;
        }
        ip
    }
}

/// Entry `k` (1 = rightmost) of the header, when it is an address.
fn entry(value: &[u8], k: usize) -> Option<IpAddr> {
    let mut len = value.len();
    let mut i = 0;
    loop {
        let span = header::token_span(value, len);
        i += 1;
        if i == k {
            return header::parse_token(&value[span], true)
                .ok()
                .map(|(ip, _)| ip);
        }
        if span.start == 0 {
            return None;
        }
        len = span.start - 1;
    }
}

/// The rightmost entry equal to `addr` (1 = rightmost).
fn position(value: &[u8], addr: &Addr) -> Option<usize> {
    let mut len = value.len();
    let mut i = 0;
    loop {
        let span = header::token_span(value, len);
        i += 1;
        if let Ok((ip, _)) = header::parse_token(&value[span.clone()], true) {
            if Addr::Ip(ip) == *addr {
                return Some(i);
            }
        }
        if span.start == 0 {
            return None;
        }
        len = span.start - 1;
    }
}

/// The audit of any number of lines; one per worker, merged at the end.
#[derive(Clone, Debug)]
pub struct Audit<'c> {
    // A plain shared reference, not an `Arc`: cloning an `Arc` per line made every worker
    // bounce the same reference-count cache line.
    config: &'c AuditConfig,
    checked: u64,
    no_client: u64,
    /// Lines where nginx walked past at least one header entry (recursion is on).
    walked_past_entry: u64,
    /// Lines where nginx walked past a front-end peer.
    front_end_trusted: u64,
    /// Lines where nginx walked past a peer it was not logged (no `$realip_remote_addr`).
    unknown_peer_trusted: u64,
    kinds: HashMap<Kind, Tally>,
    lb_ips: Tallies<Key>,
    trusted_lb_ips: Tallies<Key>,
    trusted_peers: Tallies<Key>,
    drift: Tallies<(Direction, Key)>,
    spoofed: HashMap<Box<[u8]>, u64>,
    spoofed_other: u64,
    clock: TimeCache,
    rightmost: TokenMemo,
}

/// Where nginx stopped: at its peer, at a header entry, or the log cannot tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stopped {
    Peer,
    Entry(usize),
    Unknown,
}

/// What one line shows, as [`Audit::part_from_declared`] needs it.
struct Seen<'v> {
    /// The forwarding header's value.
    value: &'v [u8],
    /// The logged client.
    logged: Addr,
    /// The peer nginx saw (logged, or the first declared entry when not logged).
    assumed_peer: Option<Addr>,
    /// Where nginx stopped.
    stopped: Stopped,
}

/// The one misresolution a line can count as.
enum Wrong {
    LbIp(IpAddr),
    FrontEnd,
    Declared(Key),
}

impl<'c> Audit<'c> {
    /// An empty audit.
    pub fn new(config: &'c AuditConfig) -> Self {
        Audit {
            config,
            checked: 0,
            no_client: 0,
            walked_past_entry: 0,
            front_end_trusted: 0,
            unknown_peer_trusted: 0,
            kinds: HashMap::default(),
            lb_ips: Tallies::default(),
            trusted_lb_ips: Tallies::default(),
            trusted_peers: Tallies::default(),
            drift: Tallies::default(),
            spoofed: HashMap::default(),
            spoofed_other: 0,
            clock: TimeCache::default(),
            rightmost: TokenMemo::default(),
        }
    }

    fn tally(&mut self, kind: Kind, at: LineAt, time: Option<i64>) {
        let limit = self.config.samples;
        self.kinds.entry(kind).or_default().add(at, time, limit);
    }

    /// The key a range of trusted hops is listed under: the front-end range, the declared
    /// entry, or the address itself.
    fn hop_key(&self, addr: &Addr, declared: Option<&TrustedSet>) -> Key {
        let set = declared.unwrap_or(&self.config.front_ends);
        match set.matching_entry(addr) {
            Some(e) => Key::Net(e.net),
            None => Key::of(addr),
        }
    }

    /// Audits one line.
    pub fn record(&mut self, rec: &Record<'_>, at: LineAt) {
        let time = self.clock.epoch_seconds(rec);
        self.record_at(rec, at, time);
    }

    /// Audits one line whose request time (seconds since the epoch) is `time`, as read by
    /// [`Record::epoch_seconds`]: for a caller that already read it. Returns whether the
    /// line counts as misresolved (one of the lines [`misresolved`](Audit::misresolved)
    /// adds up).
    pub fn record_at(&mut self, rec: &Record<'_>, at: LineAt, time: Option<i64>) -> bool {
        let cfg = self.config;
        let logged_text = rec.get(Field::RemoteAddr).unwrap_or(b"");
        let Some(logged) = Addr::parse_line(logged_text) else {
            self.no_client += 1;
            return false;
        };
        self.checked += 1;
        // The same text is the same address: parse each text once per line.
        let peer = if cfg.peer_logged {
            rec.get(Field::RealipRemoteAddr).and_then(|v| {
                if same_bytes(v, logged_text) {
                    Some(logged)
                } else {
                    Addr::parse_line(v)
                }
            })
        } else {
            None
        };
        let value = rec.get(cfg.header_field);

        // Health checks: front-end peer, no forwarding header, GoogleHC user agent.
        let from_front_end = match peer {
            Some(p) => cfg.front_ends.contains(&p),
            None => cfg.front_ends.contains(&logged),
        };
        let ua = rec.get(Field::HttpUserAgent).unwrap_or(b"");
        if value.is_none() && from_front_end && ua.starts_with(b"GoogleHC/") {
            self.tally(Kind::HealthCheck, at, time);
            return false;
        }
        if let Some(ip) = logged.ip() {
            if reserved::reserved(ip).is_some() {
                self.tally(Kind::ReservedClient, at, time);
            }
        }
        let Some(value) = value else {
            // No forwarding header: nginx keeps the peer; nothing to resolve.
            if peer.is_some_and(|p| p != logged) {
                self.tally(Kind::Unexplained, at, time);
            }
            return false;
        };

        // What nginx did, as the line shows it.
        let w = walk(value, &logged, logged_text, &mut self.rightmost);
        let stopped = match (peer, w.stop) {
            (Some(p), _) if p == logged => Stopped::Peer,
            (_, Some(k)) => Stopped::Entry(k),
            _ => Stopped::Unknown,
        };
        // The GCP shape: a front end appended `<client>,<lb-ip>`.
        let front_end_shape = peer.is_none() || from_front_end;
        let lb_line = front_end_shape && w.n >= 2 && w.e1.is_some() && w.e2.is_some();
        // nginx ignores a header whose rightmost entry is not an address.
        let garbage_at_peer = stopped == Stopped::Peer && w.e1.is_none();

        // What the declared trust says nginx should have done.
        let declared = cfg.declared();
        let assumed_peer = peer.or_else(|| {
            declared?
                .trusted()
                .entries()
                .iter()
                .find_map(|e| match e.net {
                    TrustNet::Net(n) => Some(Addr::Ip(n.network())),
                    TrustNet::Unix => None,
                })
        });
        let expected = declared
            .zip(assumed_peer)
            .map(|(r, p)| r.resolve(p, [value]));

        let mut wrong = None;
        match stopped {
            Stopped::Entry(k) => {
                if k >= 2 {
                    self.walked_past_entry += 1;
                }
                match peer {
                    Some(_) if from_front_end => self.front_end_trusted += 1,
                    Some(p) => self
                        .trusted_peers
                        .add(Key::of(&p), Key::Others, at, time, cfg),
                    None => self.unknown_peer_trusted += 1,
                }
                if let (true, Some(lb)) = (lb_line, w.e1) {
                    if k >= 2 {
                        self.trusted_lb_ips.add_ip(lb, at, time, cfg);
                    } else {
                        wrong = Some(Wrong::LbIp(lb));
                    }
                }
            }
            Stopped::Peer => {
                if from_front_end {
                    if !garbage_at_peer {
                        wrong = Some(Wrong::FrontEnd);
                    }
                } else if let Some(p) = peer.filter(|p| {
                    !garbage_at_peer && declared.is_some_and(|r| r.trusted().contains(p))
                }) {
                    wrong = Some(Wrong::Declared(
                        self.hop_key(&p, declared.map(Resolver::trusted)),
                    ));
                } else {
                    self.tally(Kind::UntrustedPeer, at, time);
                }
            }
            Stopped::Unknown if peer.is_some() => self.tally(Kind::Unexplained, at, time),
            Stopped::Unknown => self.tally(Kind::Undecided, at, time),
        }

        // Declared and inferred side by side: the first hop where they part.
        if let (Some(r), Some(e), None) = (declared, expected, &wrong) {
            let seen = Seen {
                value,
                logged,
                assumed_peer,
                stopped,
            };
            wrong = self.part_from_declared(r, &e, &seen, at, time);
        }

        let misresolved = wrong.is_some();
        match wrong {
            Some(Wrong::LbIp(ip)) => {
                self.lb_ips.add(Key::Ip(ip), Key::Others, at, time, cfg);
                self.tally(Kind::UnresolvedLbIp, at, time);
            }
            Some(Wrong::FrontEnd) => self.tally(Kind::UntrustedFrontEnd, at, time),
            Some(Wrong::Declared(key)) => self.drift.add(
                (Direction::DeclaredNotTrusted, key),
                (Direction::DeclaredNotTrusted, Key::Others),
                at,
                time,
                cfg,
            ),
            None => {}
        }

        // What the declared walk met, on lines the log can place.
        let placed = expected.filter(|_| stopped != Stopped::Unknown);
        let garbage = (garbage_at_peer && from_front_end)
            || placed
                .is_some_and(|e| matches!(e.stop, Stop::InvalidToken | Stop::RightmostInvalid));
        if garbage {
            self.tally(Kind::GarbageInHeader, at, time);
        }
        if placed.is_some_and(|e| e.stop == Stop::AllTrusted) {
            self.tally(Kind::AllTrusted, at, time);
        }

        // Entries left of the real client. Behind a front end the real client is the entry
        // it appended left of the LB hop (or further left when nginx trusted that too).
        // Lines the log cannot explain say nothing about spoofing.
        let client = if lb_line {
            match stopped {
                Stopped::Entry(k) => Some(k.max(2)),
                Stopped::Peer => Some(2),
                Stopped::Unknown => None,
            }
        } else {
            match (stopped, expected) {
                (Stopped::Entry(k), _) => Some(k),
                (Stopped::Peer, Some(e))
                    if e.stop == Stop::Untrusted
                        && declared.is_some_and(|r| {
                            assumed_peer.is_some_and(|p| r.trusted().contains(&p))
                        }) =>
                {
                    Some(e.taken as usize)
                }
                _ => None,
            }
        };
        if client.is_some_and(|c| c < w.n) {
            self.tally(Kind::SpoofAttempt, at, time);
            self.note_spoof(&value[w.leftmost.clone()]);
        }
        misresolved
    }

    /// Where the declared walk (`r`, which ended in `e`) and nginx's part: a hop nginx
    /// trusted beyond the declared trust is drift (noted here); a declared hop nginx did not
    /// trust is the line's misresolution (returned).
    fn part_from_declared(
        &mut self,
        r: &Resolver,
        e: &Resolution,
        seen: &Seen<'_>,
        at: LineAt,
        time: Option<i64>,
    ) -> Option<Wrong> {
        if e.addr == seen.logged {
            return None;
        }
        let value = seen.value;
        let j = if e.applied() {
            position(value, &e.addr)
        } else {
            Some(0)
        };
        let hop = |i: usize| -> Option<Addr> {
            if i == 0 {
                seen.assumed_peer
            } else {
                entry(value, i).map(Addr::Ip)
            }
        };
        match (seen.stopped, j) {
            (Stopped::Entry(s), Some(j)) if s > j => {
                let h = hop(j)?;
                let (direction, key) = if !r.trusted().contains(&h) {
                    (Direction::TrustedNotDeclared, self.hop_key(&h, None))
                } else if !r.recursive() {
                    (Direction::RecursionNotDeclared, Key::of(&h))
                } else {
                    return None;
                };
                let cfg = self.config;
                self.drift
                    .add((direction, key), (direction, Key::Others), at, time, cfg);
                None
            }
            (Stopped::Entry(s), Some(j)) if s < j => {
                let h = hop(s)?;
                Some(Wrong::Declared(self.hop_key(&h, Some(r.trusted()))))
            }
            _ => None,
        }
    }

    fn note_spoof(&mut self, leftmost: &[u8]) {
        if let Some(n) = self.spoofed.get_mut(leftmost) {
            *n += 1;
        } else if self.spoofed.len() < self.config.max_spoof_values {
            self.spoofed.insert(Box::from(leftmost), 1);
        } else {
            self.spoofed_other += 1;
        }
    }

    /// Merges another worker's audit.
    pub fn merge(&mut self, other: Audit<'c>) {
        let cfg = self.config;
        let limit = cfg.samples;
        self.checked += other.checked;
        self.no_client += other.no_client;
        self.walked_past_entry += other.walked_past_entry;
        self.front_end_trusted += other.front_end_trusted;
        self.unknown_peer_trusted += other.unknown_peer_trusted;
        for (k, t) in other.kinds {
            self.kinds.entry(k).or_default().merge(t, limit);
        }
        self.lb_ips.merge(other.lb_ips, |_| Key::Others, cfg);
        self.trusted_lb_ips
            .merge(other.trusted_lb_ips, |_| Key::Others, cfg);
        self.trusted_peers
            .merge(other.trusted_peers, |_| Key::Others, cfg);
        self.drift
            .merge(other.drift, |(d, _)| (*d, Key::Others), cfg);
        for (v, n) in other.spoofed {
            if let Some(mine) = self.spoofed.get_mut(&v) {
                *mine += n;
            } else if self.spoofed.len() < cfg.max_spoof_values {
                self.spoofed.insert(v, n);
            } else {
                self.spoofed_other += n;
            }
        }
        self.spoofed_other += other.spoofed_other;
    }

    /// Lines checked (parsed lines with a `$remote_addr`).
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// Lines whose logged client is not the real client: the sum of the misresolution kinds
    /// (each line counts in one at most).
    pub fn misresolved(&self) -> u64 {
        let kinds: u64 = self
            .kinds
            .iter()
            .filter(|(k, _)| k.misresolution())
            .map(|(_, t)| t.count)
            .sum();
        let drift: u64 = self
            .drift
            .iter()
            .filter(|((d, _), _)| d.misresolution())
            .map(|(_, t)| t.count)
            .sum();
        kinds + drift
    }

    /// The plain-data view; `locate` turns a position into `path:line`.
    pub fn view(&self, locate: impl Fn(LineAt) -> String) -> AuditView {
        let cfg = self.config;
        let declared = cfg.declared();
        let lb = self.lb_ip_views(&self.lb_ips, &locate);
        let trusted_lb = self.lb_ip_views(&self.trusted_lb_ips, &locate);
        let wrong = self.misresolutions(&lb);
        let recursion_seen = self.walked_past_entry > 0;
        // No line shows nginx walking past an entry: a forgotten LB IP and recursion off look
        // the same.
        let recursion_unknown = !lb.is_empty() && !recursion_seen;
        let (suggested, fixes) = fixes_of(&wrong, recursion_unknown);
        let findings = self.finding_views(&locate);
        let mut trusted_peers: Vec<(String, u64)> = self
            .trusted_peers
            .iter()
            .map(|(k, t)| (k.text(), t.count))
            .collect();
        trusted_peers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        AuditView {
            checked: self.checked,
            misresolved: self.misresolved(),
            no_client: self.no_client,
            header: cfg.resolver.header().name().to_string(),
            recursive: match declared {
                Some(r) => r.recursive(),
                None => recursion_seen,
            },
            trust: match declared {
                Some(r) => r
                    .trusted()
                    .entries()
                    .iter()
                    .map(|e| e.net.to_string())
                    .collect(),
                None => Vec::new(),
            },
            trust_source: cfg.source.as_str(),
            peer_logged: cfg.peer_logged,
            unresolved_lb_ips: lb,
            trusted_lb_ips: trusted_lb,
            suggested_set_real_ip_from: suggested,
            fixes,
            misresolutions: wrong,
            recursion_seen,
            recursion_unknown,
            front_ends: cfg.front_ends_name.clone(),
            front_end_lines: self.front_end_trusted,
            trusted_peers,
            unknown_peer_lines: self.unknown_peer_trusted,
            findings,
        }
    }

    /// `n` lines as a share of the lines checked (0 when none were).
    fn share(&self, n: u64) -> f64 {
        if self.checked == 0 {
            0.0
        } else {
            n as f64 / self.checked as f64
        }
    }

    /// One LB IP tally as views, most lines first and `others` last.
    fn lb_ip_views(&self, map: &Tallies<Key>, locate: &impl Fn(LineAt) -> String) -> Vec<LbIpView> {
        let declared = self.config.declared();
        let mut v: Vec<LbIpView> = map
            .iter()
            .map(|(k, t)| LbIpView {
                ip: k.text(),
                lines: t.count,
                share: self.share(t.count),
                first: t.samples.first().map(|&a| locate(a)).unwrap_or_default(),
                first_time: t.first_time,
                last_time: t.last_time,
                samples: t.samples.iter().map(|&a| locate(a)).collect(),
                declared: match k {
                    Key::Ip(ip) => declared.is_some_and(|r| r.trusted().contains_ip(*ip)),
                    _ => false,
                },
                rules: Vec::new(),
            })
            .collect();
        v.sort_by(|a, b| {
            (a.ip == "others")
                .cmp(&(b.ip == "others"))
                .then(b.lines.cmp(&a.lines))
                .then_with(|| a.ip.cmp(&b.ip))
        });
        v
    }

    /// Each misresolution, biggest first: what is wrong, with its own count and fix.
    fn misresolutions(&self, lb: &[LbIpView]) -> Vec<Misresolution> {
        let cfg = self.config;
        let mut wrong: Vec<Misresolution> = lb
            .iter()
            .filter(|l| l.ip != "others")
            .map(|l| Misresolution {
                kind: Kind::UnresolvedLbIp.as_str(),
                address: l.ip.clone(),
                lines: l.lines,
                declared: l.declared,
                fix: vec![format!("set_real_ip_from {};", l.ip)],
                rules: Vec::new(),
            })
            .collect();
        if let Some(t) = self.kinds.get(&Kind::UntrustedFrontEnd) {
            wrong.push(Misresolution {
                kind: Kind::UntrustedFrontEnd.as_str(),
                address: cfg.front_ends_name.clone(),
                lines: t.count,
                declared: cfg.declared().is_some(),
                fix: cfg
                    .front_ends
                    .entries()
                    .iter()
                    .map(|e| format!("set_real_ip_from {};", net_text(&e.net)))
                    .collect(),
                rules: Vec::new(),
            });
        }
        for ((d, k), t) in self.drift.iter() {
            if *d == Direction::DeclaredNotTrusted {
                wrong.push(Misresolution {
                    kind: Kind::ConfigDrift.as_str(),
                    address: k.text(),
                    lines: t.count,
                    declared: true,
                    fix: match k {
                        Key::Others => Vec::new(),
                        k => vec![format!("set_real_ip_from {};", k.text())],
                    },
                    rules: Vec::new(),
                });
            }
        }
        wrong.sort_by(|a, b| {
            b.lines
                .cmp(&a.lines)
                .then_with(|| a.address.cmp(&b.address))
        });
        wrong
    }

    /// The findings, in [`Kind::ALL`] order (`config_drift` one per direction).
    fn finding_views(&self, locate: &impl Fn(LineAt) -> String) -> Vec<FindingView> {
        let top = self.top_spoofed();
        let mut findings = Vec::new();
        for k in Kind::ALL {
            if k == Kind::ConfigDrift {
                findings.extend(self.drift_findings(locate, |n| self.share(n)));
                continue;
            }
            let Some(t) = self.kinds.get(&k) else {
                continue;
            };
            findings.push(FindingView {
                kind: k.as_str(),
                description: k.describe(),
                count: t.count,
                share: self.share(t.count),
                samples: t.samples.iter().map(|&a| locate(a)).collect(),
                first_time: t.first_time,
                last_time: t.last_time,
                top: if k == Kind::SpoofAttempt {
                    top.clone()
                } else {
                    Vec::new()
                },
                misresolution: k.misresolution(),
                direction: None,
                addresses: Vec::new(),
            });
        }
        findings
    }

    /// The ten most frequent spoofed header values (escaped), most lines first.
    fn top_spoofed(&self) -> Vec<(String, u64)> {
        let mut top: Vec<(String, u64)> = self
            .spoofed
            .iter()
            .map(|(v, n)| (crate::escape::escape_bytes(v).into_owned(), *n))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(10);
        top
    }

    /// The `config_drift` findings, one per direction, each listing its addresses.
    fn drift_findings(
        &self,
        locate: &impl Fn(LineAt) -> String,
        share: impl Fn(u64) -> f64,
    ) -> Vec<FindingView> {
        let mut out = Vec::new();
        for d in Direction::ALL {
            let mut rows: Vec<(&Key, &Tally)> = self
                .drift
                .iter()
                .filter(|((dir, _), _)| *dir == d)
                .map(|((_, k), t)| (k, t))
                .collect();
            if rows.is_empty() {
                continue;
            }
            rows.sort_by(|a, b| {
                b.1.count
                    .cmp(&a.1.count)
                    .then_with(|| a.0.text().cmp(&b.0.text()))
            });
            let mut total = Tally::default();
            for (_, t) in &rows {
                total.merge((*t).clone(), self.config.samples);
            }
            let addresses: Vec<(String, u64)> =
                rows.iter().map(|(k, t)| (k.text(), t.count)).collect();
            out.push(FindingView {
                kind: Kind::ConfigDrift.as_str(),
                description: match d {
                    Direction::TrustedNotDeclared => {
                        "nginx trusts more than declared (information)"
                    }
                    Direction::DeclaredNotTrusted => "declared trust nginx did not apply",
                    Direction::RecursionNotDeclared => "nginx resolves recursively; declared off",
                },
                count: total.count,
                share: share(total.count),
                samples: total.samples.iter().map(|&a| locate(a)).collect(),
                first_time: total.first_time,
                last_time: total.last_time,
                top: Vec::new(),
                misresolution: d.misresolution(),
                direction: Some(d.as_str()),
                addresses,
            });
        }
        out
    }
}

/// The distinct fix lines of the misresolutions, in order, with `real_ip_recursive on;` last
/// when recursion is unknown; and the addresses those `set_real_ip_from` lines name.
fn fixes_of(wrong: &[Misresolution], recursion_unknown: bool) -> (Vec<String>, Vec<String>) {
    let mut suggested: Vec<String> = Vec::new();
    let mut fixes: Vec<String> = Vec::new();
    for m in wrong {
        for f in &m.fix {
            if !fixes.contains(f) {
                fixes.push(f.clone());
                if let Some(a) = f
                    .strip_prefix("set_real_ip_from ")
                    .and_then(|f| f.strip_suffix(';'))
                {
                    suggested.push(a.to_string());
                }
            }
        }
    }
    if recursion_unknown {
        fixes.push("real_ip_recursive on;".to_string());
    }
    (suggested, fixes)
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl Accumulate for Audit<'_> {
    #[inline]
    fn record(&mut self, rec: &Record<'_>, at: LineAt) {
        Audit::record(self, rec, at);
    }

    fn merge(&mut self, other: Self) {
        Audit::merge(self, other);
    }
}

/// One load-balancer IP as reported (unresolved or trusted).
#[derive(Clone, Debug, PartialEq)]
pub struct LbIpView {
    /// The IP (nginx text form), or `others` past the tracked limit.
    pub ip: String,
    /// Lines through it.
    pub lines: u64,
    /// `lines` / checked.
    pub share: f64,
    /// The first line, as `path:line`.
    pub first: String,
    /// Earliest request time (seconds since the epoch), when logged.
    pub first_time: Option<i64>,
    /// Latest request time.
    pub last_time: Option<i64>,
    /// The first few lines, as `path:line`.
    pub samples: Vec<String>,
    /// Whether the declared trust contains it (always false with inferred trust).
    pub declared: bool,
    /// The forwarding rules whose address it is, when a `--lb-ips-from` list names it (see
    /// [`AuditView::name_lb_rules`]).
    pub rules: Vec<String>,
}

/// One thing that makes logged clients wrong, with its own count and fix.
#[derive(Clone, Debug, PartialEq)]
pub struct Misresolution {
    /// The finding kind: `unresolved_lb_ip`, `untrusted_front_end` or `config_drift`.
    pub kind: &'static str,
    /// The LB IP, front ends or declared address.
    pub address: String,
    /// Lines it made wrong.
    pub lines: u64,
    /// Whether the declared trust contains it (nginx did not apply it).
    pub declared: bool,
    /// The configuration lines that fix it.
    pub fix: Vec<String>,
    /// The forwarding rules whose address it is, when a `--lb-ips-from` list names it.
    pub rules: Vec<String>,
}

/// One finding as reported.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingView {
    /// The JSON name (`untrusted_peer`, …).
    pub kind: &'static str,
    /// What it means.
    pub description: &'static str,
    /// Lines.
    pub count: u64,
    /// `count` / checked.
    pub share: f64,
    /// The first lines, as `path:line`.
    pub samples: Vec<String>,
    /// Earliest request time.
    pub first_time: Option<i64>,
    /// Latest request time.
    pub last_time: Option<i64>,
    /// For spoof attempts: the most frequent leftmost values (escaped) and their counts.
    pub top: Vec<(String, u64)>,
    /// Whether these lines count in `misresolved`.
    pub misresolution: bool,
    /// For `config_drift`: `trusted_not_declared`, `declared_not_trusted` or
    /// `recursion_not_declared`.
    pub direction: Option<&'static str>,
    /// For `config_drift`: the addresses or ranges and their lines, most first.
    pub addresses: Vec<(String, u64)>,
}

/// The audit as reported.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditView {
    /// Lines checked.
    pub checked: u64,
    /// Lines whose logged client is not the real client.
    pub misresolved: u64,
    /// Parsed lines without a usable `$remote_addr` (not checked).
    pub no_client: u64,
    /// The header audited.
    pub header: String,
    /// Whether recursion is on (declared, or seen in the log).
    pub recursive: bool,
    /// The declared trust, as CIDRs (empty when inferred).
    pub trust: Vec<String>,
    /// `inferred`, `declared` or `nginx-conf`.
    pub trust_source: &'static str,
    /// Whether the log carries `$realip_remote_addr`.
    pub peer_logged: bool,
    /// Load-balancer IPs nginx logged as the client, most lines first.
    pub unresolved_lb_ips: Vec<LbIpView>,
    /// Load-balancer IPs nginx walked past (trusted), most lines first.
    pub trusted_lb_ips: Vec<LbIpView>,
    /// The addresses to add with `set_real_ip_from`.
    pub suggested_set_real_ip_from: Vec<String>,
    /// Every configuration line to add.
    pub fixes: Vec<String>,
    /// What makes logged clients wrong, one entry per address, most lines first.
    pub misresolutions: Vec<Misresolution>,
    /// Whether some line shows nginx walking past a header entry (recursion on).
    pub recursion_seen: bool,
    /// LB IPs were logged as clients and no line shows recursion: the log cannot tell a
    /// forgotten LB IP from `real_ip_recursive off`.
    pub recursion_unknown: bool,
    /// The front ends, in words.
    pub front_ends: String,
    /// Lines where nginx walked past a front-end peer.
    pub front_end_lines: u64,
    /// Other peers nginx walked past, with their lines.
    pub trusted_peers: Vec<(String, u64)>,
    /// Lines where nginx walked past a peer the log does not name.
    pub unknown_peer_lines: u64,
    /// Every kind of finding that occurred.
    pub findings: Vec<FindingView>,
}

impl AuditView {
    /// Names the load balancers behind the reported addresses: `rules(ip)` gives the
    /// forwarding rules whose address `ip` (nginx text form) is, e.g. from a `--lb-ips-from`
    /// list, so that a report can say "this IP is your LB `web-https-v6`".
    pub fn name_lb_rules(&mut self, rules: impl Fn(&str) -> Vec<String>) {
        for l in self
            .unresolved_lb_ips
            .iter_mut()
            .chain(self.trusted_lb_ips.iter_mut())
        {
            l.rules = rules(&l.ip);
        }
        for m in &mut self.misresolutions {
            if m.kind != Kind::UntrustedFrontEnd.as_str() {
                m.rules = rules(&m.address);
            }
        }
    }
}

// --- serialised state (`realip merge`) ------------------------------------------------

/// The audit options a report was made with, as `realip merge` compares and rebuilds them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditOptions {
    /// `inferred`, `declared` or `nginx-conf`.
    pub trust_source: String,
    /// The declared trust, as CIDRs (`unix:` included); empty when inferred.
    pub trust: Vec<String>,
    /// `real_ip_header`.
    pub header: String,
    /// `real_ip_recursive` (declared).
    pub recursive: bool,
    /// The front ends, as CIDRs.
    pub front_ends: Vec<String>,
    /// The front ends, in words.
    pub front_ends_name: String,
    /// Whether the log has `$realip_remote_addr`.
    pub peer_logged: bool,
    /// Sample positions kept per finding.
    pub samples: usize,
    /// Distinct spoofed values tracked.
    pub max_spoof_values: usize,
    /// Distinct addresses tracked per list.
    pub max_addresses: usize,
}

impl AuditConfig {
    /// The options this audit was made with.
    pub fn options(&self) -> AuditOptions {
        let cidrs = |s: &TrustedSet| s.entries().iter().map(|e| e.net.to_string()).collect();
        AuditOptions {
            trust_source: self.source.as_str().to_string(),
            trust: cidrs(self.resolver.trusted()),
            header: self.resolver.header().name().to_string(),
            recursive: self.resolver.recursive(),
            front_ends: cidrs(&self.front_ends),
            front_ends_name: self.front_ends_name.clone(),
            peer_logged: self.peer_logged,
            samples: self.samples,
            max_spoof_values: self.max_spoof_values,
            max_addresses: self.max_addresses,
        }
    }

    /// The audit configuration `options` describe.
    pub fn from_options(o: &AuditOptions) -> Result<AuditConfig, crate::Error> {
        let (trusted, _) = TrustedSet::parse(&o.trust)?;
        let (front_ends, _) = TrustedSet::parse(&o.front_ends)?;
        let header = Header::new(&o.header)?;
        let field = AuditConfig::field_for_header(&o.header).unwrap_or(Field::HttpXForwardedFor);
        let mut c = AuditConfig::with_front_ends(
            Resolver::new(trusted, header, o.recursive),
            front_ends,
            field,
            o.peer_logged,
        );
        c.source = match o.trust_source.as_str() {
            "inferred" => TrustSource::Inferred,
            "nginx-conf" => TrustSource::NginxConf,
            _ => TrustSource::Declared,
        };
        c.front_ends_name = o.front_ends_name.clone();
        c.samples = o.samples;
        c.max_spoof_values = o.max_spoof_values;
        c.max_addresses = o.max_addresses;
        Ok(c)
    }
}

/// One tally in full; samples are `[input index, 1-based line]`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TallyState {
    /// What is counted: a finding kind, an address (`ip 34.120.5.6`), a range
    /// (`net 35.191.0.0/16`), `unix`, or `others`; drift prefixes its direction.
    pub key: String,
    /// Lines.
    pub count: u64,
    /// The first sample positions.
    pub samples: Vec<(u32, u64)>,
    /// Earliest request time.
    pub first_time: Option<i64>,
    /// Latest request time.
    pub last_time: Option<i64>,
}

/// An [`Audit`] in full, enough to merge it exactly with others made with the same options.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditState {
    /// Lines checked.
    pub checked: u64,
    /// Lines without a usable client.
    pub no_client: u64,
    /// Lines where nginx walked past a header entry.
    pub walked_past_entry: u64,
    /// Lines where nginx walked past a front-end peer.
    pub front_end_trusted: u64,
    /// Lines where nginx walked past a peer that is not logged.
    pub unknown_peer_trusted: u64,
    /// Per kind of finding, in report order.
    pub kinds: Vec<TallyState>,
    /// Unresolved LB IPs.
    pub lb_ips: Vec<TallyState>,
    /// Trusted LB IPs.
    pub trusted_lb_ips: Vec<TallyState>,
    /// Trusted peers.
    pub trusted_peers: Vec<TallyState>,
    /// Drift, keyed `<direction> <address>`.
    pub drift: Vec<TallyState>,
    /// Spoofed leftmost values (base64 of their bytes: they are untrusted and may be any
    /// bytes) and their counts, sorted by value.
    pub spoofed: Vec<(String, u64)>,
    /// Spoofed values beyond the tracked ones.
    pub spoofed_other: u64,
}

impl Key {
    fn state_text(&self) -> String {
        match self {
            Key::Ip(ip) => format!("ip {ip}"),
            Key::Net(TrustNet::Net(n)) => format!("net {n}"),
            Key::Net(TrustNet::Unix) => "net unix:".to_string(),
            Key::Unix => "unix".to_string(),
            Key::Others => "others".to_string(),
        }
    }

    fn from_state_text(s: &str) -> Result<Key, String> {
        let bad = || format!("{s:?} is not an audit address key");
        Ok(match s.split_once(' ') {
            Some(("ip", ip)) => Key::Ip(ip.parse().map_err(|_| bad())?),
            Some(("net", "unix:")) => Key::Net(TrustNet::Unix),
            Some(("net", n)) => Key::Net(TrustNet::Net(n.parse().map_err(|_| bad())?)),
            None if s == "unix" => Key::Unix,
            None if s == "others" => Key::Others,
            _ => return Err(bad()),
        })
    }
}

impl Tally {
    fn state(&self, key: String, line_of: &impl Fn(LineAt) -> (u32, u64)) -> TallyState {
        TallyState {
            key,
            count: self.count,
            samples: self.samples.iter().map(|&a| line_of(a)).collect(),
            first_time: self.first_time,
            last_time: self.last_time,
        }
    }

    fn from_state(s: &TallyState, file_offset: u32) -> Tally {
        Tally {
            count: s.count,
            samples: s
                .samples
                .iter()
                .map(|&(file, line)| LineAt {
                    file: file.saturating_add(file_offset),
                    unit: 0,
                    line: line.saturating_sub(1),
                })
                .collect(),
            first_time: s.first_time,
            last_time: s.last_time,
        }
    }
}

fn tallies_state<K: std::hash::Hash + Eq>(
    t: &Tallies<K>,
    key: impl Fn(&K) -> String,
    line_of: &impl Fn(LineAt) -> (u32, u64),
) -> Vec<TallyState> {
    let mut v: Vec<TallyState> = t.iter().map(|(k, t)| t.state(key(k), line_of)).collect();
    v.sort_by(|a, b| a.key.cmp(&b.key));
    v
}

fn tallies_from_state<K: std::hash::Hash + Eq>(
    states: &[TallyState],
    key: impl Fn(&str) -> Result<K, String>,
    file_offset: u32,
) -> Result<Tallies<K>, String> {
    let mut t = Tallies::default();
    for s in states {
        t.map
            .insert(key(&s.key)?, Tally::from_state(s, file_offset));
    }
    Ok(t)
}

impl<'c> Audit<'c> {
    /// The full state; `line_of` turns a position into `(input index, 1-based line)`.
    pub fn state(&self, line_of: impl Fn(LineAt) -> (u32, u64)) -> AuditState {
        let kinds = Kind::ALL
            .iter()
            .filter_map(|k| {
                self.kinds
                    .get(k)
                    .map(|t| t.state(k.as_str().to_string(), &line_of))
            })
            .collect();
        let mut sorted: Vec<(&[u8], u64)> = self.spoofed.iter().map(|(v, n)| (&**v, *n)).collect();
        sorted.sort();
        AuditState {
            checked: self.checked,
            no_client: self.no_client,
            walked_past_entry: self.walked_past_entry,
            front_end_trusted: self.front_end_trusted,
            unknown_peer_trusted: self.unknown_peer_trusted,
            kinds,
            lb_ips: tallies_state(&self.lb_ips, Key::state_text, &line_of),
            trusted_lb_ips: tallies_state(&self.trusted_lb_ips, Key::state_text, &line_of),
            trusted_peers: tallies_state(&self.trusted_peers, Key::state_text, &line_of),
            drift: tallies_state(
                &self.drift,
                |(d, k)| format!("{} {}", d.as_str(), k.state_text()),
                &line_of,
            ),
            spoofed: sorted
                .into_iter()
                .map(|(v, n)| (BASE64.encode(v), n))
                .collect(),
            spoofed_other: self.spoofed_other,
        }
    }

    /// An audit from its full state, with sample positions of input `i` moved to input
    /// `i + file_offset` (the parts of a merge are numbered one after the other). Positions
    /// come back as `LineAt { file, unit: 0, line: line - 1 }`.
    pub fn from_state(
        config: &'c AuditConfig,
        s: &AuditState,
        file_offset: u32,
    ) -> Result<Audit<'c>, String> {
        let mut a = Audit::new(config);
        a.checked = s.checked;
        a.no_client = s.no_client;
        a.walked_past_entry = s.walked_past_entry;
        a.front_end_trusted = s.front_end_trusted;
        a.unknown_peer_trusted = s.unknown_peer_trusted;
        for t in &s.kinds {
            let kind = Kind::ALL
                .iter()
                .find(|k| k.as_str() == t.key)
                .ok_or_else(|| format!("unknown audit finding {:?}", t.key))?;
            a.kinds.insert(*kind, Tally::from_state(t, file_offset));
        }
        a.lb_ips = tallies_from_state(&s.lb_ips, Key::from_state_text, file_offset)?;
        a.trusted_lb_ips =
            tallies_from_state(&s.trusted_lb_ips, Key::from_state_text, file_offset)?;
        a.trusted_peers = tallies_from_state(&s.trusted_peers, Key::from_state_text, file_offset)?;
        a.drift = tallies_from_state(
            &s.drift,
            |text| {
                let (d, k) = text
                    .split_once(' ')
                    .ok_or_else(|| format!("{text:?} is not a drift key"))?;
                let d = Direction::ALL
                    .iter()
                    .find(|x| x.as_str() == d)
                    .ok_or_else(|| format!("unknown drift direction {d:?}"))?;
                Ok((*d, Key::from_state_text(k)?))
            },
            file_offset,
        )?;
        for (v, n) in &s.spoofed {
            let bytes = BASE64
                .decode(v)
                .map_err(|e| format!("spoofed value is not base64: {e}"))?;
            a.spoofed.insert(bytes.into_boxed_slice(), *n);
        }
        a.spoofed_other = s.spoofed_other;
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(trust: Option<&[&str]>, peer_logged: bool) -> &'static AuditConfig {
        let header = Header::x_forwarded_for();
        let c = match trust {
            Some(t) => {
                let (t, _) = TrustedSet::parse(t).unwrap();
                AuditConfig::new(
                    Resolver::new(t, header, true),
                    Field::HttpXForwardedFor,
                    peer_logged,
                )
            }
            None => AuditConfig::inferred(
                header,
                gcp_front_ends(),
                Field::HttpXForwardedFor,
                peer_logged,
            ),
        };
        Box::leak(Box::new(c))
    }

    fn audit(trust: &[&str], peer_logged: bool) -> Audit<'static> {
        Audit::new(config(Some(trust), peer_logged))
    }

    fn line(a: &mut Audit, n: u64, remote: &str, peer: &str, xff: &str, ua: &str) {
        let mut r = Record::new();
        r.set(Field::RemoteAddr, remote.as_bytes());
        r.set(Field::RealipRemoteAddr, peer.as_bytes());
        r.set(Field::HttpXForwardedFor, xff.as_bytes());
        r.set(Field::HttpUserAgent, ua.as_bytes());
        a.record(
            &r,
            LineAt {
                file: 0,
                unit: 0,
                line: n,
            },
        );
    }

    fn counts(a: &Audit) -> Vec<(&'static str, u64)> {
        let v = a.view(|_| String::new());
        let mut c: Vec<_> = v.findings.iter().map(|f| (f.kind, f.count)).collect();
        c.sort();
        c
    }

    #[test]
    fn an_untrusted_lb_ip_is_found_from_the_log_shape() {
        // Declared trust lacks the second LB IP; nginx logged it as the client.
        let mut a = audit(&["gcp", "34.120.5.6"], true);
        line(
            &mut a,
            0,
            "203.0.113.7",
            "35.191.1.1",
            "203.0.113.7,34.120.5.6",
            "ua",
        );
        line(
            &mut a,
            1,
            "34.149.9.9",
            "35.191.1.2",
            "198.51.100.2,34.149.9.9",
            "ua",
        );
        line(
            &mut a,
            2,
            "34.149.9.9",
            "35.191.1.2",
            "1.2.3.4, 198.51.100.3,34.149.9.9",
            "ua",
        );
        assert_eq!(a.misresolved(), 2);
        let v = a.view(|at| format!("x:{}", at.line + 1));
        assert_eq!(v.suggested_set_real_ip_from, ["34.149.9.9"]);
        assert_eq!(v.unresolved_lb_ips[0].lines, 2);
        assert_eq!(v.unresolved_lb_ips[0].first, "x:2");
        assert_eq!(v.trusted_lb_ips[0].ip, "34.120.5.6");
        assert_eq!(v.trust_source, "declared");
    }

    #[test]
    fn a_declared_lb_ip_that_nginx_did_not_trust_is_an_unresolved_lb_ip_once() {
        let mut a = audit(&["gcp", "34.120.5.6"], true);
        line(
            &mut a,
            0,
            "34.120.5.6",
            "35.191.1.1",
            "203.0.113.7,34.120.5.6",
            "ua",
        );
        assert_eq!(counts(&a), [("unresolved_lb_ip", 1)]);
        let v = a.view(|_| String::new());
        assert_eq!(v.suggested_set_real_ip_from, ["34.120.5.6"]);
        assert!(v.unresolved_lb_ips[0].declared);
        assert_eq!(v.misresolved, 1);
    }

    #[test]
    fn inferred_trust_names_trusted_and_forgotten_lb_ips_without_drift_or_spoofed_clients() {
        let mut a = Audit::new(config(None, true));
        for i in 0..30 {
            line(
                &mut a,
                i,
                "81.2.3.4",
                "35.191.1.1",
                "81.2.3.4,34.120.5.6",
                "ua",
            );
        }
        for i in 30..34 {
            line(
                &mut a,
                i,
                "34.149.9.9",
                "35.191.1.2",
                "81.5.6.7,34.149.9.9",
                "ua",
            );
        }
        let v = a.view(|at| at.line.to_string());
        assert_eq!(v.trust_source, "inferred");
        assert_eq!(v.misresolved, 4);
        assert_eq!(
            v.trusted_lb_ips
                .iter()
                .map(|l| (l.ip.as_str(), l.lines))
                .collect::<Vec<_>>(),
            [("34.120.5.6", 30)]
        );
        assert_eq!(v.unresolved_lb_ips[0].ip, "34.149.9.9");
        assert!(v.recursion_seen && !v.recursion_unknown);
        // Real clients are never spoof attempts, and nothing declared means no drift.
        assert_eq!(counts(&a), [("unresolved_lb_ip", 4)]);
    }

    #[test]
    fn without_a_walk_past_an_lb_hop_recursion_is_unknown() {
        let mut a = Audit::new(config(None, true));
        line(
            &mut a,
            0,
            "34.149.9.9",
            "35.191.1.2",
            "198.51.100.2,34.149.9.9",
            "ua",
        );
        let v = a.view(|_| String::new());
        assert!(v.recursion_unknown);
        assert_eq!(
            v.fixes,
            ["set_real_ip_from 34.149.9.9;", "real_ip_recursive on;"]
        );
    }

    #[test]
    fn declared_and_inferred_trust_differences_are_drift_both_ways() {
        // Declared: gcp and an internal proxy 10.0.0.5; nginx trusts 34.120.5.6 (undeclared)
        // and does not trust 10.0.0.5 (declared).
        let mut a = audit(&["gcp", "10.0.0.5"], true);
        line(
            &mut a,
            0,
            "203.0.113.7",
            "35.191.1.1",
            "203.0.113.7,34.120.5.6",
            "ua",
        );
        line(&mut a, 1, "10.0.0.5", "10.0.0.5", "198.51.100.9", "ua");
        let v = a.view(|_| String::new());
        let drift: Vec<_> = v
            .findings
            .iter()
            .filter(|f| f.kind == "config_drift")
            .map(|f| (f.direction.unwrap(), f.addresses.clone(), f.misresolution))
            .collect();
        assert_eq!(
            drift,
            [
                (
                    "declared_not_trusted",
                    vec![("10.0.0.5".to_string(), 1)],
                    true
                ),
                (
                    "trusted_not_declared",
                    vec![("34.120.5.6".to_string(), 1)],
                    false
                ),
            ]
        );
        assert_eq!(v.misresolved, 1);
    }

    #[test]
    fn health_checks_direct_hits_and_spoofs_are_classified_apart() {
        let mut a = audit(&["gcp", "34.120.5.6"], true);
        line(&mut a, 0, "35.191.3.4", "35.191.3.4", "-", "GoogleHC/1.0");
        line(
            &mut a,
            1,
            "198.51.100.99",
            "198.51.100.99",
            "10.0.0.1",
            "curl",
        );
        line(
            &mut a,
            2,
            "8.8.8.8",
            "35.191.1.1",
            "1.2.3.4, 8.8.8.8,34.120.5.6",
            "ua",
        );
        line(
            &mut a,
            3,
            "34.120.5.6",
            "35.191.1.1",
            "garbage, 34.120.5.6",
            "ua",
        );
        line(
            &mut a,
            5,
            "8.8.4.4",
            "35.191.1.1",
            "9.9.9.9, 34.120.5.6",
            "ua",
        );
        line(
            &mut a,
            4,
            "35.191.1.1",
            "35.191.1.1",
            "8.8.8.8,34.120.5.6",
            "ua",
        );
        let c = counts(&a);
        assert!(c.contains(&("health_check", 1)), "{c:?}");
        assert!(c.contains(&("untrusted_peer", 1)), "{c:?}");
        // Lines 2 and 3: entries left of what nginx took.
        assert!(c.contains(&("spoof_attempt", 2)), "{c:?}");
        assert!(c.contains(&("garbage_in_header", 1)), "{c:?}");
        // Line 3: nginx stopped at the garbage, keeping the trusted LB IP to its right.
        // Line 5: 8.8.4.4 is neither the peer nor in the header.
        assert!(c.contains(&("unexplained", 1)), "{c:?}");
        // Line 4: nginx logged the front end itself.
        assert!(c.contains(&("untrusted_front_end", 1)), "{c:?}");
        assert_eq!(a.misresolved(), 1, "{c:?}");
        let v = a.view(|at| at.line.to_string());
        let spoof = v
            .findings
            .iter()
            .find(|f| f.kind == "spoof_attempt")
            .unwrap();
        assert_eq!(
            spoof.top,
            [("1.2.3.4".to_string(), 1), ("garbage".to_string(), 1)]
        );
    }

    #[test]
    fn without_the_peer_the_lb_shape_still_works_and_the_rest_is_undecided() {
        for trust in [Some(&["gcp", "34.120.5.6"][..]), None] {
            let mut a = Audit::new(config(trust, false));
            line(
                &mut a,
                0,
                "34.149.9.9",
                "-",
                "198.51.100.2,34.149.9.9",
                "ua",
            );
            line(
                &mut a,
                1,
                "203.0.113.7",
                "-",
                "203.0.113.7,34.120.5.6",
                "ua",
            );
            line(&mut a, 2, "198.51.100.99", "-", "10.0.0.1", "ua");
            assert_eq!(a.misresolved(), 1);
            assert!(counts(&a).contains(&("undecided", 1)), "{:?}", counts(&a));
            let v = a.view(|_| String::new());
            assert_eq!(v.trusted_lb_ips[0].ip, "34.120.5.6");
        }
    }

    #[test]
    fn merging_splits_gives_the_same_view() {
        let rows = [
            ("203.0.113.7", "35.191.1.1", "203.0.113.7,34.120.5.6"),
            ("34.149.9.9", "35.191.1.2", "198.51.100.2,34.149.9.9"),
            ("198.51.100.99", "198.51.100.99", "10.0.0.1"),
            ("8.8.8.8", "35.191.1.1", "1.2.3.4, 8.8.8.8,34.120.5.6"),
            ("10.0.0.5", "10.0.0.5", "8.8.8.8"),
        ];
        for trust in [Some(&["gcp", "10.0.0.5"][..]), None] {
            let cfg = config(trust, true);
            let mut whole = Audit::new(cfg);
            let mut a = Audit::new(cfg);
            let mut b = Audit::new(cfg);
            for i in 0..40u64 {
                let (r, p, x) = rows[i as usize % rows.len()];
                line(&mut whole, i, r, p, x, "ua");
                line(if i % 3 == 0 { &mut a } else { &mut b }, i, r, p, x, "ua");
            }
            a.merge(b);
            let loc = |at: LineAt| at.line.to_string();
            assert_eq!(whole.view(loc), a.view(loc));
        }
    }

    /// A tally's content, for comparing two tallies.
    fn tally_parts(t: &Tally) -> (u64, Vec<LineAt>, Option<i64>, Option<i64>) {
        (t.count, t.samples.clone(), t.first_time, t.last_time)
    }

    proptest::proptest! {
        /// A tally's first and last times are the least and greatest time added, its count
        /// the lines added, whatever the order and with lines without a time.
        #[test]
        fn a_tally_keeps_the_least_and_greatest_time(
            times in proptest::collection::vec(proptest::option::of(-5i64..5), 0..40),
        ) {
            let mut t = Tally::default();
            for (i, time) in times.iter().enumerate() {
                t.add(LineAt { file: 0, unit: 0, line: i as u64 }, *time, 3);
            }
            proptest::prop_assert_eq!(t.count, times.len() as u64);
            proptest::prop_assert_eq!(t.first_time, times.iter().flatten().min().copied());
            proptest::prop_assert_eq!(t.last_time, times.iter().flatten().max().copied());
        }

        /// `Tallies::add_ip` (the per-line fast path) counts exactly as the general `add`:
        /// runs of one address, address changes, keys past the bound, lines out of order,
        /// lines without a time.
        #[test]
        fn add_ip_is_add_of_an_ip_key(
            lines in proptest::collection::vec(
                (0u8..6, 0u64..50, proptest::option::of(-5i64..5)),
                0..120,
            ),
            max_addresses in 1usize..5,
        ) {
            let mut cfg = config(None, true).clone();
            cfg.max_addresses = max_addresses;
            cfg.samples = 3;
            let mut fast = Tallies::<Key>::default();
            let mut slow = Tallies::<Key>::default();
            for (k, line, time) in lines {
                let ip = if k == 5 {
                    "2001:db8::1".parse().unwrap()
                } else {
                    IpAddr::from([192, 0, 2, k])
                };
                let at = LineAt { file: 0, unit: 0, line };
                fast.add_ip(ip, at, time, &cfg);
                slow.add(Key::Ip(ip), Key::Others, at, time, &cfg);
            }
            let sorted = |t: &Tallies<Key>| {
                let mut v: Vec<_> = t.iter().map(|(k, t)| (k.text(), tally_parts(t))).collect();
                v.sort();
                v
            };
            proptest::prop_assert_eq!(sorted(&fast), sorted(&slow));
        }
    }

    /// Header values made of address texts (the logged client's among them), separators
    /// and junk, favouring `<client>,<lb-ip>`.
    fn header_value(logged: &'static str) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = proptest::sample::select(vec![
            logged,
            "34.120.5.6",
            "10.0.0.1",
            "2001:db8::1",
            "unix:",
            "x",
            "",
            ",",
            " ",
            ", ",
            ",34.120.5.6",
            "34.120.5.6 ",
        ]);
        prop_oneof![
            proptest::collection::vec(piece, 0..6).prop_map(|p| p.concat()),
            proptest::sample::select(vec!["34.120.5.6", "10.0.0.1", ",34.120.5.6", "x"])
                .prop_map(move |lb| format!("{logged},{lb}")),
        ]
    }

    proptest::proptest! {
        /// The `<client>,<lb-ip>` shortcut of the header walk answers as the walk token by
        /// token, and leaves the memo of the rightmost entry as it does, whatever the memo
        /// held (a value walked before).
        #[test]
        fn the_client_lb_walk_is_the_token_walk(
            (logged, before, value) in proptest::strategy::Strategy::prop_flat_map(proptest::sample::select(vec![
                "203.0.113.7", "34.120.5.6", "2001:db8::1", "unix:", "10.0.0.1",
            ]),
            |l| {
                use proptest::strategy::Strategy as _;
                // A memo whose text starts with a separator comes from a one-token value.
                let before = proptest::prop_oneof![
                    header_value(l),
                    proptest::sample::select(vec![",34.120.5.6", "34.120.5.6", " x", l])
                        .prop_map(String::from),
                ];
                (proptest::strategy::Just(l), before, header_value(l))
            }),
        ) {
            let logged_addr = Addr::parse_opt(logged.as_bytes()).unwrap();
            let mut memo = TokenMemo::default();
            walk_entries(before.as_bytes(), &logged_addr, logged.as_bytes(), &mut memo);
            let mut fast_memo = memo.clone();
            let fast = walk(value.as_bytes(), &logged_addr, logged.as_bytes(), &mut fast_memo);
            let slow = walk_entries(value.as_bytes(), &logged_addr, logged.as_bytes(), &mut memo);
            proptest::prop_assert_eq!(fast, slow);
            proptest::prop_assert_eq!(fast_memo, memo);
        }
    }
}
