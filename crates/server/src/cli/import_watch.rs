//! What `customers import` shows while it runs: each rejected row on stdout (and in the rejects
//! file when asked), progress on stderr (a bar on a terminal, a line every few seconds
//! otherwise, nothing with `--quiet`).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use gan_accounts::import::{FileShape, ImportWatcher, Rejected, TextEncoding};

use super::output;

/// How often a progress line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Rejected rows printed one by one; the others are counted (and all go to `--rejects`).
const PRINTED_REJECTS: u64 = 1000;

/// Standard output that may be closed under us (`| head`, a pager quit): the import goes on to
/// its end and its audit event, the lines are no longer written, and that is said on stderr.
#[derive(Default)]
pub struct Out {
    closed: bool,
}

impl Out {
    /// Writes one line, unless standard output was closed.
    pub fn line(&mut self, text: &str) {
        if self.closed {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{text}")
            .and_then(|_| stdout.flush())
            .is_err()
        {
            self.closed = true;
        }
    }

    /// Whether a write failed.
    pub fn was_closed(&self) -> bool {
        self.closed
    }
}

/// The rejected rows, written in the input's columns, separator and encoding with a `reason`
/// column, so that the file can be fixed and imported as it is.
pub struct RejectsFile {
    file: Option<std::fs::File>,
    writer: Option<csv::Writer<std::io::BufWriter<std::fs::File>>>,
    encoding: TextEncoding,
    width: usize,
    /// The input's own `reason` column (a rejects file imported again): the reason goes there.
    reason_at: Option<usize>,
    delimiter: u8,
    error: Option<String>,
}

impl RejectsFile {
    /// Creates the file, mode 0600 where modes exist: its rows hold legacy hashes. An existing
    /// file (the input itself, say) or a symbolic link is never written through.
    ///
    /// Errors: the file exists or cannot be created.
    pub fn create(path: &std::path::Path) -> anyhow::Result<Self> {
        if std::fs::symlink_metadata(path).is_ok() {
            anyhow::bail!(
                "{} already exists (--rejects never overwrites a file): choose another name",
                output::clean(&path.display().to_string())
            );
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(path)
            .with_context(|| format!("cannot create {} (--rejects)", path.display()))?;
        Ok(Self {
            file: Some(file),
            writer: None,
            encoding: TextEncoding::Utf8,
            width: 0,
            reason_at: None,
            delimiter: b',',
            error: None,
        })
    }

    fn encode(&self, text: &str) -> Vec<u8> {
        match self.encoding {
            TextEncoding::Utf8 => text.as_bytes().to_vec(),
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252.encode(text).0.into_owned(),
        }
    }

    fn opened(&mut self, shape: &FileShape) {
        let Some(file) = self.file.take() else {
            return;
        };
        self.encoding = shape.encoding;
        self.width = shape.header.len();
        self.delimiter = shape.delimiter;
        self.reason_at = shape
            .header
            .iter()
            .position(|name| name.trim_ascii().eq_ignore_ascii_case(b"reason"));
        let mut out = std::io::BufWriter::new(file);
        if shape.bom {
            if let Err(e) = out.write_all(b"\xEF\xBB\xBF") {
                self.error = Some(e.to_string());
            }
        }
        let mut writer = csv::WriterBuilder::new()
            .delimiter(shape.delimiter)
            .flexible(true)
            .from_writer(out);
        let mut header = shape.header.clone();
        if self.reason_at.is_none() {
            header.push_field(&self.encode("reason"));
        }
        if let Err(e) = writer.write_byte_record(&header) {
            self.error.get_or_insert(e.to_string());
        }
        self.writer = Some(writer);
    }

    fn rejected(&mut self, rejected: &Rejected, raw: &csv::ByteRecord) {
        // The row in the header's columns: a short row padded, a long one's extra fields moved
        // into the reason, so that the reason is always the last column (or the input's own
        // `reason` column).
        let mut reason = format!("line {}: {}", rejected.line, rejected.reason);
        if raw.len() > self.width {
            let extra = raw
                .iter()
                .skip(self.width)
                .collect::<Vec<_>>()
                .join(&self.delimiter);
            reason.push_str(&format!(
                " (the extra fields: {})",
                String::from_utf8_lossy(&extra)
            ));
        }
        let reason = self.encode(&output::clean(&reason));
        let mut row = csv::ByteRecord::new();
        for i in 0..self.width {
            if Some(i) == self.reason_at {
                row.push_field(&reason);
            } else {
                row.push_field(raw.get(i).unwrap_or_default());
            }
        }
        if self.reason_at.is_none() {
            row.push_field(&reason);
        }
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        if let Err(e) = writer.write_byte_record(&row) {
            self.error.get_or_insert(e.to_string());
        }
    }

    fn finish(&mut self) -> Option<String> {
        if let Some(mut writer) = self.writer.take() {
            if let Err(e) = writer.flush() {
                self.error.get_or_insert(e.to_string());
            }
        }
        self.error.take()
    }
}

/// Progress as shown where stderr goes.
enum Progress {
    Quiet,
    Bar(indicatif::ProgressBar),
    Lines { last: Instant },
}

/// The watcher of a CLI import.
pub struct CliWatcher {
    progress: Progress,
    started: Instant,
    size: u64,
    rejects: Option<RejectsFile>,
    rejected: u64,
    /// Standard output.
    pub out: Out,
}

impl CliWatcher {
    /// A watcher for a file of `size` bytes.
    pub fn new(size: u64, quiet: bool, rejects: Option<RejectsFile>) -> Self {
        let progress = if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(size);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}, {eta} left")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                last: Instant::now(),
            }
        };
        Self {
            progress,
            started: Instant::now(),
            size,
            rejects,
            rejected: 0,
            out: Out::default(),
        }
    }

    /// Ends the progress display and closes the rejects file; the rows written to it, or the
    /// error met writing it.
    pub fn finish(&mut self) -> Option<Result<u64, String>> {
        if let Progress::Bar(bar) = &self.progress {
            bar.finish_and_clear();
        }
        if self.rejected > PRINTED_REJECTS {
            self.out.line(&format!(
                "… and {} more rejected rows, not printed",
                self.rejected - PRINTED_REJECTS
            ));
        }
        // Every rejected row goes to the rejects file, when there is one.
        let rejects = self.rejects.as_mut()?;
        Some(match rejects.finish() {
            Some(e) => Err(e),
            None => Ok(self.rejected),
        })
    }

    fn print(&mut self, line: String) {
        match &self.progress {
            Progress::Bar(bar) => {
                let out = &mut self.out;
                bar.suspend(|| out.line(&line));
            }
            _ => self.out.line(&line),
        }
    }
}

