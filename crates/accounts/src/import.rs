//! Customer import from CSV (`client_number,kind,label,contact_email,legacy_hash`, optionally
//! `given_name`, `family_name`): every bad row
//! is reported with its line number and reason; good rows go on. Idempotent: importing the same
//! file again updates the same rows (an upgraded account keeps its status and gets no legacy
//! password back).

use std::collections::BTreeMap;
use std::io::Read;

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::customer::{normalize_client_number, AccountKind, AccountStatus, CustomerAccount};
use crate::email;
use crate::legacy::{HashFormat, LegacyHash};
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
    /// What was read but not used (columns ignored), with the line.
    pub warnings: Vec<String>,
}

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Accounts created and accounts updated (already on record); zero in a dry run.
    pub counts: UpsertCounts,
    /// Valid rows (imported, or to import in a dry run).
    pub valid: u64,
    /// The valid rows by kind (`personal`, `professional`).
    pub by_kind: BTreeMap<&'static str, u64>,
    /// The valid rows by the format of their legacy hash.
    pub by_format: BTreeMap<HashFormat, u64>,
    /// Rows not imported, in file order: the first [`REPORTED_REJECTS`].
    pub rejected: Vec<Rejected>,
    /// Rows not imported, all counted.
    pub rejected_count: u64,
    /// What was read but not used (columns ignored), with the line, and the weak hash formats
    /// met.
    pub warnings: Vec<String>,
    /// Whether nothing was written.
    pub dry_run: bool,
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

/// The text encoding of an import file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, with or without a byte-order mark (the default).
    #[default]
    Utf8,
    /// Windows-1252, which French spreadsheets write (ISO-8859-1 files read the same: the
    /// WHATWG encoding standard decodes that label as Windows-1252).
    Windows1252,
}

impl TextEncoding {
    /// The encoding a `--encoding` value names (`utf-8`, `windows-1252`, `cp1252`,
    /// `iso-8859-1`, `latin1`, any case); `None` for others.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Self::Utf8),
            "windows-1252" | "cp1252" | "iso-8859-1" | "latin1" | "latin-1" => {
                Some(Self::Windows1252)
            }
            _ => None,
        }
    }
}

/// How an import file is written: its encoding and its field separator (`None`: recognised from
/// the header line, `;` when it holds more semicolons than commas).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvFormat {
    /// The text encoding; a UTF-8 byte-order mark always means UTF-8.
    pub encoding: TextEncoding,
    /// `b','` or `b';'`; `None` to recognise it.
    pub delimiter: Option<u8>,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The separator the header line uses: `;` when it has more semicolons than commas.
fn recognise_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| line.iter().filter(|b| **b == c).count();
    if count(b';') > count(b',') {
        b';'
    } else {
        b','
    }
}

/// One field as text, in `encoding`; the error names the option to use.
fn decode(field: &[u8], encoding: TextEncoding) -> Result<std::borrow::Cow<'_, str>, String> {
    match encoding {
        TextEncoding::Utf8 => std::str::from_utf8(field)
            .map(std::borrow::Cow::Borrowed)
            .map_err(|_| {
                "not valid UTF-8: a file saved by a spreadsheet in Windows-1252 (accents such as \
                 é) imports with --encoding windows-1252"
                    .to_string()
            }),
        TextEncoding::Windows1252 => Ok(encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(field)
            .0),
    }
}

