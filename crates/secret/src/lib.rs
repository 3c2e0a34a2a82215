//! Random handles, random ids and the stored form of a handle, in one place for every engine:
//! codes, tokens, session cookies and one-time links are random handles of which only the hash
//! is stored; identities and messages get random ids. Randomness comes from the operating
//! system (`OsRng`).

#![warn(missing_docs)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh random handle: 32 bytes (256 bits) from the OS, base64url without padding (43
/// characters), after a readable `prefix` (`gcc_` for codes, `gcr_` for refresh tokens, …).
pub fn new_handle(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a handle: base64url(SHA-256(handle)), 43 characters. Handles carry 256
/// random bits, so a fast hash is enough (no salt, no stretching).
pub fn hash_handle(handle: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(handle.as_bytes()))
}

/// `bytes` random bytes from the OS as lowercase hex (`2 × bytes` characters): opaque ids.
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Compares two secrets in constant time (for the same length).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_random_and_hash_the_documented_way() {
        let a = new_handle("gcc_");
        assert!(a.starts_with("gcc_") && a.len() == 4 + 43);
        assert_ne!(a, new_handle("gcc_"));
        // base64url(SHA-256("abc")), the test vector of FIPS 180-2.
        assert_eq!(
            hash_handle("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        let id = random_hex(16);
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, random_hex(16));
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"diff"));
        assert!(!constant_time_eq(b"short", b"longer"));
    }
}
