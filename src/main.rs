//! The `realip` binary: parse the command line, run it, map the outcome to an exit code.
//!
//! A closed stdout (`realip … | head`) is a quiet success, wherever in the chain the broken
//! pipe surfaced.

mod cli;

use std::io;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A monitoring check must answer in the plugin convention even when it cannot run:
    // a status line on stdout and exit 3 (UNKNOWN), not clap's usage-error 2.
    let check = std::env::args_os().any(|a| a == "--check");
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) if check && e.use_stderr() => {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid arguments");
            println!("REALIP UNKNOWN: {}", first.trim_start_matches("error: "));
            eprint!("{msg}");
            return cli::exit::ExitCode::Unknown.into();
        }
        Err(e) => e.exit(),
    };
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("realip: {err:#}");
            if check {
                println!("REALIP UNKNOWN: {}", format!("{err:#}").replace('\n', " "));
                return cli::exit::ExitCode::Unknown.into();
            }
            cli::exit::ExitCode::Error.into()
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
