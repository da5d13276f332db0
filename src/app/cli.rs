//! The command line of the `buildstatus` binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use super::config::{self, Config};
use super::{Setup, StatusServer, demo, send};
use crate::adapters::http::listen;

#[derive(Parser, Debug)]
#[command(name = "buildstatus", version, about = "CI build status: web pages, feeds and notifiers")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the status server.
    Serve(ServerArgs),
    /// Run the status server with a simulated master, to see a living CI system.
    Demo {
        #[command(flatten)]
        server: ServerArgs,
        /// Finished builds written at start when the data directory is empty.
        #[arg(long, default_value_t = 5000)]
        history: u32,
        /// Seed of the simulation, for a reproducible history.
        #[arg(long, default_value_t = 8010)]
        seed: u64,
        /// Milliseconds between two log lines of a running step (builds run faster below 250).
        #[arg(long, default_value_t = 250)]
        pace: u64,
        /// How many times faster than real time the simulated builds run.
        #[arg(long, default_value_t = 1)]
        speed: u32,
    },
    /// Check a configuration file and print every problem in it.
    CheckConfig { file: PathBuf },
    /// Write a directory to start from: buildstatus.toml (every key, commented), public_html/
    /// and templates/ samples. Never overwrites a file.
    Init { dir: PathBuf },
    /// Post events to a server's /api/v1/events (for CI scripts).
    Send(Box<send::SendArgs>),
    /// Post to a running buildstatus the builds a Buildbot 4 master ran while it was down.
    CatchUpBuildbot {
        /// The master's REST API, such as http://buildbot:8010/api/v2
        #[arg(long)]
        api: String,
        /// The buildstatus server (its token: BUILDSTATUS_TOKEN).
        #[arg(long, default_value = "http://127.0.0.1:8010/")]
        url: String,
    },
    /// Print the completion script of a shell (bash, zsh, fish, elvish, powershell), for
    /// example into /usr/share/bash-completion/completions/buildstatus.
    Completions { shell: clap_complete::Shell },
    /// Copy a data directory (history, journal, logs, outbox, receipts) into an empty
    /// PostgreSQL database (run it while the server is stopped; a re-run goes on).
    Migrate {
        /// The PostgreSQL database: postgresql://USER:PASSWORD@HOST/DATABASE
        #[arg(long)]
        to: String,
        /// Stop after this many batches of rows (to copy in steps; a re-run goes on).
        #[arg(long)]
        batches: Option<u64>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Import the history of a Buildbot 4 database (run it while the server is stopped).
    ImportBuildbot {
        /// The Buildbot database: the path of its SQLite file (or a sqlite:/// URL).
        #[arg(long)]
        db: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Configuration file (default: ./buildstatus.toml when it exists).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where to listen, instead of the config's `listen` (repeat for several): `ADDRESS:PORT`,
    /// `PORT`, `tcp:PORT:interface=ADDRESS`, `ssl:PORT:privateKey=K:certKey=C`, `unix:PATH`.
    #[arg(long)]
    pub listen: Vec<String>,
    /// Directory for the database and logs (overrides the config).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl ServerArgs {
    fn config(&self, default_data_dir: &str) -> Result<Config, Vec<String>> {
        let implicit = Path::new("buildstatus.toml");
        let mut config = match &self.config {
            Some(file) => Config::load(file)?,
            None if implicit.exists() => Config::load(implicit)?,
            None => {
                let mut c = Config::defaults(Path::new("."));
                c.set_data_dir(PathBuf::from(default_data_dir));
                c.load_templates()?;
                c
            }
        };
        if !self.listen.is_empty() {
            let forms = self.listen.iter().map(|f| config::listen::parse(f, Path::new(".")));
            config.listen = forms.collect::<Result<_, _>>().map_err(|e| vec![format!("--listen: {e}")])?;
        }
        if let Some(dir) = &self.data_dir {
            config.set_data_dir(dir.clone());
        }
        Ok(config)
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::CheckConfig { file } => return check_config(&file),
        Command::Init { dir } => return init(&dir),
        Command::Completions { shell } => {
            let mut cli = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cli, "buildstatus", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Send(args) => return send_events(&args).await,
        Command::CatchUpBuildbot { api, url } => return catch_up(&api, &url).await,
        Command::ImportBuildbot { db, server } => match server.config("data") {
            Ok(config) => import_buildbot(&db, config).await,
            Err(problems) => return report(problems),
        },
        Command::Migrate { to, batches, server } => match server.config("data") {
            Ok(config) => migrate(&to, batches, config).await,
            Err(problems) => return report(problems),
        },
        Command::Serve(args) => match args.config("data") {
            Ok(config) => serve(config, Reload { args, default_data_dir: "data" }, None).await,
            Err(problems) => return report(problems),
        },
        Command::Demo { server, history, seed, pace, speed } => match server.config("buildstatus-demo") {
            Ok(config) => {
                let reload = Reload { args: server, default_data_dir: "buildstatus-demo" };
                let pace = std::time::Duration::from_millis(pace);
                serve(config, reload, Some(demo::DemoOptions { history, seed, pace, speed })).await
            }
            Err(problems) => return report(problems),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("buildstatus: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(file: &Path) -> ExitCode {
    match Config::load(file) {
        Ok(_) => {
            println!("{}: ok", file.display());
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprintln!("{}: {} problem(s)", file.display(), problems.len());
            report(problems)
        }
    }
}

/// The Buildbot database is checked before our store is even opened: a wrong file changes nothing.
async fn import_buildbot(db: &str, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let buildbot = crate::adapters::buildbot::db::BuildbotDb::open(db).await?;
    // Only the store: no pollers, hooks or notifiers run while history is written.
    let server = config.server;
    let setup = Setup {
        storage: server.storage,
        store_url: server.store_url,
        window: server.window,
        site: server.site,
        ..Setup::default()
    };
    let server = StatusServer::start(setup).await?;
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let summary = super::import::import(&buildbot, server.sink().as_ref(), server.reader().as_ref(), progress).await?;
    print!("{summary}");
    Ok(())
}

/// Copies the data directory of `config` into the database of `url`, holding the directory
/// (no server may write it meanwhile) and the database (as its one writer).
async fn migrate(url: &str, max_batches: Option<u64>, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    use crate::adapters::logs::DiskLogStore;
    use crate::adapters::postgres::{self, PgStore};
    use crate::adapters::sqlite::SqliteStore;
    use crate::ports::StatusStore as _;

    postgres::check_url(url)?;
    let super::Storage::Directory(dir) = &config.server.storage else {
        return Err("migrate copies a data directory, and this configuration keeps none".into());
    };
    let path = dir.join(super::DATABASE);
    if !path.exists() {
        return Err(format!("{} holds no buildstatus database ({} is missing)", dir.display(), path.display()).into());
    }
    let _held = super::data_dir::DataDirLock::acquire(dir).await?;
    let source = SqliteStore::open(&path).await?;
    let source_logs = DiskLogStore::open(dir.join("logs")).await?;
    let meta = source.meta().await?;
    let target = PgStore::open_to_copy(url).await?;
    let target_logs = target.logs();
    let copy = super::migrate::Copy {
        source: &source,
        source_logs: &source_logs,
        target: &target,
        target_logs: target_logs.as_ref(),
        identity: super::migrate::identity(dir, meta.last_seq, meta.next_log_id),
        next_log_id: meta.next_log_id,
        max_batches,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let summary = copy.run().await.map_err(|e| format!("{}: {e}", postgres::redacted(url)))?;
    print!("{summary}");
    Ok(())
}

async fn catch_up(api: &str, url: &str) -> ExitCode {
    let token = match send::env_token() {
        Ok(token) => token,
        Err(e) => {
            eprintln!("buildstatus catch-up-buildbot: {e}");
            return ExitCode::FAILURE;
        }
    };
    match super::catch_up::catch_up(api, url, &token).await {
        Ok(done) => {
            print!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("buildstatus catch-up-buildbot: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn send_events(args: &send::SendArgs) -> ExitCode {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let sent = async {
        let body = send::body(args, &now)?;
        let token = send::token(args)?;
        send::post(&args.url, &token, &body).await
    };
    match sent.await {
        Ok(answer) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("buildstatus send: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report(problems: Vec<String>) -> ExitCode {
    for p in problems {
        eprintln!("  {p}");
    }
    ExitCode::from(2)
}

fn init(dir: &Path) -> ExitCode {
    match super::init::init(dir) {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            let config = dir.join("buildstatus.toml");
            println!("next: buildstatus check-config {0} && buildstatus serve --config {0}", config.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("buildstatus init: {e}");
            ExitCode::from(2)
        }
    }
}

async fn serve(
    config: Config,
    reload: Reload,
    demo: Option<demo::DemoOptions>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut data_dir = config.data_dir().map(|d| d.display().to_string()).unwrap_or_default();
    if let Some(url) = &config.server.store_url {
        data_dir = format!("{}, local state in {data_dir}", crate::adapters::postgres::redacted(url));
    }
    let pb_config = config.server.pb.clone();
    let server = Arc::new(StatusServer::start(config.server).await?);
    let mut listeners = Vec::new();
    for place in &config.listen {
        listeners.push(listen::bind(place).await?);
    }
    let demo = match demo {
        Some(options) => Some(demo::start(server.sink(), server.reader(), server.clock(), options).await?),
        None => None,
    };
    // The demo's master obeys the actions, and a shutdown of it ends the demo.
    let mut demo_over = demo.as_ref().map(|d| d.stopped.clone());
    if let Some(demo) = &demo {
        server.set_master(demo.control.clone());
    }
    let mut places: Vec<String> = listeners.iter().map(listen::Bound::describe).collect();
    let pb = match &pb_config {
        Some(pb) => {
            let bound = StatusServer::bind_pb(pb).await?;
            places.push(super::pb::describe(&bound));
            Some(server.serve_pb(bound, pb.settings.clone()))
        }
        None => None,
    };
    println!("buildstatus {} serving {} (data in {data_dir})", env!("CARGO_PKG_VERSION"), places.join(" and "));
    let reloader = tokio::spawn(reload.on_hangup(server.clone(), config.listen));
    let until = async move {
        match &mut demo_over {
            Some(over) => tokio::select! {
                _ = shutdown_signal() => {},
                _ = over.wait_for(|stopped| *stopped) => println!("the demo's master shut down"),
            },
            None => shutdown_signal().await,
        }
    };
    server.serve_on(listeners, until).await?;
    reloader.abort();
    if let Some(demo) = demo {
        demo.task.abort();
    }
    if let Some(pb) = pb {
        pb.abort();
    }
    server.stop_notifiers().await;
    Ok(())
}

/// How a running server re-reads its configuration: as it was read at start, with the same
/// command-line overrides.
struct Reload {
    args: ServerArgs,
    default_data_dir: &'static str,
}

impl Reload {
    /// On each SIGHUP: reads the configuration again and applies it; a configuration with
    /// problems is refused, each logged, and the one in force is kept.
    async fn on_hangup(self, server: Arc<StatusServer>, listening: Vec<listen::Listen>) {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("SIGHUP cannot be caught: the configuration is read at start only");
            return;
        };
        while hangups.recv().await.is_some() {
            let config = match self.args.config(self.default_data_dir) {
                Ok(config) => config,
                Err(problems) => {
                    tracing::error!(
                        "SIGHUP: the configuration has {} problem(s); the one in force is kept",
                        problems.len()
                    );
                    for p in problems {
                        tracing::error!("  {p}");
                    }
                    continue;
                }
            };
            if config.listen != listening {
                tracing::warn!("SIGHUP: listen changes when the server restarts; it listens where it did");
            }
            match server.reload(config.server).await {
                Ok(reloaded) => {
                    tracing::info!("SIGHUP: configuration reloaded");
                    for kept in reloaded.kept {
                        tracing::warn!("SIGHUP: {kept}");
                    }
                }
                Err(e) => {
                    tracing::error!("SIGHUP: the configuration could not be applied; the one in force is kept: {e}")
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
