//! Signing keys: generation, encryption at rest, the in-memory key ring and the JWKS document.
//!
//! A new key is published in JWKS `key_publish_delay` before it signs anything, so relying parties
//! that cache JWKS already know it. A retired key stays in JWKS until every token it signed has
//! expired.

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, JwsSigner, JwsVerifier};
use rand::RngCore;
use time::OffsetDateTime;

use crate::error::EngineError;
use crate::model::{SigningAlg, StoredKey};

/// Encrypts private keys before they reach storage.
#[derive(Clone)]
pub struct KeySealer {
    cipher: Aes256Gcm,
    /// The key-encryption key itself, from which keys of other purposes are derived.
    root: [u8; 32],
}

impl std::fmt::Debug for KeySealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySealer(..)")
    }
}

impl KeySealer {
    /// From a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
            root: *key,
        }
    }

    /// A key for another `purpose`, derived from the key-encryption key
    /// ([`gan_secret::derive_key`]): every process configured with the same key derives the same.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        gan_secret::derive_key(&self.root, purpose)
    }

    /// Encrypts `plaintext` with AES-256-GCM under a fresh random 96-bit nonce; returns
    /// base64url(nonce ‖ ciphertext ‖ tag). Fails only if the cipher does (`EngineError::Keys`).
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, EngineError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .map_err(|_| EngineError::Keys("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts what [`seal`](Self::seal) produced. `EngineError::Keys` when it is not base64url,
    /// too short, or does not decrypt under this key (a wrong `keys.encryption_key`, or tampering).
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, EngineError> {
        let raw = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| EngineError::Keys("sealed key is not base64url".into()))?;
        if raw.len() < 13 {
            return Err(EngineError::Keys("sealed key is too short".into()));
        }
        let (nonce, ct) = raw.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| {
                EngineError::Keys("cannot decrypt a signing key: wrong keys.encryption_key?".into())
            })
    }
}

fn keys_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Keys(e.to_string())
}

/// Generates a key pair: (DER private key, public JWK without kid).
fn generate(alg: SigningAlg) -> Result<(Vec<u8>, Jwk), EngineError> {
    match alg {
        SigningAlg::RS256 => {
            let pair = josekit::jws::RS256
                .generate_key_pair(2048)
                .map_err(keys_err)?;
            Ok((pair.to_der_private_key(), pair.to_jwk_public_key()))
        }
        SigningAlg::ES256 => {
            let pair = josekit::jws::ES256.generate_key_pair().map_err(keys_err)?;
            Ok((pair.to_der_private_key(), pair.to_jwk_public_key()))
        }
        SigningAlg::EdDSA => {
            let pair = josekit::jws::EdDSA
                .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                .map_err(keys_err)?;
            Ok((pair.to_der_private_key(), pair.to_jwk_public_key()))
        }
    }
}

fn signer_from_der(alg: SigningAlg, der: &[u8]) -> Result<Box<dyn JwsSigner>, EngineError> {
    Ok(match alg {
        SigningAlg::RS256 => Box::new(josekit::jws::RS256.signer_from_der(der).map_err(keys_err)?),
        SigningAlg::ES256 => Box::new(josekit::jws::ES256.signer_from_der(der).map_err(keys_err)?),
        SigningAlg::EdDSA => Box::new(josekit::jws::EdDSA.signer_from_der(der).map_err(keys_err)?),
    })
}

/// A verifier for a public JWK of one of the algorithms we accept in JWTs sent to us.
pub fn verifier_for(jwk: &Jwk, alg: &str) -> Option<Box<dyn JwsVerifier>> {
    let v: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(jwk).ok()?),
        "PS256" => Box::new(josekit::jws::PS256.verifier_from_jwk(jwk).ok()?),
        "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(jwk).ok()?),
        "EdDSA" => Box::new(josekit::jws::EdDSA.verifier_from_jwk(jwk).ok()?),
        _ => return None,
    };
    Some(v)
}

