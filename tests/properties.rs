//! Property tests: what must hold for every request, not just the table cases.
//!
//! * Spoofing resistance: whatever a client writes to the left of its own address (garbage,
//!   trusted addresses, separators, whole extra header lines) never changes who it resolves to.
//! * Idempotence, stated the way it is true for nginx (see the comment above those tests).
//! * Canonical output: nginx's text form of an address parses back to the same address,
//!   except the three all-ones addresses nginx itself cannot read back.
//! * No input makes a parser or the walk panic, and `token_span` stays in bounds.
//! * The library's walk agrees with a slow, obvious model of SPEC rules 4 and 5 written here.
//!
//! Nothing here touches the filesystem: every config sets `failure_persistence: None`.
//! Real nginx is the oracle in `nginx_oracle.rs`; these tests check the library against
//! itself, against a model, and against the standard library's address parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;
use proptest::sample::Index;
use realip::net::inet::{parse_ip, parse_ipv4, parse_ipv6};
use realip::net::{NginxText, Origin};
use realip::resolve::header::{parse_token, token_span};
use realip::{Addr, Header, Resolution, Resolver, Stop, TrustEntry, TrustNet, TrustedSet};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The addresses whose nginx text form nginx's own parser rejects: `ngx_inet_addr` returns
/// `INADDR_NONE` for `255.255.255.255`, also as the dotted tail of an IPv6 address, and
/// `ngx_inet6_ntop` prints a dotted tail for `::ffff:a.b.c.d` (mapped) and for
/// `::a.b.c.d` (six zero groups, "compatible").
const UNREPRESENTABLE: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::BROADCAST),
    IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff)),
    IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0xffff, 0xffff)),
];

fn render(ip: IpAddr) -> String {
    NginxText(ip).to_string()
}

fn is_sep(b: u8) -> bool {
    b == b' ' || b == b','
}

fn set_of(nets: &[IpNet], unix: bool) -> TrustedSet {
    let mut entries: Vec<TrustEntry> = nets
        .iter()
        .map(|&n| TrustEntry {
            net: TrustNet::Net(n),
            origin: Origin::Given(n.to_string()),
        })
        .collect();
    if unix {
        entries.push(TrustEntry {
            net: TrustNet::Unix,
            origin: Origin::Given("unix:".into()),
        });
    }
    TrustedSet::from_entries(entries)
}

/// The entry `set_real_ip_from <ip>;` makes: /32 or /128; a mapped address is trusted through
/// its IPv4 form (IPv6 entries never match mapped addresses).
fn host_net(ip: IpAddr) -> IpNet {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpNet::V4(Ipv4Net::from(v4)),
            None => IpNet::V6(Ipv6Net::from(v6)),
        },
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::from(v4)),
    }
}

fn lines_of(lines: &[Vec<u8>]) -> impl DoubleEndedIterator<Item = &[u8]> {
    lines.iter().map(|l| l.as_slice())
}

// ---- strategies ---------------------------------------------------------------------------

fn ipv4() -> BoxedStrategy<Ipv4Addr> {
    prop_oneof![
        4 => any::<u32>().prop_map(Ipv4Addr::from),
        1 => prop::array::uniform4(prop_oneof![Just(0u8), Just(1), Just(255), any::<u8>()])
            .prop_map(Ipv4Addr::from),
    ]
    .boxed()
}

/// IPv6 addresses rich in zero runs, `ffff` groups and small groups, where nginx's text form
/// has its special cases (dotted tails, which zero run is compressed).
fn ipv6() -> BoxedStrategy<Ipv6Addr> {
    let group = prop_oneof![
        4 => Just(0u16),
        1 => Just(0xffff),
        1 => Just(1),
        1 => 0u16..0x300,
        2 => any::<u16>(),
    ];
    prop_oneof![
        2 => any::<[u8; 16]>().prop_map(Ipv6Addr::from),
        3 => prop::array::uniform8(group).prop_map(Ipv6Addr::from),
        1 => ipv4().prop_map(|v4| v4.to_ipv6_mapped()),
        1 => ipv4().prop_map(|v4| Ipv6Addr::from(u128::from(u32::from(v4)))),
    ]
    .boxed()
}

fn ip() -> BoxedStrategy<IpAddr> {
    prop_oneof![ipv4().prop_map(IpAddr::V4), ipv6().prop_map(IpAddr::V6)].boxed()
}

/// An address that has a token form (every address but the unrepresentable three).
fn token_ip() -> BoxedStrategy<IpAddr> {
    ip().prop_filter("no token form", |ip| !UNREPRESENTABLE.contains(ip))
        .boxed()
}

