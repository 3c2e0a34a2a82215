//! The customer import: CSV parsing, row validation and legacy hash parsing (never a panic,
//! costs bounded).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = time::OffsetDateTime::UNIX_EPOCH;
    if let Ok(parsed) = gan_accounts::import::parse(data, now) {
        for row in parsed.rows {
            if let Some(hash) = row.legacy_hash.as_deref() {
                let _ = gan_accounts::legacy::LegacyHash::parse(hash);
            }
        }
    }
});
