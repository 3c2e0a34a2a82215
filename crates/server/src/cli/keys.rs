//! `gan-connect keys …`: list and rotate signing keys.

use std::process::ExitCode;

use clap::Subcommand;
use gan_connect::settings::Settings;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new key per algorithm: published now, signing after keys.publish_delay_seconds;
    /// the old keys stay published until their last ID token has expired.
    Rotate,
    /// List the published keys.
    List,
}

fn fmt(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_else(|| "-".into())
}

pub async fn run(settings: Settings, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let built = super::built(&settings).await?;
    let provider = &built.state.provider;
    if let KeysCommand::Rotate = command {
        for k in provider.rotate_keys().await? {
            println!("added {} {} (signs from {})", k.alg.as_str(), k.kid, fmt(Some(k.active_from)));
        }
    }
    let ring = provider.reload_keys().await?;
    println!("{:<18} {:<7} {:<26} {:<26} EXPIRES", "KID", "ALG", "ACTIVE FROM", "RETIRED");
    for k in ring.stored() {
        println!("{:<18} {:<7} {:<26} {:<26} {}", k.kid, k.alg.as_str(), fmt(Some(k.active_from)), fmt(k.retired_at), fmt(k.expires_at));
    }
    Ok(ExitCode::SUCCESS)
}