/// A reader that turns every CRLF, and every CR alone (what "CSV (Macintosh)" exports end their
/// lines with), into LF, so that the CSV reader counts lines as people do (it counts LF only).
/// A CR at the end of one read is held until the next byte is known.
struct CrlfToLf<R> {
    inner: R,
    held_cr: bool,
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut buf = vec![0u8; out.len()];
        loop {
            let n = self.inner.read(&mut buf)?;
            if n == 0 {
                // End of input: a CR held back stands alone and ends its line.
                if std::mem::take(&mut self.held_cr) {
                    out[0] = b'\n';
                    return Ok(1);
                }
                return Ok(0);
            }
            let mut w = 0;
            let mut pending = std::mem::take(&mut self.held_cr);
            for &b in &buf[..n] {
                if pending && b != b'\n' {
                    // A CR alone ends its line.
                    out[w] = b'\n';
                    w += 1;
                }
                pending = false;
                if b == b'\r' {
                    pending = true;
                } else {
                    out[w] = b;
                    w += 1;
                }
            }
            self.held_cr = pending;
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

/// Reads the whole file as UTF-8 with `,` or `;` recognised. Fails only when the file cannot be
/// read as CSV with the expected header.
pub fn parse<R: Read>(input: R, now: OffsetDateTime) -> Result<Parsed, String> {
    parse_with(input, CsvFormat::default(), now)
}

/// Reads the whole file in `format` into memory (for small files and tests: imports stream with
/// [`CustomerRows`]). Every message names the file's line (the header is line 1).
///
/// Errors: as [`CustomerRows::open`].
pub fn parse_with<R: Read>(
    input: R,
    format: CsvFormat,
    now: OffsetDateTime,
) -> Result<Parsed, String> {
    let mut rows = CustomerRows::open(input, format, now)?;
    let mut parsed = Parsed::default();
    for row in &mut rows {
        match row {
            Row::Valid { account, .. } => parsed.rows.push(account),
            Row::Rejected { rejected, .. } => parsed.rejected.push(rejected),
        }
    }
    parsed.warnings = rows.warnings().to_vec();
    Ok(parsed)
}

/// One data row of an import file, checked.
#[derive(Debug)]
pub enum Row {
    /// A row to import, as a `legacy` account, with its line and the format of its hash.
    Valid {
        /// 1-based line of the file where the row starts.
        line: u64,
        /// The account the row describes.
        account: CustomerAccount,
        /// The format of its legacy hash.
        format: HashFormat,
    },
    /// A row not to import: why, and its fields as the file holds them (for a rejects file).
    Rejected {
        /// Its line and the reason.
        rejected: Rejected,
        /// Its fields, undecoded.
        raw: csv::ByteRecord,
    },
}

/// The client numbers met so far in a file, each with its line: exact, and compact (one copy of
/// the text in an arena, a 4-byte slot in the table: about 30 bytes a number, where a map of
/// boxed strings took about 100 at its peak).
#[derive(Default)]
struct SeenNumbers {
    arena: String,
    /// (offset in the arena, length, line).
    entries: Vec<(usize, usize, u64)>,
    table: hashbrown::HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl SeenNumbers {
    fn text(&self, entry: u32) -> &str {
        let (at, len, _) = self.entries[entry as usize];
        &self.arena[at..at + len]
    }

    /// Records `number` on `line`; the line it was already on, if it was.
    fn insert(&mut self, number: &str, line: u64) -> Option<u64> {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(number);
        if let Some(&found) = self.table.find(hash, |&e| self.text(e) == number) {
            return Some(self.entries[found as usize].2);
        }
        let Ok(index) = u32::try_from(self.entries.len()) else {
            // Past four billion numbers, duplicates are no longer looked for.
            return None;
        };
        self.entries.push((self.arena.len(), number.len(), line));
        self.arena.push_str(number);
        let Self {
            table,
            hasher,
            entries,
            arena,
        } = self;
        table.insert_unique(hash, index, |&e| {
            let (at, len, _) = entries[e as usize];
            hasher.hash_one(&arena[at..at + len])
        });
        None
    }
}

/// The rows of an import file, read one at a time (memory stays bounded whatever the file's
/// size: only the client numbers already seen are kept, to report a number given twice).
pub struct CustomerRows<R: Read> {
    records: csv::ByteRecordsIntoIter<std::io::BufReader<CrlfToLf<R>>>,
    shape: FileShape,
    index: Vec<(&'static str, usize)>,
    warnings: Vec<String>,
    utf8_warned: bool,
    seen: SeenNumbers,
    now: OffsetDateTime,
}

impl<R: Read> CustomerRows<R> {
    /// Reads the header line of a file in `format`.
    ///
    /// Errors (nothing can be imported): the file is empty or not text, a required column is
    /// missing or named twice; the message names line 1.
    pub fn open(input: R, format: CsvFormat, now: OffsetDateTime) -> Result<Self, String> {
        use std::io::BufRead;
        let input = CrlfToLf {
            inner: input,
            held_cr: false,
        };
        let mut input = std::io::BufReader::with_capacity(64 * 1024, input);
        let head = input
            .fill_buf()
            .map_err(|e| format!("cannot read the file: {e}"))?;
        if head.is_empty() {
            return Err(format!(
                "the file is empty (expected the header {})",
                COLUMNS.join(",")
            ));
        }
        if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            return Err(
                "line 1: the file is UTF-16 (\"Unicode text\"): save it as CSV UTF-8 or \
                        CSV (Windows-1252) and import that"
                    .into(),
            );
        }
        let sample = &head[..head.len().min(128)];
        let nul_at = |parity: usize| {
            sample
                .iter()
                .skip(parity)
                .step_by(2)
                .filter(|b| **b == 0)
                .count()
        };
        if sample.len() >= 8
            && (nul_at(0) * 2 > sample.len() / 2 || nul_at(1) * 2 > sample.len() / 2)
        {
            return Err(
                "line 1: the file looks like UTF-16 (\"Unicode text\"): save it as CSV \
                        UTF-8 or CSV (Windows-1252) and import that"
                    .into(),
            );
        }
        let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
        if first_line.contains(&0) {
            return Err(
                "line 1: the file is not text (it holds NUL bytes): expected a CSV file \
                        saved as text"
                    .into(),
            );
        }
        let bom = head.starts_with(UTF8_BOM);
        let encoding = if bom {
            TextEncoding::Utf8
        } else {
            format.encoding
        };
        let delimiter = format
            .delimiter
            .unwrap_or_else(|| recognise_delimiter(head));
        let mut records = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .has_headers(false)
            .delimiter(delimiter)
            .from_reader(input)
            .into_byte_records();
        let mut header = match records.next() {
            Some(Ok(h)) => h,
            Some(Err(e)) => return Err(format!("line 1: cannot read the header: {e}")),
            None => return Err("the file is empty".into()),
        };
        if bom {
            let fields: Vec<Vec<u8>> = header
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if i == 0 {
                        f.strip_prefix(UTF8_BOM).unwrap_or(f).to_vec()
                    } else {
                        f.to_vec()
                    }
                })
                .collect();
            header = csv::ByteRecord::from(fields);
        }
        let mut names = Vec::with_capacity(header.len());
        for field in header.iter() {
            // Column names are read in any case.
            names.push(
                decode(field, encoding)
                    .map_err(|e| format!("line 1: {e}"))?
                    .trim()
                    .to_lowercase(),
            );
        }
        let mut index = Vec::new();
        for name in COLUMNS.iter().chain(OPTIONAL_COLUMNS.iter()) {
            let at: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, h)| h == name)
                .map(|(i, _)| i)
                .collect();
            match at.as_slice() {
                [one] => index.push((*name, *one)),
                [] if COLUMNS.contains(name) => {
                    let separator = if delimiter == b';' { ";" } else { "," };
                    return Err(format!(
                        "line 1: the header lacks the column {name} (expected {}, separated by \
                         commas or semicolons; read with {separator:?})",
                        COLUMNS.join(",")
                    ));
                }
                [] => {}
                _ => return Err(format!("line 1: the column {name} appears twice")),
            }
        }
        let unknown: Vec<String> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !COLUMNS.contains(n) && !OPTIONAL_COLUMNS.contains(n))
            .map(|n| {
                if n.is_empty() {
                    "\"\"".to_string()
                } else {
                    shown_bare(n)
                }
            })
            .collect();
        let mut warnings = Vec::new();
        if !unknown.is_empty() {
            warnings.push(format!("line 1: columns ignored: {}", unknown.join(", ")));
        }
        Ok(Self {
            records,
            shape: FileShape {
                header,
                delimiter,
                encoding,
                bom,
            },
            index,
            warnings,
            utf8_warned: false,
            seen: SeenNumbers::default(),
            now,
        })
    }

    /// The file's header, separator and encoding.
    pub fn shape(&self) -> &FileShape {
        &self.shape
    }

    /// What the header holds that is not used (columns ignored), with the line.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Bytes of the file read so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.records.reader().position().byte()
    }

    fn check(&mut self, record: &csv::ByteRecord, line: u64) -> Result<Row, String> {
        let width = self.shape.header.len();
        if record.len() != width {
            let quote = if record.iter().any(|f| f.contains(&b'\n')) {
                " (a quote opened here is perhaps never closed: the rows after it were read as \
                 part of this one)"
            } else {
                ""
            };
            return Err(format!(
                "{} fields where the header has {width}{quote}",
                record.len()
            ));
        }
        if self.shape.encoding == TextEncoding::Windows1252 && !self.utf8_warned {
            let looks_utf8 = record
                .iter()
                .any(|f| !f.is_ascii() && std::str::from_utf8(f).is_ok());
            if looks_utf8 {
                self.utf8_warned = true;
                self.warnings.push(format!(
                    "line {line}: this row reads as UTF-8 (accents such as é would become Ã©): \
                     if the file is UTF-8, import it without --encoding"
                ));
            }
        }
        let mut values = Vec::with_capacity(self.index.len());
        for (name, at) in &self.index {
            values.push(
                decode(record.get(*at).unwrap_or_default(), self.shape.encoding)
                    .map_err(|e| format!("{name}: {e}"))?,
            );
        }
        let field = |name: &str| {
            self.index
                .iter()
                .position(|(n, _)| *n == name)
                .map(|i| &*values[i])
                .unwrap_or_default()
        };
        let (account, format) = row(
            field("client_number"),
            field("kind"),
            field("label"),
            field("contact_email"),
            field("legacy_hash"),
            self.now,
        )?;
        let account = with_names(account, (field("given_name"), field("family_name")))?;
        if let Some(first) = self.seen.insert(&account.client_number, line) {
            return Err(format!(
                "client number {} already on line {first}",
                account.client_number
            ));
        }
        Ok(Row::Valid {
            line,
            account,
            format,
        })
    }
}

