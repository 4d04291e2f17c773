//! `--lb-ips-from FILE`: the load balancers' own list, shared by `nginx check`, `nginx
//! snippet`, `scan` and `resolve`.
//!
//! Owns: the flag group ([`LbArgs`]), reading the files through the library
//! (`ranges::gcloud`), and the note on stderr that says what was read: how many Application
//! LB addresses, how many rules are ignored (a note: on a terminal or with `-v`), and (with
//! the global `-v`) every rule with its classification, the ignored ones included. The rules themselves live in the library.

use std::path::PathBuf;

use anyhow::Context;
use realip::ranges::gcloud::{self, LbKind, LbList};
use realip::report::escape::escape_str;

use super::messages;

/// The `--lb-ips-from` flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LbArgs {
    /// The JSON of `gcloud compute forwarding-rules list --format=json` (or `gcloud compute
    /// addresses list --format=json`), repeatable: every Application LB's IP (IPv4 and IPv6)
    /// must be trusted. Other rules (TCP/SSL proxy, passthrough) are ignored; -v lists them.
    #[arg(long = "lb-ips-from", value_name = "FILE")]
    pub lb_ips_from: Vec<PathBuf>,
}

impl LbArgs {
    /// Reads every file (none given: `None`) and says on stderr what was found.
    pub fn load(&self) -> anyhow::Result<Option<LbList>> {
        if self.lb_ips_from.is_empty() {
            return Ok(None);
        }
        let mut files = Vec::new();
        for path in &self.lb_ips_from {
            files.push(gcloud::load(path).context("--lb-ips-from")?);
        }
        let list = LbList::new(files);
        let verbose = messages::verbose();
        for line in summary(&list, verbose).lines() {
            match line.strip_prefix("warning: ") {
                Some(w) => messages::warning(w),
                None if verbose => eprintln!("realip: {line}"),
                None => messages::note(line),
            }
        }
        Ok(Some(list))
    }
}

/// What was read, for stderr (without the `realip: ` prefix): one line for the files, a
/// `warning: ` line when nothing is to be checked, then (verbose) one line per rule.
pub fn summary(list: &LbList, verbose: bool) -> String {
    let sources = escape_str(&list.sources.join(", ")).into_owned();
    let albs = list.alb_ips();
    let alb_rules: usize = albs.iter().map(|a| a.rules.len()).sum();
    let ignored = list.ignored().count();
    let unknown = list.unknown_ips().len();
    let mut out = format!(
        "{sources}: {} Application LB address{} ({} forwarding rule{})",
        albs.len(),
        if albs.len() == 1 { "" } else { "es" },
        alb_rules,
        if alb_rules == 1 { "" } else { "s" },
    );
    if ignored > 0 {
        out.push_str(&format!(
            "; {ignored} rule{} not Application LBs, ignored{}",
            if ignored == 1 { " is" } else { "s are" },
            if verbose { "" } else { " (-v lists them)" }
        ));
    }
    if unknown > 0 {
        out.push_str(&format!(
            "; {unknown} address{} used by rules no forwarding-rules list describes",
            if unknown == 1 { "" } else { "es" }
        ));
    }
    out.push('\n');
    if albs.is_empty() && unknown == 0 {
        out.push_str(
            "warning: no Application Load Balancer in the list: nothing to check (the wrong \
             project, or an empty list?)\n",
        );
    }
    if verbose {
        for r in &list.rules {
            let verdict = match r.kind {
                k if k.is_alb() => "checked",
                LbKind::Unknown => "unknown",
                _ => "ignored",
            };
            out.push_str(&format!(
                "  {verdict} {} {}\n",
                gcloud::net_text(r.net),
                escape_str(&r.provenance())
            ));
        }
    }
    out
}

/// What a list adds to a declared trust (`--trust` already holds `given`): the gcp preset when
/// global external Application LBs are listed and it is not given, then every Application LB
/// address. Warns (stderr) when regional ALBs are listed and `given` holds no private range
/// for their proxy-only subnet.
pub fn trust_specs(list: &LbList, given: &[String]) -> Vec<String> {
    let albs = list.alb_ips();
    let mut out = Vec::new();
    let global = albs
        .iter()
        .any(|a| a.rules.iter().any(|r| r.kind == LbKind::GlobalExternal));
    if global && !given.iter().any(|g| g.trim() == realip::presets::GCP.name) {
        out.push(realip::presets::GCP.name.to_string());
    }
    out.extend(albs.iter().map(|a| a.trust_text()));
    let regional: Vec<&str> = albs
        .iter()
        .flat_map(|a| a.rules.iter())
        .filter(|r| r.kind.needs_proxy_subnet())
        .map(|r| r.name.as_str())
        .collect();
    let private_given = given.iter().any(|g| {
        g.trim()
            .parse::<ipnet::IpNet>()
            .is_ok_and(|n| n.prefix_len() < n.max_prefix_len() && is_private(n.addr()))
    });
    if !regional.is_empty() && !private_given {
        messages::warning(&format!(
            "{} reach nginx from the VPC's proxy-only subnet, which the list does not hold: \
             declare it with --trust CIDR (gcloud compute networks subnets list \
             --filter=purpose=REGIONAL_MANAGED_PROXY)",
            escape_str(&regional.join(", "))
        ));
    }
    out
}

/// Private (RFC 1918, CGNAT) and ULA addresses: where proxy-only subnets live.
fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_private() || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// The forwarding rules whose address `ip` (nginx text form) is; none for anything else.
pub fn rule_names(list: &LbList, ip: &str) -> Vec<String> {
    match ip.parse::<std::net::IpAddr>() {
        Ok(addr) => {
            list.rules_at(addr)
                .iter()
                .map(|r| r.name.clone())
                .fold(Vec::new(), |mut v, n| {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                    v
                })
        }
        Err(_) => Vec::new(),
    }
}
