//! Address ranges that cannot be a real client on the public internet, each with its RFC.
//!
//! Owns: the list and the lookup. A "client" in one of these ranges means a proxy hop was
//! taken for the client (a private load balancer, a sidecar, a health checker) or that the
//! client forged its header. Data only; the audit decides what to do with it.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// One reserved range and where it is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reserved {
    /// The range, in CIDR notation.
    pub cidr: &'static str,
    /// What it is.
    pub what: &'static str,
    /// The RFC that reserves it.
    pub rfc: &'static str,
}

/// Special-purpose ranges (IANA special-purpose registries, RFC 6890 and the RFCs below).
pub const RESERVED: &[Reserved] = &[
    Reserved {
        cidr: "0.0.0.0/8",
        what: "this network",
        rfc: "RFC 791",
    },
    Reserved {
        cidr: "10.0.0.0/8",
        what: "private",
        rfc: "RFC 1918",
    },
    Reserved {
        cidr: "100.64.0.0/10",
        what: "shared address space (CGNAT)",
        rfc: "RFC 6598",
    },
    Reserved {
        cidr: "127.0.0.0/8",
        what: "loopback",
        rfc: "RFC 1122",
    },
    Reserved {
        cidr: "169.254.0.0/16",
        what: "link-local",
        rfc: "RFC 3927",
    },
    Reserved {
        cidr: "172.16.0.0/12",
        what: "private",
        rfc: "RFC 1918",
    },
    Reserved {
        cidr: "192.0.0.0/24",
        what: "IETF protocol assignments",
        rfc: "RFC 6890",
    },
    Reserved {
        cidr: "192.0.2.0/24",
        what: "documentation (TEST-NET-1)",
        rfc: "RFC 5737",
    },
    Reserved {
        cidr: "192.168.0.0/16",
        what: "private",
        rfc: "RFC 1918",
    },
    Reserved {
        cidr: "198.18.0.0/15",
        what: "benchmarking",
        rfc: "RFC 2544",
    },
    Reserved {
        cidr: "198.51.100.0/24",
        what: "documentation (TEST-NET-2)",
        rfc: "RFC 5737",
    },
    Reserved {
        cidr: "203.0.113.0/24",
        what: "documentation (TEST-NET-3)",
        rfc: "RFC 5737",
    },
    Reserved {
        cidr: "224.0.0.0/4",
        what: "multicast",
        rfc: "RFC 5771",
    },
    Reserved {
        cidr: "240.0.0.0/4",
        what: "reserved for future use",
        rfc: "RFC 1112",
    },
    Reserved {
        cidr: "::/128",
        what: "unspecified",
        rfc: "RFC 4291",
    },
    Reserved {
        cidr: "::1/128",
        what: "loopback",
        rfc: "RFC 4291",
    },
    Reserved {
        cidr: "100::/64",
        what: "discard-only",
        rfc: "RFC 6666",
    },
    Reserved {
        cidr: "2001:db8::/32",
        what: "documentation",
        rfc: "RFC 3849",
    },
    Reserved {
        cidr: "fc00::/7",
        what: "unique local",
        rfc: "RFC 4193",
    },
    Reserved {
        cidr: "fe80::/10",
        what: "link-local",
        rfc: "RFC 4291",
    },
    Reserved {
        cidr: "ff00::/8",
        what: "multicast",
        rfc: "RFC 4291",
    },
];

/// The reserved range `ip` falls in, if any. IPv4-mapped IPv6 addresses are looked up as
/// IPv4.
///
/// Inline, the answer for an address whose first octet no range can hold (most clients):
/// one table lookup and no call. The audit asks this of every line's client.
#[inline]
pub fn reserved(ip: IpAddr) -> Option<&'static Reserved> {
    let nets = &*NETS;
    let none = match ip {
        IpAddr::V4(v4) => nets.v4.by_first_octet[usize::from(v4.octets()[0])] == 0,
        // IPv4-mapped addresses start with a zero octet: the full lookup maps them.
        IpAddr::V6(v6) => {
            let first = v6.octets()[0];
            first != 0 && nets.v6.by_first_octet[usize::from(first)] == 0
        }
    };
    if none {
        return None;
    }
    reserved_in(ip)
}

