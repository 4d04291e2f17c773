//! Auditing logged client addresses against the trust the user declares correct.
//!
//! Owns: the misresolution policy. For every parsed line that has `$remote_addr`, the client
//! is re-resolved with the library's [`Resolver`] (peer = `$realip_remote_addr` when logged,
//! header = the logged header field) and compared with what nginx logged; lines are then
//! classified:
//! * **unresolved LB IP**: the logged client is a load-balancer hop: the rightmost entry of a
//!   header with two or more entries, appended by a front end (the peer is a Google front end,
//!   or the peer is not logged), or an address the declared trust itself contains. Counted per
//!   IP, with the `set_real_ip_from` lines that fix it;
//! * **config drift**: any other difference between the logged client and the resolution;
//! * and informational findings: untrusted peers sending forwarding headers (direct hits),
//!   spoof attempts (entries left of the real client), reserved "clients", walks stopped on
//!   garbage, all-trusted chains, and health checks (never counted as misresolution).
//!
//! Produces data ([`Audit`], merged with [`Audit::merge`], viewed with [`Audit::view`]); never
//! prints, never exits. Positions stay [`LineAt`] until the scan resolves them to `path:line`.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::logfmt::{Field, Record};
use crate::net::{reserved, Addr, TrustedSet};
use crate::presets;
use crate::resolve::{header, Resolver, Stop};
use crate::scan::{Accumulate, LineAt};

/// What the audit checks against.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// The declared-correct realip configuration.
    pub resolver: Resolver,
    /// Front ends that append `<client>,<lb-ip>` (the GCP shape): Google's front-end ranges.
    pub front_ends: TrustedSet,
    /// The logged field holding the configured header.
    pub header_field: Field,
    /// Whether the log has `$realip_remote_addr` (the TCP peer); without it some findings
    /// cannot be decided.
    pub peer_logged: bool,
    /// Sample positions kept per finding.
    pub samples: usize,
    /// Distinct spoofed values tracked for the "top values" list.
    pub max_spoof_values: usize,
}

impl AuditConfig {
    /// An audit of `resolver`'s configuration, with Google's front ends as the GCP shape.
    pub fn new(resolver: Resolver, header_field: Field, peer_logged: bool) -> Self {
        let front_ends = TrustedSet::parse([presets::GCP.name])
            .map(|(s, _)| s)
            .unwrap_or_default();
        Self::with_front_ends(resolver, front_ends, header_field, peer_logged)
    }

    /// An audit with other front ends: the peers that append `<client>,<lb-ip>`.
    pub fn with_front_ends(
        resolver: Resolver,
        front_ends: TrustedSet,
        header_field: Field,
        peer_logged: bool,
    ) -> Self {
        AuditConfig {
            resolver,
            front_ends,
            header_field,
            peer_logged,
            samples: 5,
            max_spoof_values: 1000,
        }
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
}

/// The kinds of finding, with their JSON names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The logged client is a load-balancer hop nginx did not trust.
    UnresolvedLbIp,
    /// The logged client differs from the declared resolution for another reason.
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
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::UnresolvedLbIp,
        Kind::ConfigDrift,
        Kind::UntrustedPeer,
        Kind::SpoofAttempt,
        Kind::ReservedClient,
        Kind::GarbageInHeader,
        Kind::AllTrusted,
        Kind::HealthCheck,
        Kind::Undecided,
    ];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::UnresolvedLbIp => "unresolved_lb_ip",
            Kind::ConfigDrift => "config_drift",
            Kind::UntrustedPeer => "untrusted_peer",
            Kind::SpoofAttempt => "spoof_attempt",
            Kind::ReservedClient => "reserved_client",
            Kind::GarbageInHeader => "garbage_in_header",
            Kind::AllTrusted => "all_trusted",
            Kind::HealthCheck => "health_check",
            Kind::Undecided => "undecided",
        }
    }

    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::UnresolvedLbIp => "logged client is a load-balancer IP nginx does not trust",
            Kind::ConfigDrift => {
                "logged client differs from the resolution under the declared trust"
            }
            Kind::UntrustedPeer => "direct hits: untrusted peer sent a forwarding header",
            Kind::SpoofAttempt => "client-supplied entries left of the real client (ignored)",
            Kind::ReservedClient => "logged client in a private, loopback or reserved range",
            Kind::GarbageInHeader => "walk stopped at a header value that is not an address",
            Kind::AllTrusted => "every address in the header trusted; leftmost taken",
            Kind::HealthCheck => "load-balancer health checks (not misresolution)",
            Kind::Undecided => "needs $realip_remote_addr in the log to classify",
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
    fn add(&mut self, at: LineAt, time: Option<i64>, limit: usize) {
        self.count += 1;
        if self.samples.len() < limit || self.samples.last().is_some_and(|l| at < *l) {
            let i = self.samples.partition_point(|p| *p < at);
            self.samples.insert(i, at);
            self.samples.truncate(limit);
        }
        if let Some(t) = time {
            self.first_time = Some(self.first_time.map_or(t, |f| f.min(t)));
            self.last_time = Some(self.last_time.map_or(t, |l| l.max(t)));
        }
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

/// The audit of any number of lines; one per worker, merged at the end.
#[derive(Clone, Debug)]
pub struct Audit<'c> {
    // A plain shared reference, not an `Arc`: cloning an `Arc` per line made every worker
    // bounce the same reference-count cache line.
    config: &'c AuditConfig,
    checked: u64,
    no_client: u64,
    kinds: HashMap<Kind, Tally>,
    lb_ips: HashMap<IpAddr, Tally>,
    spoofed: HashMap<Box<[u8]>, u64>,
    spoofed_other: u64,
}

