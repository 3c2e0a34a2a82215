//! Command-line interface.

mod audit;
mod client;
mod customers;
mod demo;
mod identity;
mod import_watch;
mod keys;
pub(crate) mod output;
mod serve;
mod staff;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gan_connect::settings::{LogFormat, Settings};
use gan_connect::wiring;

#[derive(Debug, Parser)]
#[command(
    name = "gan-connect",
    version,
    about = "Gan Connect — the OpenID Connect provider for the customer portals"
)]
pub struct Args {
    /// Configuration file (TOML), layered over the embedded defaults.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (migrates the database first unless told not to).
    Serve(serve::ServeArgs),
    /// Apply database migrations (idempotent).
    Migrate,
    /// Manage relying parties.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Customer accounts.
    #[command(subcommand)]
    Customers(customers::CustomersCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage identities (login email + password).
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
    /// Read the audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The support console's staff.
    #[command(subcommand)]
    Staff(staff::StaffCommand),
}

fn init_logs(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let settings = Settings::load(args.config.as_deref(), &env).map_err(anyhow::Error::msg)?;
    init_logs(&settings);
    match args.command {
        Command::Serve(a) => serve::run(settings, a).await,
        Command::Migrate => {
            let store = wiring::connect_store(&settings).await?;
            store.migrate().await?;
            println!(
                "migrations applied to {}",
                wiring::redact(&settings.database.url)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Client(c) => client::run(settings, c).await,
        Command::Keys(c) => keys::run(settings, c).await,
        Command::Customers(c) => customers::run(settings, c).await,
        Command::Identity(c) => identity::run(settings, c).await,
        Command::Audit(c) => audit::run(settings, c).await,
        Command::Staff(c) => staff::run(settings, c).await,
    }
}

/// Connects, migrates, and builds the application, for commands that use the engines.
pub(crate) async fn built(settings: &Settings) -> anyhow::Result<wiring::Built> {
    let store = wiring::connect_store(settings).await?;
    store.migrate().await?;
    let key = wiring::encryption_key(settings)?;
    wiring::build(
        settings,
        store,
        std::sync::Arc::new(gan_oidc::clock::SystemClock),
        &key,
    )
    .await
}

/// Runs an admin operation with the operator (`cli:$USER`) as the actor of its audit events,
/// and waits for those events to be stored.
pub(crate) async fn with_admin<F, Fut>(settings: &Settings, f: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(std::sync::Arc<gan_admin::Admin>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    let built = built(settings).await?;
    let admin = built.state.admin.clone();
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "operator".into());
    let context = gan_audit::Context {
        ip: None,
        correlation_id: Some(format!("cli-{}", std::process::id())),
        actor: Some(gan_audit::Actor::admin(format!("cli:{user}"))),
        reason: None,
    };
    let result = gan_audit::scope(context, f(admin.clone())).await;
    if !admin.audit.flush().await {
        // What the command did is done, but its record is not: say so, and fail.
        eprintln!(
            "error: the audit events of this command could not be stored in 5 s (is the \
             database locked or down?): the change is made, its audit record is missing"
        );
        return result.map(|_| ExitCode::FAILURE);
    }
    result
}

/// Runs a command that only reads: over a read-only connection to a database whose schema is
/// current (else it says to run `migrate`), without migrating, creating a key file or writing
/// anything ([`wiring::build_reader`]).
pub(crate) async fn with_reader<F, Fut>(settings: &Settings, f: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(std::sync::Arc<gan_admin::Admin>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    let store = wiring::connect_reader(settings).await?;
    let sealer = wiring::existing_sealer(settings)?;
    f(wiring::build_reader(settings, store, sealer)?).await
}

/// Reads one line (without its newline) from standard input.
pub(crate) fn read_stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