fn cidr() -> BoxedStrategy<IpNet> {
    prop_oneof![
        (ipv4(), 8u8..=32).prop_map(|(a, len)| IpNet::V4(Ipv4Net::new(a, len).unwrap().trunc())),
        (ipv6(), 16u8..=128).prop_map(|(a, len)| IpNet::V6(Ipv6Net::new(a, len).unwrap().trunc())),
    ]
    .boxed()
}

/// One way a proxy may write `ip` (and `port`) into a header, and what nginx reads from it.
#[derive(Clone, Debug)]
struct Written {
    text: String,
    ip: IpAddr,
    port: Option<u16>,
}

fn written(ip: IpAddr, port: Option<u16>, form: u8) -> Written {
    let plain = render(ip);
    let text = match (ip, port, form % 3) {
        (IpAddr::V4(v4), None, 2) => {
            let [a, b, c, d] = v4.octets();
            format!("{a:03}.{b:03}.{c:03}.{d:03}")
        }
        (IpAddr::V6(_), None, 2) => plain.to_uppercase(),
        (_, None, 1) => format!("[{plain}]"),
        (_, None, _) => plain,
        (IpAddr::V4(_), Some(p), 0) => format!("{plain}:{p}"),
        (IpAddr::V4(_), Some(p), 1) => format!("{plain}:0{p}"),
        (_, Some(p), _) => format!("[{plain}]:{p}"),
    };
    Written { text, ip, port }
}

fn written_ip() -> BoxedStrategy<Written> {
    (token_ip(), prop::option::of(1u16..=u16::MAX), any::<u8>())
        .prop_map(|(ip, port, form)| written(ip, port, form))
        .boxed()
}

/// A run of separators as proxies write them between entries.
fn sep_run() -> BoxedStrategy<String> {
    "[ ,]{1,3}".boxed()
}

/// What an attacker may put to the left of its own address.
#[derive(Clone, Debug)]
enum Entry {
    Bytes(Vec<u8>),
    Hostile(&'static str),
    Address(Written),
    /// One of the chain's trusted proxies (or the peer), by index.
    Trusted(usize),
    /// The client's own address, as the client itself is written.
    Client,
    Seps(String),
}

const HOSTILE: &[&str] = &[
    "",
    ",",
    " ",
    ", ,",
    "unknown",
    "_hidden",
    "for=192.0.2.60",
    "\"[2001:db8::1]\"",
    "192.0.2.1;",
    "\t10.0.0.1",
    "10.0.0.1\t",
    "192.0.2.1:0",
    "192.0.2.1:65536",
    "192.0.2.1:80:81",
    "[::1",
    "::1]",
    "[]:80",
    "fe80::1%eth0",
    "1:2:3:4:5:6:7::",
    "255.255.255.255",
    "::ffff:255.255.255.255",
    "::ffff:ffff",
    "::ffff:ffff:ffff",
    "010.000.000.001",
    "1..2.3",
    "...",
    "::102",
    ":1:2:3:4:5:6:7:8",
    "0x7f.0.0.1",
    "2130706433",
    "10.0.0.0/8",
    "192.0.2.1",
    "10.0.0.1",
    "10.0.0.2:8080",
    "[2001:db8::1]:443",
    "2001:db8::1",
    "[2001:db8::2]",
    "::ffff:10.0.0.3",
    "35.191.10.20",
];

fn entry() -> BoxedStrategy<Entry> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..12).prop_map(Entry::Bytes),
        2 => prop::sample::select(HOSTILE).prop_map(Entry::Hostile),
        1 => written_ip().prop_map(Entry::Address),
        2 => any::<usize>().prop_map(Entry::Trusted),
        1 => Just(Entry::Client),
        1 => sep_run().prop_map(Entry::Seps),
    ]
    .boxed()
}