impl<'c> Audit<'c> {
    /// An empty audit.
    pub fn new(config: &'c AuditConfig) -> Self {
        Audit {
            config,
            checked: 0,
            no_client: 0,
            kinds: HashMap::new(),
            lb_ips: HashMap::new(),
            spoofed: HashMap::new(),
            spoofed_other: 0,
        }
    }

    fn tally(&mut self, kind: Kind, at: LineAt, time: Option<i64>) {
        let limit = self.config.samples;
        self.kinds.entry(kind).or_default().add(at, time, limit);
    }

    /// Audits one line.
    pub fn record(&mut self, rec: &Record<'_>, at: LineAt) {
        let cfg = self.config;
        let Some(logged) = rec.get(Field::RemoteAddr).and_then(|v| Addr::parse(v).ok()) else {
            self.no_client += 1;
            return;
        };
        self.checked += 1;
        let time = rec.epoch_seconds();
        let peer = if cfg.peer_logged {
            rec.get(Field::RealipRemoteAddr)
                .and_then(|v| Addr::parse(v).ok())
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
            return;
        }

        if let Some(ip) = logged.ip() {
            if reserved::reserved(ip).is_some() {
                self.tally(Kind::ReservedClient, at, time);
            }
        }

        let Some(value) = value else {
            // No forwarding header: nginx keeps the peer; nothing to resolve.
            if let Some(p) = peer {
                if p != logged {
                    self.tally(Kind::ConfigDrift, at, time);
                }
            }
            return;
        };

        // The header's entries, right to left, as nginx tokenises them.
        let (entries, rightmost) = entries(value);

        // The resolution under the declared trust. Without a logged peer, assume the request
        // came through a trusted front end (the only way the header could matter).
        let trusted = cfg.resolver.trusted();
        let assumed_peer = peer.or_else(|| {
            trusted.entries().iter().find_map(|e| match e.net {
                crate::net::TrustNet::Net(n) => Some(Addr::Ip(n.network())),
                crate::net::TrustNet::Unix => None,
            })
        });
        let expected = assumed_peer.map(|p| cfg.resolver.resolve(p, [value]));

        if let (Some(p), Some(_)) = (peer, expected) {
            if !trusted.contains(&p) {
                self.tally(Kind::UntrustedPeer, at, time);
            }
        }
        // Is the logged client a load-balancer hop?
        let lb_shape =
            entries >= 2 && rightmost == Some(logged) && (peer.is_none() || from_front_end);
        let trusted_hop = peer.is_some_and(|p| trusted.contains(&p))
            && trusted.contains(&logged)
            && expected.is_some_and(|e| e.addr != logged);

        if let Some(e) = expected {
            match e.stop {
                Stop::InvalidToken | Stop::RightmostInvalid => {
                    self.tally(Kind::GarbageInHeader, at, time)
                }
                Stop::AllTrusted => self.tally(Kind::AllTrusted, at, time),
                _ => {}
            }
        }
        // Entries left of the real client. When the LB hop was not trusted, the real client
        // is the entry left of it, not the hop itself.
        let client_taken = match expected {
            _ if lb_shape => Some(2),
            Some(e) if e.stop == Stop::Untrusted => Some(e.taken),
            _ => None,
        };
        if let Some(taken) = client_taken.filter(|&t| (t as usize) < entries) {
            self.tally(Kind::SpoofAttempt, at, time);
            self.note_spoof(value, taken);
        }

        if lb_shape || trusted_hop {
            if let Some(ip) = logged.ip() {
                let limit = cfg.samples;
                self.lb_ips.entry(ip).or_default().add(at, time, limit);
            }
            self.tally(Kind::UnresolvedLbIp, at, time);
            return;
        }
        match (peer, expected) {
            (Some(_), Some(e)) if e.addr != logged => self.tally(Kind::ConfigDrift, at, time),
            (None, Some(e)) if e.addr != logged => self.tally(Kind::Undecided, at, time),
            _ => {}
        }
    }

