//! Published range files: Google `goog.json`/`cloud.json`, Cloudflare `ips-v4`/`ips-v6` text
//! and API JSON, AWS `ip-ranges.json`, Fastly `public-ip-list` JSON.
//!
//! Owns: reading one such file ([`load`], [`parse`]) into a [`RangeList`]: the format told
//! apart by content (JSON keys, or plain CIDR lines), every entry checked (a bad entry refuses
//! the whole file, with its line number or JSON path; nothing is skipped), the provenance the
//! file carries (sync token, creation date), and warnings for snapshots with no date or one
//! more than [`STALE_AFTER_DAYS`] days old. Also the policy of which lists may become trust
//! lists ([`RangeList::trust_specs`]): Google's lists never may, since they hold every Google
//! Cloud customer's addresses, and neither may AWS's `AMAZON` and `EC2` services.
//! Does not own: fetching the lists (realip works offline from files), opening files (that is
//! [`crate::input`]), membership at log scale and nginx's address grammar (that is
//! [`crate::net::TrustedSet`], which the strings from `trust_specs` feed), or printing the
//! warnings (the CLI does).
//!
//! ```
//! use realip::ranges::{self, Provider};
//!
//! let text = "173.245.48.0/20\n2400:cb00::/32\n";
//! let list = ranges::parse(text, "ips", None, 1_795_000_000)?;
//! assert_eq!(list.provenance.provider, Provider::CloudflareText);
//! assert_eq!(list.trust_specs()?, ["173.245.48.0/20", "2400:cb00::/32"]);
//! assert!(list.contains("173.245.50.1".parse().unwrap()));
//! assert_eq!(list.warnings.len(), 1); // a text list carries no date
//! # Ok::<(), realip::Error>(())
//! ```

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::input::{self, Opened, Source};

pub mod gcloud;

/// A snapshot whose creation date is more than this many whole days before "now" draws a
/// warning.
pub const STALE_AFTER_DAYS: i64 = 90;

/// The largest file [`load`] reads; the complete AWS list is about 2 MB.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Which published list a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    /// `https://www.gstatic.com/ipranges/goog.json`: every Google address. Recognition only.
    GoogleGoog,
    /// `https://www.gstatic.com/ipranges/cloud.json`: every Google Cloud customer's external
    /// addresses. Recognition only.
    GoogleCloud,
    /// A plain list, one CIDR a line, as `https://www.cloudflare.com/ips-v4` and `/ips-v6`
    /// publish (any such list is read as this).
    CloudflareText,
    /// `https://api.cloudflare.com/client/v4/ips`: `result.ipv4_cidrs`, `result.ipv6_cidrs`,
    /// `result.etag`.
    CloudflareApi,
    /// `https://ip-ranges.amazonaws.com/ip-ranges.json`, read for one service.
    Aws,
    /// `https://api.fastly.com/public-ip-list`: `addresses`, `ipv6_addresses`.
    Fastly,
}

impl Provider {
    /// Every provider, in the order messages list them.
    pub const ALL: [Provider; 6] = [
        Provider::GoogleGoog,
        Provider::GoogleCloud,
        Provider::CloudflareText,
        Provider::CloudflareApi,
        Provider::Aws,
        Provider::Fastly,
    ];

    /// A short stable identifier, for JSON output: `google-goog`, `google-cloud`,
    /// `cloudflare-text`, `cloudflare-api`, `aws`, `fastly`.
    pub fn id(self) -> &'static str {
        match self {
            Provider::GoogleGoog => "google-goog",
            Provider::GoogleCloud => "google-cloud",
            Provider::CloudflareText => "cloudflare-text",
            Provider::CloudflareApi => "cloudflare-api",
            Provider::Aws => "aws",
            Provider::Fastly => "fastly",
        }
    }

    /// What the file is, for messages: `Google cloud.json`, `AWS ip-ranges.json`, ….
    pub fn description(self) -> &'static str {
        match self {
            Provider::GoogleGoog => "Google goog.json",
            Provider::GoogleCloud => "Google cloud.json",
            Provider::CloudflareText => "plain-text CIDR list (Cloudflare ips-v4/ips-v6 format)",
            Provider::CloudflareApi => "Cloudflare API JSON (client/v4/ips)",
            Provider::Aws => "AWS ip-ranges.json",
            Provider::Fastly => "Fastly public-ip-list JSON",
        }
    }

    /// Where the provider publishes the list.
    pub fn url(self) -> &'static str {
        match self {
            Provider::GoogleGoog => "https://www.gstatic.com/ipranges/goog.json",
            Provider::GoogleCloud => "https://www.gstatic.com/ipranges/cloud.json",
            Provider::CloudflareText => {
                "https://www.cloudflare.com/ips-v4 and https://www.cloudflare.com/ips-v6"
            }
            Provider::CloudflareApi => "https://api.cloudflare.com/client/v4/ips",
            Provider::Aws => "https://ip-ranges.amazonaws.com/ip-ranges.json",
            Provider::Fastly => "https://api.fastly.com/public-ip-list",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Where a [`RangeList`] came from, as far as the file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The file as given (`-` for stdin); not escaped.
    pub source: String,
    /// Which published list it is.
    pub provider: Provider,
    /// Google and AWS `syncToken` (Google: milliseconds, AWS: seconds since the epoch, both
    /// as written), or the Cloudflare API's `etag`.
    pub sync_token: Option<String>,
    /// The creation date exactly as written: Google `creationTime` (ISO 8601 without a zone,
    /// read as UTC), AWS `createDate` (`YYYY-MM-DD-hh-mm-ss`, UTC).
    pub created: Option<String>,
    /// `created` in seconds since the epoch, when it is in the documented form.
    pub created_epoch: Option<i64>,
    /// The AWS service the list was filtered to, as the file spells it; `None` for the other
    /// providers. (Not in the first API sketch: `trust_specs` needs it to refuse `AMAZON` and
    /// `EC2`, and a snippet can name it.)
    pub service: Option<String>,
}

