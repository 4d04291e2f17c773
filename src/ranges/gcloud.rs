//! Google Cloud's own list of your load balancers: the JSON of `gcloud compute forwarding-rules
//! list --format=json` and `gcloud compute addresses list --format=json` (`--lb-ips-from`).
//!
//! Owns: reading those files ([`load`], [`parse`]) into [`LbFile`]s, every entry checked (a
//! bad entry refuses the whole file, naming the rule; unknown fields are ignored), the
//! provenance of each forwarding rule (file, name, scheme, region, target), and the
//! classification that matters to nginx ([`LbKind`]): only a forwarding rule whose target is
//! an HTTP(S) proxy is an Application Load Balancer, which appends its own IP to
//! `X-Forwarded-For`; a global external one is reached through Google's front ends (the `gcp`
//! preset), a regional or internal one through the VPC's proxy-only subnet (which these lists
//! do not hold); every other rule (TCP/SSL proxy, passthrough network LB, protocol forwarding,
//! Private Service Connect) never appears in the header. [`LbList`] merges several files and
//! answers per address ([`LbList::alb_ips`], [`LbList::owns`]).
//! Does not own: running gcloud (realip works offline from files), opening files
//! ([`crate::input`]), linting a configuration against the list (`nginx::lint`), printing.
//!
//! ```
//! use realip::ranges::gcloud::{self, LbKind};
//!
//! let json = r#"[{"name": "web-https", "IPAddress": "34.120.5.6", "IPProtocol": "TCP",
//!   "portRange": "443-443", "loadBalancingScheme": "EXTERNAL_MANAGED",
//!   "target": "https://www.googleapis.com/compute/v1/projects/p/global/targetHttpsProxies/web"}]"#;
//! let file = gcloud::parse(json, "rules.json")?;
//! assert_eq!(file.rules[0].kind, LbKind::GlobalExternal);
//! let list = gcloud::LbList::new(vec![file]);
//! assert_eq!(list.alb_ips()[0].net.to_string(), "34.120.5.6/32");
//! # Ok::<(), realip::Error>(())
//! ```

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::escape::escape_str;
use crate::input::{self, Opened, Source};

/// What a forwarding rule is, as far as nginx's realip is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LbKind {
    /// Global external Application LB (classic `EXTERNAL` or `EXTERNAL_MANAGED`): appends
    /// `<client>,<rule IP>`; nginx's peers are Google front ends (the `gcp` preset).
    GlobalExternal,
    /// Regional external Application LB (`EXTERNAL_MANAGED` with a region): appends its IP;
    /// peers come from the region's proxy-only subnet (`REGIONAL_MANAGED_PROXY`).
    RegionalExternal,
    /// Regional internal Application LB (`INTERNAL_MANAGED` with a region): the same, inside
    /// the VPC.
    RegionalInternal,
    /// Cross-region internal Application LB (`INTERNAL_MANAGED`, global): peers come from the
    /// proxy-only subnets with purpose `GLOBAL_MANAGED_PROXY`.
    CrossRegionInternal,
    /// Not an Application LB: its address never appears in `X-Forwarded-For`.
    NotAlb(NotAlb),
    /// Named only by an addresses list (`users`): what the rule is cannot be told without
    /// the forwarding-rules list.
    Unknown,
}

/// The kinds of forwarding rule that are not Application Load Balancers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotAlb {
    /// `targetTcpProxies`: a proxy network LB; no HTTP header is added.
    TcpProxy,
    /// `targetSslProxies`: the same with TLS offload.
    SslProxy,
    /// `targetPools`: a passthrough network LB; packets keep the client's own address.
    TargetPool,
    /// A `backendService` without a target: a passthrough network LB (external or internal).
    Passthrough,
    /// `targetInstances`: protocol forwarding to one VM.
    TargetInstance,
    /// An HTTP(S) or gRPC proxy with scheme `INTERNAL_SELF_MANAGED`: Cloud Service Mesh
    /// (Traffic Director), whose proxies are your own sidecars.
    ServiceMesh,
    /// `targetGrpcProxies`: proxyless gRPC service mesh.
    Grpc,
    /// Private Service Connect (a service attachment, `all-apis`, `vpc-sc`).
    PrivateServiceConnect,
    /// `targetVpnGateways`: Classic VPN.
    Vpn,
    /// A target realip does not know.
    Other,
}

impl LbKind {
    /// Whether the rule is an Application Load Balancer (its IP appears in
    /// `X-Forwarded-For`).
    pub fn is_alb(self) -> bool {
        matches!(
            self,
            LbKind::GlobalExternal
                | LbKind::RegionalExternal
                | LbKind::RegionalInternal
                | LbKind::CrossRegionInternal
        )
    }

    /// Whether nginx's peers for this kind come from a proxy-only subnet the lists do not
    /// hold.
    pub fn needs_proxy_subnet(self) -> bool {
        matches!(
            self,
            LbKind::RegionalExternal | LbKind::RegionalInternal | LbKind::CrossRegionInternal
        )
    }

