//! `gan-connect customers import FILE.csv`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use gan_accounts::import;
use gan_accounts::ports::{CustomerStore, UpsertCounts};
use gan_connect::settings::Settings;

#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Import customer accounts (header client_number,kind,label,contact_email,legacy_hash).
    /// Re-importing updates; bad rows are reported with their line numbers.
    Import {
        file: std::path::PathBuf,
    },
}

pub async fn run(settings: Settings, command: CustomersCommand) -> anyhow::Result<ExitCode> {
    let CustomersCommand::Import { file } = command;
    let reader = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let store = gan_connect::wiring::connect_store(&settings).await?;
    store.migrate().await?;
    let now = time::OffsetDateTime::now_utc();
    let parsed = match import::parse(std::io::BufReader::new(reader), now) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut total = UpsertCounts::default();
    for batch in parsed.rows.chunks(5000) {
        let c = store.upsert_customers(batch, now).await?;
        total.created += c.created;
        total.updated += c.updated;
    }
    for r in &parsed.rejected {
        println!("line {}: rejected: {}", r.line, r.reason);
    }
    println!("created: {}, updated: {}, rejected: {}", total.created, total.updated, parsed.rejected.len());
    Ok(ExitCode::SUCCESS)
}
