//! `realip nginx check`: lint rules over a configuration's realip setup.
//!
//! Owns: the rules (each with a stable kebab-case id, listed in [`RULES`]), the [`Finding`]s
//! they produce (severity, `file:line`, message, and the exact configuration text that fixes
//! it), and [`LintOptions`] (what the configuration cannot say: load-balancer IPs, IPv6).
//! Does not own: printing or exit codes (`cli::nginx`), finding load-balancer IPs in logs
//! (the CLI runs the `audit` and passes them in), the inheritance rules (`realip`).
//!
//! Severities: **error** when nginx refuses the configuration or resolves the wrong client for
//! (nearly) every request; **warning** when clients can spoof their address, when some
//! requests resolve wrongly, or when the configuration does something other than it seems to;
//! **info** for hygiene (redundant lines, logs the audit cannot read exactly).
//!
//! Messages carry configuration text as written; the caller escapes it for a terminal.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use super::ast::{Config, Pos};
use super::log_format::{access_logs, format_named, log_formats, AccessLog, DEFAULT_ACCESS_LOG};
use super::realip::{tree, tree_at, Ctx, FromDirective, FromValue, Level};
use super::snippet::quote_arg;
use crate::audit::AuditConfig;
use crate::logfmt::Field;
use crate::net::{NginxText, TrustNet};
use crate::presets;
use crate::ranges::gcloud::{AlbIp, LbKind, LbList, LbRule};
use crate::ranges::RangeList;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// nginx refuses the configuration, or resolves the wrong client for (nearly) every
    /// request.
    Error,
    /// Spoofable, wrong for some requests, or not what it seems.
    Warning,
    /// Hygiene.
    Info,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found, where it is, and what to write instead.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule's stable id (see [`RULES`]).
    pub id: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// The configuration file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// What is wrong and why it matters.
    pub message: String,
    /// Configuration text that fixes it (one directive per line), when there is one to add or
    /// replace; `None` when the fix is to delete the line or cannot be known.
    pub fix: Option<String>,
    /// Configuration text to delete (as written, one directive per line), when the fix is to
    /// delete it; `None` otherwise. Every finding has `fix` or `remove` or both.
    pub remove: Option<String>,
}

/// What the configuration cannot tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LintOptions {
    /// Load-balancer IPs that must be trusted (`--lb-ip`, or found in logs).
    pub lb_ips: Vec<IpAddr>,
    /// Whether the site is served over IPv6; `None`: guessed from `listen [..]` directives.
    pub serves_ipv6: Option<bool>,
    /// Where the checked file sits in nginx's configuration: `None` infers it ([`scope`]).
    pub context: Option<Context>,
    /// Published range lists to compare the configuration's lists with, besides the
    /// built-in presets (`--ranges-file`).
    pub providers: Vec<ProviderList>,
    /// Report includes that match no file as errors, not info (`--strict`).
    pub strict: bool,
}

/// The block a fragment is included in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    /// `http { include …; }` (like `conf.d/*.conf`).
    Http,
    /// `server { include …; }` (like `snippets/*.conf`).
    Server,
    /// `location … { include …; }`.
    Location,
}

impl Context {
    /// `http`, `server` or `location`.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Http => "http",
            Context::Server => "server",
            Context::Location => "location",
        }
    }
}

/// What was checked: a whole configuration, or a fragment that another file includes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// nginx's main file (it has `events` or `http`), or an `nginx -T` dump.
    Whole,
    /// A file included in the given block: it gets findings about what it contains, never
    /// about what its includer would have (a default access log, a missing header or list
    /// the includer may set).
    Fragment(Context),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Whole => f.write_str("a whole configuration"),
            Scope::Fragment(c) => write!(f, "a fragment included in {} {{ }}", c.as_str()),
        }
    }
}

/// Whether `cfg` is a whole configuration, and if not, the block its text belongs in:
/// `server` blocks make it an `http` fragment; `location` blocks, `listen` or `server_name`
/// a `server` fragment; anything else (realip lines alone) an `http` fragment, where
/// `conf.d/*.conf` is included.
pub fn scope(cfg: &Config) -> Scope {
    let top = cfg.expanded();
    let has = |name: &str| top.iter().any(|d| d.name == name);
    if has("events") || has("http") {
        Scope::Whole
    } else if has("server") {
        Scope::Fragment(Context::Http)
    } else if has("location") || has("listen") || has("server_name") {
        Scope::Fragment(Context::Server)
    } else {
        Scope::Fragment(Context::Http)
    }
}

/// A provider's published range list, to compare configurations with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderList {
    /// Who publishes it, for messages (`Cloudflare`, `AWS CLOUDFRONT_ORIGIN_FACING`).
    pub name: String,
    /// What kind of proxy it is.
    pub kind: ProviderKind,
    /// Where the list comes from (URL or file).
    pub source: String,
    /// When it was checked or created, for messages (`checked 2026-11-22`).
    pub dated: String,
    /// The published ranges.
    pub nets: Vec<IpNet>,
    /// Ranges it published once and no longer does.
    pub former: Vec<IpNet>,
}

/// The kinds of provider realip knows the headers of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// Google Cloud load-balancer front ends (appends client and load-balancer IP).
    Gcp,
    /// Cloudflare's edge (sets CF-Connecting-IP, appends to X-Forwarded-For).
    Cloudflare,
    /// AWS (CloudFront, load balancers: append to X-Forwarded-For).
    Aws,
    /// Fastly (appends to X-Forwarded-For; Fastly-Client-IP can be set by clients).
    Fastly,
}

impl ProviderKind {
    /// The realip lines that read this provider's header right.
    pub fn header_fix(self) -> &'static str {
        match self {
            ProviderKind::Cloudflare => "real_ip_header CF-Connecting-IP;",
            _ => "real_ip_header X-Forwarded-For;\nreal_ip_recursive on;",
        }
    }
}

impl ProviderList {
    /// The list of a built-in preset.
    pub fn preset(p: &presets::Preset, kind: ProviderKind, name: &str) -> Self {
        let nets = |v: &[&str]| v.iter().filter_map(|r| r.parse().ok()).collect();
        ProviderList {
            name: name.to_string(),
            kind,
            source: p.source.to_string(),
            dated: format!("checked {}", p.checked),
            nets: nets(p.ranges),
            former: nets(p.former),
        }
    }

    /// Whether the published list covers `net` entirely.
    fn covers(&self, net: IpNet) -> bool {
        covers(&self.nets, net)
    }

    /// Whether `net` lies inside a range the provider published once and no longer does.
    fn is_former(&self, net: IpNet) -> bool {
        self.former.iter().any(|r| r.contains(&net))
    }

    /// Whether `net` is (or was) one of the provider's: covered by the published list, or
    /// inside a former range.
    fn owns(&self, net: IpNet) -> bool {
        self.covers(net) || self.is_former(net)
    }
}

/// The lists to compare with: a `--ranges-file` of a provider replaces that provider's
/// preset (keeping the preset's former ranges), the others are added.
fn providers(opts: &LintOptions) -> Vec<ProviderList> {
    let mut out: Vec<ProviderList> = Vec::new();
    for p in preset_providers() {
        if !opts.providers.iter().any(|f| f.kind == p.kind) {
            out.push(p);
        }
    }
    for f in &opts.providers {
        let mut f = f.clone();
        for p in preset_providers().into_iter().filter(|p| p.kind == f.kind) {
            f.former.extend(p.former);
        }
        out.push(f);
    }
    out
}

/// The built-in presets as provider lists: Google Cloud front ends and Cloudflare.
pub fn preset_providers() -> Vec<ProviderList> {
    vec![
        ProviderList::preset(
            &presets::GCP,
            ProviderKind::Gcp,
            "Google Cloud load-balancer front ends",
        ),
        ProviderList::preset(&presets::CLOUDFLARE, ProviderKind::Cloudflare, "Cloudflare"),
    ]
}

/// One rule: its id, its usual severity and what it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The stable id.
    pub id: &'static str,
    /// The severity it usually reports with (a few rules report some cases lower or higher;
    /// see the summary).
    pub severity: Severity,
    /// What it checks.
    pub summary: &'static str,
}

