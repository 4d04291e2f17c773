//! The library's error type.
//!
//! Owns: `Error`, the one enum every fallible library call returns, and the escaping of the
//! offending text it carries (through `report::escape`, so a hostile value cannot reach a
//! terminal raw). Errors describe; they never print and never choose an exit code (that is
//! `cli::exit`).

use crate::report::escape::escape_bytes;

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
}

/// ` (pid 1234, since 2026-05-01T10:00:00Z)`, or nothing when the holder is unknown.
fn lock_holder(pid: Option<u32>, since: Option<u64>) -> String {
    let since = since.map(|s| crate::report::text::utc(i64::try_from(s).unwrap_or(i64::MAX)));
    match (pid, since) {
        (Some(pid), Some(since)) => format!(" (pid {pid}, since {since})"),
        (Some(pid), None) => format!(" (pid {pid})"),
        (None, Some(since)) => format!(" (since {since})"),
        (None, None) => String::new(),
    }
}

impl Error {
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