    fn note_spoof(&mut self, value: &[u8], taken: u32) {
        // The leftmost entry is the one a client typed first; keep a bounded top list.
        let mut len = value.len();
        let mut k = 0u32;
        let mut leftmost: &[u8] = &[];
        loop {
            let span = header::token_span(value, len);
            k += 1;
            if k > taken {
                leftmost = &value[span.clone()];
            }
            if span.start == 0 {
                break;
            }
            len = span.start - 1;
        }
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
        let limit = self.config.samples;
        self.checked += other.checked;
        self.no_client += other.no_client;
        for (k, t) in other.kinds {
            self.kinds.entry(k).or_default().merge(t, limit);
        }
        for (ip, t) in other.lb_ips {
            self.lb_ips.entry(ip).or_default().merge(t, limit);
        }
        for (v, n) in other.spoofed {
            if let Some(mine) = self.spoofed.get_mut(&v) {
                *mine += n;
            } else if self.spoofed.len() < self.config.max_spoof_values {
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

    /// Lines whose logged client is not the real client (unresolved LB IPs and drift).
    pub fn misresolved(&self) -> u64 {
        let n = |k| self.kinds.get(&k).map_or(0, |t| t.count);
        n(Kind::UnresolvedLbIp) + n(Kind::ConfigDrift)
    }

    /// The plain-data view; `locate` turns a position into `path:line`.
    pub fn view(&self, locate: impl Fn(LineAt) -> String) -> AuditView {
        let share = |n: u64| {
            if self.checked == 0 {
                0.0
            } else {
                n as f64 / self.checked as f64
            }
        };
        let mut lb: Vec<LbIpView> = self
            .lb_ips
            .iter()
            .map(|(ip, t)| LbIpView {
                ip: crate::net::NginxText(*ip).to_string(),
                lines: t.count,
                share: share(t.count),
                first: t.samples.first().map(|&a| locate(a)).unwrap_or_default(),
                first_time: t.first_time,
                last_time: t.last_time,
                samples: t.samples.iter().map(|&a| locate(a)).collect(),
            })
            .collect();
        lb.sort_by(|a, b| b.lines.cmp(&a.lines).then_with(|| a.ip.cmp(&b.ip)));
        let suggested = lb.iter().map(|l| l.ip.clone()).collect();
        let mut top: Vec<(String, u64)> = self
            .spoofed
            .iter()
            .map(|(v, n)| (crate::report::escape::escape_bytes(v).into_owned(), *n))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(10);
        let findings = Kind::ALL
            .iter()
            .filter_map(|k| self.kinds.get(k).map(|t| (k, t)))
            .map(|(k, t)| FindingView {
                kind: k.as_str(),
                description: k.describe(),
                count: t.count,
                share: share(t.count),
                samples: t.samples.iter().map(|&a| locate(a)).collect(),
                first_time: t.first_time,
                last_time: t.last_time,
                top: if *k == Kind::SpoofAttempt {
                    top.clone()
                } else {
                    Vec::new()
                },
            })
            .collect();
        let c = &self.config;
        AuditView {
            checked: self.checked,
            misresolved: self.misresolved(),
            no_client: self.no_client,
            header: c.resolver.header().name().to_string(),
            recursive: c.resolver.recursive(),
            trust: c
                .resolver
                .trusted()
                .entries()
                .iter()
                .map(|e| e.net.to_string())
                .collect(),
            peer_logged: c.peer_logged,
            unresolved_lb_ips: lb,
            suggested_set_real_ip_from: suggested,
            findings,
        }
    }
}

/// Counts the header's entries as nginx would walk them and parses the rightmost one.
fn entries(value: &[u8]) -> (usize, Option<Addr>) {
    let mut len = value.len();
    let mut n = 0usize;
    let mut rightmost = None;
    loop {
        let span = header::token_span(value, len);
        if n == 0 {
            rightmost = header::parse_token(&value[span.clone()], true)
                .ok()
                .map(|(ip, _)| Addr::Ip(ip));
        }
        n += 1;
        if span.start == 0 {
            return (n, rightmost);
        }
        len = span.start - 1;
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

/// One unresolved load-balancer IP as reported.
#[derive(Clone, Debug, PartialEq)]
pub struct LbIpView {
    /// The IP (nginx text form).
    pub ip: String,
    /// Lines logged with it as the client.
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
    /// Whether recursion was assumed on.
    pub recursive: bool,
    /// The declared trust, as CIDRs.
    pub trust: Vec<String>,
    /// Whether the log carries `$realip_remote_addr`.
    pub peer_logged: bool,
    /// Unresolved load-balancer IPs, most lines first.
    pub unresolved_lb_ips: Vec<LbIpView>,
    /// The addresses to add with `set_real_ip_from`.
    pub suggested_set_real_ip_from: Vec<String>,
    /// Every kind of finding that occurred.
    pub findings: Vec<FindingView>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::Header;

    fn audit(trust: &[&str], peer_logged: bool) -> Audit<'static> {
        let (t, _) = TrustedSet::parse(trust).unwrap();
        let r = Resolver::new(t, Header::x_forwarded_for(), true);
        Audit::new(Box::leak(Box::new(AuditConfig::new(
            r,
            Field::HttpXForwardedFor,
            peer_logged,
        ))))
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
        let mut v: Vec<_> = a.kinds.iter().map(|(k, t)| (k.as_str(), t.count)).collect();
        v.sort();
        v
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
    }

    #[test]
    fn a_trusted_lb_ip_that_nginx_did_not_trust_is_found_too() {
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
        assert_eq!(
            a.view(|_| String::new()).suggested_set_real_ip_from,
            ["34.120.5.6"]
        );
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
            "8.8.4.4",
            "35.191.1.1",
            "garbage, 34.120.5.6",
            "ua",
        );
        assert_eq!(a.misresolved(), 1, "{:?}", counts(&a));
        let c = counts(&a);
        assert!(c.contains(&("health_check", 1)), "{c:?}");
        assert!(c.contains(&("untrusted_peer", 1)), "{c:?}");
        assert!(c.contains(&("spoof_attempt", 1)), "{c:?}");
        assert!(c.contains(&("garbage_in_header", 1)), "{c:?}");
        // Line 3: nginx would have logged 34.120.5.6 (walk stopped at garbage); 8.8.4.4 is drift.
        assert!(c.contains(&("config_drift", 1)), "{c:?}");
        let v = a.view(|at| at.line.to_string());
        let spoof = v
            .findings
            .iter()
            .find(|f| f.kind == "spoof_attempt")
            .unwrap();
        assert_eq!(spoof.top, [("1.2.3.4".to_string(), 1)]);
    }

    #[test]
    fn without_the_peer_the_lb_shape_still_works_and_the_rest_is_undecided() {
        let mut a = audit(&["gcp", "34.120.5.6"], false);
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
    }

    #[test]
    fn merging_splits_gives_the_same_view() {
        let rows = [
            ("203.0.113.7", "35.191.1.1", "203.0.113.7,34.120.5.6"),
            ("34.149.9.9", "35.191.1.2", "198.51.100.2,34.149.9.9"),
            ("198.51.100.99", "198.51.100.99", "10.0.0.1"),
            ("8.8.8.8", "35.191.1.1", "1.2.3.4, 8.8.8.8,34.120.5.6"),
        ];
        let mut whole = audit(&["gcp", "34.120.5.6"], true);
        let mut a = audit(&["gcp", "34.120.5.6"], true);
        let mut b = audit(&["gcp", "34.120.5.6"], true);
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