/// A header line built from hostile tokens, glued or separated, or raw bytes.
fn hostile_line() -> BoxedStrategy<Vec<u8>> {
    let sep = prop::sample::select(&["", ",", ", ", " ", ",,", " , ", "\t"][..]);
    let token = prop_oneof![
        3 => prop::sample::select(HOSTILE).prop_map(str::to_string),
        2 => written_ip().prop_map(|w| w.text),
    ];
    prop_oneof![
        6 => prop::collection::vec((token, sep), 0..6).prop_map(|parts| {
            parts.into_iter().flat_map(|(t, s)| [t, s.to_string()]).collect::<String>().into_bytes()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..24),
    ]
    .boxed()
}

/// Peers and trusted entries that meet the addresses of `HOSTILE` often.
const PEERS: &[&str] = &[
    "10.0.0.9",
    "192.0.2.1",
    "2001:db8::9",
    "203.0.113.5",
    "::ffff:10.0.0.9",
    "unix:",
];
const NETS: &[&str] = &[
    "10.0.0.0/8",
    "192.0.2.1/32",
    "2001:db8::/32",
    "::ffff:ffff/128",
    "0.0.0.0/0",
    "::/0",
    "35.191.0.0/16",
    "255.255.255.255/32",
    "1.0.2.3/32",
    "::102/128",
];

fn peer_from(pool: &'static [&'static str]) -> BoxedStrategy<Addr> {
    prop::sample::select(pool)
        .prop_map(|p| Addr::parse(p.as_bytes()).unwrap())
        .boxed()
}

/// A trusted set: a random selection from `pool`, a few random CIDRs, maybe `unix:`.
fn trusted_from(pool: &'static [&'static str]) -> BoxedStrategy<(Vec<IpNet>, bool)> {
    (
        prop::collection::vec(any::<bool>(), pool.len()),
        prop::collection::vec(cidr(), 0..4),
        any::<bool>(),
    )
        .prop_map(move |(pick, mut nets, unix)| {
            nets.extend(
                pool.iter()
                    .zip(pick)
                    .filter(|(_, keep)| *keep)
                    .map(|(n, _)| n.parse::<IpNet>().unwrap()),
            );
            (nets, unix)
        })
        .boxed()
}

// ---- spoofing resistance ------------------------------------------------------------------

/// A request a client sends through trusted proxies: the client's line starts with the
/// client, each proxy appends the address it received from (possibly on a new line), and
/// the peer is the last proxy.
#[derive(Clone, Debug)]
struct Chain {
    nets: Vec<IpNet>,
    client: Written,
    proxies: Vec<Written>,
    peer: IpAddr,
    /// Per proxy: the separators before it, and whether it starts a new line instead.
    joins: Vec<(String, bool)>,
    /// Separators some proxies leave at the end of a line.
    trailing: Vec<String>,
}

fn chain() -> BoxedStrategy<Chain> {
    (
        prop::collection::vec(cidr(), 0..6),
        written_ip(),
        prop::collection::vec((written_ip(), sep_run(), prop::bool::weighted(0.3)), 0..5),
        token_ip(),
        prop::collection::vec("[ ,]{0,2}", 6),
    )
        .prop_map(|(nets, client, hops, peer, trailing)| {
            let (proxies, joins) = hops.into_iter().map(|(w, s, nl)| (w, (s, nl))).unzip();
            Chain {
                nets,
                client,
                proxies,
                peer,
                joins,
                trailing,
            }
        })
        .boxed()
}

impl Chain {
    fn trusted(&self) -> TrustedSet {
        let mut nets = self.nets.clone();
        nets.extend(self.proxies.iter().map(|w| host_net(w.ip)));
        nets.push(host_net(self.peer));
        set_of(&nets, false)
    }

    /// The header lines without anything from the attacker.
    fn lines(&self) -> Vec<Vec<u8>> {
        let mut lines = vec![self.client.text.clone()];
        for (w, (sep, new_line)) in self.proxies.iter().zip(&self.joins) {
            if *new_line {
                let t = &self.trailing[lines.len() % self.trailing.len()];
                lines.last_mut().unwrap().push_str(t);
                lines.push(w.text.clone());
            } else {
                let last = lines.last_mut().unwrap();
                last.push_str(sep);
                last.push_str(&w.text);
            }
        }
        lines.into_iter().map(String::into_bytes).collect()
    }

    fn entry_bytes(&self, e: &Entry) -> Vec<u8> {
        match e {
            Entry::Bytes(b) => b.clone(),
            Entry::Hostile(s) => s.as_bytes().to_vec(),
            Entry::Address(w) => w.text.as_bytes().to_vec(),
            Entry::Trusted(k) => match self.proxies.get(k % (self.proxies.len() + 1)) {
                Some(w) => w.text.as_bytes().to_vec(),
                None => render(self.peer).into_bytes(),
            },
            Entry::Client => self.client.text.as_bytes().to_vec(),
            Entry::Seps(s) => s.as_bytes().to_vec(),
        }
    }
}

