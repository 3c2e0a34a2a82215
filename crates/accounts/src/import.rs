//! Customer import from CSV (`client_number,kind,label,contact_email,legacy_hash`, optionally
//! `given_name`, `family_name`): every bad row
//! is reported with its line number and reason; good rows go on. Idempotent: importing the same
//! file again updates the same rows (an upgraded account keeps its status and gets no legacy
//! password back).

use std::collections::HashMap;
use std::io::Read;

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::customer::{normalize_client_number, AccountKind, AccountStatus, CustomerAccount};
use crate::email;
use crate::legacy::LegacyHash;
use crate::ports::UpsertCounts;
use crate::service::{Accounts, Unavailable};

/// Rows written per store transaction.
const BATCH: usize = 5000;

/// Optional columns: the holder's name (empty or absent: the name on record is kept).
pub const OPTIONAL_COLUMNS: [&str; 2] = ["given_name", "family_name"];

/// The columns the header must name (in any order; others are ignored).
pub const COLUMNS: [&str; 5] = [
    "client_number",
    "kind",
    "label",
    "contact_email",
    "legacy_hash",
];

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    /// Why, in English, naming the column at fault.
    pub reason: String,
}

/// The good rows (with their line numbers) and the rejected ones.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Valid rows, each client number once, as `legacy` accounts created at the parse time.
    pub rows: Vec<CustomerAccount>,
    /// Rows not imported, in file order.
    pub rejected: Vec<Rejected>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Accounts created and accounts updated (already on record).
    pub counts: UpsertCounts,
    /// Rows not imported, in file order.
    pub rejected: Vec<Rejected>,
}

/// Why an import wrote nothing (or stopped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The file is not CSV with the expected header; nothing was written.
    #[error("{0}")]
    Unreadable(String),
    /// The store failed; the batches before `written` rows were imported.
    #[error("{error} (after {} rows)", .written.created + .written.updated)]
    Unavailable {
        /// What the store said.
        error: Unavailable,
        /// The rows imported before it failed.
        written: UpsertCounts,
    },
}

/// Reads the whole file. Fails only when the file cannot be read as CSV with the expected header.
pub fn parse<R: Read>(input: R, now: OffsetDateTime) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| format!("cannot read the header: {e}"))?
        .clone();
    let mut index = HashMap::new();
    for name in COLUMNS {
        let at = header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .ok_or_else(|| {
                format!(
                    "the header lacks the column {name} (expected {})",
                    COLUMNS.join(",")
                )
            })?;
        index.insert(name, at);
    }
    for name in OPTIONAL_COLUMNS {
        if let Some(at) = header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
        {
            index.insert(name, at);
        }
    }
    let mut parsed = Parsed::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                parsed.rejected.push(Rejected {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let field = |name: &str| {
            index
                .get(name)
                .and_then(|at| record.get(*at))
                .unwrap_or_default()
        };
        let names = (field("given_name"), field("family_name"));
        match row(
            field("client_number"),
            field("kind"),
            field("label"),
            field("contact_email"),
            field("legacy_hash"),
            now,
        )
        .and_then(|account| with_names(account, names))
        {
            Ok(account) => {
                if let Some(first) = seen.get(&account.client_number) {
                    parsed.rejected.push(Rejected {
                        line,
                        reason: format!(
                            "client number {} already on line {first}",
                            account.client_number
                        ),
                    });
                    continue;
                }
                seen.insert(account.client_number.clone(), line);
                parsed.rows.push(account);
            }
            Err(reason) => parsed.rejected.push(Rejected { line, reason }),
        }
    }
    Ok(parsed)
}

fn row(
    client_number: &str,
    kind: &str,
    label: &str,
    contact: &str,
    hash: &str,
    now: OffsetDateTime,
) -> Result<CustomerAccount, String> {
    let client_number = normalize_client_number(client_number)
        .ok_or_else(|| format!("invalid client number {client_number:?}"))?;
    let kind = AccountKind::parse(kind)
        .ok_or_else(|| format!("kind must be personal or professional, not {kind:?}"))?;
    if label.is_empty() || label.chars().count() > 255 {
        return Err("label must have 1 to 255 characters".into());
    }
    let contact_email =
        email::parse(contact).map_err(|e| format!("invalid contact email {contact:?}: {e}"))?;
    LegacyHash::parse(hash).map_err(|e| format!("legacy_hash: {e}"))?;
    Ok(CustomerAccount {
        client_number,
        kind,
        label: label.to_string(),
        contact_email,
        legacy_hash: Some(hash.to_string()),
        status: AccountStatus::Legacy,
        created_at: now,
        given_name: None,
        family_name: None,
    })
}

