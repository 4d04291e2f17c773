//! The realip settings of each configuration context, with nginx's inheritance.
//!
//! Owns: reading `set_real_ip_from`, `real_ip_header` and `real_ip_recursive` out of the
//! directive tree for every `http`, `server` and `location` context, merging them the way
//! `ngx_http_realip_merge_loc_conf` does, and turning the result into the library's
//! [`TrustedSet`], [`Header`] and [`Resolver`]. [`effective`] answers "which settings apply to
//! this server and this URI"; [`contexts`] lists every context (for `lint`).
//! Does not own: the resolution algorithm (`resolve`), the address grammar (`net`), parsing
//! the configuration text (`lexer`, `include`), or judging the settings (`lint`).
//!
//! # Inheritance (reference §3.2)
//!
//! * A level with any `set_real_ip_from` of its own **replaces** the inherited list; lists are
//!   never merged. Without any list in effect the module is inactive.
//! * `real_ip_header` and `real_ip_recursive` inherit normally; the defaults are `X-Real-IP`
//!   and `off`.
//!
//! nginx evaluates realip twice per request: first with the *server*-level settings right after
//! the request headers are read, then, only if that did not apply, with the matched location's
//! settings before the access phase (reference §4, §6.3). [`effective`] returns the location's
//! merged settings and says so in [`RealipSettings::notes`] when the server level can pre-empt
//! them.
//!
//! # `set_real_ip_from` values (reference §3.1, §8 rule 12)
//!
//! In nginx's order: the literal `unix:`; `addr[/len]` with nginx's lenient address grammar
//! (host bits masked, as nginx does with a warning); otherwise nginx resolves the value with
//! `getaddrinfo` once at start-up. realip accepts the purely numeric forms `getaddrinfo` takes
//! without a lookup (`127.1`, `0x7f000001`, `2130706433`, `255.255.255.255`) and refuses
//! hostnames: it never resolves names ([`effective`] returns [`Error::NginxHostname`];
//! `realip nginx check` reports them instead). Note that realip's preset names (`gcp`) mean
//! nothing to nginx: in a configuration they are hostnames.
//!
//! # Choosing the context
//!
//! * Server: the `server` block whose `server_name` matches exactly (case-insensitively), then
//!   the longest leading wildcard (`*.example.com`, `.example.com`), then the longest trailing
//!   wildcard (`www.example.*`). Regular-expression server names are not evaluated. Without a
//!   name, the first `server` block.
//! * Location: nginx's static match: an `=` location equal to the URI wins, else the longest
//!   prefix, then the same search among the locations nested in it. Regular-expression
//!   locations (`~`, `~*`) are **not evaluated**: the longest prefix is used and a note says
//!   which regex locations nginx might pick instead. Named locations (`@name`) are never
//!   matched by a URI.
//! * A configuration without an `http` block (a `conf.d/*.conf` file on its own) is read as if
//!   its top level were the inside of `http`.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use super::ast::{Config, Directive, Pos};
use crate::error::Error;
use crate::escape::escape_str;
use crate::net::{parse_trust_spec, Origin, TrustEntry, TrustNet, TrustedSet};
use crate::presets;
use crate::resolve::{Header, Resolver};

/// The realip settings in effect in one context. The default is nginx's without any realip
/// directive: nothing trusted (the module is inactive), `X-Real-IP`, recursion off.
#[derive(Clone, Debug, Default)]
pub struct RealipSettings {
    /// The merged `set_real_ip_from` list (hostnames and invalid values left out; see
    /// [`effective`], which refuses them).
    pub trusted: TrustedSet,
    /// The merged `real_ip_header` (default `X-Real-IP`).
    pub header: Header,
    /// The merged `real_ip_recursive` (default off).
    pub recursive: bool,
    /// The `set_real_ip_from` directives in effect (all of one level's list), in order.
    pub from_pos: Vec<Pos>,
    /// The `real_ip_header` in effect, if any was written.
    pub header_pos: Option<Pos>,
    /// The `real_ip_recursive` in effect, if any was written.
    pub recursive_pos: Option<Pos>,
    /// The first `server_name` of the server block, if the context is in one.
    pub server: Option<String>,
    /// The location (its modifier and path as written, e.g. `= /ret`, `/api/`), if the
    /// context is one.
    pub location: Option<String>,
    /// What the caller should know about how these settings were chosen: regex locations not
    /// evaluated, server-level settings that run first, a header realip cannot read.
    pub notes: Vec<String>,
}

impl RealipSettings {
    /// A resolver with these settings.
    pub fn resolver(&self) -> Resolver {
        Resolver::new(self.trusted.clone(), self.header.clone(), self.recursive)
    }

    /// Whether realip runs at all here: any `set_real_ip_from` in effect.
    pub fn active(&self) -> bool {
        !self.from_pos.is_empty()
    }
}

