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
        // A line that cannot be written (stderr a file on a full disk) is dropped: by default
        // the subscriber would say so with `eprintln!`, which panics when stderr fails, and
        // take down the request that logged.
        .log_internal_errors(false)
        .init();
    // A write past the file-size limit (RLIMIT_FSIZE) raises SIGXFSZ, whose default action
    // kills the process. Handled (tokio keeps a handler for the process's life), the write
    // fails with EFBIG instead, and the request that made it is answered 503 like any full
    // disk. A handler, unlike an ignored signal, does not pass to the programs we run.
    let limit = tokio::signal::unix::SignalKind::from_raw(libc::SIGXFSZ);
    if let Err(e) = tokio::signal::unix::signal(limit) {
        tracing::warn!("a write past the file-size limit will stop the process: {e}");
    }
    buildstatus::app::cli::run(buildstatus::app::cli::Cli::parse()).await
}
