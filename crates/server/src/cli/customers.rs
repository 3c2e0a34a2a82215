//! `gan-connect customers …`: import customer accounts, look one up, lock or unlock an
//! identity, detach an account.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use gan_accounts::import::ImportError;
use gan_admin::{Admin, IdentityView};
use gan_connect::settings::Settings;

use super::output;

#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Import customer accounts (header client_number,kind,label,contact_email,legacy_hash).
    /// Re-importing updates; bad rows are reported with their line numbers.
    Import {
        file: std::path::PathBuf,
        /// utf-8 (default; a byte-order mark is fine), windows-1252 or iso-8859-1 (what French
        /// spreadsheets save).
        #[arg(long, value_name = "ENCODING", default_value = "utf-8")]
        encoding: String,
        /// , or ; (default: recognised from the header line).
        #[arg(long, value_name = "CHAR")]
        delimiter: Option<char>,
        /// Check every row and report, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Find customers by client number, login or contact email, or part of a name; with one
    /// match, show it whole (identity, accounts, sessions, recent sign-ins).
    Show {
        query: String,
        #[arg(long)]
        json: bool,
    },
    /// Lock an identity (by id or login email): no sign-in, sessions ended, tokens revoked.
    Lock { identity: String },
    /// Unlock an identity (by id or login email).
    Unlock { identity: String },
    /// Detach a customer account from its identity.
    Detach { client_number: String },
}

impl CustomersCommand {
    /// Whether the command only reads (it then opens the database read-only).
    fn reads_only(&self) -> bool {
        matches!(self, Self::Show { .. })
    }
}

pub async fn run(settings: Settings, command: CustomersCommand) -> anyhow::Result<ExitCode> {
    if command.reads_only() {
        return super::with_reader(
            &settings,
            |admin| async move { manage(&admin, command).await },
        )
        .await;
    }
    super::with_admin(
        &settings,
        |admin| async move { manage(&admin, command).await },
    )
    .await
}

/// An identity id from an id or a login email.
async fn identity_id(admin: &Admin, raw: &str) -> anyhow::Result<String> {
    if !raw.contains('@') {
        return Ok(raw.to_string());
    }
    let found = admin.accounts.identity_by_email(raw).await?;
    found
        .map(|i| i.id)
        .with_context(|| format!("no identity has the login email {raw}"))
}

fn show_identity(i: &IdentityView) {
    output::record(&[
        ("identity", i.id.clone()),
        ("login email", i.login_email.clone()),
        ("status", i.status.clone()),
        ("verified", output::time(i.email_verified_at)),
        ("created", output::time(Some(i.created_at))),
    ]);
    println!();
    output::table(
        &["CLIENT NUMBER", "KIND", "LABEL", "CONTACT EMAIL"],
        i.accounts.iter().map(|a| {
            vec![
                a.client_number.clone(),
                a.kind.clone(),
                a.label.clone(),
                a.contact_email.clone(),
            ]
        }),
    );
    output::table(
        &["SESSION", "STARTED", "LAST SEEN", "IP", "DEVICE"],
        i.sessions.iter().map(|s| {
            vec![
                s.sid.clone(),
                output::time(Some(s.created_at)),
                output::time(Some(s.last_seen_at)),
                s.ip.clone().unwrap_or_default(),
                s.user_agent.clone().unwrap_or_default(),
            ]
        }),
    );
    output::table(
        &["SIGN-IN", "OUTCOME", "IP", "DETAIL"],
        i.recent_sign_ins.iter().map(|e| {
            vec![
                output::time(Some(e.at)),
                e.outcome.as_str().to_string(),
                e.ip.clone().unwrap_or_default(),
                e.detail.to_string(),
            ]
        }),
    );
}

