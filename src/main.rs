//! The `bouncekit` binary: parses the command line and dispatches to one subcommand module.

use std::process::ExitCode;

use bouncekit::cli::{Cli, Command};
use bouncekit::cmd;
use bouncekit::exit::Exit;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::FetchBounces(args) => cmd::fetch::run(*args, cli.quiet),
        Command::Classify(args) => cmd::classify::run(args, cli.quiet),
        Command::Suppress(args) => cmd::suppress::run(args, cli.quiet),
        Command::Report(args) => cmd::report::run(args, cli.quiet),
        Command::Send(args) => cmd::send::run(*args, cli.quiet),
        Command::Validate(args) => cmd::validate::run(args, cli.quiet),
        Command::Generate(args) => cmd::generate::run(args),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(err) if bouncekit::io::is_broken_pipe(&err) => Exit::Success.into(),
        Err(err) => {
            eprintln!("bouncekit: {err:#}");
            Exit::Failure.into()
        }
    }
}