    /// A short stable identifier, for JSON output.
    pub fn id(self) -> &'static str {
        match self {
            LbKind::GlobalExternal => "global-external-alb",
            LbKind::RegionalExternal => "regional-external-alb",
            LbKind::RegionalInternal => "regional-internal-alb",
            LbKind::CrossRegionInternal => "cross-region-internal-alb",
            LbKind::NotAlb(_) => "not-alb",
            LbKind::Unknown => "unknown",
        }
    }

    /// What it is, for messages.
    pub fn description(self) -> &'static str {
        match self {
            LbKind::GlobalExternal => "global external Application LB",
            LbKind::RegionalExternal => "regional external Application LB",
            LbKind::RegionalInternal => "regional internal Application LB",
            LbKind::CrossRegionInternal => "cross-region internal Application LB",
            LbKind::NotAlb(n) => match n {
                NotAlb::TcpProxy => "TCP proxy network LB (no X-Forwarded-For)",
                NotAlb::SslProxy => "SSL proxy network LB (no X-Forwarded-For)",
                NotAlb::TargetPool => {
                    "passthrough network LB with a target pool (packets keep the client's \
                     address)"
                }
                NotAlb::Passthrough => {
                    "passthrough network LB with a backend service (packets keep the client's \
                     address)"
                }
                NotAlb::TargetInstance => "protocol forwarding to an instance (no proxy)",
                NotAlb::ServiceMesh => {
                    "Cloud Service Mesh (INTERNAL_SELF_MANAGED: the proxies are your own)"
                }
                NotAlb::Grpc => "proxyless gRPC service mesh",
                NotAlb::PrivateServiceConnect => "Private Service Connect endpoint",
                NotAlb::Vpn => "Classic VPN",
                NotAlb::Other => "not an Application LB (unknown target)",
            },
            LbKind::Unknown => {
                "forwarding rule named by an addresses list only (its target is unknown)"
            }
        }
    }

    /// Where nginx's TCP peers come from, for messages.
    pub fn peers(self) -> &'static str {
        match self {
            LbKind::GlobalExternal => "Google front ends (the gcp preset)",
            LbKind::RegionalExternal | LbKind::RegionalInternal => {
                "the region's proxy-only subnet (purpose REGIONAL_MANAGED_PROXY)"
            }
            LbKind::CrossRegionInternal => {
                "the proxy-only subnets with purpose GLOBAL_MANAGED_PROXY"
            }
            LbKind::NotAlb(_) | LbKind::Unknown => "not applicable",
        }
    }
}

impl fmt::Display for LbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// One forwarding rule with its provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbRule {
    /// The file it was read from, as given (not escaped).
    pub source: String,
    /// Its place in the file (`.[2]`).
    pub place: String,
    /// `name`.
    pub name: String,
    /// `IPAddress`: one address (`/32`, `/128`) or, as gcloud writes some IPv6 rules, a range.
    pub net: IpNet,
    /// `IPProtocol` (TCP, UDP, …).
    pub protocol: Option<String>,
    /// `portRange` (`443-443`), or `ports` joined with commas.
    pub ports: Option<String>,
    /// `loadBalancingScheme` (`EXTERNAL`, `EXTERNAL_MANAGED`, `INTERNAL_MANAGED`, …).
    pub scheme: Option<String>,
    /// The region's name (last part of the `region` URL); `None` for global rules.
    pub region: Option<String>,
    /// The target's last two path parts (`targetHttpsProxies/web-proxy`), or
    /// `backendServices/NAME` for a passthrough rule.
    pub target: Option<String>,
    /// The reserved address it uses, when an addresses list names it.
    pub address_name: Option<String>,
    /// What it is.
    pub kind: LbKind,
}

impl LbRule {
    /// `web-https (global external Application LB, EXTERNAL_MANAGED, global,
    /// targetHttpsProxies/web, TCP 443-443, rules.json .[0])`: everything known, for `-v`.
    pub fn provenance(&self) -> String {
        let mut parts = vec![self.kind.description().to_string()];
        if let Some(s) = &self.scheme {
            parts.push(s.clone());
        }
        parts.push(self.region.clone().unwrap_or_else(|| "global".into()));
        if let Some(t) = &self.target {
            parts.push(t.clone());
        }
        match (&self.protocol, &self.ports) {
            (Some(p), Some(r)) => parts.push(format!("{p} {r}")),
            (Some(p), None) => parts.push(p.clone()),
            (None, Some(r)) => parts.push(r.clone()),
            (None, None) => {}
        }
        if let Some(a) = &self.address_name {
            parts.push(format!("address {a}"));
        }
        parts.push(format!("{} {}", self.source, self.place));
        format!("{} ({})", self.name, parts.join(", "))
    }
}

/// One reserved address from `gcloud compute addresses list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbAddress {
    /// The file it was read from, as given.
    pub source: String,
    /// Its place in the file (`.[0]`).
    pub place: String,
    /// `name`.
    pub name: String,
    /// `address`.
    pub ip: IpAddr,
    /// `addressType` (`EXTERNAL`, `INTERNAL`).
    pub address_type: Option<String>,
    /// `purpose` (`GCE_ENDPOINT`, `SHARED_LOADBALANCER_VIP`, …).
    pub purpose: Option<String>,
    /// `status` (`RESERVED`, `IN_USE`).
    pub status: Option<String>,
    /// The region's name; `None` for global addresses.
    pub region: Option<String>,
    /// The forwarding rules among `users`, by name.
    pub rules: Vec<String>,
}

