//! Published proxy ranges, as data with provenance.
//!
//! Owns: the named range lists that `--trust NAME` expands to, each with the URL it comes from
//! and the date it was last checked. No logic beyond lookup: parsing and membership live in
//! `net`, and nothing here touches the network.
//!
//! These lists drift. A preset trusts the provider's *own* front ends only; your load
//! balancer's forwarding-rule IPs are yours and must be added with `--trust IP`.

/// One named list of trusted ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// The name used with `--trust`.
    pub name: &'static str,
    /// What the ranges are.
    pub description: &'static str,
    /// Where the ranges are published.
    pub source: &'static str,
    /// When the ranges were last compared with the source (YYYY-MM-DD).
    pub checked: &'static str,
    /// The ranges, in CIDR notation.
    pub ranges: &'static [&'static str],
    /// Ranges the provider published once and no longer does, still found in configurations
    /// copied from old lists (`realip nginx check` reports them as stale).
    pub former: &'static [&'static str],
}

/// Google Cloud external Application Load Balancer front ends (GFEs) and health checkers.
pub const GCP: Preset = Preset {
    name: "gcp",
    description: "Google Cloud load-balancer front ends (GFE) and health checks; add your \
                  forwarding-rule IPs with --trust IP",
    source: "https://cloud.google.com/load-balancing/docs/https#firewall-rules",
    checked: "2026-11-22",
    ranges: &["130.211.0.0/22", "35.191.0.0/16", "2600:2d00:1:1::/64"],
    former: &[],
};

/// Cloudflare's published edge ranges.
pub const CLOUDFLARE: Preset = Preset {
    name: "cloudflare",
    description: "Cloudflare edge servers (sends CF-Connecting-IP, and X-Forwarded-For appended)",
    source: "https://www.cloudflare.com/ips-v4 and https://www.cloudflare.com/ips-v6",
    checked: "2026-11-22",
    ranges: &[
        "173.245.48.0/20",
        "103.21.244.0/22",
        "103.22.200.0/22",
        "103.31.4.0/22",
        "141.101.64.0/18",
        "108.162.192.0/18",
        "190.93.240.0/20",
        "188.114.96.0/20",
        "197.234.240.0/22",
        "198.41.128.0/17",
        "162.158.0.0/15",
        "104.16.0.0/13",
        "104.24.0.0/14",
        "172.64.0.0/13",
        "131.0.72.0/22",
        "2400:cb00::/32",
        "2606:4700::/32",
        "2803:f800::/32",
        "2405:b500::/32",
        "2405:8100::/32",
        "2a06:98c0::/29",
        "2c0f:f248::/32",
    ],
    // On Cloudflare's list in earlier years: 199.27.128.0/21 and the two 204.93 /24s were
    // dropped, and 104.16.0.0/12 was replaced by 104.16.0.0/13 and 104.24.0.0/14 (so
    // 104.28.0.0/14 is no longer published).
    former: &[
        "199.27.128.0/21",
        "204.93.240.0/24",
        "204.93.177.0/24",
        "104.16.0.0/12",
    ],
};

/// Every preset, in the order help text lists them.
pub const ALL: &[Preset] = &[GCP, CLOUDFLARE];

/// The preset with this name (exact, lowercase), if any.
pub fn find(name: &str) -> Option<&'static Preset> {
    ALL.iter().find(|p| p.name == name)
}

/// The preset names, for messages.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::TrustedSet;

    #[test]
    fn every_preset_parses_without_warnings() {
        for p in ALL {
            let (set, warnings) = TrustedSet::parse([p.name]).unwrap();
            assert_eq!(set.entries().len(), p.ranges.len(), "{}", p.name);
            assert!(warnings.is_empty(), "{}: {warnings:?}", p.name);
            assert!(p.source.starts_with("https://"));
            assert_eq!(p.checked.len(), 10);
        }
    }

    #[test]
    fn gcp_holds_the_front_end_ranges_only() {
        assert_eq!(
            GCP.ranges,
            &["130.211.0.0/22", "35.191.0.0/16", "2600:2d00:1:1::/64"]
        );
    }
}
