//! Benchmarks for the realip walk: one request through `Resolver::resolve`, trust lookups in a
//! large `TrustedSet`, and the `--batch` loop end to end.
//!
//! Owns: generated inputs (deterministic, no files), one assertion of the expected result per
//! bench before anything is timed, and the throughput unit (requests, lookups or lines).
//! Does not own: correctness (the integration tests and the nginx oracle own that); the
//! assertions here only make sure a bench can never time a broken or shortcut path.
//!
//! Cells of the `resolve` group are `hops=H/prefixes=P`: the X-Forwarded-For chain makes the
//! walk take exactly `H` tokens (H-1 trusted proxies, then the untrusted client on the left),
//! against a trusted set of `P` prefixes mixing IPv4 and IPv6. The TCP peer is a trusted
//! proxy too, so every cell also pays the peer check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use realip::net::{NginxText, Origin};
use realip::{Addr, Header, Resolver, Stop, TrustEntry, TrustNet, TrustedSet};

/// The client every chain resolves to; no generated prefix may contain it.
const CLIENT: &str = "203.0.113.7";
const HOPS: [u32; 3] = [1, 3, 10];
const PREFIXES: [usize; 3] = [2, 50, 10_000];
const BATCH_LINES: usize = 100_000;

/// splitmix64: a tiny deterministic generator, so every run benches the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A trusted set of `n` prefixes, alternating IPv4 (/16../28) and IPv6 (/32../64), none of
/// which contains `client`. `n == 2` is the small hand-written set.
struct Prefixes {
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
    set: TrustedSet,
}

fn prefixes(n: usize, client: Ipv4Addr) -> Prefixes {
    let (v4, v6) = if n == 2 {
        (
            vec!["10.0.0.0/8".parse().unwrap()],
            vec!["2001:db8::/32".parse().unwrap()],
        )
    } else {
        let mut rng = Rng(n as u64);
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        while v4.len() + v6.len() < n {
            if (v4.len() + v6.len()) % 2 == 0 {
                let len = 16 + rng.below(13) as u8;
                let net = Ipv4Net::new(Ipv4Addr::from(rng.next() as u32), len)
                    .unwrap()
                    .trunc();
                if !net.contains(&client) {
                    v4.push(net);
                }
            } else {
                let len = 32 + rng.below(33) as u8;
                let addr = Ipv6Addr::from((u128::from(rng.next()) << 64) | u128::from(rng.next()));
                // Keep them in global unicast space, like real provider ranges.
                let addr =
                    Ipv6Addr::from((u128::from(addr) & !(0xe000u128 << 112)) | (0x2000 << 112));
                v6.push(Ipv6Net::new(addr, len).unwrap().trunc());
            }
        }
        (v4, v6)
    };
    let entries = v4
        .iter()
        .map(|&n| IpNet::V4(n))
        .chain(v6.iter().map(|&n| IpNet::V6(n)))
        .map(|net| TrustEntry {
            net: TrustNet::Net(net),
            origin: Origin::Given(net.to_string()),
        })
        .collect();
    let set = TrustedSet::from_entries(entries);
    assert_eq!(set.entries().len(), n);
    assert!(
        !set.contains_ip(IpAddr::V4(client)),
        "the client must stay outside the trusted set"
    );
    Prefixes { v4, v6, set }
}

impl Prefixes {
    /// The `k`-th proxy: a host inside one of the prefixes, IPv4 and IPv6 alternating.
    fn proxy(&self, k: usize) -> IpAddr {
        if k.is_multiple_of(2) {
            let net = self.v4[(k * 7919) % self.v4.len()];
            IpAddr::V4(Ipv4Addr::from(u32::from(net.network()) + 1))
        } else {
            let net = self.v6[(k * 7919) % self.v6.len()];
            IpAddr::V6(Ipv6Addr::from(u128::from(net.network()) + 1))
        }
    }

    /// The TCP peer and the X-Forwarded-For value for a chain of `hops` tokens: the client,
    /// then `hops - 1` proxies; the peer is one more proxy.
    fn chain(&self, client: &str, hops: u32, salt: usize) -> (Addr, String) {
        let mut xff = client.to_string();
        for k in 1..hops as usize {
            xff.push_str(", ");
            xff.push_str(&NginxText(self.proxy(salt + k)).to_string());
        }
        let peer = Addr::Ip(self.proxy(salt));
        assert!(self.set.contains(&peer));
        (peer, xff)
    }
}

