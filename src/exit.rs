//! Exit statuses shared by every subcommand: 0 success, 1 failure, 2 usage error.

use std::process::ExitCode;

/// How a run ended. Usage errors are reported by clap itself, which exits with 2 too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked (a broken pipe on stdout counts as success).
    Success,
    /// I/O, network or store failure, or bad records under `--strict`.
    Failure,
    /// The command line made no sense.
    Usage,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::Failure.code(), 1);
        assert_eq!(Exit::Usage.code(), 2);
    }
}