/// One published range list, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeList {
    /// Where it came from.
    pub provenance: Provenance,
    /// The ranges in file order (IPv4 list before IPv6 list in the JSON formats), each once.
    pub nets: Vec<IpNet>,
    /// Things worth telling the user that do not stop the load: no date, a stale or
    /// future-dated snapshot, ranges listed twice, extra Cloudflare networks included.
    pub warnings: Vec<String>,
}

const GOOGLE_REFUSAL: &str = "cloud.json lists the external addresses of every Google Cloud \
    customer and goog.json all of Google's, so trusting them lets anyone with a GCP VM spoof \
    X-Forwarded-For; use them only to recognise Google addresses, and trust the load-balancer \
    front-end ranges (--trust gcp) plus your own forwarding-rule IPs (--trust IP) instead";

const AWS_REFUSAL: &str = "AMAZON is every AWS address and EC2 every customer instance's, so \
    trusting them lets anyone with an EC2 instance spoof X-Forwarded-For; trust only the \
    service that connects to you, e.g. CLOUDFRONT_ORIGIN_FACING";

/// AWS services whose ranges hold customer-controlled addresses.
const AWS_UNTRUSTABLE: &[&str] = &["AMAZON", "EC2"];

impl RangeList {
    /// The ranges as CIDR strings for `--trust` / [`crate::TrustedSet::parse`].
    ///
    /// Refuses Google's `goog.json` and `cloud.json` (and AWS's `AMAZON` and `EC2` services)
    /// with an explanation: those lists hold addresses anyone can rent, so trusting them makes
    /// `X-Forwarded-For` spoofable. They are for recognising addresses ([`RangeList::contains`]).
    pub fn trust_specs(&self) -> Result<Vec<String>, Error> {
        let p = &self.provenance;
        match p.provider {
            Provider::GoogleGoog | Provider::GoogleCloud => {
                return Err(Error::ranges_untrusted(
                    &p.source,
                    p.provider.description().to_string(),
                    GOOGLE_REFUSAL,
                ));
            }
            Provider::Aws => {
                if let Some(s) = p.service.as_deref() {
                    if AWS_UNTRUSTABLE.iter().any(|u| u.eq_ignore_ascii_case(s)) {
                        return Err(Error::ranges_untrusted(
                            &p.source,
                            format!("AWS ip-ranges.json service {s}"),
                            AWS_REFUSAL,
                        ));
                    }
                }
            }
            Provider::CloudflareText | Provider::CloudflareApi | Provider::Fastly => {}
        }
        Ok(self.nets.iter().map(IpNet::to_string).collect())
    }

    /// Whether `ip` is in one of the ranges. An IPv4-mapped IPv6 address is tested as IPv4,
    /// as nginx does. A linear scan: fine for hints about a few addresses; build a
    /// [`crate::TrustedSet`] for per-line lookups.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// Reads and checks a range file (see [`parse`]); `-` reads standard input, gzip is
/// decompressed. Files over [`MAX_FILE_BYTES`] and non-UTF-8 files are refused.
pub fn load(path: &Path, service: Option<&str>, now_epoch: i64) -> Result<RangeList, Error> {
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
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&source, &e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::ranges_format(
            &source,
            format!("larger than {} MiB", MAX_FILE_BYTES >> 20),
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Error::ranges_format(
            &source,
            format!("not UTF-8 text: invalid byte at offset {}", e.valid_up_to()),
        )
    })?;
    parse(text, &source, service, now_epoch)
}