/// The effective settings for a request to `server` (a `server_name`; `None`: the first
/// server) and URI `location` (`None`: the server level itself).
///
/// Errors when nginx itself would refuse a realip directive on the way (wrong number of
/// arguments, a duplicate, `real_ip_recursive maybe`), when the list in effect holds a hostname
/// ([`Error::NginxHostname`]) or a value nginx cannot use, when the header is one realip cannot
/// read (`proxy_protocol`), and when no server has the name asked for.
pub fn effective(
    cfg: &Config,
    server: Option<&str>,
    location: Option<&str>,
) -> Result<RealipSettings, Error> {
    let ctxs = tree(cfg);
    let mut notes = Vec::new();
    let servers: Vec<usize> = (0..ctxs.len())
        .filter(|&i| ctxs[i].level == Level::Server)
        .collect();
    let srv = match server {
        None => servers.first().copied(),
        Some(name) => Some(
            match_server(&ctxs, &servers, name, &mut notes).ok_or_else(|| {
                let mut known: Vec<String> = Vec::new();
                for n in servers.iter().flat_map(|&s| ctxs[s].server_names.iter()) {
                    let n = escape_str(n).into_owned();
                    if !n.is_empty() && !known.contains(&n) {
                        known.push(n);
                    }
                }
                Error::NginxServer {
                    name: escape_str(name).into_owned(),
                    known: if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    },
                }
            })?,
        ),
    };
    let mut at = srv.unwrap_or(0);
    if let Some(uri) = location {
        match srv {
            Some(s) => {
                let mut regexes = Vec::new();
                match find_location(&ctxs, s, uri, &mut regexes) {
                    Some(l) => at = l,
                    None => notes.push(format!(
                        "no location matches {}: the server-level settings apply",
                        escape_str(uri)
                    )),
                }
                if !regexes.is_empty() {
                    let list: Vec<String> = regexes
                        .iter()
                        .map(|&r| {
                            format!(
                                "location {} at {}",
                                escape_str(ctxs[r].location.as_deref().unwrap_or("")),
                                at_text(cfg, ctxs[r].pos)
                            )
                        })
                        .collect();
                    notes.push(format!(
                        "regular-expression locations are not evaluated ({}); used the prefix \
                         match, which nginx replaces when one of them matches {}",
                        list.join(", "),
                        escape_str(uri)
                    ));
                }
            }
            None => notes.push("the configuration has no server block; location ignored".into()),
        }
    }
    if ctxs.is_empty() {
        return Ok(settings(&ctxs, None, cfg, notes));
    }
    check(cfg, &ctxs, at)?;
    if ctxs[at].level == Level::Location {
        if let Some(s) = ctxs[at].server_ctx {
            if let Some(n) = preempt_note(cfg, &ctxs, s, at) {
                notes.push(n);
            }
        }
    }
    Ok(settings(&ctxs, Some(at), cfg, notes))
}

/// Every `http`, `server` and `location` context with its effective settings, in
/// configuration order (http, then each server followed by its locations, depth first).
///
/// Tolerant, for `lint`: hostnames and invalid `set_real_ip_from` values are left out of
/// [`RealipSettings::trusted`] (their positions stay in `from_pos`), malformed directives are
/// ignored, and a header realip cannot read falls back to the default with a note.
pub fn contexts(cfg: &Config) -> Vec<RealipSettings> {
    let ctxs = tree(cfg);
    (0..ctxs.len())
        .map(|i| settings(&ctxs, Some(i), cfg, Vec::new()))
        .collect()
}

/// The kind of context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Http,
    Server,
    Location,
}

/// How a location matches a URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LocMatch {
    /// `= /path`.
    Exact(String),
    /// `/path`, or `^~ /path` (`noregex`).
    Prefix { path: String, noregex: bool },
    /// `~ re`, `~* re`.
    Regex,
    /// `@name`.
    Named,
}

/// One `set_real_ip_from` directive.
#[derive(Clone, Debug)]
pub(crate) struct FromDirective {
    pub pos: Pos,
    pub text: String,
    pub value: FromValue,
}

/// What a `set_real_ip_from` value means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FromValue {
    /// `unix:` or a prefix; `masked` when the value had host bits set.
    Net { net: TrustNet, masked: bool },
    /// A name nginx resolves once at start-up.
    Hostname,
    /// Something nginx refuses ("host not found").
    Invalid,
}

/// A realip directive nginx itself would refuse.
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    pub pos: Pos,
    pub directive: &'static str,
    pub reason: String,
    /// The directive's arguments as written (for the line to delete or rewrite).
    pub args: Vec<String>,
}

