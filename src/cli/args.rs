//! The flags every subcommand shares: one clap argument group per concept, declared once.
//!
//! Owns: the names, aliases, value names, defaults, help texts and parsing of the flags that
//! several subcommands take (`--trust`, `--header`, `--recursive`/`--no-recursive`,
//! `--nginx-version`, `--nginx-conf`/`--server`, `--front-end`, `-j/--threads`), each as a
//! small `#[derive(clap::Args)]` struct that a subcommand `#[command(flatten)]`s, with a
//! method that yields the value the library takes. A subcommand that takes a concept flattens
//! its struct and never declares the flag itself, so the next subcommand cannot drift (the
//! test at the end of this file and `tests/vocabulary.rs` fail when one does). Where a
//! subcommand needs more (a heading, `requires`), it says so at the flatten site
//! (`next_help_heading`, `mut_arg`); what a flag means stays here. `--lb-ips-from` lives in
//! [`super::lb`], with the code that reads its files.
//!
//! Conflicts name the fields' argument ids (`trust`, `header`, `recursive`, `no_recursive`,
//! `nginx_conf`, `front_end`, `lb_ip`, …), which stay the same once flattened.

use realip::ranges::gcloud::LbList;
use realip::resolve::NginxVersion;

/// `--trust SPEC`: the trust nginx's `set_real_ip_from` holds, or should hold.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrustArgs {
    /// Trusted proxy: an address, a CIDR, `unix:` or a preset (gcp, cloudflare); repeatable
    /// or comma-separated.
    ///
    /// nginx's `set_real_ip_from`. The gcp preset holds Google's front-end ranges only: your
    /// load balancer's forwarding-rule IPs are yours and must be added with --trust IP, or
    /// every request resolves to them. Without --trust (and without --nginx-conf), `scan`
    /// reads the trust nginx applied from the log itself, `resolve` trusts nothing (like
    /// nginx without set_real_ip_from: every address stays the peer), and `nginx snippet`
    /// takes its trust from presets, --ranges-file or --lb-ips-from.
    #[arg(long, value_name = "SPEC", value_delimiter = ',')]
    pub trust: Vec<String>,
}

impl TrustArgs {
    /// The specs as typed (`TrustedSet::parse` input).
    pub fn specs(&self) -> &[String] {
        &self.trust
    }

    /// The specs as typed, then what the load balancers' own list adds (its Application LB
    /// IPs, and the gcp preset for global ones).
    pub fn with_lbs(&self, lbs: Option<&LbList>) -> Vec<String> {
        let mut specs = self.trust.clone();
        if let Some(list) = lbs {
            specs.extend(super::lb::trust_specs(list, &self.trust));
        }
        specs
    }
}

/// `nginx check --trust IP` (alias `--lb-ip`): addresses and CIDRs a configuration must trust.
///
/// The same flag name as [`TrustArgs`], but a check, not a trust to resolve with: it takes
/// load-balancer IPs and proxy-only subnets, not presets, and keeps the name `nginx check`
/// had first as an alias.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MustTrustArgs {
    /// A load-balancer IP that must be trusted (repeatable, or comma-separated), e.g. a
    /// Google Cloud forwarding-rule IP; or a CIDR that must be trusted, e.g. the proxy-only
    /// subnet of a regional Application LB.
    /// (`--lb-ip` is the same flag: the name `realip nginx check` had first.)
    #[arg(
        long = "trust",
        visible_alias = "lb-ip",
        value_name = "IP",
        value_delimiter = ','
    )]
    pub lb_ip: Vec<String>,
}

impl MustTrustArgs {
    /// The addresses and CIDRs as typed.
    pub fn texts(&self) -> &[String] {
        &self.lb_ip
    }
}