/// One file read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LbFile {
    /// The file as given.
    pub source: String,
    /// Its forwarding rules, in file order.
    pub rules: Vec<LbRule>,
    /// Its addresses, in file order.
    pub addresses: Vec<LbAddress>,
}

/// One Application-LB address and every rule that uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlbIp {
    /// The address (or range) nginx must trust.
    pub net: IpNet,
    /// The Application-LB rules using it, in list order.
    pub rules: Vec<LbRule>,
}

impl AlbIp {
    /// The rules' names, comma-separated.
    pub fn names(&self) -> String {
        self.rules
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The address as `set_real_ip_from` takes it: bare for a single host.
    pub fn trust_text(&self) -> String {
        net_text(self.net)
    }
}

/// The address of `net` alone when it is one host, else `addr/len` (nginx's text forms).
pub fn net_text(net: IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        crate::net::NginxText(net.addr()).to_string()
    } else {
        format!("{}/{}", crate::net::NginxText(net.addr()), net.prefix_len())
    }
}

/// Every `--lb-ips-from` file of a run, merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LbList {
    /// The files, in the order given.
    pub sources: Vec<String>,
    /// Every forwarding rule: those of the forwarding-rules lists, then ([`LbKind::Unknown`])
    /// those only an addresses list names.
    pub rules: Vec<LbRule>,
    /// Every reserved address.
    pub addresses: Vec<LbAddress>,
}

impl LbList {
    /// Merges files: an address's name is attached to the rules using it; a rule named in
    /// an address's `users` but absent from every forwarding-rules list becomes an
    /// [`LbKind::Unknown`] rule at that address.
    pub fn new(files: Vec<LbFile>) -> LbList {
        let mut list = LbList::default();
        for f in files {
            list.sources.push(f.source);
            list.rules.extend(f.rules);
            list.addresses.extend(f.addresses);
        }
        let mut extra = Vec::new();
        for a in &list.addresses {
            for user in &a.rules {
                let mut known = false;
                for r in list.rules.iter_mut().filter(|r| &r.name == user) {
                    known = true;
                    if r.address_name.is_none() && r.net.contains(&a.ip) {
                        r.address_name = Some(a.name.clone());
                    }
                }
                if !known && !extra.iter().any(|r: &LbRule| &r.name == user) {
                    extra.push(LbRule {
                        source: a.source.clone(),
                        place: a.place.clone(),
                        name: user.clone(),
                        net: IpNet::from(a.ip),
                        protocol: None,
                        ports: None,
                        scheme: None,
                        region: a.region.clone(),
                        target: None,
                        address_name: Some(a.name.clone()),
                        kind: LbKind::Unknown,
                    });
                }
            }
        }
        list.rules.extend(extra);
        list
    }

    /// The Application-LB addresses, each once with every ALB rule using it, in list order.
    pub fn alb_ips(&self) -> Vec<AlbIp> {
        let mut out: Vec<AlbIp> = Vec::new();
        for r in self.rules.iter().filter(|r| r.kind.is_alb()) {
            match out.iter_mut().find(|a| a.net == r.net) {
                Some(a) => a.rules.push(r.clone()),
                None => out.push(AlbIp {
                    net: r.net,
                    rules: vec![r.clone()],
                }),
            }
        }
        out
    }

    /// Rules named only by an addresses list, each address once (see [`LbKind::Unknown`]).
    pub fn unknown_ips(&self) -> Vec<AlbIp> {
        let mut out: Vec<AlbIp> = Vec::new();
        for r in self.rules.iter().filter(|r| r.kind == LbKind::Unknown) {
            match out.iter_mut().find(|a| a.net == r.net) {
                Some(a) => a.rules.push(r.clone()),
                None => out.push(AlbIp {
                    net: r.net,
                    rules: vec![r.clone()],
                }),
            }
        }
        out
    }

    /// The rules that are not Application LBs.
    pub fn ignored(&self) -> impl Iterator<Item = &LbRule> {
        self.rules
            .iter()
            .filter(|r| matches!(r.kind, LbKind::NotAlb(_)))
    }

    /// Whether any rule or reserved address of the list holds `ip`: an address still yours.
    pub fn owns(&self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        self.rules.iter().any(|r| r.net.contains(&ip)) || self.addresses.iter().any(|a| a.ip == ip)
    }

    /// The names of the forwarding rules whose address (or range) holds `ip`.
    pub fn rules_at(&self, ip: IpAddr) -> Vec<&LbRule> {
        let ip = unmap(ip);
        self.rules.iter().filter(|r| r.net.contains(&ip)).collect()
    }
}

