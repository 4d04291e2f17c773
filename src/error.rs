//! The library's error type.
//!
//! Owns: `Error`, the one enum every fallible library call returns, and the escaping of the
//! offending text it carries (through `escape`, so a hostile value cannot reach a
//! terminal raw). Errors describe; they never print and never choose an exit code (that is
//! `cli::exit`).

use crate::escape::escape_bytes;

/// Everything the library can refuse, with the offending text (already escaped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `--trust` / `set_real_ip_from` value that is not `unix:`, an address, a CIDR or a
    /// preset name.
    #[error("invalid trusted address or range \"{text}\": {reason}")]
    Trust {
        /// The value as given, escaped.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A peer or client address that nginx's parser would not accept.
    #[error("invalid address \"{text}\": {reason}")]
    Address {
        /// The value as given, escaped.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `real_ip_header` name that cannot be a header name.
    #[error("invalid header name \"{text}\": {reason}")]
    HeaderName {
        /// The value as given, escaped.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An input that cannot be opened or read.
    #[error("{path}: {message}")]
    Input {
        /// The path as given (`-` for stdin), escaped.
        path: String,
        /// What went wrong.
        message: String,
        /// The I/O error kind, when there was one.
        kind: Option<std::io::ErrorKind>,
    },
    /// A `--route REGEX=NAME` rule that does not parse.
    #[error("invalid route rule \"{text}\": {reason}")]
    Route {
        /// The rule as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An nginx version string that is not understood or not supported.
    #[error("unsupported nginx version \"{text}\": {reason}")]
    NginxVersion {
        /// The value as given, escaped.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `--log-format` value that is neither a built-in format name nor a template.
    #[error(
        "unknown log format \"{text}\": use combined, main, ltsv, json, or an nginx log_format \
         template with $variables, e.g. '$remote_addr [$time_local] \"$request\" $status'"
    )]
    LogFormat {
        /// The value as given, escaped.
        text: String,
    },
    /// An nginx `log_format` template realip cannot compile.
    #[error("invalid log_format template at column {column} (\"{text}\"): {reason}")]
    Template {
        /// 1-based column (in characters) where the problem starts.
        column: usize,
        /// The offending part of the template, escaped.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--log-format auto` found nothing but empty lines to look at.
    #[error("cannot detect the log format: the input has no non-empty lines")]
    DetectEmpty,
    /// `--log-format auto` found no built-in format that parses any of the first lines.
    #[error(
        "cannot detect the log format: no line parses as json, ltsv, realip, main or combined \
         (non-empty lines tried: {lines}); first line: \"{line}\"; closest is {closest}: \
         {reason}; give the format explicitly (an nginx log_format template works)"
    )]
    DetectFormat {
        /// How many lines were tried.
        lines: usize,
        /// The first line, escaped and truncated.
        line: String,
        /// The built-in format that got furthest into the first line.
        closest: &'static str,
        /// Where and why that format diverged.
        reason: String,
    },
    /// The `--state` file, its lock or its temporary file cannot be read, parsed or written.
    #[error("state file {path}: {reason}")]
    State {
        /// The file, escaped.
        path: String,
        /// What is wrong, and what to do about it.
        reason: String,
        /// The I/O error kind, when there was one.
        kind: Option<std::io::ErrorKind>,
    },
    /// Another run holds the lock on the `--state` file.
    #[error(
        "another realip run holds the lock on {path}{}: runs sharing a --state file must not \
         overlap; try again when it has finished, or give each job its own state file",
        lock_holder(*pid, *since)
    )]
    StateLocked {
        /// The lock file, escaped.
        path: String,
        /// The holder's process id, when it wrote it.
        pid: Option<u32>,
        /// When the holder's run began (seconds since the epoch), when it wrote it.
        since: Option<u64>,
    },
    /// A log that `--state` cannot follow from one run to the next (stdin, gzip, not a
    /// regular file).
    #[error("--state cannot follow {path}: {reason}")]
    StateInput {
        /// The path as given, escaped.
        path: String,
        /// Why, in words.
        reason: &'static str,
    },
    /// A published range file (`--ranges-file`) that is not valid JSON.
    #[error("{file}:{line}:{column}: not valid JSON: {reason}")]
    RangesJson {
        /// The file as given, escaped.
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the JSON parser expected.
        reason: String,
    },
    /// A range file in none of the formats `ranges` reads.
    #[error(
        "{file}: not a range list realip can read ({reason}); expected Google goog.json or \
         cloud.json, Cloudflare ips-v4/ips-v6 text or API JSON, AWS ip-ranges.json, or Fastly \
         public-ip-list JSON"
    )]
    RangesFormat {
        /// The file as given, escaped.
        file: String,
        /// What was found instead.
        reason: String,
    },
    /// One entry of a range file that is not what its format promises: a bad CIDR, a missing
    /// field, a value of the wrong type. Never skipped: the whole file is refused.
    #[error("{file}: {place}: {}", ranges_problem(text.as_deref(), reason))]
    RangesEntry {
        /// The file as given, escaped.
        file: String,
        /// `line 3` in a text list, a jq-style path (`.prefixes[2].ipv4Prefix`) in JSON.
        place: String,
        /// The offending value, escaped and shortened, when there is one.
        text: Option<String>,
        /// What is wrong with it.
        reason: String,
    },
    /// A range file (after any service filter) without a single range.
    #[error("{file}: the {list} holds no ranges")]
    RangesEmpty {
        /// The file as given, escaped.
        file: String,
        /// The kind of list, e.g. `Fastly public-ip-list JSON`.
        list: &'static str,
    },
    /// AWS `ip-ranges.json` without a service filter, or with one that matches nothing.
    #[error(
        "{file}: {}; services present: {}",
        match given {
            None => "AWS ip-ranges.json lists every AWS service; choose one (e.g. \
                     CLOUDFRONT_ORIGIN_FACING)"
                .to_string(),
            Some(s) => format!("no AWS service \"{s}\" in this ip-ranges.json"),
        },
        services.join(", ")
    )]
    RangesService {
        /// The file as given, escaped.
        file: String,
        /// The service asked for, escaped; `None` when none was given.
        given: Option<String>,
        /// The services the file lists, sorted, escaped.
        services: Vec<String>,
    },
    /// A service filter given for a range file that has no services (anything but AWS).
    #[error(
        "{file}: a service filter (\"{service}\") applies to AWS ip-ranges.json only, not to \
         a {list}"
    )]
    RangesServiceNotApplicable {
        /// The file as given, escaped.
        file: String,
        /// The service asked for, escaped.
        service: String,
        /// The kind of list the file is.
        list: &'static str,
    },
    /// A range list that must never become a trust list (`set_real_ip_from`).
    #[error("{file}: refusing to trust the {list}: {reason}")]
    RangesUntrusted {
        /// The file as given, escaped.
        file: String,
        /// The kind of list, e.g. `Google cloud.json`.
        list: String,
        /// Why, and what to trust instead.
        reason: &'static str,
    },
    /// An option of a job (a scan's percentiles, thresholds, state) that is out of range or
    /// does not fit the others.
    #[error("{option} {reason}")]
    Option {
        /// The option, as the CLI spells it (`--percentiles`).
        option: &'static str,
        /// What is wrong, starting with the offending value when there is one.
        reason: String,
    },
    /// No input of a scan could be opened: the reasons, escaped, separated by `; `.
    #[error("{errors}")]
    NothingReadable {
        /// Why each input could not be opened.
        errors: String,
    },
    /// Another error, in the context of an option or a step (`--log-format: …`).
    #[error("{context}: {error}")]
    Context {
        /// The option or step.
        context: &'static str,
        /// What went wrong there.
        error: Box<Error>,
    },
    /// A realip directive in an nginx configuration that nginx itself refuses (wrong number
    /// of arguments, a duplicate, a value it cannot parse), or that realip cannot use
    /// (`real_ip_header proxy_protocol`).
    #[error("{path}:{line}:{col}: {directive}: {reason}")]
    NginxDirective {
        /// The configuration file, escaped.
        path: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        col: u32,
        /// The directive's name.
        directive: String,
        /// What is wrong, with the offending value escaped.
        reason: String,
    },
    /// `set_real_ip_from HOSTNAME`: nginx resolves it once at start-up; realip does not.
    #[error(
        "{path}:{line}:{col}: set_real_ip_from \"{host}\" is a hostname, which nginx resolves \
         once at start-up; realip does not resolve hostnames: list its addresses instead \
         ('realip nginx check' reports every such line)"
    )]
    NginxHostname {
        /// The configuration file, escaped.
        path: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        col: u32,
        /// The value, escaped.
        host: String,
    },
    /// No `server` block answers to the name asked for.
    #[error("no server block has server_name \"{name}\" (server names: {known})")]
    NginxServer {
        /// The name asked for, escaped.
        name: String,
        /// The names the configuration has, escaped, comma-separated.
        known: String,
    },
    /// An nginx configuration that cannot be read the way nginx reads it: a syntax error, a
    /// missing or cyclic `include`, bytes that are not UTF-8. Points at the place, with the
    /// line and a caret under the column.
    #[error("{path}:{line}:{col}: {kind}{excerpt}")]
    NginxConfig {
        /// The configuration file, escaped.
        path: String,
        /// 1-based line.
        line: u32,
        /// 1-based column, in bytes.
        col: u32,
        /// What is wrong (boxed: keeps `Error` small).
        kind: Box<NginxErrorKind>,
        /// The offending line with a caret under the column.
        excerpt: Box<Excerpt>,
    },
    /// A `--lb-ips-from` file that is not the JSON of `gcloud compute forwarding-rules list`
    /// or `gcloud compute addresses list`: empty, an HTML page, gcloud's error message or
    /// table output, truncated or invalid JSON.
    #[error(
        "{file}: {reason}; expected the output of `gcloud compute forwarding-rules list \
         --format=json` or `gcloud compute addresses list --format=json`"
    )]
    LbFormat {
        /// The file as given, escaped.
        file: String,
        /// What was found instead (with `line:column` for JSON syntax errors).
        reason: String,
    },
    /// One entry of a `--lb-ips-from` file that is not what gcloud writes: a missing name or
    /// address, a value of the wrong type, an address that is not an IP. Never skipped.
    #[error("{file}: {place}: {reason}")]
    LbEntry {
        /// The file as given, escaped.
        file: String,
        /// The entry: `forwarding rule "web-https" (.[2].IPAddress)`, escaped.
        place: String,
        /// What is wrong, with the offending value escaped.
        reason: String,
    },
    /// A `--filter` expression that does not parse or does not type-check. Points at the
    /// column, with the expression and a caret under it.
    #[error("--filter: column {column}: {reason}\n  {expr}\n  {caret}^", caret = " ".repeat(column.saturating_sub(1)))]
    Filter {
        /// The expression, escaped.
        expr: String,
        /// 1-based column (in characters) where the problem is.
        column: usize,
        /// What is wrong, and what was expected.
        reason: String,
    },
    /// A JSON report `realip merge` or `realip diff` cannot use: not JSON, without the
    /// `mergeable` key, of another version, or made with options that differ from the others.
    #[error("{file}: {reason}")]
    Merge {
        /// The report file, escaped.
        file: String,
        /// What is wrong, and what to do about it.
        reason: String,
    },
    /// A time (`--since`/`--until`) or duration (`--bucket`) that does not parse.
    #[error("{flag} \"{text}\": {reason}")]
    TimeSpec {
        /// The flag it was given to.
        flag: &'static str,
        /// The value as given, escaped.
        text: String,
        /// What is wrong, and what is accepted.
        reason: String,
    },
}