/// Checks the text of a range file named `source` (used in messages and provenance).
///
/// The format is told apart by content: a JSON object by its keys (`createDate` or
/// `ipv6_prefixes`: AWS; `creationTime` or `prefixes`: Google, `cloud.json` when entries carry
/// `service`/`scope`; `result`: Cloudflare API; `addresses`/`ipv6_addresses`: Fastly), anything
/// else as one CIDR a line (blank lines and `#` comment lines allowed). `service` picks one AWS
/// service (matched ignoring case) and is required for AWS and refused for the others.
/// `now_epoch` (seconds since the epoch) dates the staleness warning.
pub fn parse(
    text: &str,
    source: &str,
    service: Option<&str>,
    now_epoch: i64,
) -> Result<RangeList, Error> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = body.trim_start();
    let mut parsed = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        parse_json(body, source, service)?
    } else {
        parse_text(body, source)?
    };
    let provider = parsed.provenance.provider;
    if provider != Provider::Aws {
        if let Some(s) = service {
            return Err(Error::ranges_service_not_applicable(
                source,
                s,
                provider.description(),
            ));
        }
    }
    let nets = dedup(parsed.nets, &mut parsed.warnings);
    if nets.is_empty() {
        return Err(Error::ranges_empty(source, provider.description()));
    }
    let mut warnings = parsed.warnings;
    date_warnings(&parsed.provenance, now_epoch, &mut warnings);
    Ok(RangeList {
        provenance: parsed.provenance,
        nets,
        warnings,
    })
}

/// A list before de-duplication and date checks.
struct Parsed {
    provenance: Provenance,
    nets: Vec<IpNet>,
    warnings: Vec<String>,
}

