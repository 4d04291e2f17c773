//! `realip resolve`: what nginx's `$remote_addr` becomes for one request, or for a batch.
//!
//! Owns: the flags of this subcommand, their help and examples, and the wiring from flags to
//! a checked [`Resolver`] to the library's resolver or batch loop. No resolution logic here.

use std::io::{self, BufReader, BufWriter, Write};

use anyhow::Context;
use realip::ranges::gcloud::LbList;
use realip::report::escape::escape_str;
use realip::report::explain::write_explanation;
use realip::resolve::header::http1_value;
use realip::{Addr, Header, Resolver, TrustedSet};

use super::args::{HeaderArg, NginxConfArgs, NginxVersionArg, RecursionArgs, TrustArgs};
use super::exit::ExitCode;

const EXAMPLES: &str = "\
Examples:
  # Behind a Google Cloud HTTP(S) load balancer: trust the Google front ends (preset gcp)
  # and your load balancer's own forwarding-rule IP, which no preset can know.
  realip resolve --trust gcp --trust 34.120.5.6 \\
      --peer 35.191.10.20 --value '203.0.113.7, 34.120.5.6'
  203.0.113.7

  # Forget the load-balancer IP and nginx logs the load balancer as the client:
  realip resolve --trust gcp --peer 35.191.10.20 --value '203.0.113.7, 34.120.5.6'
  34.120.5.6

  # Show every step of the walk:
  realip resolve --trust gcp --trust 34.120.5.6 --peer 35.191.10.20 \\
      --value '198.51.100.66, 203.0.113.7, 34.120.5.6' --explain

  # Two X-Forwarded-For lines, in arrival order:
  realip resolve --trust 10.0.0.0/8 --peer 10.0.0.1 --value 192.0.2.1 --value 10.0.0.2

  # Cloudflare's single-IP header, with nginx's default (non-recursive) walk:
  realip resolve --trust cloudflare --header CF-Connecting-IP --no-recursive \\
      --peer 173.245.48.10 --value 203.0.113.7

  # The trust, header and recursion of the nginx config you run (server and location
  # chosen like nginx would):
  realip resolve --nginx-conf /etc/nginx/nginx.conf --server shop.example.com \\
      --location /api/ --peer 35.191.10.20 --value '203.0.113.7, 34.120.5.6'

  # Batch: one request per line, PEER<TAB>VALUE1<TAB>VALUE2...; one address out per line.
  printf '35.191.10.20\\t203.0.113.7, 34.120.5.6\\n' | realip resolve --trust gcp --batch

Presets: gcp (Google front ends 130.211.0.0/22, 35.191.0.0/16, 2600:2d00:1:1::/64; add your
load-balancer IPs with --trust IP), cloudflare (www.cloudflare.com/ips-v4 and ips-v6).

Load balancers' own list (--lb-ips-from, gcloud forwarding-rules JSON): their Application LB
IPs (and the gcp preset, for global ones) join --trust; with --nginx-conf they are only named:
a result that is one of your LB IPs is reported on stderr with its forwarding rule.

Exit codes: 0 success; 2 usage error, unreadable input, or malformed batch lines (each one
reported on stderr with its line number and answered with an empty output line).";

/// The flags of `realip resolve` (the help text lives on `Command::Resolve`).
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXAMPLES, after_help = "Run with --help for examples.")]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["peer", "batch"])))]
pub struct Args {
    // The shared groups (`cli/args.rs`). A doc comment on a flattened field never reaches
    // --help (clap drops it): what a group means in `resolve` is said in EXAMPLES.
    #[command(flatten)]
    pub trust: TrustArgs,

    #[command(flatten)]
    pub header: HeaderArg,

    #[command(flatten)]
    pub recursion: RecursionArgs,

    #[command(flatten)]
    pub nginx_version: NginxVersionArg,

    /// The TCP peer nginx sees (its `$realip_remote_addr`), e.g. a Google front end.
    #[arg(long, value_name = "ADDR")]
    pub peer: Option<String>,

    #[command(flatten)]
    pub nginx_conf: NginxConfArgs,

    /// With --nginx-conf: the request URI whose location's settings apply.
    #[arg(long, value_name = "PATH", requires = "nginx_conf")]
    pub location: Option<String>,

    /// One line of the header, in arrival order; repeat for several lines. None: the
    /// header is absent. Taken as sent over HTTP/1: spaces around it are dropped, as nginx
    /// does.
    #[arg(long, value_name = "V", requires = "peer")]
    pub value: Vec<String>,

    /// Print every step of the walk: trust checks, tokens taken, why it stopped.
    #[arg(long, requires = "peer")]
    pub explain: bool,

