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

/// HMAC-SHA256 under a 32-byte key. A key shorter than the 64-byte block is zero-padded to it
/// (RFC 2104 §2), so padding it here gives the same MAC through the infallible constructor.
fn hmac_sha256(key: &[u8; 32]) -> hmac::Hmac<Sha256> {
    use hmac::digest::KeyInit;
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <hmac::Hmac<Sha256> as KeyInit>::new(&block.into())
}

/// A 32-byte key for one `purpose`, derived from a root secret (the key-encryption key):
/// HMAC-SHA256(root, "gan-connect/" ‖ purpose). Keys of different purposes are independent,
/// and every process holding the same root derives the same key.
pub fn derive_key(root: &[u8; 32], purpose: &str) -> [u8; 32] {
    use hmac::Mac;
    let mut mac = hmac_sha256(root);
    mac.update(b"gan-connect/");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// A keyed hash, for values people type that must be counted or matched but never read back
/// (identifiers in throttle keys): without the key, a copy of the database cannot test guesses
/// against the stored form the way it could against a plain SHA-256.
#[derive(Clone)]
pub struct KeyedHash {
    key: [u8; 32],
}

impl std::fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyedHash(..)")
    }
}

impl Default for KeyedHash {
    /// A random key: the stored forms last as long as the process (tests, in-memory engines).
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self { key }
    }
}

impl KeyedHash {
    /// Under a 32-byte key (see [`derive_key`]).
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// base64url(HMAC-SHA256(key, value)), 43 characters.
    pub fn hash(&self, value: &str) -> String {
        use hmac::Mac;
        let mut mac = hmac_sha256(&self.key);
        mac.update(value.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
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

    #[test]
    fn keyed_hashes_depend_on_the_key_and_derived_keys_on_the_purpose() {
        let root = [5u8; 32];
        let a = KeyedHash::new(derive_key(&root, "throttle-keys"));
        let again = KeyedHash::new(derive_key(&root, "throttle-keys"));
        let other = KeyedHash::new(derive_key(&root, "something-else"));
        assert_eq!(a.hash("TR0UB4DOR2024"), again.hash("TR0UB4DOR2024"));
        assert_ne!(a.hash("TR0UB4DOR2024"), other.hash("TR0UB4DOR2024"));
        assert_ne!(a.hash("TR0UB4DOR2024"), hash_handle("TR0UB4DOR2024"));
        assert_eq!(a.hash("x").len(), 43);
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?"), the key
        // padded as `hmac_sha256` pads it.
        use hmac::Mac;
        let mut jefe = [0u8; 32];
        jefe[..4].copy_from_slice(b"Jefe");
        let mut mac = hmac_sha256(&jefe);
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
