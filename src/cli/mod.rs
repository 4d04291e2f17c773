//! The command line: clap types, global flags and dispatch.
//!
//! Owns: parsing what the user typed ([`Cli`], one `Args` per subcommand in its own file)
//! and handing a checked configuration to the library. Algorithms live in the library;
//! exit codes in [`exit`].

pub mod args;
pub mod diff;
pub mod exit;
pub mod lb;
pub mod merge;
pub mod messages;
pub mod nginx;
pub mod output;
pub mod resolve;
pub mod scan;

use clap::{Parser, Subcommand};

use exit::ExitCode;

const AFTER_HELP: &str = "\
Notes (detected log format, assumed trust) go to stderr only when it is a terminal or with
-v; warnings always, unless -q; errors always. A clean cron run prints nothing on stderr.

Exit codes: 0 success; 2 usage error, unreadable input or malformed input lines.
With scan --check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
With nginx check: 0 no findings (or info only), 1 warnings, 2 errors or an unreadable config.

Run 'realip <COMMAND> --help' for examples.";

/// Is the client IP in your nginx logs really the client?
///
/// realip resolves client addresses exactly as nginx's realip module does
/// (set_real_ip_from, real_ip_header, real_ip_recursive), so you can check what nginx will
/// log behind Google Cloud load balancers and CDNs.
#[derive(Debug, Parser)]
#[command(name = "realip", version, about, long_about, after_help = AFTER_HELP)]
#[command(propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Print informational notes (detected log format, assumed trust) even when stderr is
    /// not a terminal.
    #[arg(long, short = 'v', global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Print errors only: no notes, no warnings.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve client addresses like nginx's realip module (one request, or a batch on stdin).
    ///
    /// Give the TCP peer nginx sees and the values of the header realip reads; realip prints
    /// the address nginx's `$remote_addr` becomes, in nginx's own text form. The rules are
    /// nginx's, quirks included: the peer must be trusted, the walk goes right to left through
    /// trusted addresses, `X-Forwarded-For` (that exact spelling) reads every header line
    /// last-first, any other header only its first line.
    Resolve(resolve::Args),
    /// Read access logs in parallel: audit the logged client IPs and summarise latency and status.
    ///
    /// The audit needs nothing declared: the trust nginx applied is read from the log itself,
    /// and every load-balancer IP nginx forgot is named with its own count and the
    /// set_real_ip_from line that fixes it (--trust or --nginx-conf compare with what you
    /// expect). Combined, nginx's main, LTSV, JSON lines or any nginx log_format template; plain or
    /// gzip files, globs, or stdin. Every line is read once by all cores; malformed lines are
    /// counted and sampled with path:line, never dropped silently.
    Scan(Box<scan::Args>),
    /// Check an nginx configuration's realip setup, or write a correct one.
    ///
    /// `realip nginx check CONF` reads the configuration nginx runs (includes, or `nginx -T`
    /// output) and reports realip mistakes with file:line and the exact fix; `realip nginx
    /// snippet` prints a commented realip block for the proxies you trust.
    Nginx(nginx::Args),
    /// Merge JSON reports of `realip scan` from many hosts into the exact report of the whole.
    ///
    /// Counts, groups, time buckets and every percentile come out as if one scan had read
    /// every host's logs: the JSON carries every HDR histogram under "mergeable".
    Merge(merge::Args),
    /// Compare two JSON reports per route (or group): count, p50 and p99 before and after.
    Diff(diff::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    messages::set(if cli.quiet {
        messages::Verbosity::Quiet
    } else if cli.verbose {
        messages::Verbosity::Verbose
    } else {
        messages::Verbosity::Normal
    });
    match cli.command {
        Command::Resolve(args) => resolve::run(args),
        Command::Scan(args) => scan::run(*args),
        Command::Nginx(args) => nginx::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Diff(args) => diff::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