/// One context with its own and its effective realip directives.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub level: Level,
    /// The block directive (`http`, `server`, `location`); the file start for a top level
    /// read as `http`.
    pub pos: Pos,
    pub parent: Option<usize>,
    /// The enclosing server context (itself for a server).
    pub server_ctx: Option<usize>,
    /// Every `server_name` of the enclosing server.
    pub server_names: Vec<String>,
    /// The location as written (`= /ret`).
    pub location: Option<String>,
    pub loc: Option<LocMatch>,
    /// Direct child contexts: servers of an http, locations of a server or location.
    pub children: Vec<usize>,
    /// This level's own list.
    pub own_from: Vec<FromDirective>,
    /// The list in effect (own or inherited).
    pub from: Vec<FromDirective>,
    /// The context whose own list is in effect.
    pub from_ctx: Option<usize>,
    /// This level's own `real_ip_header` / `real_ip_recursive`.
    pub own_header: Option<(String, Pos)>,
    pub own_recursive: Option<(bool, Pos)>,
    /// In effect.
    pub header: Option<(String, Pos)>,
    pub recursive: Option<(bool, Pos)>,
    /// This level's malformed realip directives.
    pub problems: Vec<Problem>,
}

/// The bodies nginx reads as `http` contexts: each `http { }` block, or, when the
/// configuration has none, its top level.
pub(crate) fn http_bodies(expanded: &[Directive]) -> Vec<(Pos, &[Directive])> {
    let blocks: Vec<(Pos, &[Directive])> = expanded
        .iter()
        .filter(|d| d.name == "http")
        .filter_map(|d| d.block.as_deref().map(|b| (d.pos, b)))
        .collect();
    if blocks.is_empty() {
        let start = Pos {
            file: 0,
            line: 1,
            col: 1,
        };
        vec![(start, expanded)]
    } else {
        blocks
    }
}

/// Every `server_name` argument of a server block, in order.
pub(crate) fn server_names(block: &[Directive]) -> Vec<String> {
    block
        .iter()
        .filter(|d| d.name == "server_name")
        .flat_map(|d| d.args.iter().map(|a| a.value.clone()))
        .collect()
}

/// Every context of a fragment whose top level is a `root` body (a file included in a
/// `server` or `location` block); [`tree`] for `http`.
pub(crate) fn tree_at(cfg: &Config, root: Level) -> Vec<Ctx> {
    let start = Pos {
        file: 0,
        line: 1,
        col: 1,
    };
    let expanded = cfg.expanded();
    let mut out = Vec::new();
    match root {
        Level::Http => return tree(cfg),
        Level::Server => {
            let s = push(&mut out, Level::Server, start, None, &expanded);
            out[s].server_ctx = Some(s);
            out[s].server_names = server_names(&expanded);
            locations(&mut out, s, &expanded);
        }
        Level::Location => {
            let l = push(&mut out, Level::Location, start, None, &expanded);
            out[l].location = Some(String::new());
            locations(&mut out, l, &expanded);
        }
    }
    out
}

/// Every context of the configuration, parents before children.
pub(crate) fn tree(cfg: &Config) -> Vec<Ctx> {
    let expanded = cfg.expanded();
    let mut out = Vec::new();
    for (pos, body) in http_bodies(&expanded) {
        let http = push(&mut out, Level::Http, pos, None, body);
        for d in body {
            let (true, Some(block)) = (d.name == "server", d.block.as_deref()) else {
                continue;
            };
            let s = push(&mut out, Level::Server, d.pos, Some(http), block);
            out[s].server_ctx = Some(s);
            out[s].server_names = server_names(block);
            locations(&mut out, s, block);
        }
    }
    out
}

fn locations(out: &mut Vec<Ctx>, parent: usize, block: &[Directive]) {
    for d in block {
        let (true, Some(inner)) = (d.name == "location", d.block.as_deref()) else {
            continue;
        };
        let l = push(out, Level::Location, d.pos, Some(parent), inner);
        out[l].server_ctx = out[parent].server_ctx;
        out[l].server_names = out[parent].server_names.clone();
        out[l].location = Some(d.arg_values().join(" "));
        out[l].loc = Some(loc_match(d));
        locations(out, l, inner);
    }
}

fn loc_match(d: &Directive) -> LocMatch {
    let v = d.arg_values();
    match v.as_slice() {
        ["=", p] => LocMatch::Exact((*p).to_string()),
        ["^~", p] => LocMatch::Prefix {
            path: (*p).to_string(),
            noregex: true,
        },
        ["~" | "~*", _] => LocMatch::Regex,
        [one] => {
            if let Some(p) = one.strip_prefix('=') {
                LocMatch::Exact(p.to_string())
            } else if let Some(p) = one.strip_prefix("^~") {
                LocMatch::Prefix {
                    path: p.to_string(),
                    noregex: true,
                }
            } else if one.starts_with('~') {
                LocMatch::Regex
            } else if one.starts_with('@') {
                LocMatch::Named
            } else {
                LocMatch::Prefix {
                    path: (*one).to_string(),
                    noregex: false,
                }
            }
        }
        // nginx refuses anything else; such a location never matches here.
        _ => LocMatch::Named,
    }
}