impl<R: Read> Iterator for CustomerRows<R> {
    type Item = Row;

    /// The next row that is not blank, valid or rejected.
    fn next(&mut self) -> Option<Row> {
        loop {
            let record = match self.records.next()? {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    return Some(Row::Rejected {
                        rejected: Rejected {
                            line,
                            reason: format!("unreadable row: {e}"),
                        },
                        raw: csv::ByteRecord::new(),
                    });
                }
            };
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.iter().all(|f| f.is_empty()) {
                continue;
            }
            return Some(match self.check(&record, line) {
                Ok(row) => row,
                Err(reason) => Row::Rejected {
                    rejected: Rejected { line, reason },
                    raw: record,
                },
            });
        }
    }
}

/// A name in a message, unquoted: at most 40 characters.
fn shown_bare(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// A value quoted in a message, as it is (whoever prints the message escapes what a terminal
/// would act on): at most 40 characters (a 10 MB field is not copied into the report).
fn shown(value: &str) -> String {
    format!("\"{}\"", shown_bare(value))
}

fn row(
    client_number: &str,
    kind: &str,
    label: &str,
    contact: &str,
    hash: &str,
    now: OffsetDateTime,
) -> Result<(CustomerAccount, HashFormat), String> {
    let client_number = normalize_client_number(client_number)
        .ok_or_else(|| format!("invalid client number {}", shown(client_number)))?;
    let kind = AccountKind::parse(kind)
        .ok_or_else(|| format!("kind must be personal or professional, not {}", shown(kind)))?;
    if label.is_empty()
        || label.chars().count() > 255
        || label
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(
            "label must have 1 to 255 characters, without control characters other than line \
             breaks and tabs"
                .into(),
        );
    }
    let contact_email = email::parse(contact)
        .map_err(|e| format!("invalid contact email {}: {e}", shown(contact)))?;
    if hash.is_empty() {
        return Err("legacy_hash is empty".into());
    }
    let format = LegacyHash::parse(hash)
        .map_err(|e| format!("legacy_hash: {e}"))?
        .format();
    let account = CustomerAccount {
        client_number,
        kind,
        label: label.to_string(),
        contact_email,
        legacy_hash: Some(hash.to_string()),
        status: AccountStatus::Legacy,
        created_at: now,
        given_name: None,
        family_name: None,
    };
    Ok((account, format))
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

/// How an import file is laid out, as read from its first line: what a rejects file needs to
/// be written in the same shape.
#[derive(Debug, Clone)]
pub struct FileShape {
    /// The header's fields as the file holds them (without a byte-order mark).
    pub header: csv::ByteRecord,
    /// The field separator (`b','` or `b';'`).
    pub delimiter: u8,
    /// The encoding the fields are read in.
    pub encoding: TextEncoding,
    /// Whether the file began with a UTF-8 byte-order mark.
    pub bom: bool,
}

/// What an import tells as it goes: the CLI prints rejected rows as they come, writes them to a
/// rejects file, and shows progress. Every method does nothing by default.
pub trait ImportWatcher {
    /// The header was read.
    fn opened(&mut self, _shape: &FileShape) {}
    /// A row was rejected; `raw` holds its fields undecoded (empty when the row could not be
    /// split into fields).
    fn rejected(&mut self, _rejected: &Rejected, _raw: &csv::ByteRecord) {}
    /// After every batch and at the end: data rows read so far (valid or rejected) and bytes of
    /// the file read.
    fn progress(&mut self, _rows: u64, _bytes: u64) {}
}

/// A watcher that watches nothing.
pub struct Unwatched;

impl ImportWatcher for Unwatched {}

/// How to run an import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions<'a> {
    /// The file's encoding and separator.
    pub format: CsvFormat,
    /// The file's name, for the audit event.
    pub source: Option<&'a str>,
    /// Check every row and write nothing (no audit event either).
    pub dry_run: bool,
}