/// Every rule, in the order `--help` lists them.
pub const RULES: &[Rule] = &[
    Rule {
        id: "recursive-off-behind-proxies",
        severity: Severity::Error,
        summary: "X-Forwarded-For with real_ip_recursive off behind a Google Cloud load \
                  balancer (which appends two entries) is always wrong; a warning when the \
                  trusted peers can form a chain (a provider's ranges plus your own proxies, \
                  or private and public ranges of which one is a CIDR), never for independent \
                  single-hop peers",
    },
    Rule {
        id: "no-real-ip-header",
        severity: Severity::Error,
        summary: "set_real_ip_from without real_ip_header when the trusted peers are a load \
                  balancer or CDN (GCP, Cloudflare, AWS, Fastly ranges) that passes a client's \
                  own X-Real-IP through: nginx reads X-Real-IP, so clients choose their \
                  address (error); silent for peers that are not known providers",
    },
    Rule {
        id: "header-case",
        severity: Severity::Warning,
        summary: "real_ip_header x-forwarded-for in another letter case reads only the first \
                  X-Forwarded-For line",
    },
    Rule {
        id: "trusts-internet",
        severity: Severity::Error,
        summary: "0.0.0.0/0 or ::/0 trusted (error), or a public range far wider than any \
                  provider publishes (warning): anyone can spoof their address",
    },
    Rule {
        id: "gcp-ranges-incomplete",
        severity: Severity::Error,
        summary: "Google front-end ranges partly trusted: 130.211.0.0/22 or 35.191.0.0/16 \
                  missing (error), or 2600:2d00:1:1::/64 when IPv6 is served (warning)",
    },
    Rule {
        id: "lb-ip-missing",
        severity: Severity::Error,
        summary: "a load-balancer IP (--trust, found with --log, or an Application LB of \
                  --lb-ips-from, named with its forwarding rule) is not trusted: nginx logs it \
                  as the client",
    },
    Rule {
        id: "stale-lb-ip",
        severity: Severity::Warning,
        summary: "with --lb-ips-from: a trusted single address that none of your forwarding \
                  rules or reserved addresses holds any more, in Google Cloud's customer ranges \
                  (--google-ranges cloud.json; info without it): a released LB IP that someone \
                  else may now own",
    },
    Rule {
        id: "proxy-subnet-unknown",
        severity: Severity::Warning,
        summary: "with --lb-ips-from: regional or internal Application LBs reach nginx from a \
                  proxy-only subnet the gcloud lists do not hold, and the list trusts no private \
                  range; pass the subnet (--trust CIDR) to have it checked exactly",
    },
    Rule {
        id: "hostname-in-trust",
        severity: Severity::Warning,
        summary: "set_real_ip_from with a hostname, resolved once at start-up (an error for a \
                  realip preset name such as gcp, which nginx cannot resolve)",
    },
    Rule {
        id: "invalid-trust",
        severity: Severity::Error,
        summary: "set_real_ip_from value nginx refuses (host not found): unix:/path, a bad \
                  prefix length, a port",
    },
    Rule {
        id: "host-bits-set",
        severity: Severity::Warning,
        summary: "set_real_ip_from 10.1.2.3/8: nginx masks the host bits (and warns)",
    },
    Rule {
        id: "duplicate-trust",
        severity: Severity::Info,
        summary: "the same range twice in one list",
    },
    Rule {
        id: "shadowed-trust",
        severity: Severity::Info,
        summary: "a range already covered by a wider one in the same list",
    },
    Rule {
        id: "never-matches",
        severity: Severity::Warning,
        summary: "set_real_ip_from ::ffff:a.b.c.d: nginx tests mapped addresses as IPv4, so an \
                  IPv6 entry for them never matches",
    },
    Rule {
        id: "location-drops-trust",
        severity: Severity::Warning,
        summary: "a server or location with its own set_real_ip_from list: it replaces the \
                  inherited list, dropping ranges the outer level trusts",
    },
    Rule {
        id: "server-level-preempts",
        severity: Severity::Warning,
        summary: "a location changes real_ip_header or real_ip_recursive, but the server \
                  level's realip runs first and wins whenever its header is present",
    },
    Rule {
        id: "invalid-realip-directive",
        severity: Severity::Error,
        summary: "a realip directive nginx refuses: wrong number of arguments, a duplicate, \
                  real_ip_recursive other than on/off",
    },
    Rule {
        id: "unknown-log-format",
        severity: Severity::Error,
        summary: "access_log names a log_format that is not defined",
    },
    Rule {
        id: "log-format-incomplete",
        severity: Severity::Info,
        summary: "an access log without $realip_remote_addr or the realip header's variable: \
                  the audit (realip scan) cannot be exact",
    },
    Rule {
        id: "provider-list-stale",
        severity: Severity::Warning,
        summary: "a range in a provider's list (Cloudflare, or a --ranges-file) that the \
                  provider no longer publishes: whoever holds it now can spoof the client \
                  address; names the line to delete and the published ranges that replace it",
    },
    Rule {
        id: "provider-list-incomplete",
        severity: Severity::Warning,
        summary: "a list of a provider's ranges (Cloudflare, or a --ranges-file) lacking \
                  published ranges: requests through those edges keep the edge as the client; \
                  names the list's check date and the lines to add",
    },
    Rule {
        id: "realip-inactive",
        severity: Severity::Warning,
        summary: "real_ip_header or real_ip_recursive with no set_real_ip_from in effect: \
                  realip does nothing and nginx logs the TCP peer as the client",
    },
    Rule {
        id: "byte-order-mark",
        severity: Severity::Error,
        summary: "a file starting with a UTF-8 byte-order mark: nginx reads it as part of the \
                  first directive's name (unknown directive \"\\u{FEFF}…\") and refuses to start",
    },
    Rule {
        id: "include-unmatched",
        severity: Severity::Info,
        summary: "an include whose glob matches no file (error with --strict): nginx includes \
                  nothing; in a checkout, map /etc/nginx with --prefix or --prefix-map",
    },
];

/// The GCP front-end ranges every GCP setup needs (IPv4), and the IPv6 one.
const GCP_V4: &[&str] = &["130.211.0.0/22", "35.191.0.0/16"];
const GCP_V6: &str = "2600:2d00:1:1::/64";

/// Ranges that are not the public internet (private, loopback, CGNAT, link-local, ULA).
const PRIVATE: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
];

/// Public IPv4 ranges wider than this prefix length are "huge" (the widest published CDN range,
/// Cloudflare's 104.16.0.0/13, is not).
const HUGE_V4: u8 = 13;
/// The same for IPv6 (Cloudflare's 2a06:98c0::/29 is not huge).
const HUGE_V6: u8 = 29;

/// Runs every rule over the configuration. Findings are ordered by file, line and id.
pub fn check(cfg: &Config, opts: &LintOptions) -> Vec<Finding> {
    let scope = opts.context.map_or_else(|| scope(cfg), Scope::Fragment);
    let ctxs = match scope {
        Scope::Fragment(Context::Server) => tree_at(cfg, Level::Server),
        Scope::Fragment(Context::Location) => tree_at(cfg, Level::Location),
        Scope::Whole | Scope::Fragment(Context::Http) => tree(cfg),
    };
    let providers = providers(opts);
    let mut lint = Lint {
        cfg,
        ctxs,
        found: Vec::new(),
        seen: HashSet::new(),
        fragment: scope != Scope::Whole,
        providers,
    };
    lint.files(opts);
    lint.directives();
    lint.lists(opts);
    lint.requests(opts);
    lint.inactive();
    lint.logs();
    let mut found = lint.found;
    found.sort_by(|a, b| {
        (a.0.file, a.0.line, a.0.col, a.1.severity, a.1.id).cmp(&(
            b.0.file,
            b.0.line,
            b.0.col,
            b.1.severity,
            b.1.id,
        ))
    });
    found.into_iter().map(|(_, f)| f).collect()
}

/// A request context with a `set_real_ip_from` list in effect.
struct ActiveList {
    /// Its index in `Lint::ctxs`.
    i: usize,
    ctx: Ctx,
    /// The list's first entry: where findings about the list point.
    first: Pos,
    /// The ranges it trusts (entries that are not ranges left out).
    nets: Vec<IpNet>,
}

struct Lint<'a> {
    cfg: &'a Config,
    ctxs: Vec<Ctx>,
    found: Vec<(Pos, Finding)>,
    seen: HashSet<(&'static str, Pos, String)>,
    /// A fragment: nothing is said about what its includer would have.
    fragment: bool,
    /// The presets' lists, then the `--ranges-file` ones.
    providers: Vec<ProviderList>,
}

