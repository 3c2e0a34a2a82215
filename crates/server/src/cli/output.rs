//! How commands print: human tables by default, JSON with `--json`.
//!
//! Text in the database comes from anyone (an identifier typed at the sign-in page, a client
//! number sent to the attach form, a CSV cell), so everything printed for a person goes through
//! [`clean`]: a control character never reaches the terminal, where it could set the title,
//! erase lines or forge rows. `--json` prints the values exactly, as JSON escapes them.

use std::fmt::Write;

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

/// Text made safe to print on a terminal: control characters (C0 with ESC, BEL and CR, DEL,
/// C1), the Unicode line and paragraph separators, zero-width and bidirectional characters
/// ([`gan_admin::invisible`]) become
/// escapes — `\n`, `\r`, `\t`, else `\u{1b}` as Rust writes them — and a backslash is doubled,
/// so that an escape on screen is one that was in the text.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unprintable(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// A character a terminal may act on or reorder text around rather than show.
fn unprintable(c: char) -> bool {
    gan_admin::invisible(c)
}

/// A table with these headers; every cell is [`clean`]ed.
pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    for r in rows {
        t.add_row(r.iter().map(|cell| clean(cell)).collect::<Vec<_>>());
    }
    println!("{t}");
}

/// The value as JSON, exact (JSON escapes control characters itself).
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A time as RFC 3339, or `-`.
pub fn time(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_else(|| "-".into())
}

/// Key-value lines for one record; every value is [`clean`]ed.
pub fn record(pairs: &[(&str, String)]) {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in pairs {
        println!("{k:<width$}  {}", clean(v));
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        for (raw, shown) in [
            ("10000001", "10000001"),
            ("Jeanne Pétit-Été 日本", "Jeanne Pétit-Été 日本"),
            ("\x1b]0;pwned\x07", "\\u{1b}]0;pwned\\u{7}"),
            ("\x1b[2K\r12345678", "\\u{1b}[2K\\r12345678"),
            ("a\nb\tc\0", "a\\nb\\tc\\u{0}"),
            ("\x7f\u{9b}31m\u{85}", "\\u{7f}\\u{9b}31m\\u{85}"),
            (
                "abc\u{202e}fed\u{2066}\u{2028}",
                "abc\\u{202e}fed\\u{2066}\\u{2028}",
            ),
            ("C:\\u{1b} already", "C:\\\\u{1b} already"),
        ] {
            let cleaned = clean(raw);
            assert_eq!(cleaned, shown);
            assert!(!cleaned.chars().any(|c| c.is_control()), "{cleaned:?}");
        }
    }
}
