//! The `chorus` binary: parses the command line, starts logging, runs a subcommand and maps its
//! error to an exit code. The only place besides `cli` that uses `anyhow`.

use std::process::ExitCode;

use clap::Parser;

use chorus::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("chorus: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("chorus: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let shutdown = chorus::shutdown::on_signal();
    match cli.command {
        Command::Sidecar(args) => {
            chorus::telemetry::init_logging(&args.log);
            chorus::sidecar::run(args, shutdown).await?;
        }
        Command::Query(args) => {
            chorus::telemetry::init_logging(&args.log);
            chorus::query::run(args, shutdown).await?;
        }
        Command::Demo(args) => {
            chorus::telemetry::init_logging(&args.log);
            chorus::demo::run(args, shutdown).await?;
        }
    }
    Ok(())
}
