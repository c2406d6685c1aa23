//! The `chorus` binary: parses the command line, starts logging, runs a subcommand and maps its
//! error to an exit code. The only place besides `cli` that uses `anyhow`.

use std::process::ExitCode;

use clap::Parser;

use chorus::cli::{Cli, Command};

/// mimalloc keeps freed memory for reuse, where glibc's allocator trims the heap and faults it
/// back in at every PromQL evaluation step (measured by `make bench-query`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("chorus: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `chorus promql-test` is synchronous: 0 when no eval fails outside the baseline, 1 when some
/// do, 2 when a script or the baseline cannot be read.
fn promql_test(args: &chorus::cli::PromqlTestArgs) -> ExitCode {
    match chorus::promqltest::conformance::run_command(args, &mut std::io::stdout().lock()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("chorus promql-test: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Before the signal handler, which would otherwise swallow Ctrl-C during a long run.
    if let Command::PromqlTest(args) = &cli.command {
        return Ok(promql_test(args));
    }
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
        Command::PromqlTest(args) => return Ok(promql_test(&args)),
    }
    Ok(ExitCode::SUCCESS)
}
