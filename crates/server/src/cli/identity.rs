//! `gan-connect identity add`: create a sign-in identity (email + password) directly, for
//! operators and tests. Customers normally get theirs through the upgrade journey.

use std::process::ExitCode;

use clap::Subcommand;
use gan_accounts::{CreateIdentityError, Identity};
use gan_admin::Admin;
use gan_audit::{Actor, AuditEvent, EventType};
use gan_connect::settings::Settings;

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Create an identity; the password is read from standard input (one line).
    Add {
        #[arg(long)]
        email: String,
    },
}

pub async fn run(settings: Settings, command: IdentityCommand) -> anyhow::Result<ExitCode> {
    match command {
        IdentityCommand::Add { email } => {
            let password = super::read_stdin_line()?;
            if password.chars().count() < 12 {
                anyhow::bail!("the password must have at least 12 characters");
            }
            super::with_admin(&settings, |admin| async move {
                let identity = create(&admin, &email, &password).await?;
                println!("sub: {}", super::output::clean(&identity.id));
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
    }
}

/// Creates an identity as the admin of the current scope, and records `identity.created` (the
/// accounts engine records nothing for an identity made outside the journeys).
pub(crate) async fn create(
    admin: &Admin,
    email: &str,
    password: &str,
) -> Result<Identity, CreateIdentityError> {
    let now = admin.provider.now();
    let identity = admin.accounts.create_identity(email, password, now).await?;
    let event = AuditEvent::success(EventType::IdentityCreated, Actor::admin("unknown"), now)
        .identity(&identity.id)
        .with(
            "login_email",
            gan_accounts::email::mask(&identity.login_email),
        );
    admin.audit.record(event).await;
    Ok(identity)
}