proptest! {
    #![proptest_config(config(768))]

    /// The client controls everything left of its own address; the trusted proxies only
    /// append. Whatever the client puts there, as whole header lines above its own or as a
    /// value its first proxy appends to (`VALUE` + separators + client), the result is the
    /// client.
    ///
    /// The one precondition is on the proxy, not the attacker: the bytes in front of the
    /// client must not be a single separator, because nginx never reads byte 0 as one
    /// (`,client` is one invalid token; see the test below). nginx's own
    /// `$proxy_add_x_forwarded_for` writes `VALUE, client`, two bytes even for an empty VALUE,
    /// so a one-byte join after an empty value is replaced by `, ` here.
    #[test]
    fn prepending_attacker_entries_never_changes_the_client(
        chain in chain(),
        recursive in prop::bool::weighted(0.8),
        entries in prop::collection::vec((entry(), sep_run()), 0..8),
        whole_lines in 0usize..4,
        join in sep_run(),
    ) {
        let trusted = chain.trusted();
        prop_assume!(!trusted.contains_ip(chain.client.ip));
        let r = Resolver::new(trusted, Header::x_forwarded_for(), recursive);
        let peer = Addr::Ip(chain.peer);
        let honest = chain.lines();
        let want = r.resolve(peer, lines_of(&honest));
        if recursive {
            // Without an attacker the walk reaches the client, through every proxy.
            prop_assert_eq!(want.addr, Addr::Ip(chain.client.ip), "{:?}", want);
            prop_assert_eq!(want.port, chain.client.port);
            prop_assert_eq!(want.taken, chain.proxies.len() as u32 + 1);
            prop_assert_eq!(want.stop, Stop::Untrusted);
        }

        // The first entries become whole lines above the client's line; the rest, joined by
        // their separators, are the value the client's first proxy appends to.
        let split = whole_lines.min(entries.len());
        let mut attacked: Vec<Vec<u8>> =
            entries[..split].iter().map(|(e, _)| chain.entry_bytes(e)).collect();
        let mut own = honest.clone();
        if let Some(((last, _), rest)) = entries[split..].split_last() {
            let mut value = Vec::new();
            for (e, sep) in rest {
                value.extend_from_slice(&chain.entry_bytes(e));
                value.extend_from_slice(sep.as_bytes());
            }
            value.extend_from_slice(&chain.entry_bytes(last));
            let join = if value.is_empty() && join.len() == 1 { ", " } else { join.as_str() };
            value.extend_from_slice(join.as_bytes());
            value.extend_from_slice(&own[0]);
            own[0] = value;
        }
        attacked.extend(own);

        let got = r.resolve(peer, lines_of(&attacked));
        let shown: Vec<_> = attacked.iter().map(|l| String::from_utf8_lossy(l)).collect();
        prop_assert_eq!(got, want, "lines: {:?}", shown);
    }
}

/// The precondition above, shown: one separator in front of the client glues to it (nginx
/// never reads byte 0 as a separator), so the walk stops at the proxy to its right instead.
/// Two separators, as nginx's proxy module writes them, are fine.
#[test]
fn a_single_separator_before_the_client_hides_it_which_is_why_proxies_write_two() {
    let (trusted, _) = TrustedSet::parse(["10.0.0.0/8"]).unwrap();
    let r = Resolver::new(trusted, Header::x_forwarded_for(), true);
    let peer = Addr::parse(b"10.0.0.2").unwrap();
    let resolve = |v: &str| r.resolve(peer, [v.as_bytes()]);
    for glued in [",203.0.113.7, 10.0.0.1", " 203.0.113.7, 10.0.0.1"] {
        let res = resolve(glued);
        assert_eq!(
            (res.addr.to_string(), res.stop),
            ("10.0.0.1".into(), Stop::InvalidToken)
        );
    }
    for fine in [
        ", 203.0.113.7, 10.0.0.1",
        ",,203.0.113.7, 10.0.0.1",
        "x,203.0.113.7, 10.0.0.1",
    ] {
        assert_eq!(resolve(fine).addr.to_string(), "203.0.113.7", "{fine}");
    }
}

// ---- idempotence --------------------------------------------------------------------------
//
// "Resolve the result again" has two honest readings, and both are tested below.
//
// 1. Applying realip a second time to the already-resolved request (peer := result, same
//    header lines). The walk looks at the peer for one thing only, whether it is trusted, so
//    the *address* never changes: an untrusted result makes the second pass a no-op (peer not
//    trusted, header ignored), and a trusted result makes the second pass the exact same walk.
//    What is not idempotent is the metadata: the no-op pass reports `PeerUntrusted`, no port,
//    nothing taken.
//
// 2. Forwarding the result: a trusted proxy that writes `$remote_addr` (or
//    `$remote_addr:$remote_port`, bracketed for IPv6) into the header of the next hop must
//    make that hop resolve to the same client. That holds exactly when nginx's text form is
//    readable by nginx's parser, which fails for the three `UNREPRESENTABLE` addresses; in
//    particular `::ffff:ffff` (a valid token) prints as `::255.255.255.255`, which no nginx
//    accepts back.