/// Adds a context for `body`, merging with `parent`.
fn push(
    out: &mut Vec<Ctx>,
    level: Level,
    pos: Pos,
    parent: Option<usize>,
    body: &[Directive],
) -> usize {
    let mut c = Ctx {
        level,
        pos,
        parent,
        server_ctx: None,
        server_names: Vec::new(),
        location: None,
        loc: None,
        children: Vec::new(),
        own_from: Vec::new(),
        from: Vec::new(),
        from_ctx: None,
        own_header: None,
        own_recursive: None,
        header: None,
        recursive: None,
        problems: Vec::new(),
    };
    own_directives(body, &mut c);
    let i = out.len();
    match parent.and_then(|p| out.get(p)) {
        Some(p) => {
            if c.own_from.is_empty() {
                c.from = p.from.clone();
                c.from_ctx = p.from_ctx;
            }
            c.header = c.own_header.clone().or_else(|| p.header.clone());
            c.recursive = c.own_recursive.or(p.recursive);
        }
        None => {
            c.header = c.own_header.clone();
            c.recursive = c.own_recursive;
        }
    }
    if !c.own_from.is_empty() {
        c.from = c.own_from.clone();
        c.from_ctx = Some(i);
    }
    if let Some(p) = parent.and_then(|p| out.get_mut(p)) {
        p.children.push(i);
    }
    out.push(c);
    i
}

fn own_directives(body: &[Directive], c: &mut Ctx) {
    for d in body {
        let problem = |reason: String, directive| Problem {
            pos: d.pos,
            directive,
            reason,
            args: d.args.iter().map(|a| a.value.clone()).collect(),
        };
        let args = d.arg_values();
        match d.name.as_str() {
            "set_real_ip_from" => match args.as_slice() {
                [text] => c.own_from.push(FromDirective {
                    pos: d.pos,
                    text: (*text).to_string(),
                    value: classify(text),
                }),
                _ => c.problems.push(problem(
                    "invalid number of arguments (it takes exactly one)".into(),
                    "set_real_ip_from",
                )),
            },
            "real_ip_header" => match args.as_slice() {
                [_] if c.own_header.is_some() => c
                    .problems
                    .push(problem("is duplicate".into(), "real_ip_header")),
                [name] => c.own_header = Some(((*name).to_string(), d.pos)),
                _ => c.problems.push(problem(
                    "invalid number of arguments (it takes exactly one)".into(),
                    "real_ip_header",
                )),
            },
            "real_ip_recursive" => match args.as_slice() {
                [_] if c.own_recursive.is_some() => c
                    .problems
                    .push(problem("is duplicate".into(), "real_ip_recursive")),
                [v] if v.eq_ignore_ascii_case("on") => c.own_recursive = Some((true, d.pos)),
                [v] if v.eq_ignore_ascii_case("off") => c.own_recursive = Some((false, d.pos)),
                [v] => c.problems.push(problem(
                    format!(
                        "invalid value \"{}\": it must be \"on\" or \"off\"",
                        escape_str(v)
                    ),
                    "real_ip_recursive",
                )),
                _ => c.problems.push(problem(
                    "invalid number of arguments (it takes exactly one)".into(),
                    "real_ip_recursive",
                )),
            },
            _ => {}
        }
    }
}

/// What nginx makes of a `set_real_ip_from` value (reference §3.1).
pub(crate) fn classify(text: &str) -> FromValue {
    // A preset name is realip's, not nginx's: nginx looks it up as a host.
    if !text.is_empty() && text.trim() == text && presets::find(text).is_none() {
        let mut entries = Vec::new();
        if let Ok(warning) = parse_trust_spec(text, &mut entries) {
            if let Some(e) = entries.pop() {
                return FromValue::Net {
                    net: e.net,
                    masked: warning.is_some(),
                };
            }
        }
    }
    if let Some(v4) = inet_aton(text) {
        return FromValue::Net {
            net: TrustNet::Net(IpNet::from(IpAddr::V4(v4))),
            masked: false,
        };
    }
    if is_hostname(text) {
        FromValue::Hostname
    } else {
        FromValue::Invalid
    }
}

/// glibc's `inet_aton` (as `getaddrinfo` uses it for numeric hosts): one to four parts
/// separated by dots, each decimal, octal (leading `0`) or hex (`0x`); the last part fills the
/// remaining bytes.
pub(crate) fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::with_capacity(4);
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or(p.strip_prefix("0X")) {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        vals.push(u32::from_str_radix(digits, radix).ok()?);
    }
    let (last, head) = vals.split_last()?;
    if head.iter().any(|&v| v > 0xff) {
        return None;
    }
    let last_bits = 8 * (4 - head.len() as u32);
    if last_bits < 32 && u64::from(*last) >= 1u64 << last_bits {
        return None;
    }
    let mut addr: u32 = 0;
    for (i, v) in head.iter().enumerate() {
        addr |= v << (24 - 8 * i as u32);
    }
    Some(Ipv4Addr::from(addr | last))
}

