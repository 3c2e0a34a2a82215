//! The migration dashboard's figures: how the move from the legacy logins to Gan Connect is
//! going, for the business (accounts by status, the upgrade funnel, upgrades and "email déjà
//! utilisé" refusals per day, customers stuck in an activation).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{Admin, AdminError, AdminResult};

/// The longest period the figures cover, in days.
pub const MAX_DAYS: u32 = 366;

/// Customer accounts by status; the three add up to every account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AccountsByStatus {
    /// Not upgraded, no activation pending: signs in with the client number.
    pub legacy: u64,
    /// Not upgraded, a verification link sent and still valid.
    pub activation_pending: u64,
    /// Attached to an identity: signs in with the login email.
    pub upgraded: u64,
}

/// The upgrade funnel over the period: distinct client numbers at each step.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Funnel {
    /// Signed in with the client number and the legacy password (the upgrade started).
    pub legacy_sign_ins: u64,
    /// Chose a login email (the verification link was sent).
    pub email_chosen: u64,
    /// Opened the verification link (its password form was shown; a mail scanner opening it
    /// counts too), or completed the upgrade.
    pub link_opened: u64,
    /// Chose a password: the upgrade completed.
    pub upgraded: u64,
}

/// One UTC day of the period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MigrationDay {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Upgrades completed that day.
    pub upgrades: u64,
    /// Login emails refused that day because another identity already uses them.
    pub email_taken: u64,
}

/// Customers whose activation was sent long ago and never completed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Stuck {
    /// The threshold: the newest verification link was sent more than this many days ago.
    pub older_than_days: u32,
    /// How many accounts.
    pub count: u64,
}

/// How the migration is going.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MigrationReport {
    /// When the figures were read.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The period: this many UTC days, today included.
    pub days: u32,
    /// Accounts by status, now.
    pub accounts: AccountsByStatus,
    /// The funnel over the period.
    pub funnel: Funnel,
    /// Every day of the period, oldest first.
    pub per_day: Vec<MigrationDay>,
    /// Customers stuck in an activation, now.
    pub stuck: Stuck,
}

const SECONDS_PER_DAY: i64 = 86_400;

impl Admin {
    /// The migration's figures over the last `days` UTC days (today included, 1 to
    /// [`MAX_DAYS`]), with customers counted as stuck when their newest activation link was
    /// sent more than `stuck_days` days ago (1 to [`MAX_DAYS`]).
    ///
    /// Errors: `Invalid` (`days`, `stuck_days` out of range), `Unavailable`.
    pub async fn migration(&self, days: u32, stuck_days: u32) -> AdminResult<MigrationReport> {
        for (value, field) in [(days, "days"), (stuck_days, "stuck_days")] {
            if !(1..=MAX_DAYS).contains(&value) {
                return Err(AdminError::invalid(field, format!("1 to {MAX_DAYS}")));
            }
        }
        let now = self.now();
        let today = now.unix_timestamp().div_euclid(SECONDS_PER_DAY);
        let first = today - i64::from(days) + 1;
        let since = OffsetDateTime::from_unix_timestamp(first * SECONDS_PER_DAY)
            .map_err(|e| AdminError::Unavailable(e.to_string()))?;
        let stuck_before = now - time::Duration::days(i64::from(stuck_days));
        let counts = self
            .store
            .migration_counts(since, stuck_before, now)
            .await?;
        let per_day = (first..=today)
            .map(|day| {
                let (upgrades, email_taken) = counts
                    .per_day
                    .iter()
                    .find(|(d, _, _)| *d == day)
                    .map(|(_, u, t)| (*u, *t))
                    .unwrap_or_default();
                MigrationDay {
                    day: utc_day(day),
                    upgrades,
                    email_taken,
                }
            })
            .collect();
        Ok(MigrationReport {
            at: now,
            days,
            accounts: AccountsByStatus {
                legacy: counts.legacy.saturating_sub(counts.activation_pending),
                activation_pending: counts.activation_pending,
                upgraded: counts.upgraded,
            },
            funnel: Funnel {
                legacy_sign_ins: counts.funnel[0],
                email_chosen: counts.funnel[1],
                link_opened: counts.funnel[2],
                upgraded: counts.funnel[3],
            },
            per_day,
            stuck: Stuck {
                older_than_days: stuck_days,
                count: counts.stuck,
            },
        })
    }
}

