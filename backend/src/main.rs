//! The `chorus` binary: parses the command line and runs a subcommand.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
