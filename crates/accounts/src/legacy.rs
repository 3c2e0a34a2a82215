//! Legacy password hashes met in migrations: bcrypt, PBKDF2-SHA256 as Django writes it, argon2
//! PHC strings, and salted SHA-256. A malformed hash never panics: it fails the check.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A recognised legacy hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyHash {
    /// A bcrypt hash (`$2a$`, `$2b$`, `$2y$`), cost 4 to 15.
    Bcrypt(String),
    /// `pbkdf2_sha256$ITERATIONS$SALT$BASE64_KEY` (32-byte key, salt used as text).
    Pbkdf2Sha256 {
        /// PBKDF2 rounds (at most 5 000 000).
        iterations: u32,
        /// The salt, used as text.
        salt: String,
        /// The 32-byte derived key.
        key: Vec<u8>,
    },
    /// An argon2 PHC string (at most 256 MiB of memory).
    Argon2(String),
    /// `sha256$SALT$HEX`, HEX = hex(sha256(SALT + password)).
    SaltedSha256 {
        /// The salt, prepended to the password.
        salt: String,
        /// The 32-byte SHA-256 digest.
        digest: Vec<u8>,
    },
}

/// Bounds that keep a hostile hash from costing minutes of CPU.
const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;
const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
const MAX_BCRYPT_COST: u32 = 15;