/// Makes a new key record for `alg`, sealed, published now and active from `active_from`.
pub fn new_key(
    sealer: &KeySealer,
    alg: SigningAlg,
    now: OffsetDateTime,
    active_from: OffsetDateTime,
) -> Result<StoredKey, EngineError> {
    let (der, mut jwk) = generate(alg)?;
    let kid = crate::secret::new_handle("")[..16].to_string();
    jwk.set_key_id(&kid);
    jwk.set_algorithm(alg.as_str());
    jwk.set_key_use("sig");
    Ok(StoredKey {
        kid,
        alg,
        public_jwk: serde_json::Value::Object(jwk.as_ref().clone()),
        private_enc: sealer.seal(&der)?,
        created_at: now,
        active_from,
        retired_at: None,
        expires_at: None,
    })
}

/// The public half of the private key `der` as a JWK (the key's own members only); `None` when
/// `der` is not a private key of `alg` (an altered `alg` column).
fn public_of(alg: SigningAlg, der: &[u8]) -> Option<Jwk> {
    use josekit::jwk::KeyPair;
    Some(match alg {
        SigningAlg::RS256 => josekit::jws::RS256
            .key_pair_from_der(der)
            .ok()?
            .to_jwk_public_key(),
        SigningAlg::ES256 => josekit::jws::ES256
            .key_pair_from_der(der)
            .ok()?
            .to_jwk_public_key(),
        SigningAlg::EdDSA => josekit::jws::EdDSA
            .key_pair_from_der(der)
            .ok()?
            .to_jwk_public_key(),
    })
}

/// Does the stored public JWK hold the public half of the private key `der` (every key member:
/// `n`, `e` for RSA; `crv`, `x`, `y` for EC; `crv`, `x` for OKP)? `false` too when the private
/// key is not one of `alg`.
fn public_matches(alg: SigningAlg, der: &[u8], stored: &serde_json::Value) -> bool {
    let Some(derived) = public_of(alg, der) else {
        return false;
    };
    let derived = derived.as_ref();
    !derived.is_empty()
        && derived
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "kid" | "alg" | "use"))
            .all(|(name, value)| stored.get(name) == Some(value))
}

/// The public JWK of the private key `der`, as published: the key's own members, `kid`, `alg`
/// and `use: sig`, nothing else.
fn published_jwk(alg: SigningAlg, der: &[u8], kid: &str) -> Option<Jwk> {
    let mut jwk = public_of(alg, der)?;
    jwk.set_key_id(kid);
    jwk.set_algorithm(alg.as_str());
    jwk.set_key_use("sig");
    Some(jwk)
}

struct LoadedKey {
    stored: StoredKey,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
}

/// The keys of one moment: what signs, what verifies, and the JWKS document, built once.
pub struct KeyRing {
    keys: Vec<LoadedKey>,
    jwks: Arc<str>,
    /// When the ring was loaded; [`Provider::keys`](crate::Provider::keys) reloads it after
    /// `key_reload_interval`.
    pub loaded_at: OffsetDateTime,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.stored.kid.as_str()).collect();
        f.debug_struct("KeyRing").field("kids", &kids).finish()
    }
}

impl KeyRing {
    /// Decrypts and loads stored keys; those past `expires_at` are left out.
    pub fn load(
        stored: Vec<StoredKey>,
        sealer: &KeySealer,
        now: OffsetDateTime,
    ) -> Result<Self, EngineError> {
        let mut keys = Vec::with_capacity(stored.len());
        for key in stored {
            if key.expires_at.is_some_and(|e| e <= now) {
                continue;
            }
            let der = sealer.open(&key.private_enc)?;
            // Whoever can write to the key table without the key-encryption key could pair a
            // sealed private key of ours with a public key of their own: the published key must
            // be the sealed key's own.
            if !public_matches(key.alg, &der, &key.public_jwk) {
                tracing::error!(
                    kid = %key.kid,
                    "signing key left out: its public key is not its sealed private key's (the key table was altered)"
                );
                continue;
            }
            // What is published and believed is rebuilt from the private key: members added
            // to the stored JSON (`x5c`, `x5u`, `jku`, another `alg` or `use`) go nowhere.
            let loaded = published_jwk(key.alg, &der, &key.kid).and_then(|jwk| {
                let verifier = verifier_for(&jwk, key.alg.as_str())?;
                let signer = signer_from_der(key.alg, &der).ok()?;
                Some((jwk, verifier, signer))
            });
            let Some((jwk, verifier, signer)) = loaded else {
                tracing::error!(kid = %key.kid, "signing key left out: it cannot be loaded");
                continue;
            };
            let mut key = key;
            key.public_jwk = serde_json::Value::Object(jwk.as_ref().clone());
            keys.push(LoadedKey {
                stored: key,
                signer,
                verifier,
            });
        }
        keys.sort_by_key(|k| std::cmp::Reverse(k.stored.active_from));
        let jwks: Vec<&serde_json::Value> = keys.iter().map(|k| &k.stored.public_jwk).collect();
        let jwks = serde_json::json!({ "keys": jwks }).to_string();
        Ok(Self {
            keys,
            jwks: Arc::from(jwks),
            loaded_at: now,
        })
    }

