//! The `feihong` command: one binary, a subcommand per job.

use std::io::BufRead as _;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};

use crate::app;
use crate::config::{ConfigError, Settings, setting_error};

#[derive(Debug, Parser)]
#[command(
    name = "feihong",
    version,
    about = "Feihong: the volunteer-safety programme backend"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

impl Cli {
    /// The command line and environment, parsed. A malformed setting is `Err`: one line naming
    /// its variable. Help, version and usage mistakes are clap's to print, and it exits.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::try_parse().map_err(|error| {
            setting_error(&error, &Self::command()).unwrap_or_else(|| error.exit())
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL), exactly as served.
    ExportSchema,
    /// Leaderboard upkeep.
    Leaderboards {
        #[command(subcommand)]
        action: LeaderboardAction,
    },
    /// Fill an empty PostgreSQL database with a Foshan-shaped dataset (for benchmarks and trying
    /// the screens; its accounts cannot sign in), then build what the services derive from it.
    Seed {
        /// The dataset's size as a fraction of Foshan (1.0 = 1.68 M volunteers, 8,500 teams,
        /// 900 K events).
        #[arg(long, default_value_t = 0.01)]
        scale: f64,
    },
    /// Make an account an admin of an area, creating the account when it does not exist.
    CreateAdmin {
        /// The admin's mobile number (their login).
        #[arg(long)]
        phone: String,
        /// Read the password from the first line of standard input (never from arguments).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// The area's code, e.g. 440600 (the whole city) or 440604 (Chancheng).
        #[arg(long)]
        area: String,
        /// Display name for a new account.
        #[arg(long, default_value = "管理员")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LeaderboardAction {
    /// Recompute every leaderboard set (current and previous periods, all time) from the tallies.
    Rebuild,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::ExportSchema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::Serve => serve(cli.settings).await,
        Command::Migrate => {
            let config = cli.settings.into_config()?;
            let db = app::connect_database(&config).await?;
            app::migrate(&db).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed { scale } => {
            let config = cli.settings.into_config()?;
            crate::seed::run(&config, scale).await
        }
        Command::Leaderboards {
            action: LeaderboardAction::Rebuild,
        } => {
            let config = cli.settings.into_config()?;
            let services = app::build_services(&config).await?;
            let written = services
                .leaderboards
                .rebuild()
                .await
                .map_err(|error| anyhow::anyhow!("rebuilding leaderboards: {error}"))?;
            println!("rebuilt leaderboards from {written} tallies");
            Ok(())
        }
        Command::CreateAdmin {
            phone,
            password_stdin: _,
            area,
            name,
        } => {
            let config = cli.settings.into_config()?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let services = app::build_services(&config).await?;
            let grant = services
                .accounts
                .create_admin(&phone, password, &area, &name)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            println!(
                "{} {} is {} admin of area {area}",
                if grant.account_created {
                    "created account"
                } else {
                    "account"
                },
                grant.volunteer.phone.masked(),
                if grant.role_created { "now" } else { "already" },
            );
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let config = settings.into_config()?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("FEIHONG_BIND: cannot listen on {}", config.bind))?;
    let metrics = crate::http::metrics::bind(config.metrics_bind).await?;
    if let Some(address) = config.metrics_bind {
        tracing::info!(%address, "serving Prometheus metrics at /metrics");
    }
    tracing::info!(
        address = %config.bind,
        environment = ?config.environment,
        database = if config.database_is_sqlite() { "sqlite" } else { "postgres" },
        redis = config.redis_url.is_some(),
        "serving Feihong; GraphQL at /graphql"
    );
    let listeners = app::Listeners {
        api: listener,
        metrics,
    };
    app::serve(config, listeners, shutdown_signal()).await
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return interrupt.await.unwrap_or(()),
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}
