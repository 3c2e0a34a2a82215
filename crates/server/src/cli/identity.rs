//! `gan-connect identity add`: create a sign-in identity (email + password) directly, for
//! operators and tests. Customers normally get theirs through the upgrade journey.

use std::process::ExitCode;

use clap::Subcommand;
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
    let built = super::built(&settings).await?;
    match command {
        IdentityCommand::Add { email } => {
            let password = super::read_stdin_line()?;
            if password.chars().count() < 12 {
                anyhow::bail!("the password must have at least 12 characters");
            }
            let identity = built
                .state
                .accounts
                .create_identity(&email, &password, time::OffsetDateTime::now_utc())
                .await?;
            println!("sub: {}", identity.id);
            Ok(ExitCode::SUCCESS)
        }
    }
}