    /// The JWKS document.
    pub fn jwks(&self) -> Arc<str> {
        self.jwks.clone()
    }

    /// The newest key of `alg` that may sign at `now`.
    fn signing_key(&self, alg: SigningAlg, now: OffsetDateTime) -> Option<&LoadedKey> {
        self.keys.iter().find(|k| {
            k.stored.alg == alg
                && k.stored.active_from <= now
                && k.stored.retired_at.is_none_or(|r| r > now)
        })
    }

    /// Can this ring sign with `alg` at `now`?
    pub fn can_sign(&self, alg: SigningAlg, now: OffsetDateTime) -> bool {
        self.signing_key(alg, now).is_some()
    }

    /// Signs a JSON payload as a compact JWS with `typ: JWT`.
    pub fn sign(
        &self,
        alg: SigningAlg,
        payload: &serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<String, EngineError> {
        self.sign_typed(alg, "JWT", payload, now)
    }

    /// Signs a JSON payload as a compact JWS with the header `typ` given (`at+jwt` for access
    /// tokens, RFC 9068 §2.1), by the newest key of `alg` that may sign at `now`.
    pub fn sign_typed(
        &self,
        alg: SigningAlg,
        typ: &str,
        payload: &serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<String, EngineError> {
        let key = self
            .signing_key(alg, now)
            .ok_or_else(|| EngineError::Keys(format!("no active {} key", alg.as_str())))?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&key.stored.kid);
        let bytes = serde_json::to_vec(payload).map_err(keys_err)?;
        josekit::jws::serialize_compact(&bytes, &header, key.signer.as_ref()).map_err(keys_err)
    }

    /// Verifies a JWS signed by one of our keys (expiry is the caller's business).
    pub fn verify(&self, jws: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
        let (payload, _header) = josekit::jws::deserialize_compact_with_selector(jws, |header| {
            let kid = header.key_id();
            let alg = header.algorithm();
            Ok(self
                .keys
                .iter()
                .find(|k| Some(k.stored.kid.as_str()) == kid && Some(k.stored.alg.as_str()) == alg)
                .map(|k| k.verifier.as_ref()))
        })
        .ok()?;
        match serde_json::from_slice(&payload).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The stored records, newest first.
    pub fn stored(&self) -> impl Iterator<Item = &StoredKey> {
        self.keys.iter().map(|k| &k.stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_tamper() {
        let sealer = KeySealer::new(&[7u8; 32]);
        let sealed = sealer.seal(b"secret key").unwrap_or_default();
        assert_eq!(sealer.open(&sealed).unwrap_or_default(), b"secret key");
        let other = KeySealer::new(&[8u8; 32]);
        assert!(other.open(&sealed).is_err());
        assert!(sealer.open("AAAA").is_err());
    }

    #[test]
    fn sign_verify_every_alg_and_activation() {
        let sealer = KeySealer::new(&[1u8; 32]);
        let now = OffsetDateTime::now_utc();
        let later = now + time::Duration::minutes(5);
        let mut stored = Vec::new();
        for alg in SigningAlg::ALL {
            stored.push(
                new_key(&sealer, alg, now, now)
                    .map_err(|e| e.to_string())
                    .unwrap_or_else(|e| unreachable!("{e}")),
            );
        }
        let pending = new_key(&sealer, SigningAlg::ES256, now, later)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| unreachable!("{e}"));
        let pending_kid = pending.kid.clone();
        stored.push(pending);
        let ring = KeyRing::load(stored, &sealer, now)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(
            ring.jwks().contains(&pending_kid),
            "a pending key is published"
        );
        for alg in SigningAlg::ALL {
            let jws = ring
                .sign(alg, &serde_json::json!({"a": 1}), now)
                .map_err(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(
                ring.verify(&jws).and_then(|m| m.get("a").cloned()),
                Some(serde_json::json!(1))
            );
            if alg == SigningAlg::ES256 {
                assert!(!jws.is_empty());
                let header = jws.split('.').next().unwrap_or_default();
                let header = String::from_utf8(URL_SAFE_NO_PAD.decode(header).unwrap_or_default())
                    .unwrap_or_default();
                assert!(
                    !header.contains(&pending_kid),
                    "a pending key does not sign yet"
                );
            }
        }
        assert!(ring.verify("a.b.c").is_none());
    }

    #[test]
    fn a_public_key_paired_with_another_sealed_key_is_neither_published_nor_believed() {
        let sealer = KeySealer::new(&[3u8; 32]);
        let now = OffsetDateTime::now_utc();
        for alg in SigningAlg::ALL {
            let ours = new_key(&sealer, alg, now, now)
                .map_err(|e| e.to_string())
                .unwrap_or_else(|e| unreachable!("{e}"));
            // The forger's own pair: its public half next to our sealed private key.
            let theirs = new_key(&sealer, alg, now, now)
                .map_err(|e| e.to_string())
                .unwrap_or_else(|e| unreachable!("{e}"));
            let their_ring = KeyRing::load(vec![theirs.clone()], &sealer, now)
                .map_err(|e| e.to_string())
                .unwrap_or_else(|e| unreachable!("{e}"));
            let forged = StoredKey {
                private_enc: ours.private_enc.clone(),
                ..theirs.clone()
            };
            let ring = KeyRing::load(vec![ours.clone(), forged], &sealer, now)
                .map_err(|e| e.to_string())
                .unwrap_or_else(|e| unreachable!("{e}"));
            assert!(ring.jwks().contains(&ours.kid));
            assert!(
                !ring.jwks().contains(&theirs.kid),
                "{alg:?}: the forged key is not published"
            );
            let hint = their_ring
                .sign(alg, &serde_json::json!({"sub": "victim"}), now)
                .unwrap_or_default();
            assert!(
                ring.verify(&hint).is_none(),
                "{alg:?}: a token signed with the forger's key is not believed"
            );
        }
    }

    #[test]
    fn members_added_to_a_stored_key_are_never_published() {
        let sealer = KeySealer::new(&[4u8; 32]);
        let now = OffsetDateTime::now_utc();
        let mut key = new_key(&sealer, SigningAlg::RS256, now, now)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| unreachable!("{e}"));
        let kid = key.kid.clone();
        if let serde_json::Value::Object(m) = &mut key.public_jwk {
            m.insert("x5u".into(), "https://evil.example/cert.pem".into());
            m.insert("jku".into(), "https://evil.example/jwks".into());
            m.insert("x5c".into(), serde_json::json!(["MIIB"]));
        }
        let mut hs = new_key(&sealer, SigningAlg::ES256, now, now)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| unreachable!("{e}"));
        if let serde_json::Value::Object(m) = &mut hs.public_jwk {
            m.insert("alg".into(), "HS256".into());
            m.insert("use".into(), "enc".into());
        }
        let es_kid = hs.kid.clone();
        let ring = KeyRing::load(vec![key, hs], &sealer, now)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| unreachable!("{e}"));
        let jwks = ring.jwks();
        assert!(jwks.contains(&kid) && jwks.contains(&es_kid), "{jwks}");
        for added in ["x5u", "jku", "x5c", "evil", "HS256", "\"enc\""] {
            assert!(!jwks.contains(added), "{added} in {jwks}");
        }
        assert!(
            ring.can_sign(SigningAlg::ES256, now),
            "an altered alg member does not stop the server"
        );
    }
}
