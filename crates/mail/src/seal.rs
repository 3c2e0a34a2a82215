//! Queued messages are sealed at rest: the links and client numbers they carry work as
//! credentials, and a copy of the database (a backup, a replica, a read-only account) must not
//! hold them in clear.
//!
//! The key is derived from the server's key-encryption key (`keys.encryption_key`, the one that
//! seals private signing keys) for this one purpose, so a sealed message and a sealed signing key
//! can never be taken for one another. Each message is sealed with AES-256-GCM under a fresh
//! random nonce, with its row id as associated data: a sealed body moved to another row does not
//! open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::Message;

/// What the derived key is for (HKDF-Expand's `info`, RFC 5869 §2.3).
const PURPOSE: &[u8] = b"gan-connect mail_queue envelope v1";

/// Prefix of the associated data: the purpose, then the row id.
const AAD_PREFIX: &[u8] = b"gan-connect mail_queue row:";

/// Why a sealed message could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The cipher failed to encrypt (it does not, for messages of any sane size).
    #[error("cannot seal the message")]
    Seal,
    /// Not what [`MailSealer::seal`] writes, sealed under another key (a different
    /// `keys.encryption_key` in this process), or sealed for another row.
    #[error("cannot open the queued message: tampered, moved from another row, or sealed under another keys.encryption_key")]
    Open,
}

/// Seals and opens queued messages.
pub struct MailSealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MailSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailSealer(..)")
    }
}

impl MailSealer {
    /// From the 32-byte key-encryption key: the mail key is HKDF-Expand(SHA-256) of it for this
    /// purpose (one block: HMAC-SHA256(kek, info ‖ 0x01)). The key-encryption key is 32 random
    /// bytes already, so HKDF-Extract adds nothing (RFC 5869 §3.3).
    pub fn new(key_encryption_key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(&derive(key_encryption_key).into()),
        }
    }

    /// Seals `message` for the row `id`: base64url(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, id: &str, message: &Message) -> Result<String, SealError> {
        let plaintext = serde_json::to_vec(message).map_err(|_| SealError::Seal)?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = aad(id);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens what [`seal`](Self::seal) wrote for the row `id`.
    pub fn open(&self, id: &str, sealed: &str) -> Result<Message, SealError> {
        let raw = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SealError::Open)?;
        if raw.len() < 12 + 16 {
            return Err(SealError::Open);
        }
        let (nonce, ct) = raw.split_at(12);
        let aad = aad(id);
        let plaintext = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| SealError::Open)?;
        serde_json::from_slice(&plaintext).map_err(|_| SealError::Open)
    }
}

/// HMAC-SHA256(kek, PURPOSE ‖ 0x01). HMAC pads a key shorter than its 64-byte block with zeros
/// (RFC 2104 §2): this is HMAC under the 32-byte key, built without a fallible length check.
fn derive(kek: &[u8; 32]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(kek);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    mac.update(PURPOSE);
    mac.update(&[1]);
    mac.finalize().into_bytes().into()
}

fn aad(id: &str) -> Vec<u8> {
    let mut aad = AAD_PREFIX.to_vec();
    aad.extend_from_slice(id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            to: "jean@example.fr".into(),
            subject: "Réinitialisation".into(),
            text: "https://id.example.fr/password/reset?token=gcl_secret".into(),
            html: "<a href=\"https://id.example.fr/password/reset?token=gcl_secret\">ici</a>"
                .into(),
        }
    }

    #[test]
    fn sealed_for_one_row_under_one_key() {
        let sealer = MailSealer::new(&[7u8; 32]);
        let sealed = sealer.seal("row-1", &message()).unwrap_or_default();
        assert!(!sealed.contains("gcl_secret") && !sealed.contains("jean"));
        assert_eq!(sealer.open("row-1", &sealed).ok(), Some(message()));
        assert_ne!(
            sealed,
            sealer.seal("row-1", &message()).unwrap_or_default(),
            "a fresh nonce each time"
        );
        assert!(
            matches!(sealer.open("row-2", &sealed), Err(SealError::Open)),
            "moved to another row"
        );
        assert!(matches!(
            MailSealer::new(&[8u8; 32]).open("row-1", &sealed),
            Err(SealError::Open)
        ));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap_or_default();
        assert!(matches!(
            sealer.open("row-1", &tampered),
            Err(SealError::Open)
        ));
        assert!(matches!(
            sealer.open("row-1", "short"),
            Err(SealError::Open)
        ));
        assert!(matches!(sealer.open("row-1", "!!"), Err(SealError::Open)));
    }

    #[test]
    fn the_mail_key_is_hkdf_expand_of_the_key_encryption_key() {
        let kek = [5u8; 32];
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&kek) else {
            unreachable!("HMAC takes 32-byte keys")
        };
        mac.update(PURPOSE);
        mac.update(&[1]);
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(derive(&kek), expected);
        assert_ne!(derive(&kek), kek);
    }

    #[test]
    fn the_mail_key_is_not_the_key_encryption_key() {
        // What the signing-key sealer would produce with the raw key does not open here.
        let kek = [9u8; 32];
        let raw = Aes256Gcm::new(&kek.into());
        let nonce = [0u8; 12];
        let plaintext = serde_json::to_vec(&message()).unwrap_or_default();
        let aad = aad("row-1");
        let ct = raw
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ct);
        assert!(MailSealer::new(&kek)
            .open("row-1", &URL_SAFE_NO_PAD.encode(sealed))
            .is_err());
    }
}