/// Rejected rows kept in an [`ImportReport`] (all are counted and given to the watcher).
pub const REPORTED_REJECTS: usize = 1000;

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
        self.import_customers_from(input, CsvFormat::default(), None, now)
            .await
    }

    /// [`Accounts::import_customers`] for a file in `format`; `source` (the file's name) goes
    /// to the audit event.
    ///
    /// Errors: as [`Accounts::import_customers`].
    pub async fn import_customers_from<R: Read>(
        &self,
        input: R,
        format: CsvFormat,
        source: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<ImportReport, ImportError> {
        let options = ImportOptions {
            format,
            source,
            dry_run: false,
        };
        self.import_customers_watched(input, options, &mut Unwatched, now)
            .await
    }

    /// The import, streamed: rows are read, checked and written one batch at a time (memory
    /// stays bounded whatever the file's size), the watcher told of each rejected row and of
    /// the progress after each batch. A dry run checks every row and writes nothing (its
    /// `counts` stay zero; `valid` says how many rows would be imported). The report counts the
    /// valid rows by kind and by hash format, and warns about weak (unsalted) formats, which
    /// are imported: their holders replace them at the upgrade.
    ///
    /// Errors: as [`Accounts::import_customers`].
    pub async fn import_customers_watched<R: Read>(
        &self,
        input: R,
        options: ImportOptions<'_>,
        watcher: &mut dyn ImportWatcher,
        now: OffsetDateTime,
    ) -> Result<ImportReport, ImportError> {
        let event = |report: &ImportReport, failed: Option<&str>| {
            let actor = gan_audit::current()
                .actor
                .unwrap_or_else(|| Actor::admin("unknown"));
            let event = match failed {
                None => AuditEvent::success(EventType::CustomersImported, actor, now),
                Some(reason) => AuditEvent::failure(EventType::CustomersImported, actor, now)
                    .with("reason", reason),
            };
            let event = event
                .with("created", report.counts.created)
                .with("updated", report.counts.updated)
                .with("rejected", report.rejected_count);
            match options.source {
                Some(file) => event.with("file", file),
                None => event,
            }
        };
        let mut report = ImportReport {
            dry_run: options.dry_run,
            ..ImportReport::default()
        };
        let mut rows = match CustomerRows::open(input, options.format, now) {
            Ok(rows) => rows,
            Err(e) => {
                if !options.dry_run {
                    self.audit(event(&report, Some("unreadable_header"))).await;
                }
                return Err(ImportError::Unreadable(e));
            }
        };
        watcher.opened(rows.shape());
        let mut read = 0u64;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let row = rows.next();
            let end = row.is_none();
            match row {
                Some(Row::Valid {
                    account, format, ..
                }) => {
                    read += 1;
                    report.valid += 1;
                    *report.by_kind.entry(account.kind.as_str()).or_default() += 1;
                    *report.by_format.entry(format).or_default() += 1;
                    if !options.dry_run {
                        batch.push(account);
                    }
                }
                Some(Row::Rejected { rejected, raw }) => {
                    read += 1;
                    watcher.rejected(&rejected, &raw);
                    report.rejected_count += 1;
                    if report.rejected.len() < REPORTED_REJECTS {
                        report.rejected.push(rejected);
                    }
                }
                None => {}
            }
            if batch.len() >= BATCH || (end && !batch.is_empty()) {
                match self.ports.customers.upsert_customers(&batch, now).await {
                    Ok(c) => {
                        report.counts.created += c.created;
                        report.counts.updated += c.updated;
                        batch.clear();
                    }
                    Err(e) => {
                        self.audit(event(&report, Some("unavailable"))).await;
                        return Err(ImportError::Unavailable {
                            error: e.into(),
                            written: report.counts,
                        });
                    }
                }
            }
            // `is_multiple_of` is newer than the workspace's rust-version (1.85).
            #[allow(clippy::manual_is_multiple_of)]
            let batch_read = read % BATCH as u64 == 0;
            if end || batch_read {
                watcher.progress(read, rows.bytes_read());
            }
            if end {
                break;
            }
        }
        report.warnings = rows.warnings().to_vec();
        if read == 0 {
            report
                .warnings
                .push("the file holds a header and no rows".to_string());
        }
        let imported = if options.dry_run {
            "would be imported"
        } else {
            "imported"
        };
        for (format, count) in &report.by_format {
            if format.is_weak() {
                let (rows, hold) = if *count == 1 {
                    ("row", "holds")
                } else {
                    ("rows", "hold")
                };
                report.warnings.push(format!(
                    "{count} {rows} {hold} {} hashes, which one precomputed table reverses: \
                     {imported} all the same (each is replaced by an argon2id hash when its \
                     holder upgrades)",
                    format.name()
                ));
            }
        }
        if !options.dry_run {
            self.audit(event(&report, None)).await;
        }
        Ok(report)
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

    fn hash() -> &'static str {
        "sha256$s$6e1cdc49d0294d1d3bcf13fda9d866af85faf12a5c73afdda71d0bcc60159936"
    }

    #[test]
    fn a_french_spreadsheet_export_reads_as_it_is() {
        // Semicolons, Windows-1252, CRLF, a quoted field holding the separator and a newline.
        let text = format!(
            "client_number;kind;label;contact_email;legacy_hash;given_name;family_name\r\n\
             20000001;personal;\"Maison; Lyon\nBât. B\";h@example.fr;{h};Hélène;Dupré\r\n\
             20000002;professional;Société Générale;p@example.fr;{h};;\r\n",
            h = hash()
        );
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
        let format = CsvFormat {
            encoding: TextEncoding::Windows1252,
            delimiter: None,
        };
        let parsed = parse_with(&bytes[..], format, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert_eq!(parsed.rows[0].label, "Maison; Lyon\nBât. B");
        assert_eq!(parsed.rows[0].given_name.as_deref(), Some("Hélène"));
        assert_eq!(parsed.rows[0].family_name.as_deref(), Some("Dupré"));
        assert_eq!(parsed.rows[1].label, "Société Générale");

        // The same bytes read as UTF-8 (the default): each row says which option reads it, on
        // its own line (the header is line 1).
        let parsed =
            parse_with(&bytes[..], CsvFormat::default(), OffsetDateTime::UNIX_EPOCH).unwrap();
        let lines: Vec<u64> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4]);
        assert!(parsed.rejected[0]
            .reason
            .contains("--encoding windows-1252"));
    }

    #[test]
    fn crlf_and_lone_cr_become_lf_across_reads() {
        // One byte at a time: the CR of a CRLF is always at the end of a read.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                out[0] = *first;
                self.0 = rest;
                Ok(1)
            }
        }
        let mut text = Vec::new();
        CrlfToLf {
            inner: Trickle(b"a\r\nb\rc\r\n\r"),
            held_cr: false,
        }
        .read_to_end(&mut text)
        .unwrap();
        assert_eq!(text, b"a\nb\nc\n\n");
    }

    #[test]
    fn a_byte_order_mark_means_utf8_and_unknown_columns_are_named_once() {
        let text = format!(
            "\u{feff}client_number,kind,label,contact_email,legacy_hash,agence,note\n\
             20000003,personal,Zoë,z@example.fr,{h},Lyon,x\n",
            h = hash()
        );
        let format = CsvFormat {
            encoding: TextEncoding::Windows1252,
            delimiter: None,
        };
        let parsed = parse_with(text.as_bytes(), format, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(parsed.rows[0].label, "Zoë", "the BOM wins over the option");
        assert_eq!(
            parsed.warnings,
            vec!["line 1: columns ignored: agence, note"]
        );
    }

    #[test]
    fn broken_headers_say_what_is_wrong() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let dup = "client_number,kind,label,contact_email,legacy_hash,kind\n";
        assert!(parse(dup.as_bytes(), at)
            .unwrap_err()
            .contains("appears twice"));
        assert!(parse("".as_bytes(), at).unwrap_err().contains("empty"));
        let missing = parse("client_number;kind\n".as_bytes(), at).unwrap_err();
        assert!(
            missing.contains("label") && missing.contains("line 1"),
            "{missing}"
        );
        // Not text at all: no header.
        let binary = [0u8, 159, 146, 150, 0, 1, 2];
        assert!(parse(&binary[..], at).is_err());
        // Header only: nothing to import, nothing rejected.
        let only = "client_number,kind,label,contact_email,legacy_hash\r\n";
        let parsed = parse(only.as_bytes(), at).unwrap();
        assert!(parsed.rows.is_empty() && parsed.rejected.is_empty());
    }

    #[test]
    fn a_wrong_header_is_fatal() {
        assert!(parse("a,b,c\n1,2,3\n".as_bytes(), OffsetDateTime::UNIX_EPOCH).is_err());
        assert!(parse("".as_bytes(), OffsetDateTime::UNIX_EPOCH).is_err());
    }

    #[test]
    fn rows_of_the_wrong_width_mac_line_endings_and_utf16_say_what_is_wrong() {
        let at = OffsetDateTime::UNIX_EPOCH;
        // CR alone ends lines ("CSV (Macintosh)"); column names in any case; a short row, a
        // long row, and a quote never closed, each rejected on its own line.
        let text = format!(
            "Client_Number,KIND, Label ,contact_email,legacy_hash\r\
             20000001,personal,A,a@example.fr,{h}\r\
             20000002,personal,B,b@example.fr\r\
             20000003,personal,C,c@example.fr,{h},extra\r\
             20000004,personal,\"D,d@example.fr,{h}\r\
             20000005,personal,E,e@example.fr,{h}\r",
            h = hash()
        );
        let parsed = parse(text.as_bytes(), at).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        let rejected: Vec<(u64, &str)> = parsed
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(rejected[0], (3, "4 fields where the header has 5"));
        assert_eq!(rejected[1], (4, "6 fields where the header has 5"));
        assert_eq!(rejected[2].0, 5);
        assert!(rejected[2].1.contains("never closed"), "{}", rejected[2].1);
        // UTF-16, as "Unicode text" saves it.
        let utf16: Vec<u8> = b"\xFF\xFEc\0l\0".to_vec();
        assert!(parse(&utf16[..], at).unwrap_err().contains("UTF-16"));
        // A UTF-8 file read as Windows-1252 is imported as asked, with a warning.
        let text = format!(
            "client_number,kind,label,contact_email,legacy_hash\n\
             20000006,personal,Hélène,h@example.fr,{h}\n",
            h = hash()
        );
        let format = CsvFormat {
            encoding: TextEncoding::Windows1252,
            delimiter: None,
        };
        let parsed = parse_with(text.as_bytes(), format, at).unwrap();
        assert!(
            parsed.warnings[0].contains("reads as UTF-8"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn numbers_seen_are_found_again_exactly_across_growth() {
        let mut seen = SeenNumbers::default();
        for i in 0..100_000u64 {
            assert_eq!(seen.insert(&format!("N{i:07}"), i + 2), None);
        }
        for i in (0..100_000u64).step_by(997) {
            assert_eq!(seen.insert(&format!("N{i:07}"), 0), Some(i + 2));
        }
        assert_eq!(
            seen.insert("N99999999", 7),
            None,
            "a longer number is another"
        );
    }
}
