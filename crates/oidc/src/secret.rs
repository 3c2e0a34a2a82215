//! Random handles and their hashes: only hashes of codes, tokens and session ids are stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh random handle of 32 bytes, base64url, with a readable prefix.
pub fn new_handle(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a handle: base64url(SHA-256(handle)).
pub fn hash_handle(handle: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(handle.as_bytes()))
}

/// Compares two secrets in constant time.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_unique_and_hashes_stable() {
        let a = new_handle("x_");
        let b = new_handle("x_");
        assert_ne!(a, b);
        assert!(a.starts_with("x_"));
        assert_eq!(hash_handle(&a), hash_handle(&a));
        assert_ne!(hash_handle(&a), a);
        assert_eq!(
            hash_handle("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