/// `--header NAME`: nginx's `real_ip_header`.
#[derive(Debug, Clone, clap::Args)]
pub struct HeaderArg {
    /// Header that carries the client address (nginx's `real_ip_header`).
    ///
    /// Only the exact spelling `X-Forwarded-For` reads every header line; any other name,
    /// even `x-forwarded-for`, reads the first line only, as nginx does.
    #[arg(long, value_name = "NAME", default_value = "X-Forwarded-For")]
    pub header: String,
}

impl HeaderArg {
    /// The header name as typed (checked by `Header::new`).
    pub fn name(&self) -> &str {
        &self.header
    }
}

/// `--recursive` / `--no-recursive`: nginx's `real_ip_recursive`; the last one given wins.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct RecursionArgs {
    /// Walk right to left through every trusted address (the default; nginx's
    /// `real_ip_recursive on`, the only safe setting behind more than one proxy).
    #[arg(long, overrides_with = "no_recursive")]
    pub recursive: bool,

    /// Take the rightmost address only (nginx's default `real_ip_recursive off`).
    #[arg(long, overrides_with = "recursive")]
    pub no_recursive: bool,
}

impl RecursionArgs {
    /// `real_ip_recursive on` unless `--no-recursive` was given last.
    pub fn recursive(&self) -> bool {
        !self.no_recursive
    }
}

/// `--nginx-version V`: whose realip rules to reproduce.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct NginxVersionArg {
    /// Reproduce this nginx version's rules (only `[addr]` without a port changed, in
    /// 1.27.3). Default: current nginx.
    #[arg(long, value_name = "V", value_parser = NginxVersion::parse)]
    pub nginx_version: Option<NginxVersion>,
}

impl NginxVersionArg {
    /// The version given, if any (none: current nginx).
    pub fn version(&self) -> Option<NginxVersion> {
        self.nginx_version
    }
}

/// `--nginx-conf FILE` and `--server NAME`: the realip settings of the configuration nginx
/// runs, instead of `--trust`/`--header`/`--recursive` (which the subcommand must also take:
/// the conflicts name them).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NginxConfArgs {
    /// Take trust, header and recursion from this nginx configuration (or `nginx -T` dump)
    /// instead of --trust/--header/--recursive: the same file nginx runs.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["trust", "header", "recursive", "no_recursive"])]
    pub nginx_conf: Option<std::path::PathBuf>,

    /// With --nginx-conf: the server (by server_name) whose realip settings apply
    /// [default: the first].
    #[arg(long, value_name = "NAME", requires = "nginx_conf")]
    pub server: Option<String>,
}

impl NginxConfArgs {
    /// The configuration file, if given.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.nginx_conf.as_deref()
    }

    /// The server_name whose settings apply (none: the first server).
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }
}

/// `--front-end SPEC`: the proxies in front of the load balancers, for the audit.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FrontEndArgs {
    /// Front ends that append `<client>,<lb-ip>` to X-Forwarded-For (repeatable or
    /// comma-separated): the audit (`scan`, `nginx check --log`) takes the rightmost entry
    /// of their lines as a load-balancer IP. Default: the gcp preset.
    #[arg(long, value_name = "SPEC", value_delimiter = ',')]
    pub front_end: Vec<String>,
}

impl FrontEndArgs {
    /// The specs as typed (none: the gcp preset).
    pub fn specs(&self) -> &[String] {
        &self.front_end
    }
}

/// `-j/--threads N`: worker threads for reading logs.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct ThreadsArg {
    /// Worker threads [default: one per core].
    #[arg(
        long,
        short = 'j',
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub threads: usize,
}

impl ThreadsArg {
    /// The thread count for `ScanOptions` (0: one per core).
    pub fn threads(&self) -> usize {
        self.threads
    }
}

#[cfg(test)]
mod tests {
    use clap::{Arg, ArgAction, Args, Command, CommandFactory};

    use super::*;