async fn manage(admin: &Admin, command: CustomersCommand) -> anyhow::Result<ExitCode> {
    match command {
        CustomersCommand::Import {
            file,
            encoding,
            delimiter,
            dry_run,
        } => {
            let format = gan_accounts::import::CsvFormat {
                encoding: gan_accounts::import::TextEncoding::parse(&encoding).ok_or_else(
                    || {
                        anyhow::anyhow!(
                            "--encoding {}: use utf-8, windows-1252 or iso-8859-1",
                            output::clean(&encoding)
                        )
                    },
                )?,
                delimiter: match delimiter {
                    None => None,
                    Some(',') => Some(b','),
                    Some(';') => Some(b';'),
                    Some(other) => anyhow::bail!(
                        "--delimiter {}: use , or ;",
                        output::clean(&other.to_string())
                    ),
                },
            };
            return import_file(admin, file, format, dry_run).await;
        }
        CustomersCommand::Show { query, json } => {
            let page = admin.search_customers(&query, None, 50).await?;
            if let [only] = page.items.as_slice() {
                let detail = admin.customer(&only.client_number).await?;
                let identity = match &only.identity_id {
                    Some(id) => Some(admin.identity(id).await?),
                    None => None,
                };
                if json {
                    return output::json(
                        &serde_json::json!({ "customer": detail, "identity": identity }),
                    )
                    .map(|_| ExitCode::SUCCESS);
                }
                let c = &detail.customer;
                output::record(&[
                    ("client number", c.client_number.clone()),
                    ("kind", c.kind.clone()),
                    ("label", c.label.clone()),
                    ("contact email", c.contact_email.clone()),
                    ("status", c.status.clone()),
                    ("legacy password", c.has_legacy_password.to_string()),
                ]);
                if let Some(a) = &detail.pending_activation {
                    let state = if a.expired { "expired" } else { "waiting" };
                    println!(
                        "activation    {state}: link sent {} to {}",
                        output::time(Some(a.sent_at)),
                        output::clean(&a.login_email.clone().unwrap_or_default())
                    );
                }
                if let Some(i) = &identity {
                    println!();
                    show_identity(i);
                }
                return Ok(ExitCode::SUCCESS);
            }
            if json {
                output::json(&page)?;
            } else if page.items.is_empty() {
                println!("no customer matches {}", output::clean(&query));
            } else {
                let rows = page.items.iter().map(|c| {
                    vec![
                        c.client_number.clone(),
                        c.kind.clone(),
                        c.label.clone(),
                        c.contact_email.clone(),
                        c.status.clone(),
                        c.login_email.clone().unwrap_or_default(),
                    ]
                });
                output::table(
                    &[
                        "CLIENT NUMBER",
                        "KIND",
                        "LABEL",
                        "CONTACT EMAIL",
                        "STATUS",
                        "LOGIN EMAIL",
                    ],
                    rows,
                );
                if page.next_cursor.is_some() {
                    eprintln!("(first 50 matches; narrow the search)");
                }
            }
        }
        CustomersCommand::Lock { identity } => {
            let id = identity_id(admin, &identity).await?;
            admin.lock_identity(&id).await?;
            println!(
                "identity {} locked; its sessions are ended and its tokens revoked",
                output::clean(&id)
            );
        }
        CustomersCommand::Unlock { identity } => {
            let id = identity_id(admin, &identity).await?;
            admin.unlock_identity(&id).await?;
            println!("identity {} unlocked", output::clean(&id));
        }
        CustomersCommand::Detach { client_number } => {
            let detail = admin.detach_account(&client_number).await?;
            println!(
                "account {} detached",
                output::clean(&detail.customer.client_number)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import_file(
    admin: &Admin,
    file: std::path::PathBuf,
    format: gan_accounts::import::CsvFormat,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let reader =
        std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let reader = std::io::BufReader::new(reader);
    let now = time::OffsetDateTime::now_utc();
    let unreadable = |e: &str| {
        eprintln!(
            "error: {}",
            output::clean(&format!("{}: {e}", file.display()))
        );
        Ok(ExitCode::FAILURE)
    };
    if dry_run {
        let parsed = match admin.accounts.check_customers(reader, format, now) {
            Ok(p) => p,
            Err(e) => return unreadable(&e),
        };
        report_lines(&parsed.warnings, &parsed.rejected);
        println!(
            "dry run, nothing written: valid: {}, rejected: {}",
            parsed.rows.len(),
            parsed.rejected.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let source = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let report = match admin
        .accounts
        .import_customers_from(reader, format, source.as_deref(), now)
        .await
    {
        Ok(r) => r,
        Err(ImportError::Unreadable(e)) => return unreadable(&e),
        Err(e) => return Err(e.into()),
    };
    report_lines(&report.warnings, &report.rejected);
    println!(
        "created: {}, updated: {}, rejected: {}",
        report.counts.created,
        report.counts.updated,
        report.rejected.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The warnings and the rejected rows, each with its line.
fn report_lines(warnings: &[String], rejected: &[gan_accounts::import::Rejected]) {
    for w in warnings {
        println!("warning: {}", output::clean(w));
    }
    for r in rejected {
        println!("line {}: rejected: {}", r.line, output::clean(&r.reason));
    }
}