/// An IPv4-mapped IPv6 address as IPv4, as nginx matches it.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Reads and checks one file (see [`parse`]); `-` reads standard input, gzip is decompressed.
pub fn load(path: &Path) -> Result<LbFile, Error> {
    let source = path.display().to_string();
    let src = if path == Path::new("-") {
        Source::Stdin
    } else {
        Source::Path(path.to_path_buf())
    };
    let reader: Box<dyn Read> = match input::open(&src)? {
        Opened::Plain { file, .. } => Box::new(file),
        Opened::Stream(r) => r,
    };
    let mut bytes = Vec::new();
    reader
        .take(super::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&source, &e))?;
    if bytes.len() as u64 > super::MAX_FILE_BYTES {
        return Err(Error::lb_format(
            &source,
            format!("larger than {} MiB", super::MAX_FILE_BYTES >> 20),
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Error::lb_format(
            &source,
            format!("not UTF-8 text: invalid byte at offset {}", e.valid_up_to()),
        )
    })?;
    parse(text, &source)
}

/// Checks the text of one file named `source`.
///
/// Accepts the JSON array gcloud prints (`[]` included: a project without rules), a single
/// object (`gcloud … describe --format=json`), and the Compute API's own `list` and
/// `aggregatedList` responses (`items`). Each element is a forwarding rule when it has
/// `IPAddress` (or `kind: compute#forwardingRule`), an address when it has `address`. Unknown
/// fields are ignored. Refused with a message saying what was found instead: an empty file,
/// an HTML page, gcloud's error message or table/YAML output, invalid or truncated JSON, a rule
/// without `name` or whose `IPAddress` is not an IP address.
pub fn parse(text: &str, source: &str) -> Result<LbFile, Error> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = body.trim_start();
    if trimmed.is_empty() {
        return Err(Error::lb_format(
            source,
            "the file is empty (gcloud writes nothing to standard output when it fails: \
             look at its error message)",
        ));
    }
    if !trimmed.starts_with(['[', '{']) {
        return Err(Error::lb_format(source, not_json(trimmed)));
    }
    let value: Value = serde_json::from_str(body).map_err(|e| {
        let msg = e.to_string();
        let mut reason = match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        if e.is_eof() {
            reason.push_str(" (the file ends early: was gcloud interrupted?)");
        }
        Error::lb_format(
            source,
            format!(
                "line {} column {}: not valid JSON: {reason}",
                e.line(),
                e.column().max(1)
            ),
        )
    })?;
    let j = Json { source };
    let mut out = LbFile {
        source: source.to_string(),
        ..LbFile::default()
    };
    match &value {
        Value::Array(items) => j.items(items, ".", &mut out)?,
        Value::Object(obj) => match obj.get("items") {
            Some(Value::Array(items)) => j.items(items, ".items", &mut out)?,
            Some(Value::Object(scopes)) => {
                // aggregatedList: {"regions/us-central1": {"forwardingRules": [...]}, ...}
                for (scope, v) in scopes {
                    let path = format!(".items[\"{}\"]", excerpt(scope));
                    let s = j.object(v, &path)?;
                    for key in ["forwardingRules", "addresses"] {
                        if let Some(v) = s.get(key) {
                            let p = format!("{path}.{key}");
                            let items = j.array(v, &p)?;
                            j.items(items, &p, &mut out)?;
                        }
                    }
                }
            }
            Some(v) => return Err(j.wrong_type(".items", "an array", v)),
            None if is_rule(obj) => out.rules.push(j.rule(obj, "")?),
            None if is_address(obj) => out.addresses.push(j.address(obj, "")?),
            None => {
                let keys: Vec<String> = obj
                    .keys()
                    .take(8)
                    .map(|k| format!("\"{}\"", escape_str(&excerpt(k))))
                    .collect();
                return Err(Error::lb_format(
                    source,
                    if keys.is_empty() {
                        "an empty JSON object".to_string()
                    } else {
                        format!(
                            "a JSON object with keys {} (neither a forwarding rule nor an \
                             address)",
                            keys.join(", ")
                        )
                    },
                ));
            }
        },
        other => {
            return Err(Error::lb_format(
                source,
                format!("the JSON is {}, not a list", kind(other)),
            ))
        }
    }
    Ok(out)
}

/// Says what a file that does not start like JSON holds instead.
fn not_json(text: &str) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    let shown = escape_str(&excerpt(first)).into_owned();
    let lower = first.to_ascii_lowercase();
    if lower.starts_with('<') {
        format!("an HTML or XML page, not JSON (line 1: \"{shown}\")")
    } else if first.starts_with("ERROR:") || first.contains("(gcloud.") {
        format!(
            "gcloud's error message, not its output: \"{shown}\" (write only standard output \
             to the file, and make CI fail when gcloud fails)"
        )
    } else if first.starts_with("WARNING:") {
        format!(
            "gcloud's warning text before the JSON: \"{shown}\" (write only standard output \
             to the file: 2>/dev/null or 2>gcloud.err)"
        )
    } else if first.starts_with("NAME ") || first.starts_with("NAME\t") {
        format!("gcloud's table output (line 1: \"{shown}\"): add --format=json")
    } else if first == "---" || first.starts_with("IPAddress:") || first.starts_with("address:") {
        format!("YAML (line 1: \"{shown}\"): add --format=json")
    } else if first.starts_with("Listed 0 items") {
        "gcloud's \"Listed 0 items\" message: add --format=json (it prints [] for no rules)"
            .to_string()
    } else {
        format!("line 1 is not JSON: \"{shown}\"")
    }
}