    /// Read requests from stdin, one per line: PEER<TAB>VALUE1<TAB>VALUE2...
    ///
    /// No tab after PEER means the header is absent; an empty field is an empty header
    /// line. Writes one address per input line, in order. A malformed line is reported on
    /// stderr with its line number and answered with an empty line; the exit code is then 2.
    #[arg(long, conflicts_with_all = ["peer", "value", "explain"])]
    pub batch: bool,

    // `--lb-ips-from`: its meaning here is in EXAMPLES ("Load balancers' own list").
    #[command(flatten)]
    pub lb: super::lb::LbArgs,

    /// Longest batch line accepted, in bytes; longer lines are reported and skipped.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20, requires = "batch")]
    pub max_line_bytes: usize,
}

/// How many malformed batch lines are reported one by one before only counting.
const MAX_REPORTED: u64 = 20;

/// Builds the resolver from an nginx configuration, printing its notes to stderr.
pub fn resolver_from_conf(
    path: &std::path::Path,
    server: Option<&str>,
    location: Option<&str>,
) -> anyhow::Result<Resolver> {
    let cfg = realip::nginx::load(path)?;
    let settings = realip::nginx::realip::effective(&cfg, server, location)?;
    for n in &settings.notes {
        super::messages::note(&format!("note: {}", escape_str(n)));
    }
    if !settings.active() {
        super::messages::warning(
            "no set_real_ip_from applies there: nginx's realip is inactive and every address \
             stays the peer",
        );
    }
    Ok(settings.resolver())
}

/// Builds the resolver from the flags, printing trust warnings to stderr.
fn resolver(args: &Args, lbs: Option<&LbList>) -> anyhow::Result<Resolver> {
    if let Some(conf) = args.nginx_conf.path() {
        let r = resolver_from_conf(conf, args.nginx_conf.server(), args.location.as_deref())?;
        return Ok(match args.nginx_version.version() {
            Some(v) => r.with_nginx_version(v),
            None => r,
        });
    }
    let (trusted, warnings) = TrustedSet::parse(args.trust.with_lbs(lbs))?;
    for w in &warnings {
        super::messages::warning(&escape_str(&w.to_string()));
    }
    if trusted.is_empty() {
        super::messages::warning(
            "no --trust given: like nginx without set_real_ip_from, nothing is resolved and \
             every address stays the peer",
        );
    }
    let header = Header::new(args.header.name())?;
    let resolver = Resolver::new(trusted, header, args.recursion.recursive());
    Ok(match args.nginx_version.version() {
        Some(v) => resolver.with_nginx_version(v),
        None => resolver,
    })
}

/// Runs `realip resolve`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let lb_list = args.lb.load()?;
    let resolver = resolver(&args, lb_list.as_ref())?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());

    if args.batch {
        let stdin = io::stdin();
        let input = BufReader::with_capacity(1 << 16, stdin.lock());
        let mut reported = 0u64;
        let stats = realip::batch::run(&resolver, input, &mut out, args.max_line_bytes, |e| {
            reported += 1;
            if reported <= MAX_REPORTED {
                eprintln!("realip: stdin: {}", e);
            }
        })
        .context("reading stdin / writing stdout")?;
        out.flush()?;
        if stats.malformed > 0 {
            eprintln!(
                "realip: {} of {} input lines were malformed (answered with empty lines){}",
                stats.malformed,
                stats.lines,
                if stats.malformed > MAX_REPORTED {
                    "; only the first 20 are listed"
                } else {
                    ""
                }
            );
            return Ok(ExitCode::Error);
        }
        return Ok(ExitCode::Ok);
    }

    let Some(peer_text) = args.peer.as_deref() else {
        anyhow::bail!("give --peer ADDR or --batch");
    };
    let peer = Addr::parse(peer_text.as_bytes()).context("--peer")?;
    // Header lines as sent over HTTP/1: nginx's parser drops the spaces around them.
    let values = args.value.iter().map(|v| http1_value(v.as_bytes()));
    if args.explain {
        let ex = resolver.explain(peer, values);
        let mut text = String::new();
        write_explanation(&mut text, &ex)?;
        out.write_all(text.as_bytes())?;
    } else {
        let res = resolver.resolve(peer, values);
        writeln!(out, "{}", res.addr)?;
        if let Some(list) = &lb_list {
            let names = super::lb::rule_names(list, &res.addr.to_string());
            if !names.is_empty() {
                super::messages::warning(&format!(
                    "{} is your load balancer (forwarding rule {}), and nginx does not trust \
                     it: it would log the load balancer as the client; add set_real_ip_from \
                     {};",
                    res.addr,
                    escape_str(&names.join(", ")),
                    res.addr
                ));
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::Ok)
}