impl Lint<'_> {
    fn add(
        &mut self,
        id: &'static str,
        severity: Severity,
        pos: Pos,
        message: String,
        fix: Option<String>,
    ) {
        self.add_removing(id, severity, pos, message, fix, None);
    }

    /// [`Lint::add`] with configuration text to delete.
    fn add_removing(
        &mut self,
        id: &'static str,
        severity: Severity,
        pos: Pos,
        message: String,
        fix: Option<String>,
        remove: Option<String>,
    ) {
        if !self.seen.insert((id, pos, message.clone())) {
            return;
        }
        let finding = Finding {
            id,
            severity,
            file: self.cfg.path(pos),
            line: pos.line,
            message,
            fix,
            remove,
        };
        self.found.push((pos, finding));
    }

    /// The provider whose published list covers `net`, if any.
    fn provider_of(&self, net: IpNet) -> Option<&ProviderList> {
        self.providers.iter().find(|p| p.covers(net))
    }

    /// Files nginx refuses as they are (a byte-order mark), and includes matching nothing.
    fn files(&mut self, opts: &LintOptions) {
        let cfg = self.cfg;
        for (i, f) in cfg.files.iter().enumerate() {
            if !f.bom {
                continue;
            }
            let first = f.directives.first().map_or("", |d| d.name.as_str());
            let path = f.path.display().to_string();
            self.add_removing(
                "byte-order-mark",
                Severity::Error,
                Pos {
                    file: i,
                    line: 1,
                    col: 1,
                },
                format!(
                    "unknown directive \"\u{FEFF}{first}\": the file starts with a UTF-8 \
                     byte-order mark (bytes EF BB BF), which nginx reads as part of the first \
                     directive's name, so nginx refuses to start. Save it without the mark"
                ),
                None,
                Some(format!(
                    "the 3 bytes EF BB BF at the start of the file (tail -c +4 {p} > {p}.new && \
                     mv {p}.new {p})",
                    p = quote_arg(&path)
                )),
            );
        }
        for u in &cfg.unmatched {
            let severity = if opts.strict {
                Severity::Error
            } else {
                Severity::Info
            };
            let hint = if u.looked.starts_with("/etc/nginx/") {
                "; checking a checkout? --prefix DIR (or --prefix-map /etc/nginx=DIR) reads \
                 /etc/nginx from DIR"
            } else {
                ""
            };
            self.add_removing(
                "include-unmatched",
                severity,
                u.pos,
                format!(
                    "include {} matches no file (looked for {}): nginx includes nothing here, \
                     so whatever it was meant to bring in is not checked{hint}; if nothing is \
                     meant to match, delete it",
                    u.pattern, u.looked
                ),
                None,
                Some(format!("include {};", quote_arg(&u.pattern))),
            );
        }
    }

    /// `file:line` for messages.
    fn at(&self, pos: Pos) -> String {
        format!("{}:{}", self.cfg.path(pos), pos.line)
    }

    /// What a context is, for messages: `location /api/`, `server shop.test`, `http`.
    fn describe(&self, i: usize) -> String {
        let c = &self.ctxs[i];
        match c.level {
            Level::Http => "the http level".to_string(),
            Level::Server => match c.server_names.first() {
                Some(n) => format!("server {n}"),
                None => "the server".to_string(),
            },
            Level::Location => format!("location {}", c.location.as_deref().unwrap_or("")),
        }
    }

    /// Malformed realip directives, and each `set_real_ip_from` and `real_ip_header` alone.
    fn directives(&mut self) {
        for i in 0..self.ctxs.len() {
            for p in self.ctxs[i].problems.clone() {
                let line = directive_line(p.directive, &p.args);
                let fix = (p.directive == "real_ip_recursive" && p.args.len() == 1)
                    .then(|| "real_ip_recursive on;".to_string());
                self.add_removing(
                    "invalid-realip-directive",
                    Severity::Error,
                    p.pos,
                    format!("{} {}: nginx refuses to start", p.directive, p.reason),
                    fix,
                    Some(line),
                );
            }
            for f in self.ctxs[i].own_from.clone() {
                self.trust_value(&f);
            }
            if let Some((name, pos)) = self.ctxs[i].own_header.clone() {
                if name.eq_ignore_ascii_case("X-Forwarded-For") && name != "X-Forwarded-For" {
                    self.add(
                        "header-case",
                        Severity::Warning,
                        pos,
                        format!(
                            "real_ip_header {name}: only the exact spelling X-Forwarded-For \
                             reads every X-Forwarded-For line; any other case is looked up as a \
                             generic header and only its first line is read, so a client's own \
                             X-Forwarded-For line can win over the one your proxy added"
                        ),
                        Some("real_ip_header X-Forwarded-For;".into()),
                    );
                }
            }
        }
    }

    /// Rules about one `set_real_ip_from` value alone.
    fn trust_value(&mut self, f: &FromDirective) {
        match &f.value {
            FromValue::Hostname => self.hostname_trust(f),
            FromValue::Invalid => self.invalid_trust(f),
            FromValue::Net {
                net: TrustNet::Net(net),
                masked,
            } => {
                if *masked {
                    self.masked_trust(f, *net);
                }
                self.trust_reach(f, *net);
            }
            FromValue::Net { .. } => {}
        }
    }

    /// `hostname-in-trust`: a preset name (an error: nginx cannot resolve it) or a hostname
    /// (resolved once, at start).
    fn hostname_trust(&mut self, f: &FromDirective) {
        let text = &f.text;
        match presets::find(text) {
            Some(p) => self.add(
                "hostname-in-trust",
                Severity::Error,
                f.pos,
                format!(
                    "set_real_ip_from {text}: \"{text}\" is a realip preset name, not \
                     something nginx knows; nginx looks up a host named {text} and fails \
                     to start when there is none. Write the preset's ranges instead"
                ),
                Some(from_lines(p.ranges.iter().copied())),
            ),
            None => self.add_removing(
                "hostname-in-trust",
                Severity::Warning,
                f.pos,
                format!(
                    "set_real_ip_from {text}: a hostname is resolved once, when nginx \
                     starts; later DNS changes are not seen until a reload, and nginx fails \
                     to start when the name does not resolve. List the addresses instead \
                     (one set_real_ip_from line each)"
                ),
                None,
                Some(from_lines([text])),
            ),
        }
    }

    /// `invalid-trust`: a value nginx refuses.
    fn invalid_trust(&mut self, f: &FromDirective) {
        let text = &f.text;
        let fix = (text.eq_ignore_ascii_case("unix:") || text.starts_with("unix:"))
            .then(|| "set_real_ip_from unix:;".to_string());
        self.add_removing(
            "invalid-trust",
            Severity::Error,
            f.pos,
            format!(
                "set_real_ip_from {text}: not unix:, an address or a CIDR (prefix \
                 length at most 32 or 128, no port, no brackets); nginx fails to start \
                 with \"host not found\""
            ),
            fix,
            Some(from_lines([text])),
        );
    }

    /// `host-bits-set`: bits beyond the prefix, which nginx masks.
    fn masked_trust(&mut self, f: &FromDirective, net: IpNet) {
        let text = &f.text;

        self.add(
            "host-bits-set",
            Severity::Warning,
            f.pos,
            format!(
                "set_real_ip_from {text}: the address has bits set beyond the \
                 prefix; nginx masks them (\"low address bits are meaningless\") \
                 and trusts {}. Write the range you mean",
                net_text(net)
            ),
            Some(from_lines([net_text(net)])),
        );
    }

    /// `never-matches` for an IPv4-mapped IPv6 entry, `trusts-internet` for a /0 or a huge
    /// public range that no provider publishes (or published).
    fn trust_reach(&mut self, f: &FromDirective, net: IpNet) {
        let text = &f.text;
        if let Some(v4) = mapped_v4(net) {
            self.add(
                "never-matches",
                Severity::Warning,
                f.pos,
                format!(
                    "set_real_ip_from {text}: nginx tests IPv4-mapped addresses \
                     (::ffff:a.b.c.d) as IPv4, against IPv4 entries only, so this IPv6 \
                     entry never matches anything"
                ),
                Some(from_lines([v4])),
            );
        } else if net.prefix_len() == 0 {
            self.add_removing(
                "trusts-internet",
                Severity::Error,
                f.pos,
                format!(
                    "set_real_ip_from {text} trusts every {} address: any client can \
                     send the header and pick its own address. Trust only your proxies",
                    if matches!(net, IpNet::V4(_)) {
                        "IPv4"
                    } else {
                        "IPv6"
                    }
                ),
                None,
                Some(from_lines([text])),
            );
        } else if is_huge_public(net) && !self.providers.iter().any(|p| p.is_former(net)) {
            // A wide range that is (or was) a provider's is provider-list-stale's.
            self.add_removing(
                "trusts-internet",
                Severity::Warning,
                f.pos,
                format!(
                    "set_real_ip_from {text} trusts {} addresses, far more than any \
                     proxy provider publishes in one range (Cloudflare's widest is a \
                     /13); whoever holds an address in it (another customer of the same \
                     cloud) can spoof the client address. Trust only your proxies' \
                     ranges",
                    huge_size(net)
                ),
                None,
                Some(from_lines([text])),
            );
        }
    }

    /// Rules about one level's own list.
    fn lists(&mut self, opts: &LintOptions) {
        let serves_ipv6 = opts
            .serves_ipv6
            .unwrap_or_else(|| listens_on_ipv6(self.cfg));
        for i in 0..self.ctxs.len() {
            let own = self.ctxs[i].own_from.clone();
            if own.is_empty() {
                continue;
            }
            let nets: Vec<(IpNet, &FromDirective)> = own
                .iter()
                .filter_map(|f| match f.value {
                    FromValue::Net {
                        net: TrustNet::Net(n),
                        ..
                    } => Some((n, f)),
                    _ => None,
                })
                .collect();
            self.repeated_entries(&nets);
            self.gcp_all_or_nothing(&nets, serves_ipv6);
            self.provider_lists(&nets, serves_ipv6);
            self.dropped(i, &own);
        }
    }

    /// `duplicate-trust` and `shadowed-trust`: an entry the same as, or inside, another one
    /// of the same list.
    fn repeated_entries(&mut self, nets: &[(IpNet, &FromDirective)]) {
        for (k, (net, f)) in nets.iter().enumerate() {
            if let Some((_, first)) = nets[..k].iter().find(|(n, _)| n == net) {
                self.add_removing(
                    "duplicate-trust",
                    Severity::Info,
                    f.pos,
                    format!(
                        "set_real_ip_from {}: the same range as set_real_ip_from {} at {}; \
                         delete one",
                        f.text,
                        first.text,
                        self.at(first.pos)
                    ),
                    None,
                    Some(from_lines([&f.text])),
                );
            } else if let Some((wide, w)) = nets
                .iter()
                .filter(|(n, _)| n != net && n.contains(net))
                .min_by_key(|(n, _)| n.prefix_len())
            {
                self.add_removing(
                    "shadowed-trust",
                    Severity::Info,
                    f.pos,
                    format!(
                        "set_real_ip_from {}: already covered by set_real_ip_from {}{} at \
                         {}; delete one",
                        f.text,
                        w.text,
                        if net_text(*wide) == w.text {
                            String::new()
                        } else {
                            format!(" ({})", net_text(*wide))
                        },
                        self.at(w.pos)
                    ),
                    None,
                    Some(from_lines([&f.text])),
                );
            }
        }
    }

    /// `gcp-ranges-incomplete`: Google Cloud front ends trusted in part (all IPv4 ranges are
    /// needed; the IPv6 one too when the site serves IPv6).
    fn gcp_all_or_nothing(&mut self, nets: &[(IpNet, &FromDirective)], serves_ipv6: bool) {
        let gcp: Vec<IpNet> = presets::GCP
            .ranges
            .iter()
            .filter_map(|r| r.parse().ok())
            .collect();
        let Some((_, f)) = nets.iter().find(|(n, _)| gcp.iter().any(|g| g.contains(n))) else {
            return;
        };
        let list: Vec<IpNet> = nets.iter().map(|(n, _)| *n).collect();
        let missing_v4: Vec<&str> = GCP_V4
            .iter()
            .copied()
            .filter(|r| r.parse().is_ok_and(|g| !covers(&list, g)))
            .collect();
        let v6_missing = serves_ipv6 && GCP_V6.parse().is_ok_and(|g| !covers(&list, g));
        if !missing_v4.is_empty() {
            let mut add = missing_v4.clone();
            if v6_missing {
                add.push(GCP_V6);
            }
            self.add(
                "gcp-ranges-incomplete",
                Severity::Error,
                f.pos,
                format!(
                    "this list trusts Google Cloud front ends only in part: {} missing; \
                     requests through a missing front end keep its address as the \
                     client",
                    add.join(", ")
                ),
                Some(from_lines(add.iter().copied())),
            );
        } else if v6_missing {
            self.add(
                "gcp-ranges-incomplete",
                Severity::Warning,
                f.pos,
                format!(
                    "the site is served over IPv6 but this list lacks Google's IPv6 \
                     front-end range {GCP_V6}: IPv6 requests keep the front end's \
                     address as the client"
                ),
                Some(from_lines([GCP_V6])),
            );
        }
    }

    /// `provider-list-stale` and `provider-list-incomplete` for one level's own list.
    fn provider_lists(&mut self, nets: &[(IpNet, &FromDirective)], serves_ipv6: bool) {
        let mut stale_seen: HashSet<Pos> = HashSet::new();
        for p in self.providers.clone() {
            let members: Vec<&(IpNet, &FromDirective)> =
                nets.iter().filter(|(n, _)| p.owns(*n)).collect();
            // A list is this provider's when it holds three of its ranges (current or
            // former); one former range alone is enough to be stale.
            let identified = members.len() >= 3;
            self.provider_stale(&p, nets, identified, &mut stale_seen);
            if !identified || p.kind == ProviderKind::Gcp {
                continue;
            }
            if let Some((_, first)) = members.first() {
                self.provider_incomplete(&p, nets, &members, first.pos, serves_ipv6);
            }
        }
    }

    /// `provider-list-stale`: entries of `nets` that provider `p` no longer publishes, or
    /// (when the list is identified as `p`'s) publishes only part of, or never published.
    /// An entry is reported once over all providers (`stale_seen`).
    fn provider_stale(
        &mut self,
        p: &ProviderList,
        nets: &[(IpNet, &FromDirective)],
        identified: bool,
        stale_seen: &mut HashSet<Pos>,
    ) {
        let list: Vec<IpNet> = nets.iter().map(|(n, _)| *n).collect();
        for &(net, f) in nets {
            if p.covers(net) || stale_seen.contains(&f.pos) {
                continue;
            }
            let former = p.is_former(net);
            let partly = !is_huge_public(net) && p.nets.iter().any(|r| net.contains(r));
            // A public range in a provider's list that no provider publishes.
            let stray = identified
                && !is_private(net)
                && net.prefix_len() < net.max_prefix_len()
                && !is_huge_public(net)
                && !self.providers.iter().any(|q| q.owns(net));
            if !(former || (identified && partly) || stray) {
                continue;
            }
            stale_seen.insert(f.pos);
            // Published ranges inside the stale one that the rest of the list lacks.
            let rest: Vec<IpNet> = list.iter().copied().filter(|l| *l != net).collect();
            let inside: Vec<String> = p
                .nets
                .iter()
                .filter(|r| net.contains(*r) && !covers(&rest, **r))
                .map(|r| net_text(*r))
                .collect();
            let replaced = if inside.is_empty() {
                String::new()
            } else {
                format!(
                    "; of it, {} {} still published",
                    inside.join(", "),
                    if inside.len() == 1 { "is" } else { "are" }
                )
            };
            self.add_removing(
                "provider-list-stale",
                Severity::Warning,
                f.pos,
                format!(
                    "set_real_ip_from {}: {} no longer publishes {} (its list, {}: {}){replaced}; \
                     whoever holds those addresses now can send the header and choose the \
                     client address",
                    f.text,
                    p.name,
                    if partly {
                        "all of this range"
                    } else {
                        "this range"
                    },
                    p.dated,
                    p.source
                ),
                (!inside.is_empty()).then(|| from_lines(&inside)),
                Some(from_lines([&f.text])),
            );
        }
    }

    /// `provider-list-incomplete`: a list identified as provider `p`'s (its `members`) lacks
    /// some of `p`'s published ranges of the families it trusts (IPv6 too when the site
    /// serves IPv6), reported at `pos`, the first member.
    fn provider_incomplete(
        &mut self,
        p: &ProviderList,
        nets: &[(IpNet, &FromDirective)],
        members: &[&(IpNet, &FromDirective)],
        pos: Pos,
        serves_ipv6: bool,
    ) {
        let list: Vec<IpNet> = nets.iter().map(|(n, _)| *n).collect();
        let has_v4 = members.iter().any(|(n, _)| matches!(n, IpNet::V4(_)));
        let has_v6 = members.iter().any(|(n, _)| matches!(n, IpNet::V6(_)));
        let wanted: Vec<IpNet> = p
            .nets
            .iter()
            .copied()
            .filter(|r| match r {
                IpNet::V4(_) => has_v4,
                IpNet::V6(_) => has_v6 || serves_ipv6,
            })
            .collect();
        let missing: Vec<String> = wanted
            .iter()
            .filter(|r| !covers(&list, **r))
            .map(|r| net_text(*r))
            .collect();
        if missing.is_empty() {
            return;
        }
        self.add(
            "provider-list-incomplete",
            Severity::Warning,
            pos,
            format!(
                "this list trusts {} in part: {} of its {} published ranges {} \
                 missing ({}, {}): {}; requests through those edges keep the edge's address \
                 as the client",
                p.name,
                missing.len(),
                wanted.len(),
                if missing.len() == 1 { "is" } else { "are" },
                p.dated,
                p.source,
                missing.join(", ")
            ),
            Some(from_lines(&missing)),
        );
    }

    /// `location-drops-trust`: a level's own list replaces the inherited one.
    fn dropped(&mut self, i: usize, own: &[FromDirective]) {
        let c = &self.ctxs[i];
        let Some(parent) = c.parent else {
            return;
        };
        let inherited = self.ctxs[parent].from.clone();
        let Some(from_ctx) = self.ctxs[parent].from_ctx else {
            return;
        };
        let own_nets: Vec<IpNet> = own.iter().filter_map(ip_net).collect();
        // What the inherited list trusted that this one does not (entries that never match
        // or that nginx refuses lose nothing).
        let lost: Vec<&FromDirective> = inherited
            .iter()
            .filter(|f| match (&f.value, ip_net(f)) {
                (_, Some(n)) => mapped_v4(n).is_none() && !covers(&own_nets, n),
                (FromValue::Hostname, None) => !own.iter().any(|o| o.text == f.text),
                (FromValue::Net { .. }, None) => !own.iter().any(|o| o.value == f.value),
                (FromValue::Invalid, None) => false,
            })
            .collect();
        let Some(first) = own.first() else {
            return;
        };
        if lost.is_empty() {
            return;
        }
        let names: Vec<&str> = lost.iter().map(|f| f.text.as_str()).collect();
        // The fix repeats addresses only: hostnames are what hostname-in-trust warns against.
        let hosts: Vec<&str> = lost
            .iter()
            .filter(|f| f.value == FromValue::Hostname)
            .map(|f| f.text.as_str())
            .collect();
        let message = format!(
            "{} has its own set_real_ip_from list, which replaces the list inherited from {} \
             (at {}) instead of adding to it: {} {} not trusted here{}",
            self.describe(i),
            self.describe(from_ctx),
            self.at(self.ctxs[from_ctx].pos),
            names.join(", "),
            if names.len() == 1 { "is" } else { "are" },
            if hosts.is_empty() {
                String::new()
            } else {
                format!(
                    " (for the hostname{} {}, list the addresses)",
                    if hosts.len() == 1 { "" } else { "s" },
                    hosts.join(", ")
                )
            }
        );
        let mut fix = from_lines(
            lost.iter()
                .filter(|f| f.value != FromValue::Hostname)
                .map(|f| f.text.as_str()),
        );
        for h in &hosts {
            if !fix.is_empty() {
                fix.push('\n');
            }
            fix.push_str(&format!("# set_real_ip_from <each address of {h}>;"));
        }
        self.add(
            "location-drops-trust",
            Severity::Warning,
            first.pos,
            message,
            (!fix.is_empty()).then_some(fix),
        );
    }

    /// Rules about the settings a request sees.
    fn requests(&mut self, opts: &LintOptions) {
        let request = self.request_contexts();
        let active = self.active_lists(&request);
        for list in &active {
            self.header_needed(list);
            self.recursion_needed(list);
            for ip in &opts.lb_ips {
                if covers(&list.nets, IpNet::from(normalize(*ip))) {
                    continue;
                }
                self.add(
                    "lb-ip-missing",
                    Severity::Error,
                    list.first,
                    format!(
                        "load-balancer IP {} is not trusted by this list: requests through \
                         it are logged with the load balancer as the client",
                        NginxText(*ip)
                    ),
                    Some(from_lines([NginxText(*ip).to_string()])),
                );
            }
            self.preempted(list.i);
        }
        if active.is_empty() && !opts.lb_ips.is_empty() {
            let ips: Vec<String> = opts
                .lb_ips
                .iter()
                .map(|ip| NginxText(*ip).to_string())
                .collect();
            let fix = from_lines(ips.iter().map(String::as_str));
            self.nothing_trusted(&request, &ips, "", fix);
        }
    }

    /// The contexts whose settings requests see: every server and location when there are
    /// servers, else the http level (a configuration without servers).
    fn request_contexts(&self) -> Vec<usize> {
        let servers = self.ctxs.iter().any(|c| c.level == Level::Server);
        (0..self.ctxs.len())
            .filter(|&i| (self.ctxs[i].level == Level::Http) != servers)
            .collect()
    }

    /// Those of `request` with a `set_real_ip_from` list in effect, in order.
    fn active_lists(&self, request: &[usize]) -> Vec<ActiveList> {
        request
            .iter()
            .filter_map(|&i| {
                let ctx = self.ctxs[i].clone();
                let first = ctx.from.first()?.pos;
                let nets = ctx.from.iter().filter_map(ip_net).collect();
                Some(ActiveList {
                    i,
                    ctx,
                    first,
                    nets,
                })
            })
            .collect()
    }

    /// `lb-ip-missing` when no request context has a list: realip is off, so none of the
    /// load-balancer IPs `ips` (`whose` they are, said after them) is trusted; `fix` is the
    /// whole list to write.
    fn nothing_trusted(&mut self, request: &[usize], ips: &[String], whose: &str, fix: String) {
        let pos = request
            .first()
            .map(|&i| self.ctxs[i].pos)
            .unwrap_or_default();
        self.add(
            "lb-ip-missing",
            Severity::Error,
            pos,
            format!(
                "no set_real_ip_from anywhere: realip is inactive, and every request is logged \
                 with its TCP peer as the client; load-balancer IPs {}{whose} are not trusted",
                ips.join(", ")
            ),
            Some(fix),
        );
    }

    /// `no-real-ip-header`: a provider's ranges trusted with nginx's default header, X-Real-IP,
    /// which the provider passes through from the client. Whole configurations only.
    fn header_needed(&mut self, list: &ActiveList) {
        // A fragment's includer may set the header: only a whole configuration says.
        if list.ctx.header.is_some() || self.fragment {
            return;
        }
        let provider = list.nets.iter().find_map(|n| self.provider_of(*n)).cloned();
        if let Some(p) = provider {
            self.add(
                "no-real-ip-header",
                Severity::Error,
                list.first,
                format!(
                    "set_real_ip_from without real_ip_header: nginx reads the X-Real-IP \
                     header (its default), and the trusted peers are {}, which pass a \
                     client's own X-Real-IP through unchanged, so every client chooses \
                     its address",
                    p.name
                ),
                Some(p.kind.header_fix().to_string()),
            );
        }
    }

    /// `recursive-off-behind-proxies`: X-Forwarded-For without recursion behind a Google
    /// load balancer (an error) or peers that can form a chain (a warning).
    fn recursion_needed(&mut self, list: &ActiveList) {
        let c = &list.ctx;
        let header = c.header.as_ref().map(|(n, _)| n.as_str());
        let recursive = c.recursive.is_some_and(|(r, _)| r);
        let recursion_known = c.recursive.is_some() || !self.fragment;
        if !header.is_some_and(|h| h.eq_ignore_ascii_case("X-Forwarded-For"))
            || recursive
            || !recursion_known
        {
            return;
        }
        let pos = c
            .recursive
            .map(|(_, p)| p)
            .or(c.header.as_ref().map(|(_, p)| *p))
            .unwrap_or(list.first);
        let gcp = list.nets.iter().any(|n| {
            self.provider_of(*n)
                .is_some_and(|p| p.kind == ProviderKind::Gcp)
        });
        if gcp {
            self.add(
                "recursive-off-behind-proxies",
                Severity::Error,
                pos,
                "X-Forwarded-For with real_ip_recursive off behind a Google Cloud load \
                 balancer: it appends two entries (client, load-balancer IP), and \
                 without recursion nginx takes the rightmost, so every request \
                 \"comes from\" the load balancer"
                    .to_string(),
                Some("real_ip_recursive on;".into()),
            );
        } else if let Some(why) = self.chain(&list.nets) {
            self.add(
                "recursive-off-behind-proxies",
                Severity::Warning,
                pos,
                format!(
                    "X-Forwarded-For with real_ip_recursive off, but the trusted peers \
                     can form a chain ({why}): without recursion nginx takes the \
                     rightmost entry, the proxy in front of the last one, not the client"
                ),
                Some("real_ip_recursive on;".into()),
            );
        }
    }

    /// Why the trusted peers can be a chain of proxies (one appending behind another), if they
    /// can: a provider's ranges together with other entries (the provider in front of your own
    /// load balancer), or private and public entries of which one is a range of more than one
    /// address. Independent single addresses are not a chain.
    fn chain(&self, nets: &[IpNet]) -> Option<String> {
        let provider = nets.iter().find_map(|n| self.provider_of(*n));
        let others: Vec<IpNet> = nets
            .iter()
            .copied()
            .filter(|n| self.provider_of(*n).is_none())
            .collect();
        if let (Some(p), Some(o)) = (provider, others.first()) {
            return Some(format!(
                "{}'s ranges and {}, which can sit behind or in front of them",
                p.name,
                net_text(*o)
            ));
        }
        let wide = |n: &IpNet| n.prefix_len() < n.max_prefix_len();
        let private_range = others.iter().find(|n| is_private(**n) && wide(n));
        let public_range = others.iter().find(|n| !is_private(**n) && wide(n));
        let private_any = others.iter().find(|n| is_private(**n));
        let public_any = others.iter().find(|n| !is_private(**n));
        let pair = match (private_range, public_any, public_range, private_any) {
            (Some(a), Some(b), _, _) | (_, _, Some(b), Some(a)) => (a, b),
            _ => return None,
        };
        Some(format!(
            "private {} and public {}",
            net_text(*pair.0),
            net_text(*pair.1)
        ))
    }

    /// `realip-inactive`: `real_ip_header` or `real_ip_recursive` where no list is in effect,
    /// neither at that level nor in any block inside it. Whole configurations only: a
    /// fragment's includer may hold the list.
    fn inactive(&mut self) {
        if self.fragment {
            return;
        }
        for i in 0..self.ctxs.len() {
            let c = &self.ctxs[i];
            let Some(pos) = c
                .own_header
                .as_ref()
                .map(|(_, p)| *p)
                .or(c.own_recursive.map(|(_, p)| p))
            else {
                continue;
            };
            if !c.from.is_empty() || self.subtree_has_list(i) {
                continue;
            }
            let header = c.own_header.as_ref().map(|(h, _)| h.as_str());
            let what: Vec<String> =
                c.own_header
                    .iter()
                    .map(|(h, _)| format!("real_ip_header {}", quote_arg(h)))
                    .chain(c.own_recursive.map(|(r, _)| {
                        format!("real_ip_recursive {}", if r { "on" } else { "off" })
                    }))
                    .collect();
            let cloudflare = header.is_some_and(|h| h.eq_ignore_ascii_case("CF-Connecting-IP"));
            let fix = cloudflare.then(|| from_lines(presets::CLOUDFLARE.ranges.iter().copied()));
            let remove = (!cloudflare).then(|| {
                what.iter()
                    .map(|w| format!("{w};"))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            self.add_removing(
                "realip-inactive",
                Severity::Warning,
                pos,
                format!(
                    "{} in {}, but no set_real_ip_from is in effect there or in any block \
                     inside it: realip is inactive, nginx never reads the header and logs every \
                     TCP peer as the client. Add set_real_ip_from lines for the proxies that set \
                     it{}",
                    what.join(" and "),
                    self.describe(i),
                    if cloudflare {
                        " (Cloudflare's, below)"
                    } else {
                        ", or delete the line"
                    }
                ),
                fix,
                remove,
            );
        }
    }

    /// Whether a block inside context `i` has its own list.
    fn subtree_has_list(&self, i: usize) -> bool {
        self.ctxs[i]
            .children
            .iter()
            .any(|&k| !self.ctxs[k].own_from.is_empty() || self.subtree_has_list(k))
    }

    /// `server-level-preempts`: location `i` reads another header (or recursion) than its
    /// server, whose realip runs first.
    fn preempted(&mut self, i: usize) {
        let c = &self.ctxs[i];
        let Some(s) = c.server_ctx.filter(|&s| s != i) else {
            return;
        };
        let srv = &self.ctxs[s];
        if srv.from.is_empty() {
            return;
        }
        let name = |c: &Ctx| {
            c.header
                .as_ref()
                .map_or("X-Real-IP".to_string(), |(n, _)| n.clone())
        };
        let rec = |c: &Ctx| c.recursive.is_some_and(|(r, _)| r);
        let (pos, what, fix) = if name(c) != name(srv) {
            let Some((h, p)) = c.header.clone() else {
                return;
            };
            (
                p,
                format!("real_ip_header {h}"),
                format!("real_ip_header {};", quote_arg(&h)),
            )
        } else if rec(c) != rec(srv) {
            let Some((r, p)) = c.recursive else {
                return;
            };
            let v = if r { "on" } else { "off" };
            (
                p,
                format!("real_ip_recursive {v}"),
                format!("real_ip_recursive {v};"),
            )
        } else {
            return;
        };
        let message = format!(
            "{} sets {what}, but {} (at {}) has realip active with real_ip_header {} and \
             real_ip_recursive {}; nginx applies the server level first, right after reading the \
             request headers, so whenever a request carries {} this location's settings are \
             never used (and they never apply to return/rewrite in it). Set it at the server \
             level",
            self.describe(i),
            self.describe(s),
            self.at(srv.pos),
            name(srv),
            if rec(srv) { "on" } else { "off" },
            name(srv)
        );
        self.add(
            "server-level-preempts",
            Severity::Warning,
            pos,
            message,
            Some(fix),
        );
    }

    /// Access logs: unknown formats, and formats the audit cannot use exactly.
    fn logs(&mut self) {
        let cfg = self.cfg;
        let defs = log_formats(cfg);
        // Per active context: its server and the logged variable of its header, when the
        // header is written down and the audit can read it from a log.
        let wanted: Vec<(Option<String>, Option<String>)> = self
            .ctxs
            .iter()
            .filter(|c| !c.from.is_empty())
            .map(|c| {
                let var = c.header.as_ref().and_then(|(h, _)| {
                    AuditConfig::field_for_header(h).map(|f| f.name().to_string())
                });
                (c.server_names.first().cloned(), var)
            })
            .collect();
        for log in access_logs(cfg) {
            // A fragment's default log is its includer's; /dev/null is no log to audit.
            if (self.fragment && log.implicit) || log.path == "/dev/null" {
                continue;
            }
            let Some(format) = format_named(cfg, &log.format) else {
                if self.fragment {
                    // Defined by the includer, most likely.
                    continue;
                }
                self.add(
                    "unknown-log-format",
                    Severity::Error,
                    log.pos,
                    format!(
                        "access_log {} uses log_format {}, which is not defined; nginx refuses \
                         to start (\"unknown log format\"). Define it, or use the recommended format",
                        log.path, log.format
                    ),
                    // Not `combined`: log-format-incomplete would warn against it.
                    Some(recommended(
                        &defs,
                        &log,
                        Field::HttpXForwardedFor.name(),
                    )),
                );
                continue;
            };
            if wanted.is_empty() {
                continue;
            }
            let template = format.template().unwrap_or_default().to_string();
            let mut need = vec!["realip_remote_addr".to_string()];
            let mine: Vec<&(Option<String>, Option<String>)> = wanted
                .iter()
                .filter(|(s, _)| log.server.is_none() || *s == log.server)
                .collect();
            let scope = if mine.is_empty() {
                wanted.iter().collect()
            } else {
                mine
            };
            let mut vars: Vec<String> = scope.iter().filter_map(|(_, v)| v.clone()).collect();
            vars.sort();
            vars.dedup();
            need.extend(vars);
            let missing: Vec<String> = need
                .iter()
                .filter(|v| !has_var(&template, v))
                .map(|v| format!("${v}"))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let header_var = need
                .get(1)
                .cloned()
                .unwrap_or_else(|| Field::HttpXForwardedFor.name().to_string());
            let fix = recommended(&defs, &log, &header_var);
            self.add(
                "log-format-incomplete",
                Severity::Info,
                log.pos,
                format!(
                    "{} lacks {}: the log cannot show which proxy sent each request and what it \
                     forwarded, so the audit (realip scan) cannot tell a load-balancer IP from a \
                     client exactly",
                    if log.path == DEFAULT_ACCESS_LOG && log.format == "combined" {
                        format!(
                            "no access_log is configured, so nginx writes {DEFAULT_ACCESS_LOG} \
                             in log_format combined, which"
                        )
                    } else {
                        format!("access_log {} (log_format {})", log.path, log.format)
                    },
                    missing.join(" and ")
                ),
                Some(fix),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --lb-ips-from: the load balancers' own list

/// What `--lb-ips-from` adds to a check (see [`check_lb_list`]).
#[derive(Clone, Copy, Debug)]
pub struct LbCheck<'a> {
    /// The forwarding rules and addresses read from gcloud's JSON.
    pub list: &'a LbList,
    /// Proxy-only subnets (or other ranges) the user says nginx must trust: the peers of
    /// regional and internal Application LBs, which the lists do not hold.
    pub proxy_subnets: &'a [IpNet],
    /// Google's `cloud.json` (or `goog.json`), to tell a stale trusted address that is a
    /// Google Cloud customer address.
    pub google: Option<&'a RangeList>,
    /// Load-balancer IPs the user names otherwise (`--trust`, `--log`): never stale.
    pub declared: &'a [IpAddr],
}

/// The `--lb-ips-from` rules, apart from [`check`]: `lb-ip-missing` for every Application LB
/// address (IPv4 and IPv6) that the effective `set_real_ip_from` list of a server or location
/// does not cover, naming its forwarding rules, with the line to add; `gcp-ranges-incomplete`
/// when global external ALBs are listed and no Google front end is trusted; `stale-lb-ip` for
/// a trusted single address no rule or address holds any more; `proxy-subnet-unknown` when
/// regional ALBs are listed without their proxy-only subnet. Ordered like [`check`].
pub fn check_lb_list(cfg: &Config, lb: &LbCheck<'_>) -> Vec<Finding> {
    let mut lint = Lint {
        cfg,
        ctxs: tree(cfg),
        found: Vec::new(),
        seen: HashSet::new(),
        fragment: false,
        providers: preset_providers(),
    };
    lint.lb_list(lb);
    let mut found = lint.found;
    found.sort_by(|a, b| {
        (a.0.file, a.0.line, a.0.col, a.1.severity, a.1.id).cmp(&(
            b.0.file,
            b.0.line,
            b.0.col,
            b.1.severity,
            b.1.id,
        ))
    });
    found.into_iter().map(|(_, f)| f).collect()
}

/// `set_real_ip_from ADDR;  # forwarding rule NAME (KIND)`: a fix line that says why.
fn lb_fix_line(ip: &AlbIp) -> String {
    let kinds: Vec<&str> = ip.rules.iter().fold(Vec::new(), |mut v, r| {
        if !v.contains(&r.kind.description()) {
            v.push(r.kind.description());
        }
        v
    });
    format!(
        "{}  # forwarding rule{} {} ({})",
        from_lines([ip.trust_text()]),
        if ip.rules.len() == 1 { "" } else { "s" },
        ip.names(),
        kinds.join(", ")
    )
}

/// `forwarding rule web-https (global external Application LB, rules.json)`.
fn lb_rules_text(ip: &AlbIp) -> String {
    let parts: Vec<String> = ip
        .rules
        .iter()
        .map(|r| {
            let mut what = vec![r.kind.description().to_string()];
            if let Some(region) = &r.region {
                what.push(region.clone());
            }
            if let Some(a) = &r.address_name {
                what.push(format!("address {a}"));
            }
            what.push(r.source.clone());
            format!("{} ({})", r.name, what.join(", "))
        })
        .collect();
    format!(
        "forwarding rule{} {}",
        if parts.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

impl Lint<'_> {
    fn lb_list(&mut self, lb: &LbCheck<'_>) {
        let albs = lb.list.alb_ips();
        let unknown = lb.list.unknown_ips();
        let global: Vec<&AlbIp> = albs
            .iter()
            .filter(|a| a.rules.iter().any(|r| r.kind == LbKind::GlobalExternal))
            .collect();
        let regional: Vec<&LbRule> = albs
            .iter()
            .flat_map(|a| a.rules.iter())
            .filter(|r| r.kind.needs_proxy_subnet())
            .collect();
        let request = self.request_contexts();
        let active = self.active_lists(&request);
        for list in &active {
            self.albs_covered(list, &albs, &unknown);
            self.front_ends_for(list, &global);
            self.proxy_subnets_covered(list, lb.proxy_subnets, &regional);
        }
        if active.is_empty() && (!albs.is_empty() || !unknown.is_empty()) {
            let mut fix: Vec<String> = Vec::new();
            if !global.is_empty() {
                fix.push(from_lines(GCP_V4.iter().copied()));
            }
            fix.extend(albs.iter().chain(&unknown).map(lb_fix_line));
            fix.extend(lb.proxy_subnets.iter().map(|n| from_lines([net_text(*n)])));
            fix.push("real_ip_header X-Forwarded-For;\nreal_ip_recursive on;".into());
            let ips: Vec<String> = albs.iter().map(AlbIp::trust_text).collect();
            self.nothing_trusted(&request, &ips, " of your forwarding rules", fix.join("\n"));
        }
        self.proxy_subnet_unknown(&request, &regional, lb, active.is_empty());
        self.stale_lb_ips(lb);
    }

    /// `lb-ip-missing` for each Application LB address (error) and each address of a rule no
    /// forwarding-rules list describes (warning) that `list` does not cover.
    fn albs_covered(&mut self, list: &ActiveList, albs: &[AlbIp], unknown: &[AlbIp]) {
        let described = albs.iter().map(|ip| (ip, true));
        for (ip, alb) in described.chain(unknown.iter().map(|ip| (ip, false))) {
            if covers(&list.nets, ip.net) {
                continue;
            }
            let (severity, message) = if alb {
                (
                    Severity::Error,
                    format!(
                        "load-balancer IP {} of {} is not trusted by this list: nginx logs it \
                         as the client of every request through it",
                        ip.trust_text(),
                        lb_rules_text(ip)
                    ),
                )
            } else {
                (
                    Severity::Warning,
                    format!(
                        "address {} is used by forwarding rule{} {}, which no forwarding-rules \
                         list describes: if it is an Application LB, nginx logs it as the \
                         client; add `gcloud compute forwarding-rules list --format=json` to \
                         --lb-ips-from to know",
                        ip.trust_text(),
                        if ip.rules.len() == 1 { "" } else { "s" },
                        ip.names()
                    ),
                )
            };
            self.add(
                "lb-ip-missing",
                severity,
                list.first,
                message,
                Some(lb_fix_line(ip)),
            );
        }
    }

    /// `gcp-ranges-incomplete`: global external ALBs listed, but `list` trusts no Google front
    /// end, so nginx never reads their X-Forwarded-For.
    fn front_ends_for(&mut self, list: &ActiveList, global: &[&AlbIp]) {
        let gfe: Vec<IpNet> = GCP_V4.iter().filter_map(|r| r.parse().ok()).collect();
        if global.is_empty() || list.nets.iter().any(|n| gfe.iter().any(|g| g.contains(n))) {
            return;
        }
        let names: Vec<String> = global.iter().map(|a| a.names()).collect();
        self.add(
            "gcp-ranges-incomplete",
            Severity::Error,
            list.first,
            format!(
                "forwarding rule{} {} {} global external Application LBs, whose requests \
                 come from Google front ends, but this list trusts none of {}: nginx \
                 never reads X-Forwarded-For from them",
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                if names.len() == 1 { "is a" } else { "are" },
                GCP_V4.join(", ")
            ),
            Some(from_lines(GCP_V4.iter().copied())),
        );
    }

    /// `lb-ip-missing` for each proxy-only subnet given that `list` does not cover.
    fn proxy_subnets_covered(
        &mut self,
        list: &ActiveList,
        subnets: &[IpNet],
        regional: &[&LbRule],
    ) {
        for subnet in subnets {
            if covers(&list.nets, *subnet) {
                continue;
            }
            let whose = if regional.is_empty() {
                "given on the command line".to_string()
            } else {
                let names: Vec<&str> = regional.iter().map(|r| r.name.as_str()).collect();
                format!(
                    "(given for the regional Application LBs {})",
                    names.join(", ")
                )
            };
            self.add(
                "lb-ip-missing",
                Severity::Error,
                list.first,
                format!(
                    "range {} {whose} is not trusted by this list: requests from it keep \
                     the proxy's address as the client",
                    net_text(*subnet)
                ),
                Some(from_lines([net_text(*subnet)])),
            );
        }
    }

    /// `proxy-subnet-unknown`: regional ALBs listed without their proxy-only subnet, and a
    /// list (or none at all, `inactive`) that does not seem to trust one.
    fn proxy_subnet_unknown(
        &mut self,
        request: &[usize],
        regional: &[&LbRule],
        lb: &LbCheck<'_>,
        inactive: bool,
    ) {
        // Proxy-only subnets are private ranges of /26 or wider: a list without any private
        // range wider than one address surely lacks them.
        let lacking: Vec<usize> = request
            .iter()
            .copied()
            .filter(|&i| {
                let c = &self.ctxs[i];
                !c.from.is_empty()
                    && !c
                        .from
                        .iter()
                        .filter_map(ip_net)
                        .any(|n| is_private(n) && n.prefix_len() < n.max_prefix_len())
            })
            .collect();
        if !regional.is_empty() && lb.proxy_subnets.is_empty() && (!lacking.is_empty() || inactive)
        {
            let pos = lacking
                .first()
                .or(request.first())
                .map(|&i| {
                    let c = &self.ctxs[i];
                    c.from.first().map_or(c.pos, |f| f.pos)
                })
                .unwrap_or_default();
            let names: Vec<String> = regional
                .iter()
                .map(|r| {
                    format!(
                        "{} ({}{})",
                        r.name,
                        r.kind.description(),
                        r.region
                            .as_deref()
                            .map(|g| format!(", {g}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            self.add(
                "proxy-subnet-unknown",
                Severity::Warning,
                pos,
                format!(
                    "forwarding rule{} {} reach{} nginx from the VPC's proxy-only subnet (a \
                     private range, /26 or wider), which the gcloud lists do not hold and this \
                     list does not seem to trust: nginx logs the proxies as the clients; find it \
                     with `gcloud compute networks subnets list \
                     --filter=purpose=(REGIONAL_MANAGED_PROXY,GLOBAL_MANAGED_PROXY) \
                     --format=json` and pass its range with --trust CIDR",
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", "),
                    if names.len() == 1 { "es" } else { "" }
                ),
                None,
            );
        }
    }

    /// `stale-lb-ip`: a trusted single public address that the lists no longer hold.
    fn stale_lb_ips(&mut self, lb: &LbCheck<'_>) {
        let providers: Vec<IpNet> = presets::ALL
            .iter()
            .flat_map(|p| p.ranges.iter())
            .filter_map(|r| r.parse().ok())
            .collect();
        let sources = lb.list.sources.join(", ");
        for i in 0..self.ctxs.len() {
            for f in self.ctxs[i].own_from.clone() {
                let Some(net) = ip_net(&f) else {
                    continue;
                };
                if net.prefix_len() != net.max_prefix_len()
                    || mapped_v4(net).is_some()
                    || is_private(net)
                    || providers.iter().any(|p| p.contains(&net))
                    || lb.list.owns(net.addr())
                    || lb.declared.iter().any(|d| normalize(*d) == net.addr())
                    || crate::net::reserved::reserved(net.addr()).is_some()
                {
                    continue;
                }
                match lb.google {
                    Some(g) if g.contains(net.addr()) => self.add_removing(
                        "stale-lb-ip",
                        Severity::Warning,
                        f.pos,
                        format!(
                            "set_real_ip_from {}: a Google Cloud customer address ({}) that \
                             none of your forwarding rules or reserved addresses ({sources}) \
                             holds any more; if it was a load balancer you deleted, the address \
                             may now belong to another customer, who can then choose the client \
                             address nginx logs. Delete the line",
                            f.text, g.provenance.source
                        ),
                        None,
                        Some(from_lines([&f.text])),
                    ),
                    Some(_) => {}
                    None => self.add_removing(
                        "stale-lb-ip",
                        Severity::Info,
                        f.pos,
                        format!(
                            "set_real_ip_from {}: none of your forwarding rules or reserved \
                             addresses ({sources}) holds this address; if it was a load \
                             balancer you deleted, delete the line (pass --google-ranges with \
                             Google's cloud.json to tell whether it is a Google Cloud address \
                             someone else may now own)",
                            f.text
                        ),
                        None,
                        Some(from_lines([&f.text])),
                    ),
                }
            }
        }
    }
}

/// A directive line as nginx would read it back: `name arg…;`.
fn directive_line(name: &str, args: &[String]) -> String {
    let mut out = name.to_string();
    for a in args {
        out.push(' ');
        out.push_str(&quote_arg(a));
    }
    out.push(';');
    out
}

/// `set_real_ip_from X;` lines.
fn from_lines<I, S>(values: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    values
        .into_iter()
        .map(|v| format!("set_real_ip_from {};", quote_arg(v.as_ref())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A prefix as nginx accepts it back: bare for a single address.
fn net_text(net: IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        NginxText(net.addr()).to_string()
    } else {
        TrustNet::Net(net).to_string()
    }
}

fn ip_net(f: &FromDirective) -> Option<IpNet> {
    match f.value {
        FromValue::Net {
            net: TrustNet::Net(n),
            ..
        } => Some(n),
        _ => None,
    }
}

/// The IPv4 equivalent of an IPv6 entry inside `::ffff:0:0/96`.
fn mapped_v4(net: IpNet) -> Option<String> {
    let IpNet::V6(v6) = net else {
        return None;
    };
    if v6.prefix_len() < 96 {
        return None;
    }
    let v4 = v6.network().to_ipv4_mapped()?;
    let len = v6.prefix_len() - 96;
    let net = ipnet::Ipv4Net::new(v4, len).ok()?;
    Some(net_text(IpNet::V4(net)))
}

/// nginx tests an IPv4-mapped address as IPv4.
fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether the union of `list` covers all of `net`.
fn covers(list: &[IpNet], net: IpNet) -> bool {
    IpNet::aggregate(&list.to_vec())
        .iter()
        .any(|n| n.contains(&net))
}

fn private_nets() -> Vec<IpNet> {
    PRIVATE.iter().filter_map(|r| r.parse().ok()).collect()
}

fn is_private(net: IpNet) -> bool {
    private_nets().iter().any(|p| p.contains(&net))
}

fn is_huge_public(net: IpNet) -> bool {
    let wide = match net {
        IpNet::V4(n) => n.prefix_len() < HUGE_V4,
        IpNet::V6(n) => n.prefix_len() < HUGE_V6,
    };
    wide && !is_private(net)
}

/// How many addresses a range holds, as a power of two.
fn huge_size(net: IpNet) -> String {
    format!("2^{}", net.max_prefix_len() - net.prefix_len())
}

/// Whether any `listen` directive binds an IPv6 address (`[::]:443`).
fn listens_on_ipv6(cfg: &Config) -> bool {
    fn any(ds: &[super::ast::Directive]) -> bool {
        ds.iter().any(|d| {
            (d.name == "listen" && d.args.first().is_some_and(|a| a.value.starts_with('[')))
                || d.block.as_deref().is_some_and(any)
        })
    }
    any(&cfg.expanded())
}

/// Whether `template` uses `$var` or `${var}`.
fn has_var(template: &str, var: &str) -> bool {
    let braced = format!("${{{var}}}");
    if template.contains(&braced) {
        return true;
    }
    let plain = format!("${var}");
    template.match_indices(&plain).any(|(i, m)| {
        !template[i + m.len()..]
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// The pieces of realip's recommended format, split where nginx's own examples split it.
const RECOMMENDED: [&str; 3] = [
    "$remote_addr - $remote_user [$time_local] \"$request\" ",
    "$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" ",
    "\"$http_x_forwarded_for\" $realip_remote_addr $request_time $upstream_response_time",
];

/// The `log_format` (unless already defined) and `access_log` lines that fix `log`.
fn recommended(
    defs: &[super::log_format::LogFormatDef],
    log: &AccessLog,
    header_var: &str,
) -> String {
    let pieces: Vec<String> = RECOMMENDED
        .iter()
        .map(|p| p.replace("$http_x_forwarded_for", &format!("${header_var}")))
        .collect();
    let template: String = pieces.concat();
    let mut name = "realip".to_string();
    let mut defined = false;
    for candidate in ["realip", "realip_audit", "realip_audit2"] {
        name = candidate.to_string();
        match defs.iter().find(|d| d.name == candidate) {
            None => break,
            Some(d) if d.template == template => {
                defined = true;
                break;
            }
            Some(_) => {}
        }
    }
    let access = format!("access_log {} {name};", quote_arg(&log.path));
    if defined {
        return access;
    }
    let indent = " ".repeat("log_format  ".len() + name.len() - 1);
    let mut out = format!("log_format {name} ");
    for (k, p) in pieces.iter().enumerate() {
        if k > 0 {
            out.push('\n');
            out.push_str(&indent);
        }
        out.push('\'');
        out.push_str(p);
        out.push('\'');
    }
    out.push_str(";\n");
    out.push_str(&access);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nginx::realip::tests::conf;

    /// The findings, without the log rule (most test configs have no access_log, so
    /// nginx's default log in `combined` would be reported everywhere).
    fn lint(text: &str, opts: &LintOptions) -> Vec<Finding> {
        // `events {}` on the first line makes it a whole configuration without moving lines.
        check(&conf(&format!("events {{}} {text}")), opts)
            .into_iter()
            .filter(|f| f.id != "log-format-incomplete")
            .collect()
    }

    fn ids(text: &str, opts: &LintOptions) -> Vec<(&'static str, u32)> {
        lint(text, opts)
            .into_iter()
            .map(|f| (f.id, f.line))
            .collect()
    }

    fn only(text: &str) -> Vec<(&'static str, u32)> {
        ids(text, &LintOptions::default())
    }

    const GOOD: &str = "
http {
    log_format realip '$remote_addr - $remote_user [$time_local] \"$request\" '
                      '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" '
                      '\"$http_x_forwarded_for\" $realip_remote_addr $request_time $upstream_response_time';
    access_log /var/log/nginx/access.log realip;
    set_real_ip_from 130.211.0.0/22;
    set_real_ip_from 35.191.0.0/16;
    set_real_ip_from 34.120.5.6;
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;
    server { server_name shop.test; location / { } }
}
";

    #[test]
    fn a_correct_gcp_setup_has_no_findings() {
        assert_eq!(only(GOOD), []);
        let opts = LintOptions {
            lb_ips: vec!["34.120.5.6".parse().unwrap()],
            serves_ipv6: Some(false),
            ..LintOptions::default()
        };
        assert_eq!(ids(GOOD, &opts), []);
    }

    #[test]
    fn every_rule_has_a_unique_kebab_case_id() {
        let mut seen = HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "{}", r.id);
            assert!(r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
        }
    }

    #[test]
    fn recursion_off_behind_a_gcp_load_balancer_is_an_error() {
        let text = GOOD.replace("real_ip_recursive on;", "real_ip_recursive off;");
        let f = lint(&text, &LintOptions::default());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].id, "recursive-off-behind-proxies");
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].line, 11);
        assert_eq!(f[0].fix.as_deref(), Some("real_ip_recursive on;"));
        let text = GOOD.replace("real_ip_recursive on;", "");
        assert_eq!(only(&text), [("recursive-off-behind-proxies", 10)]);
    }

    #[test]
    fn a_chain_of_private_and_public_proxies_without_recursion_is_a_warning() {
        let text = "set_real_ip_from 10.0.0.0/8;\nset_real_ip_from 173.245.48.0/20;\n\
                    real_ip_header X-Forwarded-For;";
        let f = lint(text, &LintOptions::default());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].id, f[0].severity, f[0].line),
            ("recursive-off-behind-proxies", Severity::Warning, 3)
        );
    }

    #[test]
    fn a_provider_list_without_real_ip_header_is_an_error_other_peers_are_silent() {
        // Unknown peers (a docker proxy) may well set X-Real-IP themselves.
        assert_eq!(only("set_real_ip_from 10.0.0.0/8;"), []);
        let f = lint(
            "set_real_ip_from 130.211.0.0/22;\nset_real_ip_from 35.191.0.0/16;",
            &LintOptions::default(),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].id, f[0].severity),
            ("no-real-ip-header", Severity::Error)
        );
        assert_eq!(
            f[0].fix.as_deref(),
            Some("real_ip_header X-Forwarded-For;\nreal_ip_recursive on;")
        );
        let cf = from_lines(presets::CLOUDFLARE.ranges.iter().copied());
        let f = lint(&cf, &LintOptions::default());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].fix.as_deref(),
            Some("real_ip_header CF-Connecting-IP;")
        );
    }

    #[test]
    fn independent_single_hop_peers_are_not_a_chain() {
        let text = "set_real_ip_from 127.0.0.1;\nset_real_ip_from 203.0.113.10;\n\
                    real_ip_header X-Forwarded-For;";
        assert_eq!(only(text), []);
        let text = "set_real_ip_from 10.0.0.0/8;\nset_real_ip_from 203.0.113.10;\n\
                    real_ip_header X-Forwarded-For;";
        assert_eq!(only(text), [("recursive-off-behind-proxies", 3)]);
    }

    #[test]
    fn a_fragment_gets_no_findings_about_its_includer() {
        let frag = |text: &str, context| {
            let opts = LintOptions {
                context,
                ..LintOptions::default()
            };
            check(&conf(text), &opts)
                .into_iter()
                .map(|f| f.id)
                .collect::<Vec<_>>()
        };
        // No header, no recursion, no access_log: all the includer's business.
        let text = "set_real_ip_from 130.211.0.0/22;\nset_real_ip_from 35.191.0.0/16;\n\
                    real_ip_header X-Forwarded-For;";
        assert_eq!(frag(text, None), Vec::<&str>::new());
        assert_eq!(frag("real_ip_header X-Real-IP;", None), Vec::<&str>::new());
        // What it says itself still counts.
        let text = "set_real_ip_from 35.191.0.0/16;\nreal_ip_recursive off;\n\
                    real_ip_header X-Forwarded-For;";
        assert_eq!(
            frag(text, Some(Context::Server)),
            ["gcp-ranges-incomplete", "recursive-off-behind-proxies"]
        );
        assert_eq!(
            scope(&conf("location / { }")),
            Scope::Fragment(Context::Server)
        );
        assert_eq!(scope(&conf("server { }")), Scope::Fragment(Context::Http));
        assert_eq!(scope(&conf("events {} http { }")), Scope::Whole);
    }

    #[test]
    fn a_header_without_any_list_is_inactive_realip() {
        let f = lint(
            "server {\n real_ip_header X-Forwarded-For;\n real_ip_recursive on;\n}",
            &LintOptions::default(),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].id, f[0].line), ("realip-inactive", 2));
        assert!(f[0].remove.is_some());
        // A list further in activates it.
        let text =
            "real_ip_header X-Forwarded-For;\nserver { location / { set_real_ip_from 10.0.0.1; } }";
        assert!(!only(text).iter().any(|(id, _)| *id == "realip-inactive"));
    }

    #[test]
    fn stale_and_missing_cloudflare_ranges_are_named_with_the_lines() {
        let mut text = String::from("real_ip_header CF-Connecting-IP;\n");
        for r in presets::CLOUDFLARE
            .ranges
            .iter()
            .filter(|r| r.contains('.'))
        {
            if *r != "131.0.72.0/22" && !r.starts_with("104.") {
                text.push_str(&format!("set_real_ip_from {r};\n"));
            }
        }
        text.push_str("set_real_ip_from 104.16.0.0/12;\nset_real_ip_from 199.27.128.0/21;\n");
        let f = lint(&text, &LintOptions::default());
        let got: Vec<_> = f.iter().map(|f| f.id).collect();
        assert_eq!(
            got,
            [
                "provider-list-incomplete",
                "provider-list-stale",
                "provider-list-stale"
            ],
            "{f:?}"
        );
        assert_eq!(f[0].fix.as_deref(), Some("set_real_ip_from 131.0.72.0/22;"));
        assert!(
            f[0].message.contains("checked 2026-11-22"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[1].fix.as_deref(),
            Some("set_real_ip_from 104.16.0.0/13;\nset_real_ip_from 104.24.0.0/14;")
        );
        assert_eq!(
            f[1].remove.as_deref(),
            Some("set_real_ip_from 104.16.0.0/12;")
        );
        assert_eq!(
            f[2].remove.as_deref(),
            Some("set_real_ip_from 199.27.128.0/21;")
        );
        // The complete list is clean.
        let full = format!(
            "real_ip_header CF-Connecting-IP;\n{}",
            from_lines(presets::CLOUDFLARE.ranges.iter().copied())
        );
        assert_eq!(only(&full), []);
    }

    #[test]
    fn every_finding_says_what_to_write_or_delete() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/nginx/bad-realip.conf"
        ))
        .unwrap();
        let opts = LintOptions {
            lb_ips: vec!["34.149.9.9".parse().unwrap()],
            ..LintOptions::default()
        };
        for f in check(&conf(&text), &opts) {
            assert!(f.fix.is_some() || f.remove.is_some(), "{f:?}");
        }
    }

    #[test]
    fn odd_case_x_forwarded_for_is_flagged() {
        let f = only(
            "set_real_ip_from 10.0.0.0/8;\nreal_ip_header x-forwarded-for;\nreal_ip_recursive on;",
        );
        assert_eq!(f, [("header-case", 2)]);
    }

    #[test]
    fn the_whole_internet_and_huge_public_ranges_are_flagged() {
        let head = "real_ip_header X-Forwarded-For; real_ip_recursive on;\n";
        let f = lint(
            &format!("{head}set_real_ip_from 0.0.0.0/0;"),
            &LintOptions::default(),
        );
        assert_eq!(
            (f[0].id, f[0].severity),
            ("trusts-internet", Severity::Error)
        );
        let f = lint(
            &format!("{head}set_real_ip_from ::/0;"),
            &LintOptions::default(),
        );
        assert_eq!(
            (f[0].id, f[0].severity),
            ("trusts-internet", Severity::Error)
        );
        let f = lint(
            &format!("{head}set_real_ip_from 34.0.0.0/8;"),
            &LintOptions::default(),
        );
        assert_eq!(
            (f[0].id, f[0].severity),
            ("trusts-internet", Severity::Warning)
        );
        assert_eq!(only(&format!("{head}set_real_ip_from 10.0.0.0/8;")), []);
        assert_eq!(only(&format!("{head}set_real_ip_from 104.16.0.0/13;")), []);
    }

    #[test]
    fn gcp_front_ends_must_be_trusted_together() {
        let text = "real_ip_header X-Forwarded-For; real_ip_recursive on;\n\
                    set_real_ip_from 35.191.0.0/16;";
        let f = lint(text, &LintOptions::default());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].id, f[0].severity),
            ("gcp-ranges-incomplete", Severity::Error)
        );
        assert_eq!(
            f[0].fix.as_deref(),
            Some("set_real_ip_from 130.211.0.0/22;")
        );
        let ipv6 = LintOptions {
            serves_ipv6: Some(true),
            ..LintOptions::default()
        };
        let f = lint(GOOD, &ipv6);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].id, f[0].severity),
            ("gcp-ranges-incomplete", Severity::Warning)
        );
        assert_eq!(
            f[0].fix.as_deref(),
            Some("set_real_ip_from 2600:2d00:1:1::/64;")
        );
        let listen = GOOD.replace("server_name shop.test;", "listen [::]:80;");
        assert_eq!(only(&listen), [("gcp-ranges-incomplete", 7)]);
    }

    #[test]
    fn missing_load_balancer_ips_are_errors_with_the_line_to_add() {
        let opts = LintOptions {
            lb_ips: vec!["34.149.9.9".parse().unwrap(), "34.120.5.6".parse().unwrap()],
            serves_ipv6: Some(false),
            ..LintOptions::default()
        };
        let f = lint(GOOD, &opts);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].id, f[0].line), ("lb-ip-missing", 7));
        assert_eq!(f[0].fix.as_deref(), Some("set_real_ip_from 34.149.9.9;"));
        let f = lint("http { server { } }", &opts);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].fix.as_deref(),
            Some("set_real_ip_from 34.149.9.9;\nset_real_ip_from 34.120.5.6;")
        );
    }

    #[test]
    fn list_hygiene_rules_fire_on_their_line() {
        let text = "real_ip_header X-Forwarded-For; real_ip_recursive on;
set_real_ip_from lb.internal;
set_real_ip_from 10.1.2.3/8;
set_real_ip_from 10.0.0.0/8;
set_real_ip_from 10.9.0.0/16;
set_real_ip_from ::ffff:192.168.1.1;
set_real_ip_from unix:/run/lb.sock;
set_real_ip_from gcp;";
        let f = lint(text, &LintOptions::default());
        let got: Vec<_> = f.iter().map(|f| (f.id, f.line)).collect();
        assert_eq!(
            got,
            [
                ("hostname-in-trust", 2),
                ("host-bits-set", 3),
                ("duplicate-trust", 4),
                ("shadowed-trust", 5),
                ("never-matches", 6),
                ("invalid-trust", 7),
                ("hostname-in-trust", 8),
            ]
        );
        assert_eq!(f[1].fix.as_deref(), Some("set_real_ip_from 10.0.0.0/8;"));
        assert_eq!(f[4].fix.as_deref(), Some("set_real_ip_from 192.168.1.1;"));
        assert_eq!(f[5].fix.as_deref(), Some("set_real_ip_from unix:;"));
        assert_eq!(f[6].severity, Severity::Error);
        assert!(f[6].fix.as_deref().unwrap().contains("35.191.0.0/16"));
    }

    #[test]
    fn a_location_list_that_drops_inherited_ranges_is_flagged() {
        let text = "
http {
    set_real_ip_from 10.0.0.0/8;
    set_real_ip_from 192.168.0.0/16;
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;
    server {
        location /internal/ {
            set_real_ip_from 10.0.0.0/8;
        }
        location /wider/ {
            set_real_ip_from 10.0.0.0/8;
            set_real_ip_from 192.168.0.0/15;
        }
    }
}";
        let f = lint(text, &LintOptions::default());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].id, f[0].line), ("location-drops-trust", 9));
        assert_eq!(
            f[0].fix.as_deref(),
            Some("set_real_ip_from 192.168.0.0/16;")
        );
        assert!(
            f[0].message.contains("location /internal/"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn a_location_header_the_server_level_preempts_is_flagged() {
        let text = "
server {
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
    location /xff/ {
        real_ip_header X-Forwarded-For;
        real_ip_recursive on;
    }
}";
        let f = lint(text, &LintOptions::default());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].id, f[0].line), ("server-level-preempts", 6));
    }

    #[test]
    fn directives_nginx_refuses_are_errors() {
        let f = only("real_ip_header A; real_ip_header B;\nreal_ip_recursive yes;");
        assert_eq!(
            f,
            [
                ("realip-inactive", 1),
                ("invalid-realip-directive", 1),
                ("invalid-realip-directive", 2)
            ]
        );
    }

    #[test]
    fn logs_the_audit_cannot_read_exactly_get_the_recommended_format() {
        let text = "
http {
    log_format main '$remote_addr \"$http_x_forwarded_for\"';
    access_log /var/log/nginx/access.log main;
    access_log /var/log/nginx/other.log nope;
    set_real_ip_from 10.0.0.0/8;
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;
}";
        let f = check(&conf(text), &LintOptions::default());
        let got: Vec<_> = f.iter().map(|f| (f.id, f.line)).collect();
        assert_eq!(
            got,
            [("log-format-incomplete", 4), ("unknown-log-format", 5)]
        );
        assert!(f[0].message.contains("$realip_remote_addr"));
        assert!(!f[0].message.contains("$http_x_forwarded_for"));
        let fix = f[0].fix.clone().unwrap();
        let fixed = conf(&fix);
        assert_eq!(
            format_named(&fixed, "realip"),
            Some(crate::logfmt::Format::Custom(
                crate::logfmt::REALIP.to_string()
            ))
        );
        assert!(
            fix.ends_with("access_log /var/log/nginx/access.log realip;"),
            "{fix}"
        );
        // Without realip there is nothing to audit.
        assert_eq!(only("access_log /x combined; server { }"), []);
    }

    #[test]
    fn variables_are_matched_whole() {
        assert!(has_var("a $realip_remote_addr b", "realip_remote_addr"));
        assert!(has_var("a ${realip_remote_addr}b", "realip_remote_addr"));
        assert!(!has_var("a $realip_remote_addrx", "realip_remote_addr"));
        assert!(has_var("$http_x_forwarded_for", "http_x_forwarded_for"));
    }
}
