//! `gan-connect keys …`: list and rotate signing keys.

use std::process::ExitCode;

use clap::Subcommand;
use gan_admin::KeyView;
use gan_connect::settings::Settings;
use gan_connect::wiring;

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
    match command {
        KeysCommand::Rotate { json } => {
            super::with_admin(&settings, |admin| async move {
                print(&admin.rotate_keys().await?, json)?;
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
        // Read-only; the stored keys are opened to be listed, with the existing
        // key-encryption key (never a new one).
        KeysCommand::List { json } => {
            if wiring::existing_sealer(&settings)?.is_none() {
                anyhow::bail!(
                    "listing the keys opens them with the key-encryption key, and there is none \
                     here: set keys.encryption_key, or keys.encryption_key_file to the server's \
                     key file ({} does not exist)",
                    settings.keys.encryption_key_file
                );
            }
            super::with_reader(&settings, |admin| async move {
                print(&admin.keys().await?, json)?;
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
    }
}