/// The optional name columns: 1 to 255 characters without control characters, or empty (none).
fn with_names(
    mut account: CustomerAccount,
    (given, family): (&str, &str),
) -> Result<CustomerAccount, String> {
    let name = |value: &str, column: &str| -> Result<Option<String>, String> {
        if value.is_empty() {
            return Ok(None);
        }
        if value.chars().count() > 255 || value.chars().any(char::is_control) {
            return Err(format!(
                "{column} must have at most 255 characters, without control characters"
            ));
        }
        Ok(Some(value.to_string()))
    };
    account.given_name = name(given, "given_name")?;
    account.family_name = name(family, "family_name")?;
    Ok(account)
}

impl Accounts {
    /// Imports customer accounts from CSV, in batches of 5000 rows per transaction; bad rows
    /// are reported, not imported. Records one `customers.imported` event (actor: the admin of
    /// the current audit context) with the counts, a failure when the import stopped.
    ///
    /// Errors: `Unreadable` (no usable header: nothing written), `Unavailable` (the store failed
    /// after `written` rows).
    pub async fn import_customers<R: Read>(
        &self,
        input: R,
        now: OffsetDateTime,
    ) -> Result<ImportReport, ImportError> {
        let event = |counts: UpsertCounts, rejected: usize, failed: Option<&str>| {
            let actor = gan_audit::current()
                .actor
                .unwrap_or_else(|| Actor::admin("unknown"));
            let event = match failed {
                None => AuditEvent::success(EventType::CustomersImported, actor, now),
                Some(reason) => AuditEvent::failure(EventType::CustomersImported, actor, now)
                    .with("reason", reason),
            };
            event
                .with("created", counts.created)
                .with("updated", counts.updated)
                .with("rejected", rejected as u64)
        };
        let parsed = match parse(input, now) {
            Ok(p) => p,
            Err(e) => {
                self.audit(event(UpsertCounts::default(), 0, Some("unreadable_header")))
                    .await;
                return Err(ImportError::Unreadable(e));
            }
        };
        let mut counts = UpsertCounts::default();
        for batch in parsed.rows.chunks(BATCH) {
            match self.ports.customers.upsert_customers(batch, now).await {
                Ok(c) => {
                    counts.created += c.created;
                    counts.updated += c.updated;
                }
                Err(e) => {
                    let rejected = parsed.rejected.len();
                    self.audit(event(counts, rejected, Some("unavailable")))
                        .await;
                    return Err(ImportError::Unavailable {
                        error: e.into(),
                        written: counts,
                    });
                }
            }
        }
        self.audit(event(counts, parsed.rejected.len(), None)).await;
        Ok(ImportReport {
            counts,
            rejected: parsed.rejected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_rows_with_line_numbers() {
        let csv = "client_number,kind,label,contact_email,legacy_hash\n\
            10000001,personal,Jean Dupont,Famille@Example.fr,sha256$s$6e1cdc49d0294d1d3bcf13fda9d866af85faf12a5c73afdda71d0bcc60159936\n\
            10000002,business,X,a@b.fr,sha256$s$6e1cdc49d0294d1d3bcf13fda9d866af85faf12a5c73afdda71d0bcc60159936\n\
            10000003,professional,\"Boulangerie, Lyon\",a@b.fr,md5$x\n\
            10000001,personal,Jean,a@b.fr,sha256$s$6e1cdc49d0294d1d3bcf13fda9d866af85faf12a5c73afdda71d0bcc60159936\n\
            x,personal,Y,not-an-email,sha256$s$00\n";
        let parsed = parse(csv.as_bytes(), OffsetDateTime::UNIX_EPOCH).unwrap_or_default();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].contact_email, "famille@example.fr");
        let lines: Vec<u64> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        assert!(parsed.rejected[0].reason.contains("kind"));
        assert!(parsed.rejected[1].reason.contains("legacy_hash"));
        assert!(parsed.rejected[2].reason.contains("line 2"));
    }

    #[test]
    fn a_wrong_header_is_fatal() {
        assert!(parse("a,b,c\n1,2,3\n".as_bytes(), OffsetDateTime::UNIX_EPOCH).is_err());
        assert!(parse("".as_bytes(), OffsetDateTime::UNIX_EPOCH).is_err());
    }
}