    /// Everything about a flag that a user types or reads, and how clap takes its values.
    fn declaration(a: &Arg) -> String {
        format!(
            "long {:?} short {:?} aliases {:?}/{:?} value names {:?} defaults {:?} \
             delimiter {:?} action {:?} num_args {:?} hidden {} default hidden {} \
             help {:?} long help {:?}",
            a.get_long(),
            a.get_short(),
            a.get_visible_aliases(),
            a.get_all_aliases(),
            a.get_value_names(),
            a.get_default_values(),
            a.get_value_delimiter(),
            a.get_action(),
            a.get_num_args(),
            a.is_hide_set(),
            a.is_hide_default_value_set(),
            a.get_help().map(ToString::to_string),
            a.get_long_help().map(ToString::to_string),
        )
    }

    /// The shared declarations, by long name: each flag may be declared only as one of these.
    fn shared() -> Vec<(String, String)> {
        // Built together, as a subcommand takes them: --nginx-conf's conflicts name the
        // others. nginx check's --trust, of the same name, is built apart.
        let mut all = Command::new("x");
        all = TrustArgs::augment_args(all);
        all = HeaderArg::augment_args(all);
        all = RecursionArgs::augment_args(all);
        all = NginxVersionArg::augment_args(all);
        all = NginxConfArgs::augment_args(all);
        all = FrontEndArgs::augment_args(all);
        all = ThreadsArg::augment_args(all);
        all = super::super::lb::LbArgs::augment_args(all);
        let groups = [all, MustTrustArgs::augment_args(Command::new("x"))];
        groups
            .into_iter()
            .flat_map(|mut c| {
                // As the real command is: building fills in what clap infers (num_args).
                c.build();
                c.get_arguments().cloned().collect::<Vec<_>>()
            })
            .filter_map(|a| Some((a.get_long()?.to_string(), declaration(&a))))
            .collect()
    }

    /// Every (subcommand path, flag) in the command tree.
    fn walk<'a>(cmd: &'a Command, path: String, out: &mut Vec<(String, &'a Arg)>) {
        for a in cmd.get_arguments() {
            out.push((path.clone(), a));
        }
        for sub in cmd.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_subcommand_declares_a_shared_flag_exactly_as_its_group_does() {
        let mut cli = super::super::Cli::command();
        cli.build();
        let shared = shared();
        let mut flags = Vec::new();
        walk(&cli, "realip".into(), &mut flags);
        let mut seen = 0;
        for (path, arg) in flags {
            let Some(long) = arg.get_long() else { continue };
            let allowed: Vec<&String> = shared
                .iter()
                .filter(|(l, _)| l == long)
                .map(|(_, d)| d)
                .collect();
            if allowed.is_empty() {
                continue;
            }
            seen += 1;
            let got = declaration(arg);
            assert!(
                allowed.contains(&&got),
                "{path} --{long} is declared by hand; flatten its group from cli/args.rs.\n\
                 got:    {got}\nshared: {allowed:#?}"
            );
        }
        // resolve 8, scan 10, nginx check 4, nginx snippet 5.
        assert!(seen >= 27, "only {seen} shared flags found");
    }

    #[test]
    fn the_recursion_pair_is_one_switch_and_the_last_one_wins() {
        let cmd = RecursionArgs::augment_args(Command::new("x"));
        let parse = |argv: &[&str]| {
            let m = cmd.clone().try_get_matches_from(argv).unwrap();
            use clap::FromArgMatches;
            RecursionArgs::from_arg_matches(&m).unwrap().recursive()
        };
        assert!(parse(&["x"]));
        assert!(!parse(&["x", "--no-recursive"]));
        assert!(parse(&["x", "--no-recursive", "--recursive"]));
        assert!(!parse(&["x", "--recursive", "--no-recursive"]));
        let flag = cmd.get_arguments().find(|a| a.get_id() == "recursive");
        assert!(matches!(
            flag.map(Arg::get_action),
            Some(ArgAction::SetTrue)
        ));
    }
}