/// [`reserved`] past the first-octet test.
#[inline(never)]
fn reserved_in(ip: IpAddr) -> Option<&'static Reserved> {
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    let nets = &*NETS;
    // Most clients are public: one table lookup by first octet rules out every range
    // (2600::/8, 2a00::/8 and most public IPv6 space too).
    match ip {
        IpAddr::V4(v4) => nets.v4.find(v4.octets()[0], |n| n.contains(&v4)),
        IpAddr::V6(v6) => nets.v6.find(v6.octets()[0], |n| n.contains(&v6)),
    }
}

/// One family's ranges in list order, and for each first octet the set of ranges (bits by
/// list index) that hold addresses starting with it.
struct Family<N> {
    nets: Vec<(N, &'static Reserved)>,
    by_first_octet: [u64; 256],
}

impl<N> Family<N> {
    fn new() -> Self {
        Family {
            nets: Vec::new(),
            by_first_octet: [0; 256],
        }
    }

    /// Adds `net`, whose addresses start with first octets `lo..=hi`.
    fn push(&mut self, net: N, (lo, hi): (u8, u8), r: &'static Reserved) {
        let bit = 1u64.checked_shl(self.nets.len() as u32).unwrap_or(0);
        for o in lo..=hi {
            self.by_first_octet[usize::from(o)] |= bit;
        }
        self.nets.push((net, r));
    }

    /// The first range in list order that holds the address: only the ranges its first
    /// octet can be in are tested (none for most public addresses).
    #[inline]
    fn find(&self, first_octet: u8, contains: impl Fn(&N) -> bool) -> Option<&'static Reserved> {
        let mut candidates = self.by_first_octet[usize::from(first_octet)];
        while candidates != 0 {
            let i = candidates.trailing_zeros() as usize;
            if let Some((n, r)) = self.nets.get(i) {
                if contains(n) {
                    return Some(*r);
                }
            }
            candidates &= candidates - 1;
        }
        None
    }
}

/// [`RESERVED`] parsed once (every entry parses: a unit test checks it), by family.
struct Nets {
    v4: Family<Ipv4Net>,
    v6: Family<Ipv6Net>,
}