/// ` (pid 1234, since 2026-05-01T10:00:00Z)`, or nothing when the holder is unknown.
fn lock_holder(pid: Option<u32>, since: Option<u64>) -> String {
    let since = since.map(|s| crate::timefmt::utc(i64::try_from(s).unwrap_or(i64::MAX)));
    match (pid, since) {
        (Some(pid), Some(since)) => format!(" (pid {pid}, since {since})"),
        (Some(pid), None) => format!(" (pid {pid})"),
        (None, Some(since)) => format!(" (since {since})"),
        (None, None) => String::new(),
    }
}

impl Error {
    pub(crate) fn option(option: &'static str, reason: impl Into<String>) -> Self {
        Error::Option {
            option,
            reason: reason.into(),
        }
    }

    pub(crate) fn context(context: &'static str, error: Error) -> Self {
        Error::Context {
            context,
            error: Box::new(error),
        }
    }

    pub(crate) fn trust(text: &[u8], reason: impl Into<String>) -> Self {
        Error::Trust {
            text: escape_bytes(text).into_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn address(text: &[u8], reason: &'static str) -> Self {
        Error::Address {
            text: escape_bytes(text).into_owned(),
            reason,
        }
    }

    pub(crate) fn header_name(text: &[u8], reason: &'static str) -> Self {
        Error::HeaderName {
            text: escape_bytes(text).into_owned(),
            reason,
        }
    }

    pub(crate) fn input(path: &str, message: impl Into<String>) -> Self {
        Error::Input {
            path: escape_bytes(path.as_bytes()).into_owned(),
            message: message.into(),
            kind: None,
        }
    }

    pub(crate) fn io(path: &str, err: &std::io::Error) -> Self {
        Error::Input {
            path: escape_bytes(path.as_bytes()).into_owned(),
            message: err.to_string(),
            kind: Some(err.kind()),
        }
    }

    pub(crate) fn nginx_version(text: &[u8], reason: &'static str) -> Self {
        Error::NginxVersion {
            text: escape_bytes(text).into_owned(),
            reason,
        }
    }
}

/// Constructors for the `--state` errors.
impl Error {
    pub(crate) fn state(path: &std::path::Path, reason: String) -> Self {
        Error::State {
            path: escape_bytes(path.as_os_str().as_encoded_bytes()).into_owned(),
            reason,
            kind: None,
        }
    }

    pub(crate) fn state_io(path: &std::path::Path, what: &str, err: &std::io::Error) -> Self {
        Error::State {
            path: escape_bytes(path.as_os_str().as_encoded_bytes()).into_owned(),
            reason: format!("{what}: {err}"),
            kind: Some(err.kind()),
        }
    }

    pub(crate) fn state_locked(
        path: &std::path::Path,
        pid: Option<u32>,
        since: Option<u64>,
    ) -> Self {
        Error::StateLocked {
            path: escape_bytes(path.as_os_str().as_encoded_bytes()).into_owned(),
            pid,
            since,
        }
    }

    pub(crate) fn state_input(path: &str, reason: &'static str) -> Self {
        Error::StateInput {
            path: escape_bytes(path.as_bytes()).into_owned(),
            reason,
        }
    }
}

/// `invalid range "TEXT": REASON`, or the reason alone when there is no single value to show.
fn ranges_problem(text: Option<&str>, reason: &str) -> String {
    match text {
        Some(text) => format!("invalid range \"{text}\": {reason}"),
        None => reason.to_string(),
    }
}

/// Constructors for the range-file errors (`ranges`): they escape what they carry.
impl Error {
    pub(crate) fn ranges_json(file: &str, line: usize, column: usize, reason: String) -> Self {
        Error::RangesJson {
            file: crate::escape::escape_str(file).into_owned(),
            line,
            column,
            reason,
        }
    }

    pub(crate) fn ranges_format(file: &str, reason: String) -> Self {
        Error::RangesFormat {
            file: crate::escape::escape_str(file).into_owned(),
            reason,
        }
    }

    pub(crate) fn ranges_entry(
        file: &str,
        place: String,
        text: Option<&str>,
        reason: impl Into<String>,
    ) -> Self {
        Error::RangesEntry {
            file: crate::escape::escape_str(file).into_owned(),
            place: crate::escape::escape_str(&place).into_owned(),
            text: text.map(|t| crate::escape::escape_str(t).into_owned()),
            reason: reason.into(),
        }
    }

    pub(crate) fn ranges_empty(file: &str, list: &'static str) -> Self {
        Error::RangesEmpty {
            file: crate::escape::escape_str(file).into_owned(),
            list,
        }
    }

    pub(crate) fn ranges_service(file: &str, given: Option<&str>, services: &[String]) -> Self {
        Error::RangesService {
            file: crate::escape::escape_str(file).into_owned(),
            given: given.map(|g| crate::escape::escape_str(g).into_owned()),
            services: services
                .iter()
                .map(|s| crate::escape::escape_str(s).into_owned())
                .collect(),
        }
    }

    pub(crate) fn ranges_service_not_applicable(
        file: &str,
        service: &str,
        list: &'static str,
    ) -> Self {
        Error::RangesServiceNotApplicable {
            file: crate::escape::escape_str(file).into_owned(),
            service: crate::escape::escape_str(service).into_owned(),
            list,
        }
    }

    pub(crate) fn ranges_untrusted(file: &str, list: String, reason: &'static str) -> Self {
        Error::RangesUntrusted {
            file: crate::escape::escape_str(file).into_owned(),
            list,
            reason,
        }
    }
}

/// Constructors for nginx configuration errors.
impl Error {
    /// An error at `line:col` of the file `path` whose bytes are `src`.
    pub(crate) fn nginx_config(
        path: &std::path::Path,
        src: &[u8],
        line: u32,
        col: u32,
        kind: NginxErrorKind,
    ) -> Self {
        Error::NginxConfig {
            path: escape_bytes(path.as_os_str().as_encoded_bytes()).into_owned(),
            line,
            col,
            kind: Box::new(kind),
            excerpt: Box::new(Excerpt::new(src, line, col)),
        }
    }
}

/// What is wrong in an nginx configuration ([`Error::NginxConfig`]). Messages follow nginx's
/// own wording where nginx has one. Text from the configuration is escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NginxErrorKind {
    /// A character nginx does not accept here: `;` or `{` with no directive before it, `}`
    /// outside any block, or anything but a space, `;`, `{` or `)` right after a closing quote.
    #[error("unexpected \"{found}\"{hint}")]
    Unexpected {
        /// The character, escaped.
        found: String,
        /// More about why, or empty.
        hint: &'static str,
    },
    /// A directive that takes no block followed by `{` (nginx reports the `{`).
    #[error("directive \"{directive}\" is not terminated by \";\"")]
    MissingSemicolon {
        /// The directive's name, escaped.
        directive: String,
    },
    /// The end of the file inside a block (reported where the file ends, as nginx does).
    #[error("unexpected end of file, expecting \"}}\": the block of \"{directive}\" opened at line {open_line}, column {open_col} is never closed")]
    UnclosedBlock {
        /// The name of the block's directive, escaped.
        directive: String,
        /// Where its `{` is.
        open_line: u32,
        /// Column of its `{`.
        open_col: u32,
    },
    /// The end of the file inside a `*_by_lua_block` body.
    #[error("unexpected end of file, expecting \"}}\": the Lua block of \"{directive}\" opened at line {open_line}, column {open_col} is never closed (braces count outside Lua strings and comments)")]
    UnclosedLua {
        /// The directive's name, escaped.
        directive: String,
        /// Where its `{` is.
        open_line: u32,
        /// Column of its `{`.
        open_col: u32,
    },
    /// The end of the file in the middle of a directive.
    #[error("unexpected end of file, expecting \";\" or \"}}\": directive \"{directive}\" is not terminated")]
    EofInDirective {
        /// The directive's name, escaped.
        directive: String,
    },
    /// A `}` in the middle of a directive (nginx reports the `}`).
    #[error("unexpected \"}}\": directive \"{directive}\" is not terminated by \";\"")]
    BraceInDirective {
        /// The directive's name, escaped.
        directive: String,
    },
    /// The end of the file inside a quoted string.
    #[error(
        "unexpected end of file: the quoted string opened here (with {quote}) is never closed"
    )]
    UnclosedQuote {
        /// The quote character.
        quote: char,
    },
    /// A parameter, quoted string or comment that does not fit nginx's 4096-byte read buffer.
    #[error("too long parameter \"{start}...\" started: nginx reads a parameter (quoted string and comment alike) into a buffer of 4096 bytes")]
    TooLong {
        /// Its first bytes, escaped.
        start: String,
    },
    /// Blocks nested deeper than realip follows.
    #[error("blocks nested more than {limit} deep")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A path in an `nginx -T` header that is not UTF-8 (configuration text itself may hold
    /// any bytes).
    #[error("invalid UTF-8 (byte 0x{byte:02X}) in a file path")]
    InvalidUtf8 {
        /// The first invalid byte.
        byte: u8,
    },
    /// `include` with other than one argument, or with a block.
    #[error("invalid \"include\": {reason}")]
    Include {
        /// What is wrong.
        reason: &'static str,
    },
    /// `include` naming a file that does not exist (a glob matching nothing is fine, as in
    /// nginx).
    #[error("include \"{pattern}\": no such file ({looked})")]
    IncludeNotFound {
        /// The argument, escaped.
        pattern: String,
        /// Where it was looked for, escaped.
        looked: String,
    },
    /// An included file that exists but cannot be read (a directory, no permission), or a
    /// glob that cannot be expanded.
    #[error("include \"{pattern}\": {path}: {reason}")]
    IncludeRead {
        /// The argument, escaped.
        pattern: String,
        /// The file or pattern, escaped.
        path: String,
        /// The I/O error or the pattern problem.
        reason: String,
    },
    /// A file that includes itself, directly or through others.
    #[error("include cycle: {}", chain.join(" -> "))]
    IncludeCycle {
        /// The files from the first occurrence of the repeated one to its repetition, escaped.
        chain: Vec<String>,
    },
    /// Text given as an `nginx -T` dump without a `# configuration file PATH:` line.
    #[error("not an nginx -T dump: expected a line \"# configuration file PATH:\" here")]
    NotADump,
}