/// A request built from hostile tokens, against a trusted set that meets them often.
#[derive(Clone, Debug)]
struct Request {
    peer: Addr,
    lines: Vec<Vec<u8>>,
    nets: Vec<IpNet>,
    unix: bool,
    recursive: bool,
    xff: bool,
}

fn request() -> BoxedStrategy<Request> {
    (
        peer_from(PEERS),
        prop::collection::vec(hostile_line(), 0..4),
        trusted_from(NETS),
        any::<bool>(),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(peer, lines, (nets, unix), recursive, xff)| Request {
            peer,
            lines,
            nets,
            unix,
            recursive,
            xff,
        })
        .boxed()
}

impl Request {
    fn resolver(&self) -> Resolver {
        Resolver::new(
            set_of(&self.nets, self.unix),
            header(self.xff),
            self.recursive,
        )
    }
}

fn header(xff: bool) -> Header {
    if xff {
        Header::x_forwarded_for()
    } else {
        Header::new("X-Real-IP").unwrap()
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn resolving_again_from_the_result_keeps_the_address_and_only_loses_metadata(
        req in request(),
    ) {
        let r = req.resolver();
        let first = r.resolve(req.peer, lines_of(&req.lines));
        let again = r.resolve(first.addr, lines_of(&req.lines));
        prop_assert_eq!(again.addr, first.addr);
        if first.applied() && !r.trusted().contains(&first.addr) {
            prop_assert_eq!(
                again,
                Resolution { addr: first.addr, port: None, stop: Stop::PeerUntrusted, taken: 0 }
            );
        } else {
            prop_assert_eq!(again, first);
        }
    }

    #[test]
    fn forwarding_the_result_as_remote_addr_resolves_to_the_same_client(
        req in request(),
        next_recursive in any::<bool>(),
        with_port in any::<bool>(),
    ) {
        let first = req.resolver().resolve(req.peer, lines_of(&req.lines));
        let Addr::Ip(ip) = first.addr else { return Ok(()) };

        // The next hop trusts only us, and we connect to it from 192.0.2.200.
        let us: IpAddr = "192.0.2.200".parse().unwrap();
        let next = Resolver::new(set_of(&[host_net(us)], false), Header::x_forwarded_for(), next_recursive);
        let text = match (with_port, first.port, ip) {
            (true, Some(p), IpAddr::V4(_)) => format!("{}:{p}", first.addr),
            (true, Some(p), IpAddr::V6(_)) => format!("[{}]:{p}", first.addr),
            _ => first.addr.to_string(),
        };
        let forwarded = next.resolve(Addr::Ip(us), [text.as_bytes()]);
        if UNREPRESENTABLE.contains(&ip) {
            prop_assert_eq!(forwarded.stop, Stop::RightmostInvalid, "{}", text);
        } else {
            prop_assert_eq!(forwarded.addr, first.addr, "{}", text);
            prop_assert_eq!(forwarded.taken, 1);
            let port = if with_port { first.port } else { None };
            prop_assert_eq!(forwarded.port, port, "{}", text);
        }
    }
}

// ---- canonical output ---------------------------------------------------------------------

#[test]
fn exactly_the_three_all_ones_addresses_have_no_readable_text_form() {
    let texts: Vec<String> = UNREPRESENTABLE.iter().map(|&ip| render(ip)).collect();
    assert_eq!(
        texts,
        [
            "255.255.255.255",
            "::ffff:255.255.255.255",
            "::255.255.255.255"
        ]
    );
    for (ip, text) in UNREPRESENTABLE.iter().zip(&texts) {
        assert_eq!(parse_ip(text.as_bytes()), None, "{text}");
        // The standard library reads them, so the text itself is right; nginx's parser is
        // what refuses `255.255.255.255`.
        assert_eq!(text.parse::<IpAddr>().unwrap(), *ip);
    }
    // `::ffff:ffff` is itself a valid token, so it can come out of a header.
    assert_eq!(parse_ip(b"::ffff:ffff"), Some(UNREPRESENTABLE[2]));
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn nginx_text_parses_back_to_the_same_address_unless_unrepresentable(ip in ip()) {
        let text = render(ip);
        match parse_ip(text.as_bytes()) {
            Some(back) => prop_assert_eq!(back, ip, "{}", text),
            None => prop_assert!(UNREPRESENTABLE.contains(&ip), "{} ({:?}) does not parse", text, ip),
        }
    }

    #[test]
    fn nginx_text_of_random_words_and_u32s_parses_back(
        v6 in any::<[u8; 16]>(),
        v4 in any::<u32>(),
    ) {
        for ip in [IpAddr::V6(Ipv6Addr::from(v6)), IpAddr::V4(Ipv4Addr::from(v4))] {
            let back = parse_ip(render(ip).as_bytes());
            prop_assert_eq!(back.is_none(), UNREPRESENTABLE.contains(&ip), "{}", render(ip));
            if let Some(back) = back {
                prop_assert_eq!(back, ip);
            }
        }
    }

    /// An oracle independent of this crate's parser: the standard library reads every nginx
    /// text form (dotted tails included) as the same address.
    #[test]
    fn nginx_text_means_the_same_address_to_the_standard_library(ip in ip()) {
        let text = render(ip);
        prop_assert_eq!(text.parse::<IpAddr>().ok(), Some(ip), "{}", text);
        if let IpAddr::V4(v4) = ip {
            prop_assert_eq!(text, v4.to_string());
        }
    }

    /// Any text nginx accepts renders to a form that renders to itself.
    #[test]
    fn rendering_is_a_fixpoint_after_one_step(
        text in "[0-9a-fA-F:.]{0,40}",
        ip in ip(),
    ) {
        if let Some(parsed) = parse_ip(text.as_bytes()) {
            let once = render(parsed);
            match parse_ip(once.as_bytes()) {
                Some(back) => {
                    prop_assert_eq!(back, parsed);
                    prop_assert_eq!(render(back), once);
                }
                None => prop_assert!(UNREPRESENTABLE.contains(&parsed), "{} -> {}", text, once),
            }
        }
        if let Some(back) = parse_ip(render(ip).as_bytes()) {
            prop_assert_eq!(render(back), render(ip));
        }
    }
}

// ---- no panics, bounds --------------------------------------------------------------------

/// Bytes that are mostly address-like, so the parsers get deep, plus anything at all.
fn bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48),
        "[0-9a-fA-F:.\\[\\], ]{0,48}".prop_map(String::into_bytes),
        prop::collection::vec(prop::sample::select(&b"0123456789.:[],% \tfF"[..]), 0..48),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(b in bytes()) {
        let v4 = parse_ipv4(&b);
        let v6 = parse_ipv6(&b);
        let ip = parse_ip(&b);
        prop_assert_eq!(ip, v4.map(IpAddr::V4).or(v6.map(IpAddr::V6)));
        let new = parse_token(&b, true);
        let old = parse_token(&b, false);
        // The two versions differ only on `[addr]` without a port.
        if new != old {
            prop_assert!(b.first() == Some(&b'[') && b.last() == Some(&b']'), "{:?}", b);
        }
        let _ = Addr::parse(&b);
        let _ = TrustedSet::parse([String::from_utf8_lossy(&b)]);
    }

    #[test]
    fn token_span_stays_within_the_prefix_it_is_given(b in bytes(), at in any::<Index>()) {
        let len = at.index(b.len() + 1);
        let span = token_span(&b, len);
        prop_assert!(span.start <= span.end && span.end <= len, "{:?} in {}", span, len);
        // The walk it drives always terminates: each step strictly shortens the prefix.
        let (mut len, mut steps) = (len, 0);
        loop {
            let span = token_span(&b, len);
            steps += 1;
            if span.start == 0 {
                break;
            }
            prop_assert!(span.start - 1 < len);
            len = span.start - 1;
        }
        prop_assert!(steps <= b.len() + 1);
    }

    #[test]
    fn resolving_arbitrary_lines_never_panics_and_keeps_its_invariants(
        lines in prop::collection::vec(bytes(), 0..4),
        peer in peer_from(PEERS),
        (nets, unix) in trusted_from(NETS),
        recursive in any::<bool>(),
        xff in any::<bool>(),
    ) {
        let r = Resolver::new(set_of(&nets, unix), header(xff), recursive);
        let res = r.resolve(peer, lines_of(&lines));
        if res.applied() {
            prop_assert!(matches!(res.addr, Addr::Ip(_)));
            prop_assert!(res.taken >= 1);
            if !recursive {
                prop_assert_eq!(res.taken, 1);
            }
        } else {
            prop_assert_eq!((res.addr, res.port, res.taken), (peer, None, 0));
        }
        prop_assert_eq!(lines.is_empty(), res.stop == Stop::HeaderAbsent);
        let explained = r.explain(peer, lines_of(&lines));
        prop_assert_eq!(explained.resolution, res);
    }
}

