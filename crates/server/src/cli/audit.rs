//! `gan-connect audit …`: read the audit trail.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use gan_audit::{AuditEvent, AuditFilter, EventType};
use gan_connect::settings::Settings;

use super::output;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The latest events, oldest first; with --follow, keep printing new ones (Ctrl-C stops).
    Tail {
        /// How many of the latest events to show first.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u64,
        #[arg(short, long)]
        follow: bool,
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Events matching the filters, newest first, a page at a time.
    Query {
        #[command(flatten)]
        filter: FilterArgs,
        /// Events at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Events before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// The cursor printed after the previous page.
        #[arg(long)]
        cursor: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct FilterArgs {
    #[arg(long)]
    identity: Option<String>,
    #[arg(long = "client-number")]
    client_number: Option<String>,
    #[arg(long)]
    client: Option<String>,
    /// An event type, e.g. signin.failed.
    #[arg(long = "type")]
    event_type: Option<String>,
}

impl FilterArgs {
    fn filter(self) -> anyhow::Result<AuditFilter> {
        let event_type = match self.event_type {
            Some(t) => Some(EventType::parse(&t).with_context(|| {
                let all: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                format!("unknown event type {t}; one of: {}", all.join(", "))
            })?),
            None => None,
        };
        Ok(AuditFilter {
            identity_id: self.identity,
            client_number: self.client_number,
            client_id: self.client,
            event_type,
            ..Default::default()
        })
    }
}

fn when(raw: Option<String>, flag: &str) -> anyhow::Result<Option<time::OffsetDateTime>> {
    raw.map(|r| {
        time::OffsetDateTime::parse(&r, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("{flag} must be an RFC 3339 time"))
    })
    .transpose()
}

fn row(e: &AuditEvent) -> Vec<String> {
    let actor = match &e.actor.id {
        Some(id) => format!("{}:{id}", e.actor.kind.as_str()),
        None => e.actor.kind.as_str().to_string(),
    };
    let subject = [
        e.identity_id.as_deref(),
        e.client_number.as_deref(),
        e.client_id.as_deref(),
    ]
    .iter()
    .flatten()
    .copied()
    .collect::<Vec<_>>()
    .join(" ");
    vec![
        output::time(Some(e.at)),
        e.event_type.as_str().into(),
        e.outcome.as_str().into(),
        actor,
        subject,
        e.ip.clone().unwrap_or_default(),
        e.detail.to_string(),
    ]
}

const HEADERS: [&str; 7] = [
    "TIME", "EVENT", "OUTCOME", "ACTOR", "SUBJECT", "IP", "DETAIL",
];

fn print(events: &[AuditEvent], json: bool) -> anyhow::Result<()> {
    if json {
        for e in events {
            println!("{}", serde_json::to_string(e)?);
        }
        return Ok(());
    }
    output::table(&HEADERS, events.iter().map(row));
    Ok(())
}

/// Every audit command only reads: the database is opened read-only.
pub async fn run(settings: Settings, command: AuditCommand) -> anyhow::Result<ExitCode> {
    super::with_reader(&settings, |admin| async move {
        match command {
            AuditCommand::Query {
                filter,
                since,
                until,
                limit,
                cursor,
                json,
            } => {
                let mut f = filter.filter()?;
                f.from = when(since, "--since")?;
                f.to = when(until, "--until")?;
                f.limit = limit.clamp(1, gan_admin::MAX_LIMIT);
                f.before = cursor;
                let page = admin.audit_events(&f).await?;
                print(&page.items, json)?;
                if let Some(next) = page.next_cursor {
                    eprintln!("more: --cursor {}", output::clean(&next));
                }
            }
            AuditCommand::Tail {
                lines,
                follow,
                filter,
                json,
            } => {
                let base = filter.filter()?;
                let mut latest = admin
                    .audit_events(&AuditFilter {
                        limit: lines.clamp(1, gan_admin::MAX_LIMIT),
                        ..base.clone()
                    })
                    .await?
                    .items;
                latest.reverse();
                print(&latest, json)?;
                let mut last = latest.last().map(|e| e.id.clone()).unwrap_or_default();
                if !follow {
                    return Ok(ExitCode::SUCCESS);
                }
                loop {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => break,
                        _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
                    }
                    let fresh = admin
                        .audit_events(&AuditFilter {
                            after: Some(last.clone()),
                            limit: gan_admin::MAX_LIMIT,
                            ..base.clone()
                        })
                        .await?
                        .items;
                    if let Some(e) = fresh.last() {
                        last = e.id.clone();
                        print(&fresh, json)?;
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}