fn is_rule(obj: &Map<String, Value>) -> bool {
    obj.contains_key("IPAddress")
        || obj.get("kind").and_then(Value::as_str) == Some("compute#forwardingRule")
}

fn is_address(obj: &Map<String, Value>) -> bool {
    obj.contains_key("address")
        || obj.get("kind").and_then(Value::as_str) == Some("compute#address")
}

/// At most 80 characters of `text`, for messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `a string`, `an array`, … for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The last path segment of a URL (`…/regions/us-central1` → `us-central1`).
fn last_segment(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// The last two path segments (`…/global/targetHttpsProxies/web` → `targetHttpsProxies/web`).
fn last_two(url: &str) -> String {
    let parts: Vec<&str> = url.trim_end_matches('/').rsplit('/').take(2).collect();
    match parts.as_slice() {
        [name, collection] => format!("{collection}/{name}"),
        _ => url.to_string(),
    }
}

/// The region named in a resource URL (`…/regions/us-central1/…`).
fn region_in(url: &str) -> Option<&str> {
    let mut parts = url.split('/');
    while let Some(p) = parts.next() {
        if p == "regions" {
            return parts.next().filter(|r| !r.is_empty());
        }
    }
    None
}

/// Classifies a forwarding rule by its target's collection and its scheme.
pub fn classify(
    scheme: Option<&str>,
    target: Option<&str>,
    backend_service: bool,
    regional: bool,
) -> LbKind {
    let collection = target.map(|t| {
        let parts: Vec<&str> = t.trim_end_matches('/').rsplit('/').take(2).collect();
        match parts.as_slice() {
            [_, c] => *c,
            [only] => *only,
            _ => "",
        }
    });
    let scheme = scheme.unwrap_or("EXTERNAL");
    match collection {
        Some("targetHttpProxies" | "targetHttpsProxies") => match scheme {
            "INTERNAL_SELF_MANAGED" => LbKind::NotAlb(NotAlb::ServiceMesh),
            "INTERNAL_MANAGED" if regional => LbKind::RegionalInternal,
            "INTERNAL_MANAGED" => LbKind::CrossRegionInternal,
            _ if regional => LbKind::RegionalExternal,
            _ => LbKind::GlobalExternal,
        },
        Some("targetTcpProxies") => LbKind::NotAlb(NotAlb::TcpProxy),
        Some("targetSslProxies") => LbKind::NotAlb(NotAlb::SslProxy),
        Some("targetPools") => LbKind::NotAlb(NotAlb::TargetPool),
        Some("targetInstances") => LbKind::NotAlb(NotAlb::TargetInstance),
        Some("targetGrpcProxies") => LbKind::NotAlb(NotAlb::Grpc),
        Some("targetVpnGateways") => LbKind::NotAlb(NotAlb::Vpn),
        Some("serviceAttachments" | "all-apis" | "vpc-sc") => {
            LbKind::NotAlb(NotAlb::PrivateServiceConnect)
        }
        Some(_) => LbKind::NotAlb(NotAlb::Other),
        None if backend_service => LbKind::NotAlb(NotAlb::Passthrough),
        None => LbKind::NotAlb(NotAlb::Other),
    }
}

/// Typed access to JSON values, naming the file and the entry in every error.
struct Json<'s> {
    source: &'s str,
}

