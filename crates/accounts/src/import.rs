//! Customer import from CSV (`client_number,kind,label,contact_email,legacy_hash`): every bad row
//! is reported with its line number and reason; good rows go on.

use std::collections::HashMap;
use std::io::Read;

use time::OffsetDateTime;

use crate::customer::{normalize_client_number, AccountKind, AccountStatus, CustomerAccount};
use crate::email;
use crate::legacy::LegacyHash;

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
    pub line: u64,
    pub reason: String,
}

/// The good rows (with their line numbers) and the rejected ones.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<CustomerAccount>,
    pub rejected: Vec<Rejected>,
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
        let field = |name: &str| record.get(index[name]).unwrap_or_default();
        match row(
            field("client_number"),
            field("kind"),
            field("label"),
            field("contact_email"),
            field("legacy_hash"),
            now,
        ) {
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
    if !email::looks_valid(contact) {
        return Err(format!("invalid contact email {contact:?}"));
    }
    LegacyHash::parse(hash).map_err(|e| format!("legacy_hash: {e}"))?;
    Ok(CustomerAccount {
        client_number,
        kind,
        label: label.to_string(),
        contact_email: email::normalize(contact),
        legacy_hash: Some(hash.to_string()),
        status: AccountStatus::Legacy,
        created_at: now,
    })
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
