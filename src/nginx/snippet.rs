//! Correct realip configuration text.
//!
//! Owns: [`render`], which writes a commented `set_real_ip_from` / `real_ip_header` /
//! `real_ip_recursive` block from a [`TrustedSet`] and a header choice: each preset's ranges
//! under a comment with its description, source and the date they were checked, the user's
//! own entries after them, and the reminder that a Google Cloud load balancer's
//! forwarding-rule IPs are not in any preset. Also [`quote_arg`], the one place an argument is
//! quoted for nginx. The text parses back (with `nginx::parse_str`) into the same effective
//! settings.
//! Does not own: reading configurations or files, the preset data (`presets`).

use std::fmt::Write as _;

use crate::net::{Origin, TrustNet, TrustedSet};
use crate::presets;
use crate::ranges::gcloud::LbList;
use crate::resolve::Header;

/// The realip block for `trusted`, `header` and `recursive`, ready to paste into `http { }`
/// or `server { }`.
pub fn render(trusted: &TrustedSet, header: &Header, recursive: bool) -> String {
    render_inner(trusted, header, recursive, None)
}

/// [`render`] with the load balancers of a `--lb-ips-from` list after the presets: one
/// `set_real_ip_from` line per Application-LB address, commented with the forwarding rules
/// that use it and what they are; a reminder about the proxy-only subnet when regional or
/// internal Application LBs are listed; the rules that are not Application LBs named in a
/// comment (never trusted). `trusted` should hold the `gcp` preset when global external
/// Application LBs are listed (their peers are Google front ends).
pub fn render_with_lbs(
    trusted: &TrustedSet,
    header: &Header,
    recursive: bool,
    lbs: &LbList,
) -> String {
    render_inner(trusted, header, recursive, Some(lbs))
}

/// The `--lb-ips-from` part of the block.
fn lb_section(lbs: &LbList, out: &mut String) {
    let sources = lbs.sources.join(", ");
    let albs = lbs.alb_ips();
    let _ = writeln!(
        out,
        "\n# Your Application Load Balancers: each appends its own IP to X-Forwarded-For, so\n\
         # each must be trusted. Forwarding rules from: {sources}"
    );
    if albs.is_empty() {
        out.push_str("# (none listed)\n");
    }
    for ip in &albs {
        let mut kinds: Vec<&str> = Vec::new();
        for r in &ip.rules {
            if !kinds.contains(&r.kind.description()) {
                kinds.push(r.kind.description());
            }
        }
        let _ = writeln!(
            out,
            "set_real_ip_from {};  # {} ({})",
            ip.trust_text(),
            ip.names(),
            kinds.join(", ")
        );
    }
    let unknown = lbs.unknown_ips();
    if !unknown.is_empty() {
        out.push_str(
            "# Used by forwarding rules that no forwarding-rules list describes: uncomment the\n\
             # ones that are Application LBs.\n",
        );
        for ip in &unknown {
            let _ = writeln!(
                out,
                "# set_real_ip_from {};  # {}",
                ip.trust_text(),
                ip.names()
            );
        }
    }
    let regional: Vec<String> = albs
        .iter()
        .flat_map(|a| a.rules.iter())
        .filter(|r| r.kind.needs_proxy_subnet())
        .map(|r| match &r.region {
            Some(region) => format!("{} ({region})", r.name),
            None => r.name.clone(),
        })
        .collect();
    if !regional.is_empty() {
        let _ = writeln!(
            out,
            "# Regional and internal Application LBs reach nginx from the VPC's proxy-only\n\
             # subnet, which the list does not hold: trust it too (find it with `gcloud compute\n\
             # networks subnets list --filter=purpose=(REGIONAL_MANAGED_PROXY,GLOBAL_MANAGED_PROXY)`\n\
             # and add it with --trust CIDR):\n\
             #   {}",
            regional.join(", ")
        );
    }
    let ignored: Vec<&str> = lbs.ignored().map(|r| r.name.as_str()).collect();
    if !ignored.is_empty() {
        let _ = writeln!(
            out,
            "# Not Application LBs (their IPs never appear in X-Forwarded-For), not trusted:\n\
             # {}.",
            ignored.join(", ")
        );
    }
}

