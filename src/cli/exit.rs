//! Exit codes: one enum, documented values, one merge rule.
//!
//! Owns: [`ExitCode`] and how several outcomes combine. Nothing else decides a process exit
//! status except `main.rs`, which maps errors to [`ExitCode::Error`].

/// The process exit status.
///
/// | code | meaning |
/// |---|---|
/// | 0 | success |
/// | 1 | findings (reserved for audits and checks) |
/// | 2 | error: bad usage (clap's convention), unreadable input, or malformed input lines |
/// | 3 | `--check` only: UNKNOWN (unreadable log, no usable lines) |
///
/// With `--check` the codes follow the Nagios / Mackerel plugin convention: 0 OK, 1 WARNING,
/// 2 CRITICAL, 3 UNKNOWN ([`ExitCode::Warning`] and [`ExitCode::Critical`] are aliases).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum ExitCode {
    /// Everything worked.
    Ok = 0,
    /// The run worked and found something to report.
    Findings = 1,
    /// Something could not be done, or some input was malformed.
    Error = 2,
    /// `--check`: the state could not be determined.
    Unknown = 3,
}

#[allow(non_upper_case_globals)]
impl ExitCode {
    /// `--check`: WARNING (same value as [`ExitCode::Findings`]).
    pub const Warning: ExitCode = ExitCode::Findings;
    /// `--check`: CRITICAL (same value as [`ExitCode::Error`]).
    pub const Critical: ExitCode = ExitCode::Error;
}

impl ExitCode {
    /// Combines two outcomes: the worse one wins (error > findings > ok).
    pub fn merge(self, other: ExitCode) -> ExitCode {
        self.max(other)
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode::*;

    #[test]
    fn the_worse_outcome_wins() {
        assert_eq!(Ok.merge(Ok), Ok);
        assert_eq!(Ok.merge(Findings), Findings);
        assert_eq!(Findings.merge(Ok), Findings);
        assert_eq!(Findings.merge(Error), Error);
        assert_eq!(Error.merge(Ok), Error);
    }

    #[test]
    fn values_are_the_documented_ones() {
        assert_eq!(Ok as u8, 0);
        assert_eq!(Findings as u8, 1);
        assert_eq!(Error as u8, 2);
        assert_eq!(Unknown as u8, 3);
        assert_eq!(super::ExitCode::Warning as u8, 1);
        assert_eq!(super::ExitCode::Critical as u8, 2);
    }
}
