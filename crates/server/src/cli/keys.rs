//! `gan-connect keys …`: list and rotate signing keys.

use std::process::ExitCode;

use clap::Subcommand;
use gan_admin::KeyView;
use gan_connect::settings::Settings;

use super::output;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new key per algorithm: published now, signing after keys.publish_delay_seconds;
    /// the old keys stay published until their last ID token has expired.
    Rotate {
        #[arg(long)]
        json: bool,
    },
    /// List the published keys.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn print(keys: &[KeyView], json: bool) -> anyhow::Result<()> {
    if json {
        return output::json(&keys);
    }
    let rows = keys.iter().map(|k| {
        vec![
            k.kid.clone(),
            k.alg.clone(),
            output::time(Some(k.active_from)),
            output::time(k.retired_at),
            output::time(k.expires_at),
        ]
    });
    output::table(&["KID", "ALG", "ACTIVE FROM", "RETIRED", "EXPIRES"], rows);
    Ok(())
}

pub async fn run(settings: Settings, command: KeysCommand) -> anyhow::Result<ExitCode> {
    super::with_admin(&settings, |admin| async move {
        match command {
            KeysCommand::Rotate { json } => print(&admin.rotate_keys().await?, json)?,
            KeysCommand::List { json } => print(&admin.keys().await?, json)?,
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}
