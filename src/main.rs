//! The `buildstatus` binary: parses arguments and hands over to the app.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "buildstatus=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    buildstatus::app::cli::run(buildstatus::app::cli::Cli::parse()).await
}
