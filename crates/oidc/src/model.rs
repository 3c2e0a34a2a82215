//! The records the engine reads and writes through its ports.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::scope::Scopes;

/// How a client proves who it is at the token, introspection and revocation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
        Self::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A JWS algorithm we sign ID tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum SigningAlg {
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [Self::RS256, Self::ES256, Self::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// `grant_type=authorization_code` (RFC 6749 §4.1).
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
/// `grant_type=refresh_token` (RFC 6749 §6).
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
/// `grant_type=client_credentials` (RFC 6749 §4.4).
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
/// Every grant type the token endpoint serves: what discovery advertises, what a client may be
/// registered for.
pub const GRANT_TYPES: [&str; 3] = [
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_CLIENT_CREDENTIALS,
];

/// A registered relying party.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// SHA-256 of the secret (secrets are high-entropy, generated or checked for length).
    pub secret_hash: Option<String>,
    /// The secret before the last rotation, accepted until `previous_secret_expires_at`.
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub auth_method: AuthMethod,
    /// Public JWK set for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    pub id_token_alg: SigningAlg,
    pub account_kinds: Vec<String>,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    pub require_pkce: bool,
    pub enabled: bool,
    pub created_at: OffsetDateTime,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// Does the hash of a presented secret match the secret, or the previous one during its
    /// grace period? (Constant time.)
    pub fn secret_matches(&self, presented_hash: &str, now: OffsetDateTime) -> bool {
        let eq = |expected: &str| {
            !expected.is_empty()
                && crate::secret::constant_time_eq(presented_hash.as_bytes(), expected.as_bytes())
        };
        let current = self.secret_hash.as_deref().is_some_and(eq);
        let previous = self
            .previous_secret_expires_at
            .is_some_and(|until| until > now)
            && self.previous_secret_hash.as_deref().is_some_and(eq);
        current | previous
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    pub fn allowed_scopes(&self) -> Scopes {
        Scopes::from_iter(self.scopes.iter().map(String::as_str))
    }
}

impl Client {
    /// A client with nothing allowed yet, to adjust field by field: public (no secret), no
    /// redirect URI, no scope, no grant, RS256 ID tokens, PKCE required, enabled, not
    /// first-party, created at the Unix epoch.
    pub fn bare(id: &str, name: &str) -> Self {
        Client {
            id: id.into(),
            name: name.into(),
            secret_hash: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scopes: vec![],
            grant_types: vec![],
            auth_method: AuthMethod::None,
            jwks: None,
            id_token_alg: SigningAlg::RS256,
            account_kinds: vec![],
            first_party: false,
            require_pkce: true,
            enabled: true,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }
}

/// What the person did to authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    pub identity_id: String,
    pub auth_time: OffsetDateTime,
    pub amr: Vec<String>,
    pub acr: String,
}

/// A browser session at the provider. `sid` is public (it goes in ID tokens); the cookie value
/// is a separate secret whose hash is the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id_hash: String,
    pub sid: String,
    pub auth: Authentication,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A single-use authorization code, stored by hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth: Authentication,
    pub sid: String,
    pub claims: Option<serde_json::Value>,
    pub expires_at: OffsetDateTime,
    pub consumed_at: Option<OffsetDateTime>,
}

/// Access or refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// An issued access or refresh token, stored by hash. Tokens of one grant share `grant_id`, so a
/// replayed code or a reused refresh token revokes them all at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token_hash: String,
    pub kind: TokenKind,
    pub grant_id: String,
    pub client_id: String,
    /// `None` for client-credentials tokens.
    pub identity_id: Option<String>,
    pub scope: String,
    pub auth: Option<Authentication>,
    pub sid: Option<String>,
    pub claims: Option<serde_json::Value>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// A refresh token that was exchanged (rotated).
    pub consumed_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl TokenRecord {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.consumed_at.is_none() && self.expires_at > now
    }
}

/// Stored public and (encrypted) private parts of a signing key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub public_jwk: serde_json::Value,
    /// AES-256-GCM nonce ‖ ciphertext of the private key (DER), base64url.
    pub private_enc: String,
    pub created_at: OffsetDateTime,
    /// Signs nothing before this time, but is already in JWKS.
    pub active_from: OffsetDateTime,
    /// Signs nothing after this time; stays in JWKS until `expires_at`.
    pub retired_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
}