// ---- the reference model ------------------------------------------------------------------
//
// SPEC rules 4 and 5 (reference §2.1, §2.2, §8), written the slow way: cut a whole value into
// its tokens first, then walk them. Byte 0 always belongs to the leftmost token; only the
// bytes after it are split on runs of separators. If byte 1 is a separator (or there is no
// byte 1), byte 0 is a token on its own; otherwise it is glued to the first piece.

/// The tokens nginx's walk would meet in `value`, left to right.
fn model_tokens(value: &[u8]) -> Vec<Vec<u8>> {
    let Some((&first, rest)) = value.split_first() else {
        // nginx parses one byte before the buffer: an invalid token, like the empty one.
        return vec![Vec::new()];
    };
    let mut pieces: Vec<Vec<u8>> = rest
        .split(|&b| is_sep(b))
        .filter(|p| !p.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let glued = rest.first().is_some_and(|&b| !is_sep(b));
    let mut leftmost = vec![first];
    if glued {
        leftmost.extend(pieces.remove(0));
    }
    let mut tokens = vec![leftmost];
    tokens.extend(pieces);
    tokens
}

/// `ngx_parse_addr_port`, current nginx (`[addr]` alone is valid).
fn model_parse(token: &[u8]) -> Option<(IpAddr, Option<u16>)> {
    if let Some(ip) = parse_ip(token) {
        return Some((ip, None));
    }
    let (addr, port) = if let Some(inner) = token.strip_prefix(b"[") {
        let close = inner.iter().position(|&b| b == b']')?;
        let (addr, after) = (&inner[..close], &inner[close + 1..]);
        if after.is_empty() {
            return parse_ip(addr).map(|ip| (ip, None));
        }
        (addr, after.strip_prefix(b":")?)
    } else {
        let colon = token.iter().position(|&b| b == b':')?;
        (&token[..colon], &token[colon + 1..])
    };
    let port = std::str::from_utf8(port).ok()?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port
        .trim_start_matches('0')
        .parse()
        .ok()
        .filter(|&p| p != 0)?;
    Some((parse_ip(addr)?, Some(port)))
}

/// `ngx_cidr_match`, linearly.
fn model_trusted(nets: &[IpNet], unix: bool, addr: &Addr) -> bool {
    let ip = match addr {
        Addr::Unix => return unix,
        Addr::Ip(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(IpAddr::V6(*v6), IpAddr::V4),
        Addr::Ip(ip) => *ip,
    };
    nets.iter().any(|net| match (net, ip) {
        (IpNet::V4(n), IpAddr::V4(a)) => n.contains(&a),
        (IpNet::V6(n), IpAddr::V6(a)) => n.contains(&a),
        _ => false,
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Rc {
    Ok,
    Done,
    Declined,
}

struct Model<'a> {
    nets: &'a [IpNet],
    unix: bool,
    recursive: bool,
    cur: Addr,
    port: Option<u16>,
    taken: u32,
}

impl Model<'_> {
    /// `ngx_http_get_forwarded_addr_internal` on one value.
    fn internal(&mut self, value: &[u8]) -> Rc {
        let mut found = false;
        for token in model_tokens(value).iter().rev() {
            if !model_trusted(self.nets, self.unix, &self.cur) {
                return if found { Rc::Done } else { Rc::Declined };
            }
            let Some((ip, port)) = model_parse(token) else {
                return if found { Rc::Done } else { Rc::Declined };
            };
            (self.cur, self.port, self.taken, found) = (Addr::Ip(ip), port, self.taken + 1, true);
            if !self.recursive {
                return Rc::Ok;
            }
        }
        Rc::Ok
    }
}

/// `ngx_http_get_forwarded_addr` plus the realip handler: (addr, port, applied, taken).
fn model_resolve(
    nets: &[IpNet],
    unix: bool,
    recursive: bool,
    all_lines: bool,
    peer: Addr,
    lines: &[Vec<u8>],
) -> (Addr, Option<u16>, bool, u32) {
    let mut m = Model {
        nets,
        unix,
        recursive,
        cur: peer,
        port: None,
        taken: 0,
    };
    let rc = match (all_lines, lines.first()) {
        (_, None) => Rc::Declined,
        (false, Some(first)) => m.internal(first),
        (true, Some(_)) => {
            let (mut rc, mut found) = (Rc::Declined, false);
            for line in lines.iter().rev() {
                rc = m.internal(line);
                if !recursive {
                    break;
                }
                if rc == Rc::Declined && found {
                    rc = Rc::Done;
                    break;
                }
                if rc != Rc::Ok {
                    break;
                }
                found = true;
            }
            rc
        }
    };
    match rc {
        Rc::Declined => (peer, None, false, 0),
        Rc::Ok | Rc::Done => (m.cur, m.port, true, m.taken),
    }
}

/// Addresses made of the small alphabet, so random values contain real tokens.
const SMALL_TOKENS: &[&str] = &[
    "1.1.1.1",
    "1.2.0.5",
    "2.5.0.1",
    "0.0.0.0",
    "...",
    "1..2.",
    "5.5.5.5",
    "255.255.255.255",
    "::1",
    "a::f",
    "::",
    "::ffff:1.1.1.1",
    "::ffff:ffff",
    "1:2:5:a:f:0:1:2",
    ":1:2:5:a:f:0:1:2",
    "1:2:5:a:f:0:1::",
    "[::1]:25",
    "[::1]",
    "1.1.1.1:5",
    "1.1.1.1:05",
    "[1.1.1.1]:1",
    "a:f",
    "2.0.0.1:0",
    "[a::]:",
];
const SMALL_NETS: &[&str] = &[
    "1.1.1.1/32",
    "1.0.0.0/8",
    "0.0.0.0/0",
    "2.5.0.0/16",
    "5.5.5.5/32",
    "0.0.0.0/32",
    "::1/128",
    "a::/16",
    "::/0",
    "::/128",
    "::ffff:0:0/96",
    "::ffff:ffff/128",
    "1:2::/32",
    "255.255.255.255/32",
];
const SMALL_PEERS: &[&str] = &[
    "1.1.1.1", "2.5.0.1", "0.0.0.0", "::1", "a::f", "f::", "unix:",
];

fn small_value() -> BoxedStrategy<Vec<u8>> {
    let chunk = prop_oneof![
        3 => prop::sample::select(SMALL_TOKENS).prop_map(str::to_string),
        3 => "[1.,: \\[\\]af025]{1,3}",
        2 => "[ ,]{1,3}",
    ];
    prop_oneof![
        1 => "[1.,: \\[\\]af025]{0,24}".prop_map(String::into_bytes),
        2 => prop::collection::vec(chunk, 0..8).prop_map(|c| c.concat().into_bytes()),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn token_span_finds_the_same_rightmost_token_as_the_model(
        value in small_value(),
        at in any::<Index>(),
    ) {
        let len = at.index(value.len() + 1);
        let span = token_span(&value, len);
        let model = model_tokens(&value[..len]);
        prop_assert_eq!(&value[span], model.last().unwrap().as_slice());
    }

    #[test]
    fn parse_token_agrees_with_the_model(value in small_value()) {
        prop_assert_eq!(parse_token(&value, true).ok(), model_parse(&value));
    }

    #[test]
    fn the_walk_agrees_with_a_slow_obvious_model_on_one_line(
        value in small_value(),
        peer in peer_from(SMALL_PEERS),
        (nets, unix) in trusted_from(SMALL_NETS),
        recursive in any::<bool>(),
    ) {
        let lines = [value];
        let r = Resolver::new(set_of(&nets, unix), Header::x_forwarded_for(), recursive);
        let res = r.resolve(peer, lines_of(&lines));
        let model = model_resolve(&nets, unix, recursive, true, peer, &lines);
        prop_assert_eq!((res.addr, res.port, res.applied(), res.taken), model, "{:?}", res);
    }

    #[test]
    fn the_walk_agrees_with_the_model_across_several_lines(
        lines in prop::collection::vec(small_value(), 0..4),
        peer in peer_from(SMALL_PEERS),
        (nets, unix) in trusted_from(SMALL_NETS),
        recursive in any::<bool>(),
        xff in any::<bool>(),
    ) {
        let r = Resolver::new(set_of(&nets, unix), header(xff), recursive);
        let res = r.resolve(peer, lines_of(&lines));
        let model = model_resolve(&nets, unix, recursive, xff, peer, &lines);
        prop_assert_eq!((res.addr, res.port, res.applied(), res.taken), model, "{:?}", res);
    }
}
