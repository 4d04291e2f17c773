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