/// Whether `text` can be a DNS name nginx would try to resolve.
fn is_hostname(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && !text.starts_with(['.', '-'])
        && !text.contains("..")
        && text.bytes().any(|b| b.is_ascii_alphabetic())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

/// `file:line`.
pub(crate) fn at_text(cfg: &Config, pos: Pos) -> String {
    format!("{}:{}", escape_str(&cfg.path(pos)), pos.line)
}

/// The settings of context `at` (or the defaults when there is none).
fn settings(
    ctxs: &[Ctx],
    at: Option<usize>,
    cfg: &Config,
    mut notes: Vec<String>,
) -> RealipSettings {
    let Some(c) = at.and_then(|i| ctxs.get(i)) else {
        return RealipSettings {
            notes,
            ..RealipSettings::default()
        };
    };
    let entries = c
        .from
        .iter()
        .filter_map(|f| match &f.value {
            FromValue::Net { net, .. } => Some(TrustEntry {
                net: *net,
                origin: Origin::Config {
                    text: f.text.clone(),
                    at: at_text(cfg, f.pos),
                },
            }),
            FromValue::Hostname | FromValue::Invalid => None,
        })
        .collect();
    let header = match &c.header {
        None => Header::default(),
        Some((name, pos)) => Header::new(name).unwrap_or_else(|e| {
            notes.push(format!(
                "{}: {e}; realip reads X-Real-IP instead",
                at_text(cfg, *pos)
            ));
            Header::default()
        }),
    };
    RealipSettings {
        trusted: TrustedSet::from_entries(entries),
        header,
        recursive: c.recursive.is_some_and(|(r, _)| r),
        from_pos: c.from.iter().map(|f| f.pos).collect(),
        header_pos: c.header.as_ref().map(|(_, p)| *p),
        recursive_pos: c.recursive.map(|(_, p)| p),
        server: c.server_names.first().cloned(),
        location: c.location.clone(),
        notes,
    }
}

/// Refuses what nginx would refuse, or realip cannot use, in the settings of `at`.
fn check(cfg: &Config, ctxs: &[Ctx], at: usize) -> Result<(), Error> {
    let directive_error = |pos: Pos, directive: &str, reason: String| Error::NginxDirective {
        path: escape_str(&cfg.path(pos)).into_owned(),
        line: pos.line,
        col: pos.col,
        directive: directive.to_string(),
        reason,
    };
    let mut chain = Vec::new();
    let mut i = Some(at);
    while let Some(c) = i.and_then(|i| ctxs.get(i)) {
        chain.push(c);
        i = c.parent;
    }
    for c in chain.iter().rev() {
        if let Some(p) = c.problems.first() {
            return Err(directive_error(p.pos, p.directive, p.reason.clone()));
        }
    }
    let c = &ctxs[at];
    for f in &c.from {
        match f.value {
            FromValue::Net { .. } => {}
            FromValue::Hostname => {
                return Err(Error::NginxHostname {
                    path: escape_str(&cfg.path(f.pos)).into_owned(),
                    line: f.pos.line,
                    col: f.pos.col,
                    host: escape_str(&f.text).into_owned(),
                })
            }
            FromValue::Invalid => {
                return Err(directive_error(
                    f.pos,
                    "set_real_ip_from",
                    format!(
                        "\"{}\" is not unix:, an address or a CIDR (nginx fails to start: host \
                         not found)",
                        escape_str(&f.text)
                    ),
                ))
            }
        }
    }
    if let Some((name, pos)) = &c.header {
        Header::new(name).map_err(|e| directive_error(*pos, "real_ip_header", e.to_string()))?;
    }
    Ok(())
}

/// A note when the server level (evaluated first) differs from location `l`'s settings.
fn preempt_note(cfg: &Config, ctxs: &[Ctx], s: usize, l: usize) -> Option<String> {
    let (srv, loc) = (&ctxs[s], &ctxs[l]);
    if srv.from.is_empty() {
        return None;
    }
    let name = |c: &Ctx| {
        c.header
            .as_ref()
            .map_or("X-Real-IP".to_string(), |(n, _)| n.clone())
    };
    let rec = |c: &Ctx| c.recursive.is_some_and(|(r, _)| r);
    let same_list = srv.from_ctx == loc.from_ctx;
    if name(srv) == name(loc) && rec(srv) == rec(loc) && same_list {
        return None;
    }
    Some(format!(
        "the server level (at {}) has realip settings of its own (real_ip_header {}, \
         real_ip_recursive {}); nginx applies them first, right after reading the request \
         headers, and uses this location's settings only when they did not apply",
        at_text(cfg, srv.pos),
        escape_str(&name(srv)),
        if rec(srv) { "on" } else { "off" }
    ))
}

/// The server block for a host name (see the module docs).
fn match_server(
    ctxs: &[Ctx],
    servers: &[usize],
    name: &str,
    notes: &mut Vec<String>,
) -> Option<usize> {
    let name = name.to_ascii_lowercase();
    let names = |s: usize| ctxs[s].server_names.iter().map(|n| n.to_ascii_lowercase());
    if let Some(&s) = servers.iter().find(|&&s| names(s).any(|n| n == name)) {
        return Some(s);
    }
    // The longest match of `score` (a matched length, or None) over every server name.
    let longest = |score: &dyn Fn(&str) -> Option<usize>| {
        let mut best: Option<(usize, usize)> = None;
        for &s in servers {
            for n in names(s) {
                if let Some(len) = score(&n) {
                    if best.is_none_or(|(_, l)| len > l) {
                        best = Some((s, len));
                    }
                }
            }
        }
        best.map(|(s, _)| s)
    };
    let leading = |n: &str| {
        if let Some(suffix) = n.strip_prefix('*') {
            (suffix.starts_with('.') && name.ends_with(suffix)).then_some(suffix.len())
        } else if let Some(domain) = n.strip_prefix('.') {
            (name == domain || name.ends_with(n)).then_some(n.len())
        } else {
            None
        }
    };
    let trailing = |n: &str| {
        let prefix = n.strip_suffix('*')?;
        (prefix.ends_with('.') && name.starts_with(prefix)).then_some(prefix.len())
    };
    if let Some(s) = longest(&leading).or_else(|| longest(&trailing)) {
        return Some(s);
    }
    if servers
        .iter()
        .any(|&s| names(s).any(|n| n.starts_with('~')))
    {
        notes.push("regular-expression server names are not evaluated".into());
    }
    None
}

/// nginx's static location search below context `parent`; regex locations seen on the way
/// are collected in `regexes` unless the match makes nginx skip them.
fn find_location(
    ctxs: &[Ctx],
    parent: usize,
    uri: &str,
    regexes: &mut Vec<usize>,
) -> Option<usize> {
    let children = &ctxs[parent].children;
    for &ch in children {
        if matches!(&ctxs[ch].loc, Some(LocMatch::Exact(p)) if p == uri) {
            return Some(ch);
        }
    }
    let mut best: Option<(usize, usize, bool)> = None;
    for &ch in children {
        if let Some(LocMatch::Prefix { path, noregex }) = &ctxs[ch].loc {
            if uri.starts_with(path.as_str()) && best.is_none_or(|(_, l, _)| path.len() > l) {
                best = Some((ch, path.len(), *noregex));
            }
        }
    }
    let here: Vec<usize> = children
        .iter()
        .copied()
        .filter(|&ch| ctxs[ch].loc == Some(LocMatch::Regex))
        .collect();
    match best {
        Some((b, _, noregex)) => {
            let mut inner = Vec::new();
            let deeper = find_location(ctxs, b, uri, &mut inner);
            let chosen = deeper.unwrap_or(b);
            let stop = match deeper {
                Some(d) => !matches!(ctxs[d].loc, Some(LocMatch::Prefix { noregex: false, .. })),
                None => noregex,
            };
            if !stop {
                regexes.extend(inner);
                regexes.extend(here);
            }
            Some(chosen)
        }
        None => {
            regexes.extend(here);
            None
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A configuration from text, read by the real parser as `test.conf`.
    pub(crate) fn conf(text: &str) -> Config {
        crate::nginx::parse_str(text, std::path::Path::new("test.conf"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn nets(s: &RealipSettings) -> Vec<String> {
        s.trusted
            .entries()
            .iter()
            .map(|e| e.net.to_string())
            .collect()
    }

    /// Config L of the reference (§6.3 "phase interplay").
    const CONFIG_L: &str = "
http {
    server {
        server_name l.test;
        set_real_ip_from 127.0.0.1;
        location /xff/ {
            real_ip_header X-Forwarded-For;
            real_ip_recursive on;
        }
        location /xff2/ {
            set_real_ip_from 10.0.0.0/8;
            real_ip_header X-Forwarded-For;
            real_ip_recursive on;
        }
        location = /ret {
            real_ip_header X-Forwarded-For;
            return 200 ok;
        }
    }
}
";

    #[test]
    fn the_server_level_of_config_l_reads_x_real_ip_without_recursion() {
        let s = effective(&conf(CONFIG_L), None, Some("/file")).unwrap();
        assert_eq!(nets(&s), ["127.0.0.1/32"]);
        assert_eq!(s.header.name(), "X-Real-IP");
        assert!(!s.recursive);
        assert!(s.active());
        assert_eq!(s.location, None);
        assert_eq!(s.server.as_deref(), Some("l.test"));
        assert_eq!(s.header_pos, None);
    }

    #[test]
    fn a_location_without_its_own_list_inherits_the_servers_trust() {
        let s = effective(&conf(CONFIG_L), Some("l.test"), Some("/xff/index.html")).unwrap();
        assert_eq!(nets(&s), ["127.0.0.1/32"]);
        assert_eq!(s.header.name(), "X-Forwarded-For");
        assert!(s.recursive);
        assert_eq!(s.location.as_deref(), Some("/xff/"));
        assert_eq!(s.from_pos.len(), 1);
        assert_eq!(s.from_pos[0].line, 5);
        assert_eq!(s.header_pos.map(|p| p.line), Some(7));
        assert!(
            s.notes.iter().any(|n| n.contains("applies them first")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn a_location_list_replaces_the_inherited_list_instead_of_adding_to_it() {
        let s = effective(&conf(CONFIG_L), None, Some("/xff2/index.html")).unwrap();
        assert_eq!(nets(&s), ["10.0.0.0/8"]);
        let peer = crate::Addr::parse(b"127.0.0.1").unwrap();
        assert!(!s.trusted.contains(&peer));
    }

    #[test]
    fn the_header_inherits_while_the_list_is_replaced() {
        let cfg = conf(
            "http { real_ip_header X-Forwarded-For; real_ip_recursive on;
               set_real_ip_from 10.0.0.0/8;
               server { location /a/ { set_real_ip_from 192.168.0.0/16; } } }",
        );
        let s = effective(&cfg, None, Some("/a/b")).unwrap();
        assert_eq!(nets(&s), ["192.168.0.0/16"]);
        assert_eq!(s.header.name(), "X-Forwarded-For");
        assert!(s.recursive);
        assert_eq!(s.header_pos.map(|p| p.line), Some(1));
    }

    #[test]
    fn an_exact_location_wins_over_a_longer_prefix() {
        let s = effective(&conf(CONFIG_L), None, Some("/ret")).unwrap();
        assert_eq!(s.location.as_deref(), Some("= /ret"));
        assert_eq!(s.header.name(), "X-Forwarded-For");
        assert!(!s.recursive);
    }

    #[test]
    fn nested_locations_are_searched_inside_the_longest_prefix() {
        let cfg = conf(
            "http { set_real_ip_from 10.0.0.1; server {
               location /api/ { real_ip_recursive on;
                 location /api/v2/ { set_real_ip_from 10.0.0.2; } }
               location /apix { set_real_ip_from 10.0.0.3; } } }",
        );
        let s = effective(&cfg, None, Some("/api/v2/users")).unwrap();
        assert_eq!(s.location.as_deref(), Some("/api/v2/"));
        assert_eq!(nets(&s), ["10.0.0.2/32"]);
        assert!(s.recursive, "recursion inherits through the nesting");
        let s = effective(&cfg, None, Some("/api/v1")).unwrap();
        assert_eq!(s.location.as_deref(), Some("/api/"));
        assert_eq!(nets(&s), ["10.0.0.1/32"]);
    }

    #[test]
    fn regex_locations_are_not_evaluated_and_the_notes_say_so() {
        let cfg = conf(
            "http { set_real_ip_from 10.0.0.1; server {
               location / { }
               location ~ \\.php$ { set_real_ip_from 10.9.9.9; }
               location ^~ /static/ { } } }",
        );
        let s = effective(&cfg, None, Some("/index.php")).unwrap();
        assert_eq!(s.location.as_deref(), Some("/"));
        assert!(
            s.notes.iter().any(|n| n.contains("not evaluated")),
            "{:?}",
            s.notes
        );
        let s = effective(&cfg, None, Some("/static/x.php")).unwrap();
        assert_eq!(s.location.as_deref(), Some("^~ /static/"));
        assert!(
            s.notes.is_empty(),
            "^~ stops the regex search: {:?}",
            s.notes
        );
    }

    #[test]
    fn the_module_is_inactive_without_any_list() {
        let s = effective(
            &conf("http { server { real_ip_header X-Forwarded-For; } }"),
            None,
            None,
        )
        .unwrap();
        assert!(!s.active());
        assert!(s.trusted.is_empty());
    }

    #[test]
    fn servers_are_chosen_by_name_then_by_wildcard() {
        let cfg = conf(
            "http {
               server { server_name a.test; set_real_ip_from 10.0.0.1; }
               server { server_name *.b.test; set_real_ip_from 10.0.0.2; }
               server { server_name www.c.*; set_real_ip_from 10.0.0.3; }
               server { server_name .d.test; set_real_ip_from 10.0.0.4; } }",
        );
        let pick = |n| nets(&effective(&cfg, Some(n), None).unwrap());
        assert_eq!(pick("A.TEST"), ["10.0.0.1/32"]);
        assert_eq!(pick("x.b.test"), ["10.0.0.2/32"]);
        assert_eq!(pick("www.c.org"), ["10.0.0.3/32"]);
        assert_eq!(pick("d.test"), ["10.0.0.4/32"]);
        assert_eq!(nets(&effective(&cfg, None, None).unwrap()), ["10.0.0.1/32"]);
        let err = effective(&cfg, Some("nope.test"), None).unwrap_err();
        assert!(err.to_string().contains("nope.test"), "{err}");
        assert!(err.to_string().contains("a.test"), "{err}");
    }

    #[test]
    fn hostnames_are_refused_with_their_position() {
        let cfg = conf("http {\n  set_real_ip_from lb.internal;\n}");
        let err = effective(&cfg, None, None).unwrap_err();
        assert!(
            matches!(err, Error::NginxHostname { line: 2, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("does not resolve hostnames"),
            "{err}"
        );
        // lint's view keeps going.
        let all = contexts(&cfg);
        assert_eq!(all.len(), 1);
        assert!(all[0].trusted.is_empty());
        assert!(all[0].active());
    }

    #[test]
    fn directives_nginx_refuses_are_errors() {
        for text in [
            "real_ip_header X-Real-IP; real_ip_header X-Forwarded-For;",
            "real_ip_recursive maybe;",
            "real_ip_recursive on; real_ip_recursive on;",
            "set_real_ip_from 10.0.0.0/8 10.0.0.1;",
            "set_real_ip_from 10.0.0.0/33;",
            "set_real_ip_from unix:/run/x.sock;",
            "real_ip_header proxy_protocol; set_real_ip_from 10.0.0.1;",
        ] {
            let err = effective(&conf(text), None, None).unwrap_err();
            assert!(
                matches!(err, Error::NginxDirective { line: 1, .. }),
                "{text}: {err:?}"
            );
        }
    }

    #[test]
    fn set_real_ip_from_values_follow_nginx() {
        let net = |t: &str| match classify(t) {
            FromValue::Net { net, masked } => Some((net.to_string(), masked)),
            _ => None,
        };
        assert_eq!(net("unix:"), Some(("unix:".into(), false)));
        assert_eq!(net("127.0.0.1/24"), Some(("127.0.0.0/24".into(), true)));
        assert_eq!(net("1..2.3"), Some(("1.0.2.3/32".into(), false)));
        assert_eq!(net("010.0.0.1"), Some(("10.0.0.1/32".into(), false)));
        assert_eq!(net("127.1"), Some(("127.0.0.1/32".into(), false)));
        assert_eq!(net("0x7f000001"), Some(("127.0.0.1/32".into(), false)));
        assert_eq!(net("2130706433"), Some(("127.0.0.1/32".into(), false)));
        assert_eq!(
            net("255.255.255.255"),
            Some(("255.255.255.255/32".into(), false))
        );
        assert_eq!(net("0177.1"), Some(("127.0.0.1/32".into(), false)));
        assert_eq!(
            net("::ffff:127.0.0.1/104"),
            Some(("::ffff:127.0.0.0/104".into(), true))
        );
        assert_eq!(classify("localhost"), FromValue::Hostname);
        assert_eq!(
            classify("gcp"),
            FromValue::Hostname,
            "presets mean nothing to nginx"
        );
        for bad in [
            "UNIX:",
            "unix:/path/x.sock",
            "localhost/8",
            "255.255.255.255/32",
            "[::1]",
            "127.0.0.1:80",
            "127.0.0.1/",
            "127.0.0.1/-1",
            "::1/129",
            "1.2.3.4.5",
            "",
        ] {
            assert_eq!(classify(bad), FromValue::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn a_top_level_without_http_is_read_as_http() {
        let cfg = conf(
            "set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For;
             server { server_name s; }",
        );
        let s = effective(&cfg, Some("s"), None).unwrap();
        assert_eq!(nets(&s), ["10.0.0.0/8"]);
        assert_eq!(s.header.name(), "X-Forwarded-For");
    }

    #[test]
    fn contexts_lists_every_level_in_order() {
        let all = contexts(&conf(CONFIG_L));
        let names: Vec<_> = all
            .iter()
            .map(|s| (s.server.clone(), s.location.clone()))
            .collect();
        assert_eq!(names.len(), 5);
        assert_eq!(names[0], (None, None));
        assert_eq!(names[1], (Some("l.test".into()), None));
        assert_eq!(names[3].1.as_deref(), Some("/xff2/"));
        assert_eq!(nets(&all[3]), ["10.0.0.0/8"]);
        assert!(!all[0].active());
    }

    #[test]
    fn the_resolver_uses_the_effective_settings() {
        let s = effective(&conf(CONFIG_L), None, Some("/xff2/")).unwrap();
        let r = s.resolver();
        let peer = crate::Addr::parse(b"10.1.1.1").unwrap();
        let res = r.resolve(peer, [&b"192.0.2.7, 10.2.2.2"[..]]);
        assert_eq!(res.addr.to_string(), "192.0.2.7");
    }
}