/// A customer stuck in an activation: the last one was sent long ago and never completed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct StuckCustomer {
    /// The customer account.
    pub client_number: String,
    /// `personal` or `professional`.
    pub kind: String,
    /// The account's label.
    pub label: String,
    /// The contact email on record (where a reminder can go).
    pub contact_email: String,
    /// The holder's given name, when the import had it.
    pub given_name: Option<String>,
    /// The holder's family name, when the import had it.
    pub family_name: Option<String>,
    /// When the last activation was sent (a login email chosen, or a link resent).
    #[serde(with = "time::serde::rfc3339")]
    pub activation_sent_at: OffsetDateTime,
}

impl Admin {
    /// The customers [`MigrationReport::stuck`] counts, by client number, `limit` (1 to
    /// [`MAX_LIMIT`](crate::MAX_LIMIT)) per page: for a reminder campaign.
    ///
    /// Errors: `Invalid` (`stuck_days`, `limit`), `Unavailable`.
    pub async fn stuck_customers(
        &self,
        stuck_days: u32,
        cursor: Option<String>,
        limit: u64,
    ) -> AdminResult<crate::Page<StuckCustomer>> {
        if !(1..=crate::MAX_LIMIT).contains(&limit) {
            return Err(AdminError::invalid(
                "limit",
                format!("1 to {}", crate::MAX_LIMIT),
            ));
        }
        let mut rows = self
            .stuck(stuck_days, cursor.as_deref(), Some(limit))
            .await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = more
            .then(|| rows.last().map(|c| c.client_number.clone()))
            .flatten();
        Ok(crate::Page {
            items: rows,
            next_cursor,
        })
    }

    /// Every customer [`Admin::stuck_customers`] pages through, in one read (for an export).
    ///
    /// Errors: `Invalid` (`stuck_days`), `Unavailable`.
    pub async fn all_stuck_customers(&self, stuck_days: u32) -> AdminResult<Vec<StuckCustomer>> {
        self.stuck(stuck_days, None, None).await
    }

    async fn stuck(
        &self,
        stuck_days: u32,
        after: Option<&str>,
        limit: Option<u64>,
    ) -> AdminResult<Vec<StuckCustomer>> {
        if !(1..=MAX_DAYS).contains(&stuck_days) {
            return Err(AdminError::invalid(
                "stuck_days",
                format!("1 to {MAX_DAYS}"),
            ));
        }
        let stuck_before = self.now() - time::Duration::days(i64::from(stuck_days));
        Ok(self
            .store
            .stuck_customers(stuck_before, after, limit)
            .await?)
    }
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01.
fn utc_day(day: i64) -> String {
    let date = OffsetDateTime::from_unix_timestamp(day * SECONDS_PER_DAY)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_are_dates() {
        assert_eq!(super::utc_day(0), "1970-01-01");
        assert_eq!(super::utc_day(20_787), "2026-11-30");
    }
}

/// Writes stuck customers as CSV for a reminder campaign: a UTF-8 byte-order mark (spreadsheets
/// then read accents right), a header, one row per customer, `delimiter` between fields. Names
/// and labels that a spreadsheet would run as a formula get a leading `'` (OWASP's advice on
/// CSV injection); addresses cannot hold one and are written exactly.
///
/// Errors: those of `out`.
pub fn write_stuck_csv(
    rows: &[StuckCustomer],
    delimiter: u8,
    mut out: impl std::io::Write,
) -> std::io::Result<()> {
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut csv = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(out);
    csv.write_record([
        "client_number",
        "kind",
        "label",
        "contact_email",
        "given_name",
        "family_name",
        "activation_sent_at",
    ])?;
    for c in rows {
        let sent = c
            .activation_sent_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        csv.write_record([
            c.client_number.as_str(),
            c.kind.as_str(),
            &spreadsheet_safe(&c.label),
            c.contact_email.as_str(),
            &spreadsheet_safe(c.given_name.as_deref().unwrap_or_default()),
            &spreadsheet_safe(c.family_name.as_deref().unwrap_or_default()),
            &sent,
        ])?;
    }
    csv.flush()
}

/// A text cell a spreadsheet will not run as a formula: one starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'`.
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod csv_tests {
    #[test]
    fn cells_that_a_spreadsheet_would_run_are_quoted() {
        assert_eq!(
            super::spreadsheet_safe("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(super::spreadsheet_safe("+33 1"), "'+33 1");
        assert_eq!(super::spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::spreadsheet_safe("Jean-Marc"), "Jean-Marc");
    }
}