/// One line of a configuration file with a caret under a column, for error messages:
///
/// ```text
///     12 |     }
///        |     ^
/// ```
///
/// The line is escaped (tabs shown as four spaces) and cut around the caret when long.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Excerpt {
    /// 1-based line number; 0 when there is nothing to show.
    pub line: u32,
    /// The line's text, escaped and possibly shortened.
    pub text: String,
    /// How many characters of `text` come before the caret.
    pub caret: usize,
}

impl Excerpt {
    /// Characters shown before and after the caret when a line is cut.
    const BEFORE: usize = 60;
    const AFTER: usize = 40;

    /// The excerpt of `src` at `line:col` (1-based, column in bytes); empty when `line` is not
    /// in `src`.
    pub fn new(src: &[u8], line: u32, col: u32) -> Self {
        let Some(text) = src
            .split(|&b| b == b'\n')
            .nth((line as usize).wrapping_sub(1))
        else {
            return Excerpt::default();
        };
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let at = (col as usize).saturating_sub(1).min(text.len());
        let (before, after) = text.split_at(at);
        let mut before = shown(before);
        let mut after = shown(after);
        let mut cut_before = false;
        if before.chars().count() > Self::BEFORE {
            let skip = before.chars().count() - Self::BEFORE;
            before = before.chars().skip(skip).collect();
            cut_before = true;
        }
        if after.chars().count() > Self::AFTER {
            after = after.chars().take(Self::AFTER).collect();
            after.push('…');
        }
        let caret = before.chars().count() + usize::from(cut_before);
        let text = if cut_before {
            format!("…{before}{after}")
        } else {
            before + &after
        };
        Excerpt { line, text, caret }
    }
}