fn unhex(s: &str) -> Option<Vec<u8>> {
    // `is_multiple_of` is newer than the workspace's rust-version (1.85).
    #[allow(clippy::manual_is_multiple_of)]
    let odd = s.len() % 2 != 0;
    if odd {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl LegacyHash {
    /// Recognises a stored hash; the error says why not.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("$2a$") || raw.starts_with("$2b$") || raw.starts_with("$2y$") {
            if raw.len() != 60 {
                return Err("bcrypt hash must be 60 characters".into());
            }
            let cost: u32 = raw
                .get(4..6)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| "bcrypt cost must be two digits".to_string())?;
            if !(4..=MAX_BCRYPT_COST).contains(&cost) {
                return Err(format!(
                    "bcrypt cost {cost} out of range (4 to {MAX_BCRYPT_COST})"
                ));
            }
            return Ok(Self::Bcrypt(raw.to_string()));
        }
        if raw.starts_with("$argon2") {
            let parsed = argon2::PasswordHash::new(raw).map_err(|e| format!("argon2 hash: {e}"))?;
            if parsed.hash.is_none() || parsed.salt.is_none() {
                return Err("argon2 hash lacks its salt or digest".into());
            }
            let params =
                argon2::Params::try_from(&parsed).map_err(|e| format!("argon2 parameters: {e}"))?;
            if params.m_cost() > MAX_ARGON2_MEMORY_KIB {
                return Err("argon2 memory cost is too high".into());
            }
            return Ok(Self::Argon2(raw.to_string()));
        }
        if let Some(rest) = raw.strip_prefix("pbkdf2_sha256$") {
            let mut parts = rest.splitn(3, '$');
            let (Some(it), Some(salt), Some(key)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err("pbkdf2_sha256 hash must be pbkdf2_sha256$ITERATIONS$SALT$KEY".into());
            };
            let iterations: u32 = it
                .parse()
                .map_err(|_| "pbkdf2 iterations must be a number".to_string())?;
            if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
                return Err("pbkdf2 iterations out of range".into());
            }
            let key = STANDARD
                .decode(key)
                .map_err(|_| "pbkdf2 key must be base64".to_string())?;
            if key.len() != 32 || salt.is_empty() {
                return Err("pbkdf2 key must be 32 bytes and the salt non-empty".into());
            }
            return Ok(Self::Pbkdf2Sha256 {
                iterations,
                salt: salt.to_string(),
                key,
            });
        }
        if let Some(rest) = raw.strip_prefix("sha256$") {
            let Some((salt, hex)) = rest.rsplit_once('$') else {
                return Err("sha256 hash must be sha256$SALT$HEX".into());
            };
            let digest = unhex(hex)
                .filter(|d| d.len() == 32)
                .ok_or_else(|| "sha256 digest must be 64 hex digits".to_string())?;
            return Ok(Self::SaltedSha256 {
                salt: salt.to_string(),
                digest,
            });
        }
        Err("unknown hash format".into())
    }

    /// Checks a password (CPU-heavy for bcrypt, PBKDF2 and argon2: call from a blocking pool).
    pub fn verify(&self, password: &str) -> bool {
        match self {
            Self::Bcrypt(h) => bcrypt::verify(password, h).unwrap_or(false),
            Self::Argon2(h) => {
                use argon2::PasswordVerifier;
                argon2::PasswordHash::new(h)
                    .map(|parsed| {
                        argon2::Argon2::default()
                            .verify_password(password.as_bytes(), &parsed)
                            .is_ok()
                    })
                    .unwrap_or(false)
            }
            Self::Pbkdf2Sha256 {
                iterations,
                salt,
                key,
            } => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(
                    password.as_bytes(),
                    salt.as_bytes(),
                    *iterations,
                    &mut out,
                );
                bool::from(out.ct_eq(key.as_slice()))
            }
            Self::SaltedSha256 { salt, digest } => {
                let mut h = Sha256::new();
                h.update(salt.as_bytes());
                h.update(password.as_bytes());
                bool::from(h.finalize().as_slice().ct_eq(digest.as_slice()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_verifies_and_refuses() {
        let bcrypt = bcrypt::hash("motdepasse", 4).unwrap_or_default();
        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"motdepasse", b"sel", 1000, &mut key);
        let pbkdf2 = format!("pbkdf2_sha256$1000$sel${}", STANDARD.encode(key));
        let sha = format!(
            "sha256$sel${}",
            Sha256::digest(b"selmotdepasse")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let argon = {
            use argon2::PasswordHasher;
            let salt = argon2::password_hash::SaltString::generate(&mut rand::rngs::OsRng);
            argon2::Argon2::default()
                .hash_password(b"motdepasse", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        };
        for raw in [bcrypt, pbkdf2, sha, argon] {
            let h = LegacyHash::parse(&raw);
            assert!(h.is_ok(), "{raw}: {h:?}");
            let Ok(h) = h else { continue };
            assert!(h.verify("motdepasse"), "{raw}");
            assert!(!h.verify("motdepasse "), "{raw}");
            assert!(!h.verify(""), "{raw}");
        }
    }

    #[test]
    fn vectors_from_an_independent_implementation() {
        // Computed with Python's hashlib (pbkdf2_hmac and sha256), as Django and the legacy
        // system write them.
        let h = LegacyHash::parse(
            "pbkdf2_sha256$10000$seasalt2$skPdPHnAsVEsRcqTNPTvR47tkLzsQWTgrRtM6x/bAR0=",
        );
        assert!(matches!(h, Ok(ref h) if h.verify("lètmein")));
        let h = LegacyHash::parse(
            "sha256$NaCl$6e1cdc49d0294d1d3bcf13fda9d866af85faf12a5c73afdda71d0bcc60159936",
        );
        assert!(matches!(h, Ok(ref h) if h.verify("mot de passe")));
    }

    #[test]
    fn malformed_hashes_are_refused_not_panicking() {
        for raw in [
            "",
            "$2b$10$short",
            "pbkdf2_sha256$x$y$z",
            "pbkdf2_sha256$0$s$AAAA",
            "pbkdf2_sha256$99999999$s$AAAA",
            "sha256$s$zz",
            "sha256$nohex",
            "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdA$aGFzaA",
            "md5$x$y",
            "$argon2id$garbage",
            "$2b$31$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
        ] {
            assert!(LegacyHash::parse(raw).is_err(), "{raw}");
        }
    }
}
