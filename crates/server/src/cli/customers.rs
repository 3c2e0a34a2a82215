//! `gan-connect customers …`: import customer accounts, look one up, lock or unlock an
//! identity, detach an account.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use gan_accounts::import::ImportError;
use gan_admin::{Admin, IdentityView};
use gan_connect::settings::Settings;

use super::{import_watch, output};

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
        /// Write the rejected rows to FILE, in the input's columns, separator and encoding plus
        /// a `reason` column: fix them there and import FILE (created mode 0600: it holds
        /// legacy hashes).
        #[arg(long, value_name = "FILE")]
        rejects: Option<std::path::PathBuf>,
        /// No progress on stderr (by default: a bar on a terminal, a line every 5 s otherwise).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Find customers by client number, login or contact email, or part of a name; with one
    /// match, show it whole (identity, accounts, sessions, recent sign-ins).
    Show {
        query: String,
        #[arg(long)]
        json: bool,
    },
    /// Customers stuck in an activation (link sent more than N days ago, never used), for a
    /// reminder campaign: a table, or CSV ready for a spreadsheet with --csv.
    Stuck {
        #[arg(long, value_name = "DAYS", default_value_t = 7)]
        older_than_days: u32,
        /// CSV in UTF-8 with a byte-order mark (spreadsheets read the accents right).
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// The CSV separator: , (default) or ; (what a French spreadsheet opens in columns).
        #[arg(long, value_name = "CHAR", default_value_t = ',', requires = "csv")]
        delimiter: char,
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
        // A dry run writes nothing: not even a database that does not exist yet.
        matches!(
            self,
            Self::Show { .. } | Self::Stuck { .. } | Self::Import { dry_run: true, .. }
        )
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
            rejects,
            quiet,
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
            let options = ImportRun {
                format,
                dry_run,
                rejects,
                quiet,
            };
            return import_file(admin, file, options).await;
        }
        CustomersCommand::Stuck {
            older_than_days,
            csv,
            delimiter,
            json,
        } => {
            let format = match (csv, json, delimiter) {
                (true, _, ',') => StuckFormat::Csv(b','),
                (true, _, ';') => StuckFormat::Csv(b';'),
                (true, _, other) => anyhow::bail!(
                    "--delimiter {}: use , or ;",
                    output::clean(&other.to_string())
                ),
                (false, true, _) => StuckFormat::Json,
                (false, false, _) => StuckFormat::Table,
            };
            return stuck(admin, older_than_days, format).await;
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

/// How `customers import` runs, from its options.
struct ImportRun {
    format: gan_accounts::import::CsvFormat,
    dry_run: bool,
    rejects: Option<std::path::PathBuf>,
    quiet: bool,
}

async fn import_file(
    admin: &Admin,
    file: std::path::PathBuf,
    run: ImportRun,
) -> anyhow::Result<ExitCode> {
    let reader =
        std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = reader.metadata().map(|m| m.len()).unwrap_or(0);
    let reader = std::io::BufReader::new(reader);
    let rejects = match &run.rejects {
        Some(path) => Some(import_watch::RejectsFile::create(path)?),
        None => None,
    };
    let mut watcher = import_watch::CliWatcher::new(size, run.quiet, rejects);
    let now = time::OffsetDateTime::now_utc();
    let source = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let options = gan_accounts::import::ImportOptions {
        format: run.format,
        source: source.as_deref(),
        dry_run: run.dry_run,
    };
    let result = admin
        .accounts
        .import_customers_watched(reader, options, &mut watcher, now)
        .await;
    let rejects_written = watcher.finish();
    let report = match result {
        Ok(r) => r,
        Err(ImportError::Unreadable(e)) => {
            remove_empty_rejects(&run, &rejects_written);
            eprintln!(
                "error: {}",
                output::clean(&format!("{}: {e}", file.display()))
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    let out = &mut watcher.out;
    for w in &report.warnings {
        out.line(&format!("warning: {}", output::clean(w)));
    }
    let by = |counts: Vec<(&str, u64)>| {
        counts
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if report.valid > 0 {
        out.line(&format!(
            "by kind: {}",
            by(report.by_kind.iter().map(|(k, n)| (*k, *n)).collect())
        ));
        out.line(&format!(
            "by hash format: {}",
            by(report
                .by_format
                .iter()
                .map(|(f, n)| (f.name(), *n))
                .collect())
        ));
    }
    if report.dry_run {
        out.line(&format!(
            "dry run, nothing written: valid: {}, rejected: {}",
            report.valid, report.rejected_count
        ));
    } else {
        out.line(&format!(
            "created: {}, updated: {}, rejected: {}",
            report.counts.created, report.counts.updated, report.rejected_count
        ));
    }
    let mut code = ExitCode::SUCCESS;
    if let (Some(path), Some(written)) = (&run.rejects, &rejects_written) {
        let path = output::clean(&path.display().to_string());
        match written {
            Err(e) => {
                eprintln!("error: cannot write {path}: {}", output::clean(e));
                code = ExitCode::FAILURE;
            }
            Ok(0) => {
                remove_empty_rejects(&run, &rejects_written);
                out.line(&format!("no row rejected: {path} not written"));
            }
            Ok(n) => out.line(&format!(
                "{n} rejected rows written to {path} (fix them there and import that file)"
            )),
        }
    }
    if watcher.out.was_closed() {
        eprintln!("warning: standard output was closed: the import went on to its end unprinted");
    }
    Ok(code)
}

/// Removes a rejects file that holds no row (only its header, or nothing).
fn remove_empty_rejects(run: &ImportRun, written: &Option<Result<u64, String>>) {
    if let (Some(path), Some(Ok(0))) = (&run.rejects, written) {
        if let Err(e) = std::fs::remove_file(path) {
            eprintln!(
                "warning: {}",
                output::clean(&format!("cannot remove {}: {e}", path.display()))
            );
        }
    }
}

/// How `customers stuck` prints.
enum StuckFormat {
    Table,
    Json,
    /// With this separator.
    Csv(u8),
}

/// Every stuck customer (one read), as a table, JSON or CSV.
async fn stuck(admin: &Admin, days: u32, format: StuckFormat) -> anyhow::Result<ExitCode> {
    let all = admin.all_stuck_customers(days).await.map_err(|e| match e {
        gan_admin::AdminError::Invalid { reason, .. } => {
            anyhow::anyhow!("--older-than-days: {reason}")
        }
        other => other.into(),
    })?;
    match format {
        StuckFormat::Json => output::json(&all)?,
        StuckFormat::Csv(delimiter) => {
            gan_admin::write_stuck_csv(&all, delimiter, std::io::stdout().lock())?;
        }
        StuckFormat::Table => {
            output::table(
                &["client number", "label", "contact email", "activation sent"],
                all.iter().map(|c| {
                    vec![
                        c.client_number.clone(),
                        c.label.clone(),
                        c.contact_email.clone(),
                        output::time(Some(c.activation_sent_at)),
                    ]
                }),
            );
            let unit = if days == 1 { "day" } else { "days" };
            println!("{} customers stuck for more than {days} {unit}", all.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