impl Json<'_> {
    fn wrong_type(&self, place: &str, want: &str, got: &Value) -> Error {
        Error::lb_entry(
            self.source,
            place,
            format!("expected {want}, found {}", kind(got)),
        )
    }

    fn object<'v>(&self, v: &'v Value, path: &str) -> Result<&'v Map<String, Value>, Error> {
        v.as_object()
            .ok_or_else(|| self.wrong_type(path, "an object", v))
    }

    fn array<'v>(&self, v: &'v Value, path: &str) -> Result<&'v [Value], Error> {
        v.as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| self.wrong_type(path, "an array", v))
    }

    /// An optional string member (`null` counts as absent).
    fn opt_string(
        &self,
        obj: &Map<String, Value>,
        key: &str,
        place: &str,
    ) -> Result<Option<String>, Error> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.wrong_type(&format!("{place}.{key}"), "a string", v)),
        }
    }

    fn items(&self, items: &[Value], parent: &str, out: &mut LbFile) -> Result<(), Error> {
        for (i, v) in items.iter().enumerate() {
            let path = format!("{parent}[{i}]");
            let obj = self.object(v, &path)?;
            if is_rule(obj) {
                out.rules.push(self.rule(obj, &path)?);
            } else if is_address(obj) {
                out.addresses.push(self.address(obj, &path)?);
            } else {
                return Err(Error::lb_entry(
                    self.source,
                    &path,
                    "neither a forwarding rule (no IPAddress) nor an address (no address)",
                ));
            }
        }
        Ok(())
    }

    fn name(&self, obj: &Map<String, Value>, path: &str, what: &str) -> Result<String, Error> {
        match obj.get("name") {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(Error::lb_entry(
                self.source,
                &format!("{path}.name"),
                format!("{what} with an empty name"),
            )),
            Some(v) => Err(self.wrong_type(&format!("{path}.name"), "a string", v)),
            None => Err(Error::lb_entry(
                self.source,
                &format!("{path}.name"),
                format!("{what} without a name"),
            )),
        }
    }

    fn rule(&self, obj: &Map<String, Value>, path: &str) -> Result<LbRule, Error> {
        let name = self.name(obj, path, "forwarding rule")?;
        let place = format!("forwarding rule \"{}\" ({path}.IPAddress)", excerpt(&name));
        let text = match obj.get("IPAddress") {
            Some(Value::String(s)) => s.as_str(),
            Some(v) => return Err(self.wrong_type(&place, "a string", v)),
            None => {
                return Err(Error::lb_entry(
                    self.source,
                    &place,
                    "no IPAddress: gcloud lists every rule with its address",
                ))
            }
        };
        let net = ip_or_range(text).ok_or_else(|| {
            Error::lb_entry(
                self.source,
                &place,
                format!(
                    "\"{}\" is not an IP address (gcloud lists the address itself, not the \
                     name or URL of a reserved address)",
                    escape_str(&excerpt(text))
                ),
            )
        })?;
        let target = self.opt_string(obj, "target", path)?;
        let backend = self.opt_string(obj, "backendService", path)?;
        let scheme = self.opt_string(obj, "loadBalancingScheme", path)?;
        let region_url = self.opt_string(obj, "region", path)?;
        let region = region_url
            .as_deref()
            .map(|r| last_segment(r).to_string())
            .or_else(|| target.as_deref().and_then(region_in).map(str::to_string));
        let ports = match self.opt_string(obj, "portRange", path)? {
            Some(p) => Some(p),
            None => match obj.get("ports") {
                Some(Value::Array(a)) => {
                    let ps: Vec<String> = a
                        .iter()
                        .map(|p| match p {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect();
                    (!ps.is_empty()).then(|| ps.join(","))
                }
                _ => None,
            },
        };
        let kind = classify(
            scheme.as_deref(),
            target.as_deref(),
            backend.is_some(),
            region.is_some(),
        );
        Ok(LbRule {
            source: self.source.to_string(),
            place: if path.is_empty() {
                ".".into()
            } else {
                path.to_string()
            },
            name,
            net,
            protocol: self.opt_string(obj, "IPProtocol", path)?,
            ports,
            scheme,
            region,
            target: target
                .as_deref()
                .map(last_two)
                .or_else(|| backend.as_deref().map(last_two)),
            address_name: None,
            kind,
        })
    }

    fn address(&self, obj: &Map<String, Value>, path: &str) -> Result<LbAddress, Error> {
        let name = self.name(obj, path, "address")?;
        let place = format!("address \"{}\" ({path}.address)", excerpt(&name));
        let text = match obj.get("address") {
            Some(Value::String(s)) => s.as_str(),
            Some(v) => return Err(self.wrong_type(&place, "a string", v)),
            None => {
                return Err(Error::lb_entry(self.source, &place, "no address"));
            }
        };
        let ip: IpAddr = text.parse().map_err(|_| {
            Error::lb_entry(
                self.source,
                &place,
                format!("\"{}\" is not an IP address", escape_str(&excerpt(text))),
            )
        })?;
        let mut rules = Vec::new();
        if let Some(v) = obj.get("users") {
            let users_path = format!("{path}.users");
            for (k, u) in self.array(v, &users_path)?.iter().enumerate() {
                let p = format!("{users_path}[{k}]");
                let url = u
                    .as_str()
                    .ok_or_else(|| self.wrong_type(&p, "a string", u))?;
                if url.contains("/forwardingRules/") {
                    rules.push(last_segment(url).to_string());
                }
            }
        }
        Ok(LbAddress {
            source: self.source.to_string(),
            place: if path.is_empty() {
                ".".into()
            } else {
                path.to_string()
            },
            name,
            ip,
            address_type: self.opt_string(obj, "addressType", path)?,
            purpose: self.opt_string(obj, "purpose", path)?,
            status: self.opt_string(obj, "status", path)?,
            region: self
                .opt_string(obj, "region", path)?
                .map(|r| last_segment(&r).to_string()),
            rules,
        })
    }
}

/// An IP address in std's strict form, or `addr/len` with no host bits set (some IPv6
/// forwarding rules are listed with their /96 range).
fn ip_or_range(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(IpNet::from(ip));
    }
    let net: IpNet = text.parse().ok()?;
    (net.trunc() == net && net.prefix_len() > 0).then_some(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOBAL: &str = "https://www.googleapis.com/compute/v1/projects/p/global";
    const REGION: &str = "https://www.googleapis.com/compute/v1/projects/p/regions/europe-west1";

    fn rule(name: &str, ip: &str, scheme: &str, target: &str, region: Option<&str>) -> String {
        let region = region
            .map(|r| format!(r#","region":"{r}""#))
            .unwrap_or_default();
        format!(
            r#"{{"name":"{name}","IPAddress":"{ip}","IPProtocol":"TCP","portRange":"443-443",
              "loadBalancingScheme":"{scheme}","target":"{target}"{region}}}"#
        )
    }

    #[test]
    fn targets_and_schemes_classify_as_documented() {
        let http = |base: &str| format!("{base}/targetHttpsProxies/x");
        for (scheme, target, regional, want) in [
            ("EXTERNAL", http(GLOBAL), false, LbKind::GlobalExternal),
            (
                "EXTERNAL_MANAGED",
                http(GLOBAL),
                false,
                LbKind::GlobalExternal,
            ),
            (
                "EXTERNAL_MANAGED",
                http(REGION),
                true,
                LbKind::RegionalExternal,
            ),
            (
                "INTERNAL_MANAGED",
                http(REGION),
                true,
                LbKind::RegionalInternal,
            ),
            (
                "INTERNAL_MANAGED",
                http(GLOBAL),
                false,
                LbKind::CrossRegionInternal,
            ),
            (
                "INTERNAL_SELF_MANAGED",
                http(GLOBAL),
                false,
                LbKind::NotAlb(NotAlb::ServiceMesh),
            ),
            (
                "EXTERNAL",
                format!("{GLOBAL}/targetTcpProxies/x"),
                false,
                LbKind::NotAlb(NotAlb::TcpProxy),
            ),
            (
                "EXTERNAL",
                format!("{REGION}/targetPools/x"),
                true,
                LbKind::NotAlb(NotAlb::TargetPool),
            ),
            (
                "",
                format!("{REGION}/serviceAttachments/x"),
                true,
                LbKind::NotAlb(NotAlb::PrivateServiceConnect),
            ),
            (
                "",
                "all-apis".to_string(),
                false,
                LbKind::NotAlb(NotAlb::PrivateServiceConnect),
            ),
        ] {
            let scheme = (!scheme.is_empty()).then_some(scheme);
            assert_eq!(
                classify(scheme, Some(&target), false, regional),
                want,
                "{target}"
            );
        }
        assert_eq!(
            classify(Some("INTERNAL"), None, true, true),
            LbKind::NotAlb(NotAlb::Passthrough)
        );
        assert_eq!(
            classify(None, None, false, false),
            LbKind::NotAlb(NotAlb::Other)
        );
    }

    #[test]
    fn the_region_comes_from_the_region_url_or_the_target() {
        let text = format!(
            "[{}, {}]",
            rule(
                "a",
                "10.1.2.3",
                "INTERNAL_MANAGED",
                &format!("{REGION}/targetHttpProxies/a"),
                Some(REGION)
            ),
            rule(
                "b",
                "10.1.2.4",
                "INTERNAL_MANAGED",
                &format!("{REGION}/targetHttpProxies/b"),
                None
            )
        );
        let f = parse(&text, "r.json").unwrap();
        for r in &f.rules {
            assert_eq!(r.region.as_deref(), Some("europe-west1"));
            assert_eq!(r.kind, LbKind::RegionalInternal);
        }
        assert_eq!(f.rules[1].target.as_deref(), Some("targetHttpProxies/b"));
    }

    #[test]
    fn unknown_fields_are_ignored_and_null_is_absent() {
        let text = r#"[{"name":"a","IPAddress":"34.1.2.3","target":"x/targetHttpProxies/a",
            "labels":{"team":"web"},"fingerprint":"abc=","networkTier":"PREMIUM",
            "allPorts":null,"description":null,"portRange":null,"ports":["80","8080"]}]"#;
        let f = parse(text, "r").unwrap();
        assert_eq!(f.rules[0].ports.as_deref(), Some("80,8080"));
        assert_eq!(f.rules[0].kind, LbKind::GlobalExternal);
    }

    #[test]
    fn api_list_aggregated_list_and_describe_shapes_are_read() {
        let one = rule("w", "34.1.2.3", "EXTERNAL", "g/targetHttpProxies/w", None);
        let list = format!(r#"{{"kind":"compute#forwardingRuleList","items":[{one}]}}"#);
        assert_eq!(parse(&list, "l").unwrap().rules[0].place, ".items[0]");
        let agg = format!(
            r#"{{"items":{{"global":{{"forwardingRules":[{one}]}},
                "regions/us-east1":{{"warning":{{"code":"NO_RESULTS_ON_PAGE"}}}}}}}}"#
        );
        assert_eq!(parse(&agg, "a").unwrap().rules.len(), 1);
        let f = parse(&one, "d").unwrap();
        assert_eq!(
            (f.rules[0].name.as_str(), f.rules[0].place.as_str()),
            ("w", ".")
        );
        assert!(parse("[]", "e").unwrap().rules.is_empty());
    }

    #[test]
    fn ipv6_rules_may_be_written_as_ranges_without_host_bits() {
        assert_eq!(
            ip_or_range("2600:1901:0:1::"),
            "2600:1901:0:1::/128".parse().ok()
        );
        assert_eq!(
            ip_or_range("2600:1900:4000:1:8000::/96"),
            "2600:1900:4000:1:8000::/96".parse().ok()
        );
        assert_eq!(ip_or_range("2600:1900:4000:1:8000::1/96"), None);
        assert_eq!(ip_or_range("0.0.0.0/0"), None);
        assert_eq!(ip_or_range("web-ip"), None);
    }

    #[test]
    fn addresses_name_their_rules_and_unknown_users_become_unknown_rules() {
        let rules = parse(
            &format!(
                "[{}]",
                rule(
                    "web-https",
                    "34.1.2.3",
                    "EXTERNAL",
                    "g/targetHttpsProxies/w",
                    None
                )
            ),
            "rules.json",
        )
        .unwrap();
        let addrs = parse(
            r#"[{"name":"web-ip","address":"34.1.2.3","status":"IN_USE","users":[
                "https://www.googleapis.com/compute/v1/projects/p/global/forwardingRules/web-https",
                "https://www.googleapis.com/compute/v1/projects/p/global/forwardingRules/web-http"]},
               {"name":"spare","address":"34.9.9.9","status":"RESERVED"}]"#,
            "addresses.json",
        )
        .unwrap();
        let list = LbList::new(vec![rules, addrs]);
        assert_eq!(list.rules[0].address_name.as_deref(), Some("web-ip"));
        assert_eq!(list.rules[1].name, "web-http");
        assert_eq!(list.rules[1].kind, LbKind::Unknown);
        assert_eq!(list.alb_ips().len(), 1);
        assert_eq!(list.unknown_ips()[0].names(), "web-http");
        assert!(list.owns("34.9.9.9".parse().unwrap()));
        assert!(list.owns("::ffff:34.1.2.3".parse().unwrap()));
        assert!(!list.owns("34.9.9.8".parse().unwrap()));
    }

    #[test]
    fn a_shared_address_is_one_alb_ip_with_every_rule() {
        let text = format!(
            "[{}, {}, {}]",
            rule(
                "web-https",
                "34.1.2.3",
                "EXTERNAL",
                "g/targetHttpsProxies/w",
                None
            ),
            rule(
                "web-http",
                "34.1.2.3",
                "EXTERNAL",
                "g/targetHttpProxies/w",
                None
            ),
            rule("db", "34.1.2.3", "EXTERNAL", "g/targetTcpProxies/d", None)
        );
        let list = LbList::new(vec![parse(&text, "r").unwrap()]);
        let ips = list.alb_ips();
        assert_eq!(ips.len(), 1);
        assert_eq!(ips[0].names(), "web-https, web-http");
        assert_eq!(list.ignored().count(), 1);
    }

    #[test]
    fn bad_files_say_what_they_hold_instead() {
        for (text, want) in [
            ("", "the file is empty"),
            ("  \n", "the file is empty"),
            ("<!DOCTYPE html>\n<html>", "an HTML or XML page"),
            (
                "ERROR: (gcloud.compute.forwarding-rules.list) Some requests did not succeed:",
                "gcloud's error message, not its output",
            ),
            ("WARNING: x\n[]", "gcloud's warning text"),
            (
                "NAME  REGION  IP_ADDRESS  IP_PROTOCOL  TARGET",
                "add --format=json",
            ),
            ("---\nIPAddress: 1.2.3.4", "YAML"),
            ("[{\"name\":\"a\",", "the file ends early"),
            ("[1,]", "not valid JSON"),
            ("\"x\"", "line 1 is not JSON"),
            ("{}", "an empty JSON object"),
            ("{\"foo\":1}", "keys \"foo\""),
            ("[[]]", ".[0]: expected an object, found an array"),
            ("[{\"foo\":1}]", ".[0]: neither a forwarding rule"),
            (
                "[{\"IPAddress\":\"1.2.3.4\"}]",
                ".[0].name: forwarding rule without a name",
            ),
            ("[{\"name\":\"a\"}]", ".[0]: neither"),
            (
                "[{\"name\":\"web\",\"IPAddress\":\"web-ip\"}]",
                "forwarding rule \"web\" (.[0].IPAddress): \"web-ip\" is not an IP address",
            ),
            (
                "[{\"name\":\"web\",\"IPAddress\":7}]",
                "forwarding rule \"web\" (.[0].IPAddress): expected a string, found a number",
            ),
            (
                "[{\"name\":\"a\",\"address\":\"1.2.3\"}]",
                "address \"a\" (.[0].address): \"1.2.3\" is not an IP address",
            ),
            (
                "[{\"name\":\"a\",\"address\":\"1.2.3.4\",\"users\":[1]}]",
                ".[0].users[0]",
            ),
            ("{\"items\":3}", ".items: expected an array"),
        ] {
            let err = parse(text, "f.json").unwrap_err().to_string();
            assert!(err.starts_with("f.json: "), "{err}");
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn hostile_names_are_escaped_in_messages() {
        let err = parse(
            "[{\"name\":\"a\u{1b}[31m\",\"IPAddress\":\"x\u{202e}\"}]",
            "f\u{7}",
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains(['\u{1b}', '\u{202e}', '\u{7}']), "{err}");
    }

    #[test]
    fn provenance_names_everything_known() {
        let f = parse(
            &format!(
                "[{}]",
                rule(
                    "api",
                    "10.1.2.3",
                    "INTERNAL_MANAGED",
                    &format!("{REGION}/targetHttpsProxies/api"),
                    Some(REGION)
                )
            ),
            "rules.json",
        )
        .unwrap();
        assert_eq!(
            f.rules[0].provenance(),
            "api (regional internal Application LB, INTERNAL_MANAGED, europe-west1, \
             targetHttpsProxies/api, TCP 443-443, rules.json .[0])"
        );
    }
}