/// A piece of a line as shown in an excerpt: as written, with tabs as four spaces and a
/// backslash as one backslash (`"\n"` in a configuration shows as `"\n"`), everything else
/// that is not printable escaped.
fn shown(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, part) in bytes.split(|&b| b == b'\t').enumerate() {
        if i > 0 {
            out.push_str("    ");
        }
        for (k, piece) in part.split(|&b| b == b'\\').enumerate() {
            if k > 0 {
                out.push('\\');
            }
            out.push_str(&escape_bytes(piece));
        }
    }
    out
}

impl std::fmt::Display for Excerpt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            return Ok(());
        }
        write!(
            f,
            "\n{:>6} | {}\n{:>6} | {:caret$}^",
            self.line,
            self.text,
            "",
            "",
            caret = self.caret
        )
    }
}

/// Constructors for the `--lb-ips-from` errors (`ranges::gcloud`): they escape what they carry.
impl Error {
    pub(crate) fn lb_format(file: &str, reason: impl Into<String>) -> Self {
        Error::LbFormat {
            file: crate::escape::escape_str(file).into_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn lb_entry(file: &str, place: &str, reason: impl Into<String>) -> Self {
        Error::LbEntry {
            file: crate::escape::escape_str(file).into_owned(),
            place: crate::escape::escape_str(place).into_owned(),
            reason: reason.into(),
        }
    }
}