fn resolve(c: &mut Criterion) {
    let client: Ipv4Addr = CLIENT.parse().unwrap();
    let mut group = c.benchmark_group("resolve");
    group.throughput(Throughput::Elements(1));
    for &n in &PREFIXES {
        let p = prefixes(n, client);
        let resolver = Resolver::new(p.set.clone(), Header::x_forwarded_for(), true);
        for &hops in &HOPS {
            let (peer, xff) = p.chain(CLIENT, hops, 0);
            let res = resolver.resolve(peer, [xff.as_bytes()]);
            assert_eq!(res.addr.to_string(), CLIENT, "{xff}");
            assert_eq!((res.taken, res.stop), (hops, Stop::Untrusted), "{xff}");
            group.bench_function(format!("hops={hops}/prefixes={n}"), |b| {
                b.iter(|| resolver.resolve(black_box(peer), [black_box(xff.as_bytes())]))
            });
        }
    }
    group.finish();
}

fn contains(c: &mut Criterion) {
    const LOOKUPS: usize = 1_000;
    let client: Ipv4Addr = CLIENT.parse().unwrap();
    let p = prefixes(10_000, client);
    let hits: Vec<Addr> = (0..LOOKUPS).map(|k| Addr::Ip(p.proxy(k))).collect();
    let mut rng = Rng(7);
    let mut misses = Vec::new();
    while misses.len() < LOOKUPS {
        let ip = if misses.len() % 2 == 0 {
            IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from((u128::from(rng.next()) << 64) | 1))
        };
        if !p.set.contains_ip(ip) {
            misses.push(Addr::Ip(ip));
        }
    }
    let count = |addrs: &[Addr]| {
        addrs
            .iter()
            .filter(|a| p.set.contains(black_box(a)))
            .count()
    };
    assert_eq!(count(&hits), LOOKUPS);
    assert_eq!(count(&misses), 0);

    let mut group = c.benchmark_group("contains");
    group.throughput(Throughput::Elements(LOOKUPS as u64));
    group.bench_function("prefixes=10000/hit", |b| b.iter(|| count(&hits)));
    group.bench_function("prefixes=10000/miss", |b| b.iter(|| count(&misses)));
    group.finish();
}

fn batch(c: &mut Criterion) {
    let client: Ipv4Addr = CLIENT.parse().unwrap();
    let p = prefixes(10_000, client);
    let resolver = Resolver::new(p.set.clone(), Header::x_forwarded_for(), true);
    // Every line: `PEER<TAB>client, proxy, proxy` with a different client (IPv4 or IPv6,
    // always untrusted), so the output is not one repeated string.
    let mut rng = Rng(99);
    let (mut input, mut want) = (Vec::new(), Vec::new());
    for k in 0..BATCH_LINES {
        let c = loop {
            let ip = if k % 4 == 3 {
                IpAddr::V6(Ipv6Addr::from((0x2a00u128 << 112) | u128::from(rng.next())))
            } else {
                IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
            };
            if !p.set.contains_ip(ip)
                && realip::net::inet::parse_ip(NginxText(ip).to_string().as_bytes()) == Some(ip)
            {
                break NginxText(ip).to_string();
            }
        };
        let (peer, xff) = p.chain(&c, 3, k);
        input.extend_from_slice(format!("{peer}\t{xff}\n").as_bytes());
        want.extend_from_slice(format!("{c}\n").as_bytes());
    }
    let mut out = Vec::with_capacity(want.len());
    let run = |out: &mut Vec<u8>| {
        out.clear();
        realip::batch::run(&resolver, black_box(&input[..]), out, 1 << 20, |e| {
            panic!("{e}")
        })
        .unwrap()
    };
    let stats = run(&mut out);
    assert_eq!(stats.lines, BATCH_LINES as u64);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), BATCH_LINES);
    assert!(
        out == want,
        "batch output differs from the expected clients"
    );

    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(BATCH_LINES as u64));
    group.sample_size(20);
    group.bench_function(format!("lines={BATCH_LINES}/hops=3/prefixes=10000"), |b| {
        b.iter(|| run(&mut out))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .noise_threshold(0.05)
        .configure_from_args()
}

criterion_group! { name = benches; config = config(); targets = resolve, contains, batch }
criterion_main!(benches);