fn render_inner(
    trusted: &TrustedSet,
    header: &Header,
    recursive: bool,
    lbs: Option<&LbList>,
) -> String {
    let mut out = String::new();
    out.push_str(
        "# realip: which proxies may tell nginx the client address (ngx_http_realip_module).\n\
         # Goes in http { } or server { }. A location with its own set_real_ip_from list\n\
         # replaces this one instead of adding to it.\n",
    );
    // Presets first, in the order they were asked for, then the user's own entries.
    let mut presets_seen: Vec<&'static str> = Vec::new();
    for e in trusted.entries() {
        if let Origin::Preset(name) = e.origin {
            if !presets_seen.contains(&name) {
                presets_seen.push(name);
            }
        }
    }
    for name in &presets_seen {
        out.push('\n');
        if let Some(p) = presets::find(name) {
            // The description's first clause: the rest speaks of command-line flags.
            let what = p.description.split("; ").next().unwrap_or(p.description);
            let _ = writeln!(out, "# {}: {}", p.name, what);
            let _ = writeln!(out, "# source: {}", p.source);
            let _ = writeln!(out, "# checked: {}", p.checked);
        }
        for e in trusted.entries() {
            if e.origin == Origin::Preset(name) {
                let _ = writeln!(out, "set_real_ip_from {};", entry_text(&e.net));
            }
        }
        if *name == presets::GCP.name {
            out.push_str(
                "# Google's front ends only: also list every forwarding-rule IP of your load\n\
                 # balancers (set_real_ip_from 34.120.5.6;), or nginx logs the load balancer as\n\
                 # the client of every request through it.\n",
            );
        }
    }
    if let Some(lbs) = lbs {
        lb_section(lbs, &mut out);
    }
    let own: Vec<&TrustNet> = trusted
        .entries()
        .iter()
        .filter(|e| matches!(e.origin, Origin::Given(_) | Origin::Config { .. }))
        .map(|e| &e.net)
        .collect();
    if !own.is_empty() {
        out.push_str("\n# Your own proxies and load balancers.\n");
        for net in own {
            let _ = writeln!(out, "set_real_ip_from {};", entry_text(net));
        }
    }
    if trusted.is_empty() && lbs.is_none_or(|l| l.alb_ips().is_empty()) {
        out.push_str(
            "\n# No trusted proxies: without set_real_ip_from realip stays inactive and\n\
             # $remote_addr is always the TCP peer.\n",
        );
    }
    out.push('\n');
    if header.all_lines() {
        out.push_str(
            "# X-Forwarded-For (exactly this spelling: any other case reads only its first line).\n",
        );
    } else {
        let _ = writeln!(out, "# {}: nginx reads its first line only.", header.name());
    }
    let _ = writeln!(out, "real_ip_header {};", quote_arg(header.name()));
    if recursive {
        out.push_str(
            "# Walk right to left past every trusted address: the client is the first untrusted\n\
             # one. Needed behind more than one proxy (a GCP load balancer appends two entries).\n\
             real_ip_recursive on;\n",
        );
    } else {
        out.push_str(
            "# Take the rightmost address only: right behind exactly one proxy that appends it.\n\
             real_ip_recursive off;\n",
        );
    }
    out
}

/// A trusted entry as `set_real_ip_from` takes it: a bare address for a single host.
fn entry_text(net: &TrustNet) -> String {
    match net {
        TrustNet::Net(n) if n.prefix_len() == n.max_prefix_len() => {
            crate::net::NginxText(n.addr()).to_string()
        }
        other => other.to_string(),
    }
}

/// An nginx directive argument: as is when it is a plain word, else in double quotes with `"`
/// and `\` escaped.
pub fn quote_arg(value: &str) -> String {
    let plain = !value.is_empty()
        && !value.starts_with(['"', '\''])
        && !value.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, ';' | '{' | '}' | '#' | '\\')
        });
    if plain {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_come_first_with_their_provenance_and_the_lb_reminder() {
        let (set, _) = TrustedSet::parse(["34.120.5.6", "gcp"]).unwrap();
        let text = render(&set, &Header::x_forwarded_for(), true);
        let gcp = text.find("set_real_ip_from 130.211.0.0/22;").unwrap();
        let own = text.find("set_real_ip_from 34.120.5.6;").unwrap();
        assert!(gcp < own, "{text}");
        assert!(text.contains(presets::GCP.source));
        assert!(text.contains(presets::GCP.checked));
        assert!(text.contains("forwarding-rule IP"));
        assert!(text.contains("real_ip_header X-Forwarded-For;\n"));
        assert!(text.ends_with("real_ip_recursive on;\n"));
    }

    #[test]
    fn other_headers_and_no_recursion_are_written_as_asked() {
        let (set, _) = TrustedSet::parse(["cloudflare"]).unwrap();
        let header = Header::new("CF-Connecting-IP").unwrap();
        let text = render(&set, &header, false);
        assert!(text.contains("real_ip_header CF-Connecting-IP;"));
        assert!(text.contains("real_ip_recursive off;"));
        assert!(!text.contains("forwarding-rule"));
        assert!(text.contains("set_real_ip_from 2a06:98c0::/29;"));
    }

    #[test]
    fn host_bits_are_written_masked() {
        let (set, _) = TrustedSet::parse(["10.1.2.3/8", "unix:", "::1"]).unwrap();
        let text = render(&set, &Header::default(), false);
        assert!(text.contains("set_real_ip_from 10.0.0.0/8;"));
        assert!(text.contains("set_real_ip_from unix:;"));
        assert!(text.contains("set_real_ip_from ::1;"));
    }

    #[test]
    fn arguments_are_quoted_only_when_needed() {
        assert_eq!(quote_arg("X-Forwarded-For"), "X-Forwarded-For");
        assert_eq!(quote_arg("/var/log/a b.log"), "\"/var/log/a b.log\"");
        assert_eq!(quote_arg("a;b"), "\"a;b\"");
        assert_eq!(quote_arg("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(quote_arg(""), "\"\"");
    }

    #[test]
    fn the_snippet_reads_back_as_the_same_settings() {
        let (set, _) = TrustedSet::parse(["gcp", "34.120.5.6", "10.1.2.3/8"]).unwrap();
        let text = render(&set, &Header::x_forwarded_for(), true);
        let cfg = crate::nginx::realip::tests::conf(&text);
        let s = crate::nginx::realip::effective(&cfg, None, None).unwrap();
        let nets = |t: &TrustedSet| t.entries().iter().map(|e| e.net).collect::<Vec<_>>();
        assert_eq!(nets(&s.trusted), nets(&set));
        assert_eq!(s.header, Header::x_forwarded_for());
        assert!(s.recursive);
    }
}