impl Parsed {
    fn new(source: &str, provider: Provider) -> Self {
        Parsed {
            provenance: Provenance {
                source: source.to_string(),
                provider,
                sync_token: None,
                created: None,
                created_epoch: None,
                service: None,
            },
            nets: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Which address family a JSON field promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

// ---------------------------------------------------------------------------------------------
// Plain text

fn parse_text(body: &str, source: &str) -> Result<Parsed, Error> {
    let mut out = Parsed::new(source, Provider::CloudflareText);
    for (i, raw) in body.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let place = format!("line {}", i + 1);
        match parse_cidr(line, None) {
            Ok(net) => out.nets.push(net),
            Err(reason) if !out.nets.is_empty() || looks_like_a_range(line) => {
                return Err(Error::ranges_entry(
                    source,
                    place,
                    Some(&excerpt(line)),
                    reason,
                ));
            }
            Err(_) => {
                return Err(Error::ranges_format(
                    source,
                    format!(
                        "{place} is neither JSON nor a CIDR: \"{}\"",
                        crate::escape::escape_str(&excerpt(line))
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Whether a first line that failed to parse was meant as an address (then it is a bad entry
/// of a text list) or is something else entirely (an HTML error page, say: an unknown format).
fn looks_like_a_range(line: &str) -> bool {
    line.bytes()
        .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'/' | b'%'))
}

// ---------------------------------------------------------------------------------------------
// CIDRs

/// A CIDR exactly as published lists write them: `address/length`, the address in std's
/// strict form (no leading zeros, no zone), no host bits set, not `/0`.
fn parse_cidr(text: &str, family: Option<Family>) -> Result<IpNet, String> {
    let Some((addr, len)) = text.split_once('/') else {
        return Err(if text.parse::<IpAddr>().is_ok() {
            "a bare address: published lists give every range with a /prefix-length".into()
        } else {
            "not a CIDR (address/prefix-length)".into()
        });
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| "the part before the / is not an IPv4 or IPv6 address".to_string())?;
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the prefix length must be a decimal number".into());
    }
    let n: u8 = match len.parse() {
        Ok(n) if n <= max => n,
        _ => return Err(format!("the prefix length must be 0..={max}")),
    };
    let net = IpNet::new(ip, n).map_err(|e| e.to_string())?;
    if net.trunc() != net {
        return Err(format!(
            "host bits are set (the network is {})",
            net.trunc()
        ));
    }
    if n == 0 {
        return Err("a /0 range is every address; no published list holds one".into());
    }
    match (family, ip) {
        (Some(Family::V4), IpAddr::V6(_)) => Err("an IPv6 range where IPv4 is expected".into()),
        (Some(Family::V6), IpAddr::V4(_)) => Err("an IPv4 range where IPv6 is expected".into()),
        _ => Ok(net),
    }
}

/// At most 80 characters of `text`, for messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

fn parse_json(body: &str, source: &str, service: Option<&str>) -> Result<Parsed, Error> {
    let value: Value = serde_json::from_str(body).map_err(|e| {
        let msg = e.to_string();
        let mut reason = match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        if e.is_eof() {
            reason.push_str(" (the file ends early: a truncated download?)");
        }
        // serde_json says column 0 for a position just after a newline.
        Error::ranges_json(source, e.line(), e.column().max(1), reason)
    })?;
    let Value::Object(obj) = value else {
        return Err(Error::ranges_format(
            source,
            format!("the JSON is {}, not an object", kind(&value)),
        ));
    };
    let j = Json { source };
    let has = |k: &str| obj.contains_key(k);
    let aws_entries = obj
        .get("prefixes")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_object)
        .is_some_and(|e| e.contains_key("ip_prefix"));
    if has("createDate") || has("ipv6_prefixes") || aws_entries {
        j.aws(&obj, service)
    } else if has("creationTime") || has("prefixes") {
        j.google(&obj)
    } else if has("result") {
        j.cloudflare(&obj)
    } else if has("addresses") || has("ipv6_addresses") {
        j.fastly(&obj)
    } else {
        let keys: Vec<String> = obj
            .keys()
            .take(8)
            .map(|k| format!("\"{}\"", crate::escape::escape_str(&excerpt(k))))
            .collect();
        Err(Error::ranges_format(
            source,
            if keys.is_empty() {
                "an empty JSON object".to_string()
            } else {
                format!("a JSON object with keys {}", keys.join(", "))
            },
        ))
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

/// Typed access to JSON values with the jq-style path in every error.
struct Json<'s> {
    source: &'s str,
}

impl Json<'_> {
    fn wrong_type(&self, path: &str, want: &str, got: &Value) -> Error {
        Error::ranges_entry(
            self.source,
            path.to_string(),
            None,
            format!("expected {want}, found {}", kind(got)),
        )
    }

    fn missing(&self, path: &str, what: &str) -> Error {
        Error::ranges_entry(
            self.source,
            path.to_string(),
            None,
            format!("missing {what}"),
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

    fn string<'v>(&self, v: &'v Value, path: &str) -> Result<&'v str, Error> {
        v.as_str()
            .ok_or_else(|| self.wrong_type(path, "a string", v))
    }

    /// A required array member of `obj` at `parent.key`.
    fn required_array<'v>(
        &self,
        obj: &'v Map<String, Value>,
        parent: &str,
        key: &str,
    ) -> Result<&'v [Value], Error> {
        let path = format!("{parent}.{key}");
        match obj.get(key) {
            Some(v) => self.array(v, &path),
            None => Err(self.missing(&path, "array")),
        }
    }

    /// An optional string member; numbers are accepted as written (`syncToken`).
    fn token(&self, obj: &Map<String, Value>, key: &str) -> Result<Option<String>, Error> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(v) => Err(self.wrong_type(&format!(".{key}"), "a string", v)),
        }
    }

    fn cidr(&self, v: &Value, path: &str, family: Family) -> Result<IpNet, Error> {
        let text = self.string(v, path)?;
        parse_cidr(text, Some(family)).map_err(|reason| {
            Error::ranges_entry(self.source, path.to_string(), Some(&excerpt(text)), reason)
        })
    }

    /// Every element of a required array of CIDR strings.
    fn cidr_array(
        &self,
        obj: &Map<String, Value>,
        parent: &str,
        key: &str,
        family: Family,
        out: &mut Vec<IpNet>,
    ) -> Result<(), Error> {
        for (i, v) in self.required_array(obj, parent, key)?.iter().enumerate() {
            out.push(self.cidr(v, &format!("{parent}.{key}[{i}]"), family)?);
        }
        Ok(())
    }

    fn google(&self, obj: &Map<String, Value>) -> Result<Parsed, Error> {
        let prefixes = self.required_array(obj, "", "prefixes")?;
        let mut cloud = false;
        let mut nets = Vec::with_capacity(prefixes.len());
        for (i, entry) in prefixes.iter().enumerate() {
            let path = format!(".prefixes[{i}]");
            let e = self.object(entry, &path)?;
            cloud |= e.contains_key("service") || e.contains_key("scope");
            let net = match (e.get("ipv4Prefix"), e.get("ipv6Prefix")) {
                (Some(v), None) => self.cidr(v, &format!("{path}.ipv4Prefix"), Family::V4)?,
                (None, Some(v)) => self.cidr(v, &format!("{path}.ipv6Prefix"), Family::V6)?,
                (Some(_), Some(_)) => {
                    return Err(Error::ranges_entry(
                        self.source,
                        path,
                        None,
                        "has both ipv4Prefix and ipv6Prefix",
                    ));
                }
                (None, None) => {
                    return Err(Error::ranges_entry(
                        self.source,
                        path,
                        None,
                        "has neither ipv4Prefix nor ipv6Prefix",
                    ));
                }
            };
            nets.push(net);
        }
        let provider = if cloud {
            Provider::GoogleCloud
        } else {
            Provider::GoogleGoog
        };
        let mut out = Parsed::new(self.source, provider);
        out.nets = nets;
        out.provenance.sync_token = self.token(obj, "syncToken")?;
        out.provenance.created = self.token(obj, "creationTime")?;
        out.provenance.created_epoch = out.provenance.created.as_deref().and_then(google_time);
        Ok(out)
    }

    fn aws(&self, obj: &Map<String, Value>, service: Option<&str>) -> Result<Parsed, Error> {
        // Check every entry, whichever service is picked: a corrupt file is refused whole.
        let mut entries: Vec<(IpNet, &str)> = Vec::new();
        for (key, field, family) in [
            ("prefixes", "ip_prefix", Family::V4),
            ("ipv6_prefixes", "ipv6_prefix", Family::V6),
        ] {
            let list = match obj.get(key) {
                Some(v) => self.array(v, &format!(".{key}"))?,
                None if key == "ipv6_prefixes" => &[],
                None => return Err(self.missing(&format!(".{key}"), "array")),
            };
            for (i, entry) in list.iter().enumerate() {
                let path = format!(".{key}[{i}]");
                let e = self.object(entry, &path)?;
                let net = match e.get(field) {
                    Some(v) => self.cidr(v, &format!("{path}.{field}"), family)?,
                    None => return Err(self.missing(&format!("{path}.{field}"), "string")),
                };
                let svc = match e.get("service") {
                    Some(v) => self.string(v, &format!("{path}.service"))?,
                    None => return Err(self.missing(&format!("{path}.service"), "string")),
                };
                entries.push((net, svc));
            }
        }
        let services: Vec<String> = entries
            .iter()
            .map(|&(_, s)| s.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let Some(wanted) = service else {
            return Err(Error::ranges_service(self.source, None, &services));
        };
        let Some(chosen) = services.iter().find(|s| s.eq_ignore_ascii_case(wanted)) else {
            return Err(Error::ranges_service(self.source, Some(wanted), &services));
        };
        let mut out = Parsed::new(self.source, Provider::Aws);
        out.nets = entries
            .iter()
            .filter(|&&(_, s)| s == chosen)
            .map(|&(net, _)| net)
            .collect();
        out.provenance.service = Some(chosen.clone());
        out.provenance.sync_token = self.token(obj, "syncToken")?;
        out.provenance.created = self.token(obj, "createDate")?;
        out.provenance.created_epoch = out.provenance.created.as_deref().and_then(aws_time);
        Ok(out)
    }

    fn cloudflare(&self, obj: &Map<String, Value>) -> Result<Parsed, Error> {
        if let Some(v) = obj.get("success") {
            if v.as_bool() == Some(false) {
                let errors: Vec<String> = obj
                    .get("errors")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|e| e.get("message").and_then(Value::as_str))
                            .map(|m| crate::escape::escape_str(&excerpt(m)).into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                let detail = if errors.is_empty() {
                    String::new()
                } else {
                    format!(": {}", errors.join("; "))
                };
                return Err(Error::ranges_entry(
                    self.source,
                    ".success".to_string(),
                    None,
                    format!("the Cloudflare API reported a failure{detail}"),
                ));
            }
        }
        let result = match obj.get("result") {
            Some(v) => self.object(v, ".result")?,
            None => return Err(self.missing(".result", "object")),
        };
        let mut out = Parsed::new(self.source, Provider::CloudflareApi);
        self.cidr_array(result, ".result", "ipv4_cidrs", Family::V4, &mut out.nets)?;
        self.cidr_array(result, ".result", "ipv6_cidrs", Family::V6, &mut out.nets)?;
        if result.contains_key("jdcloud_cidrs") {
            let before = out.nets.len();
            for (i, v) in self
                .required_array(result, ".result", "jdcloud_cidrs")?
                .iter()
                .enumerate()
            {
                let path = format!(".result.jdcloud_cidrs[{i}]");
                let text = self.string(v, &path)?;
                let net = parse_cidr(text, None).map_err(|reason| {
                    Error::ranges_entry(self.source, path, Some(&excerpt(text)), reason)
                })?;
                out.nets.push(net);
            }
            out.warnings.push(format!(
                "included {} JD Cloud ranges from .result.jdcloud_cidrs (Cloudflare's China \
                 Network, listed when fetched with ?networks=jdcloud)",
                out.nets.len() - before
            ));
        }
        for key in result.keys() {
            if key.ends_with("_cidrs")
                && !matches!(key.as_str(), "ipv4_cidrs" | "ipv6_cidrs" | "jdcloud_cidrs")
            {
                out.warnings.push(format!(
                    "ignored .result.{}: not a Cloudflare network realip knows",
                    crate::escape::escape_str(&excerpt(key))
                ));
            }
        }
        out.provenance.sync_token = match result.get("etag") {
            None | Some(Value::Null) => None,
            Some(v) => Some(self.string(v, ".result.etag")?.to_string()),
        };
        Ok(out)
    }

    fn fastly(&self, obj: &Map<String, Value>) -> Result<Parsed, Error> {
        let mut out = Parsed::new(self.source, Provider::Fastly);
        self.cidr_array(obj, "", "addresses", Family::V4, &mut out.nets)?;
        self.cidr_array(obj, "", "ipv6_addresses", Family::V6, &mut out.nets)?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// De-duplication and dates

/// Keeps the first of repeated ranges and says how many repeats were dropped.
fn dedup(nets: Vec<IpNet>, warnings: &mut Vec<String>) -> Vec<IpNet> {
    let mut seen = HashSet::with_capacity(nets.len());
    let total = nets.len();
    let out: Vec<IpNet> = nets.into_iter().filter(|n| seen.insert(*n)).collect();
    let repeats = total - out.len();
    if repeats > 0 {
        warnings.push(format!(
            "{repeats} range{} listed more than once, kept once",
            if repeats == 1 { " is" } else { "s are" }
        ));
    }
    out
}

fn date_warnings(p: &Provenance, now_epoch: i64, warnings: &mut Vec<String>) {
    let url = p.provider.url();
    let Some(created) = p.created_epoch else {
        warnings.push(match &p.created {
            Some(text) => format!(
                "creation date \"{}\" is not in the documented form, so the snapshot's age is \
                 unknown; fetch a fresh copy from {url} if in doubt",
                crate::escape::escape_str(&excerpt(text))
            ),
            None => format!(
                "a {} carries no date, so the snapshot's age is unknown; fetch a fresh copy \
                 from {url} if in doubt",
                p.provider.description()
            ),
        });
        return;
    };
    let age_days = now_epoch.saturating_sub(created).div_euclid(86_400);
    let date = civil_date(created);
    if age_days > STALE_AFTER_DAYS {
        warnings.push(format!(
            "snapshot from {date} is {age_days} days old; fetch a fresh copy from {url}"
        ));
    } else if age_days < -1 {
        warnings.push(format!(
            "snapshot from {date} is dated {} days after now; check the clock or the file",
            -age_days
        ));
    }
}

/// Google `creationTime`: `2026-11-20T03:32:13.447623` (fraction optional), read as UTC; a
/// trailing `Z` is tolerated.
fn google_time(text: &str) -> Option<i64> {
    let t = text.strip_suffix('Z').unwrap_or(text).as_bytes();
    if t.len() < 19 || t[10] != b'T' || t[13] != b':' || t[16] != b':' {
        return None;
    }
    match &t[19..] {
        [] => {}
        [b'.', frac @ ..] if !frac.is_empty() && frac.iter().all(u8::is_ascii_digit) => {}
        _ => return None,
    }
    civil_epoch(&t[..10], [&t[11..13], &t[14..16], &t[17..19]])
}

/// AWS `createDate`: `2026-11-21-19-13-08`, UTC.
fn aws_time(text: &str) -> Option<i64> {
    let t = text.as_bytes();
    if t.len() != 19 || t[10] != b'-' || t[13] != b'-' || t[16] != b'-' {
        return None;
    }
    civil_epoch(&t[..10], [&t[11..13], &t[14..16], &t[17..19]])
}

/// `YYYY-MM-DD` and `[hh, mm, ss]` to seconds since the epoch, with every field checked.
fn civil_epoch(date: &[u8], hms: [&[u8]; 3]) -> Option<i64> {
    if date.len() != 10 || date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(&date[..4])?, num(&date[5..7])?, num(&date[8..10])?);
    let [h, mi, s] = [num(hms[0])?, num(hms[1])?, num(hms[2])?];
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_days).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(crate::timefmt::days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Two or four ASCII digits as a number.
fn num(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, &b| n * 10 + i64::from(b - b'0')))
}

/// Seconds since the epoch as `YYYY-MM-DD` (UTC).
fn civil_date(t: i64) -> String {
    let (y, m, d) = crate::timefmt::civil_from_days(t.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_400_000; // 2026-11-23

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_must_be_written_as_published_lists_write_them() {
        assert_eq!(parse_cidr("10.0.0.0/8", None), Ok(net("10.0.0.0/8")));
        assert_eq!(
            parse_cidr("2600:9000::/28", None),
            Ok(net("2600:9000::/28"))
        );
        assert_eq!(parse_cidr("192.0.2.7/32", None), Ok(net("192.0.2.7/32")));
        for (bad, why) in [
            ("10.0.0.0", "a bare address"),
            (
                "10.0.0.1/8",
                "host bits are set (the network is 10.0.0.0/8)",
            ),
            ("10.0.0.0/33", "0..=32"),
            ("::/129", "0..=128"),
            ("10.0.0.0/+8", "decimal number"),
            ("10.0.0.0/", "decimal number"),
            ("10.0.0.0/0008", "decimal number"),
            ("010.0.0.0/8", "not an IPv4 or IPv6 address"),
            ("fe80::%eth0/64", "not an IPv4 or IPv6 address"),
            ("0.0.0.0/0", "a /0 range"),
            ("::/0", "a /0 range"),
            ("example.com", "not a CIDR"),
        ] {
            let err = parse_cidr(bad, None).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_json_field_for_one_family_refuses_the_other() {
        assert!(parse_cidr("2001:db8::/32", Some(Family::V4))
            .unwrap_err()
            .contains("IPv6 range where IPv4"));
        assert!(parse_cidr("192.0.2.0/24", Some(Family::V6))
            .unwrap_err()
            .contains("IPv4 range where IPv6"));
    }

    #[test]
    fn text_lists_allow_blank_lines_comments_crlf_and_a_bom() {
        let text = "\u{feff}# Cloudflare\r\n\r\n173.245.48.0/20\r\n  2400:cb00::/32  \r\n";
        let list = parse(text, "t", None, NOW).unwrap();
        assert_eq!(list.nets, [net("173.245.48.0/20"), net("2400:cb00::/32")]);
    }

    #[test]
    fn a_bad_first_line_that_looks_like_an_address_is_a_bad_entry_not_an_unknown_format() {
        let err = parse("# c\n10.0.0.1\n", "t", None, NOW).unwrap_err();
        assert!(matches!(err, Error::RangesEntry { ref place, .. } if place == "line 2"));
        let err = parse("<!DOCTYPE html>\n<html>\n", "t", None, NOW).unwrap_err();
        assert!(matches!(err, Error::RangesFormat { .. }), "{err}");
    }

    #[test]
    fn repeated_ranges_are_kept_once_with_a_warning() {
        let list = parse("10.0.0.0/8\n10.0.0.0/8\n11.0.0.0/8\n", "t", None, NOW).unwrap();
        assert_eq!(list.nets.len(), 2);
        assert!(list
            .warnings
            .iter()
            .any(|w| w == "1 range is listed more than once, kept once"));
    }

    #[test]
    fn google_and_aws_dates_parse_in_their_documented_forms() {
        let t = 1_795_145_533; // 2026-11-20T03:32:13Z
        assert_eq!(google_time("2026-11-20T03:32:13.447623"), Some(t));
        assert_eq!(google_time("2026-11-20T03:32:13"), Some(t));
        assert_eq!(google_time("2026-11-20T03:32:13Z"), Some(t));
        assert_eq!(aws_time("2026-11-20-03-32-13"), Some(t));
        assert_eq!(civil_date(t), "2026-11-20");
        for bad in [
            "2026-11-20 03:32:13",
            "2026-11-20T03:32:13.",
            "2026-11-20T03:32:13+01:00",
            "2026-02-29T00:00:00",
            "2026-13-01T00:00:00",
            "2026-11-20T24:00:00",
            "20261120T033213",
            "",
        ] {
            assert_eq!(google_time(bad), None, "{bad}");
        }
        assert_eq!(google_time("2024-02-29T00:00:00"), Some(1_709_164_800));
        assert_eq!(aws_time("2026-11-20T03-32-13"), None);
        assert_eq!(aws_time("2026-11-20-03-32"), None);
    }

    #[test]
    fn civil_dates_round_trip_across_eras() {
        for t in [-86_400 * 365 * 400, -1, 0, 951_782_400, 4_102_444_800] {
            let date = civil_date(t);
            let back = civil_epoch(date.as_bytes(), [b"00", b"00", b"00"]).unwrap();
            assert_eq!(back, t.div_euclid(86_400) * 86_400, "{date}");
        }
    }

    #[test]
    fn an_undocumented_date_warns_that_the_age_is_unknown() {
        let text = r#"{"creationTime":"yesterday","prefixes":[{"ipv4Prefix":"8.8.8.0/24"}]}"#;
        let list = parse(text, "g", None, NOW).unwrap();
        assert_eq!(list.provenance.created.as_deref(), Some("yesterday"));
        assert_eq!(list.provenance.created_epoch, None);
        assert!(list.warnings[0].starts_with("creation date \"yesterday\" is not"));
    }

    #[test]
    fn a_future_snapshot_warns_about_the_clock() {
        let text =
            r#"{"creationTime":"2030-01-01T00:00:00","prefixes":[{"ipv4Prefix":"8.8.8.0/24"}]}"#;
        let list = parse(text, "g", None, NOW).unwrap();
        assert!(
            list.warnings[0].contains("after now"),
            "{:?}",
            list.warnings
        );
    }

    #[test]
    fn extreme_clocks_do_not_overflow() {
        let text =
            r#"{"creationTime":"2026-11-20T03:32:13","prefixes":[{"ipv4Prefix":"8.8.8.0/24"}]}"#;
        assert_eq!(parse(text, "g", None, i64::MAX).unwrap().warnings.len(), 1);
        assert_eq!(parse(text, "g", None, i64::MIN).unwrap().warnings.len(), 1);
    }

    #[test]
    fn cloudflare_api_failure_is_reported_with_its_messages() {
        let text = r#"{"result":null,"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[]}"#;
        let err = parse(text, "cf", None, NOW).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cf: .success: the Cloudflare API reported a failure: Authentication error"
        );
    }

    #[test]
    fn cloudflare_jdcloud_ranges_are_included_with_a_warning_and_unknown_networks_are_named() {
        let text = r#"{"result":{"ipv4_cidrs":["173.245.48.0/20"],"ipv6_cidrs":["2400:cb00::/32"],
            "jdcloud_cidrs":["111.13.3.0/24","2402:db40:5100::/48"],"other_cidrs":["1.0.0.0/24"],
            "etag":"e"},"success":true,"errors":[],"messages":[]}"#;
        let list = parse(text, "cf", None, NOW).unwrap();
        assert_eq!(list.nets.len(), 4);
        assert!(list
            .warnings
            .iter()
            .any(|w| w.starts_with("included 2 JD Cloud")));
        assert!(list
            .warnings
            .iter()
            .any(|w| w.contains(".result.other_cidrs")));
        assert!(!list.contains("1.0.0.1".parse().unwrap()));
    }

    #[test]
    fn wrong_json_types_name_the_path() {
        for (text, want) in [
            (r#"{"addresses":"1.0.0.0/24","ipv6_addresses":[]}"#, "t: .addresses: expected an array, found a string"),
            (r#"{"addresses":[1],"ipv6_addresses":[]}"#, "t: .addresses[0]: expected a string, found a number"),
            (r#"{"addresses":["1.0.0.0/24"]}"#, "t: .ipv6_addresses: missing array"),
            (r#"{"prefixes":[{"ipv4Prefix":"8.8.8.0/24","ipv6Prefix":"2001:db8::/32"}]}"#, "t: .prefixes[0]: has both ipv4Prefix and ipv6Prefix"),
            (r#"{"prefixes":[["8.8.8.0/24"]]}"#, "t: .prefixes[0]: expected an object, found an array"),
            (r#"{"syncToken":true,"prefixes":[{"ipv4Prefix":"8.8.8.0/24"}]}"#, "t: .syncToken: expected a string, found a boolean"),
            (r#"{"createDate":"2026-11-21-19-13-08","prefixes":[{"ip_prefix":"3.2.34.0/26"}]}"#, "t: .prefixes[0].service: missing string"),
            (r#"{"result":{"ipv4_cidrs":["1.0.0.0/24"],"ipv6_cidrs":["1.0.1.0/24"]}}"#, "t: .result.ipv6_cidrs[0]: invalid range \"1.0.1.0/24\": an IPv4 range where IPv6 is expected"),
        ] {
            assert_eq!(parse(text, "t", None, NOW).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn json_that_is_not_an_object_or_has_unknown_keys_is_an_unknown_format() {
        for (text, want) in [
            ("[\"1.0.0.0/24\"]", "the JSON is an array, not an object"),
            ("{}", "an empty JSON object"),
            (
                r#"{"ranges":[],"date":1}"#,
                "a JSON object with keys \"ranges\", \"date\"",
            ),
        ] {
            let err = parse(text, "t", None, NOW).unwrap_err();
            assert!(
                matches!(err, Error::RangesFormat { ref reason, .. } if reason == want),
                "{err}"
            );
        }
    }

    #[test]
    fn aws_services_match_ignoring_case_and_keep_the_files_spelling() {
        let text = r#"{"syncToken":"1","createDate":"2026-11-21-19-13-08",
            "prefixes":[{"ip_prefix":"3.2.34.0/26","service":"EC2"},{"ip_prefix":"15.158.0.0/16","service":"CLOUDFRONT_ORIGIN_FACING"}],
            "ipv6_prefixes":[]}"#;
        let list = parse(text, "a", Some("cloudfront_origin_facing"), NOW).unwrap();
        assert_eq!(
            list.provenance.service.as_deref(),
            Some("CLOUDFRONT_ORIGIN_FACING")
        );
        assert_eq!(list.nets, [net("15.158.0.0/16")]);
        assert_eq!(list.trust_specs().unwrap(), ["15.158.0.0/16"]);
    }

    #[test]
    fn aws_amazon_and_ec2_are_refused_as_trust_lists() {
        let text = r#"{"createDate":"2026-11-21-19-13-08",
            "prefixes":[{"ip_prefix":"3.2.34.0/26","service":"EC2"},{"ip_prefix":"3.2.34.0/26","service":"AMAZON"}]}"#;
        for service in ["EC2", "amazon"] {
            let list = parse(text, "a", Some(service), NOW).unwrap();
            let err = list.trust_specs().unwrap_err().to_string();
            assert!(err.contains("anyone with an EC2 instance"), "{err}");
            assert!(list.contains("3.2.34.1".parse().unwrap()));
        }
    }

    #[test]
    fn contains_tests_mapped_addresses_as_ipv4() {
        let list = parse("8.8.8.0/24\n2001:4860::/32\n", "t", None, NOW).unwrap();
        assert!(list.contains("::ffff:8.8.8.8".parse().unwrap()));
        assert!(list.contains("2001:4860::8888".parse().unwrap()));
        assert!(!list.contains("8.8.9.8".parse().unwrap()));
    }

    #[test]
    fn messages_escape_hostile_text() {
        let err = parse("10.0.0.0/8\n\u{1b}[31m/8\n", "t\u{202e}", None, NOW).unwrap_err();
        let msg = err.to_string();
        assert!(
            !msg.contains('\u{1b}') && !msg.contains('\u{202e}'),
            "{msg}"
        );
    }

    #[test]
    fn providers_have_distinct_ids_and_https_urls() {
        let ids: HashSet<_> = Provider::ALL.iter().map(|p| p.id()).collect();
        assert_eq!(ids.len(), Provider::ALL.len());
        for p in Provider::ALL {
            assert!(p.url().starts_with("https://"), "{p}");
        }
    }
}