static NETS: LazyLock<Nets> = LazyLock::new(|| {
    let mut nets = Nets {
        v4: Family::new(),
        v6: Family::new(),
    };
    for r in RESERVED {
        match r.cidr.parse::<IpNet>() {
            Ok(IpNet::V4(n)) => {
                let octets = (n.network().octets()[0], n.broadcast().octets()[0]);
                nets.v4.push(n, octets, r);
            }
            Ok(IpNet::V6(n)) => {
                let octets = (n.network().octets()[0], n.broadcast().octets()[0]);
                nets.v6.push(n, octets, r);
            }
            Err(_) => {}
        }
    }
    nets
});

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Option<&'static str> {
        reserved(s.parse().unwrap()).map(|r| r.rfc)
    }

    #[test]
    fn each_family_fits_the_first_octet_sets() {
        assert!(NETS.v4.nets.len() <= 64 && NETS.v6.nets.len() <= 64);
    }

    #[test]
    fn every_entry_parses() {
        for e in RESERVED {
            assert!(e.cidr.parse::<IpNet>().is_ok(), "{}", e.cidr);
        }
    }

    #[test]
    fn boundaries_follow_the_rfcs() {
        // RFC 1918: 10/8, 172.16/12, 192.168/16, and nothing just outside them.
        assert_eq!(r("10.255.255.255"), Some("RFC 1918"));
        assert_eq!(r("11.0.0.0"), None);
        assert_eq!(r("172.15.255.255"), None);
        assert_eq!(r("172.16.0.0"), Some("RFC 1918"));
        assert_eq!(r("172.31.255.255"), Some("RFC 1918"));
        assert_eq!(r("172.32.0.0"), None);
        assert_eq!(r("192.168.0.1"), Some("RFC 1918"));
        // RFC 6598 shared space is 100.64.0.0 - 100.127.255.255.
        assert_eq!(r("100.63.255.255"), None);
        assert_eq!(r("100.64.0.0"), Some("RFC 6598"));
        assert_eq!(r("100.127.255.255"), Some("RFC 6598"));
        assert_eq!(r("100.128.0.0"), None);
        // RFC 5737 documentation nets, RFC 3849 for IPv6.
        assert_eq!(r("203.0.113.7"), Some("RFC 5737"));
        assert_eq!(r("2001:db8::1"), Some("RFC 3849"));
        assert_eq!(r("2001:db9::1"), None);
        // Loopback, link-local, unique local, mapped.
        assert_eq!(r("127.0.0.1"), Some("RFC 1122"));
        assert_eq!(r("::1"), Some("RFC 4291"));
        assert_eq!(r("169.254.169.254"), Some("RFC 3927"));
        assert_eq!(r("fd00::1"), Some("RFC 4193"));
        assert_eq!(r("::ffff:10.1.2.3"), Some("RFC 1918"));
        // Public addresses, including Google front ends and load balancers.
        assert_eq!(r("35.191.10.20"), None);
        assert_eq!(r("34.120.5.6"), None);
        assert_eq!(r("8.8.8.8"), None);
        assert_eq!(r("2600:1901::1"), None);
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// Any address, with first octets and prefixes of reserved ranges favoured: the
        /// per-octet candidate sets answer like the plain scan of every range.
        #[test]
        fn candidate_sets_answer_like_a_plain_scan(
            v4 in proptest::prop_oneof![
                proptest::num::u32::ANY,
                (proptest::sample::select(vec![0u32, 10, 100, 127, 169, 172, 192, 198, 203, 224, 240, 255]), 0u32..1 << 24)
                    .prop_map(|(o, rest)| o << 24 | rest),
            ],
            v6 in proptest::prop_oneof![
                proptest::num::u128::ANY,
                (proptest::sample::select(vec![0u128, 0x0064_ff9b, 0x0100, 0x2001, 0x2001_0db8, 0x2002, 0xfc00, 0xfe80, 0xff00]), 0u128..1 << 96)
                    .prop_map(|(p, rest)| if p > 0xffff { p << 96 | rest } else { p << 112 | rest }),
            ],
        ) {
            let plain = |ip: IpAddr| {
                RESERVED
                    .iter()
                    .find(|r| r.cidr.parse::<IpNet>().is_ok_and(|n| n.contains(&ip)))
                    .map(|r| r.rfc)
            };
            let ip4 = IpAddr::from(std::net::Ipv4Addr::from(v4));
            proptest::prop_assert_eq!(reserved(ip4).map(|r| r.rfc), plain(ip4));
            let ip6 = IpAddr::from(std::net::Ipv6Addr::from(v6));
            let mapped = ip6.to_canonical();
            proptest::prop_assert_eq!(reserved(ip6).map(|r| r.rfc), plain(mapped));
        }
    }

    #[test]
    fn the_first_octet_table_changes_no_answer() {
        // See: issue #12. The plain scan over every range, in list order, is the reference.
        let plain = |ip: IpAddr| {
            RESERVED
                .iter()
                .find(|r| r.cidr.parse::<IpNet>().is_ok_and(|n| n.contains(&ip)))
                .map(|r| r.rfc)
        };
        for a in 0..=255u8 {
            for (b, c, d) in [
                (0, 0, 0),
                (0, 0, 1),
                (88, 99, 1),
                (168, 1, 1),
                (255, 255, 255),
            ] {
                let ip = IpAddr::from([a, b, c, d]);
                assert_eq!(reserved(ip).map(|r| r.rfc), plain(ip), "{ip}");
            }
        }
        for t in [
            "2001:db8::1",
            "fe80::1",
            "::1",
            "2a00:1450::1",
            "::ffff:10.0.0.1",
            "fc00::5",
        ] {
            let ip: IpAddr = t.parse().unwrap();
            let mapped = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
                v4 => v4,
            };
            assert_eq!(reserved(ip).map(|r| r.rfc), plain(mapped), "{t}");
        }
        // Every first octet of IPv6, at the low and high end of each /8 and inside the
        // ranges that share a first octet with public space (2001:db8::/32, 100::/64).
        for a in 0..=255u8 {
            for rest in [
                [0u8; 15],
                [0xff; 15],
                [0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ] {
                let mut octets = [a; 16];
                octets[1..].copy_from_slice(&rest);
                let ip = IpAddr::from(octets);
                if let IpAddr::V6(v6) = ip {
                    if v6.to_ipv4_mapped().is_some() {
                        continue;
                    }
                }
                assert_eq!(reserved(ip).map(|r| r.rfc), plain(ip), "{ip}");
            }
        }
    }
}