impl ImportWatcher for CliWatcher {
    fn opened(&mut self, shape: &FileShape) {
        if let Some(rejects) = self.rejects.as_mut() {
            rejects.opened(shape);
        }
    }

    fn rejected(&mut self, rejected: &Rejected, raw: &csv::ByteRecord) {
        self.rejected += 1;
        if self.rejected <= PRINTED_REJECTS {
            self.print(format!(
                "line {}: rejected: {}",
                rejected.line,
                output::clean(&rejected.reason)
            ));
        }
        if let Some(rejects) = self.rejects.as_mut() {
            rejects.rejected(rejected, raw);
        }
    }

    fn progress(&mut self, rows: u64, bytes: u64) {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = rows as f64 / elapsed;
        match &mut self.progress {
            Progress::Quiet => {}
            Progress::Bar(bar) => {
                bar.set_position(bytes);
                bar.set_message(format!("{rows} rows, {rate:.0} rows/s"));
            }
            Progress::Lines { last } => {
                if last.elapsed() < LINE_EVERY {
                    return;
                }
                *last = Instant::now();
                let left = if bytes > 0 && self.size > bytes {
                    let per_byte = elapsed / bytes as f64;
                    format!(
                        ", about {:.0} s left",
                        per_byte * (self.size - bytes) as f64
                    )
                } else {
                    String::new()
                };
                eprintln!("progress: {rows} rows, {rate:.0} rows/s{left}");
            }
        }
    }
}
