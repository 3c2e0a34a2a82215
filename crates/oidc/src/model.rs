//! The records the engine reads and writes through its ports.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::scope::Scopes;

/// How a client proves who it is at the token, introspection and revocation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret, form-encoded (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// A JWT signed with one of the client's registered keys (RFC 7523, OIDC Core §9).
    PrivateKeyJwt,
    /// None: a public client (RFC 6749 §2.1), which only names itself with `client_id`.
    None,
}

impl AuthMethod {
    /// Every method, in the order discovery advertises them.
    pub const ALL: [AuthMethod; 4] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
        Self::None,
    ];

    /// Its name in discovery and in client registrations (`client_secret_basic`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    /// The method named `s` (as [`as_str`](Self::as_str) spells it); `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The form of the access tokens a client receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessTokenFormat {
    /// `gca_` and 43 random base64url characters; resource servers introspect it (RFC 7662).
    #[default]
    Opaque,
    /// A JWT access token (RFC 9068, `typ: at+jwt`, RS256), which resource servers may check
    /// offline against JWKS; introspection and revocation work for it too.
    Jwt,
}

impl AccessTokenFormat {
    /// Its name in client registrations: `opaque` or `jwt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }

    /// The format named `s`; `None` for any other name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Opaque, Self::Jwt]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// A JWS algorithm we sign ID tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys), the default.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl SigningAlg {
    /// Every algorithm we sign with; [`Provider::start`](crate::Provider::start) creates a key for
    /// each that has none.
    pub const ALL: [SigningAlg; 3] = [Self::RS256, Self::ES256, Self::EdDSA];

    /// The JWS `alg` name (`RS256`, `ES256`, `EdDSA`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The algorithm named `s` (case-sensitive, as in JWS); `None` for any other.
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
    /// The `client_id`, chosen at registration (e.g. `portal`).
    pub id: String,
    /// The name shown to people on the consent and logout pages.
    pub name: String,
    /// SHA-256 of the secret (secrets are high-entropy, generated or checked for length).
    pub secret_hash: Option<String>,
    /// The secret before the last rotation, accepted until `previous_secret_expires_at`.
    pub previous_secret_hash: Option<String>,
    /// End of the grace period of `previous_secret_hash`; `None` when there is none.
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    /// Redirect URIs, matched exactly at the authorization endpoint (no wildcard, no prefix).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser (`post_logout_redirect_uri`), matched
    /// exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes the client may obtain: user scopes for the code flow, others (`admin:read`, …) for
    /// `client_credentials`.
    pub scopes: Vec<String>,
    /// Grant types the token endpoint accepts from this client (see [`GRANT_TYPES`]).
    pub grant_types: Vec<String>,
    /// How the client authenticates at the token, introspection and revocation endpoints.
    pub auth_method: AuthMethod,
    /// Public JWK set for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// Algorithm of the ID tokens issued to this client.
    pub id_token_alg: SigningAlg,
    /// Customer account kinds (`personal`, `professional`) the client serves; a person holding none
    /// of them is refused. Empty: every person.
    pub account_kinds: Vec<String>,
    /// Browser origins (`https://app.example.fr`) allowed to call the token, userinfo and
    /// revocation endpoints (CORS) beyond those of the redirect URIs, which always are.
    pub web_origins: Vec<String>,
    /// Opaque access tokens (the default) or JWTs (RFC 9068).
    pub access_token_format: AccessTokenFormat,
    /// Where the client is told, server to server, that a session it took part in ended
    /// (OpenID Connect Back-Channel Logout 1.0 §2.2); `None`: not told.
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs `sid` in the logout token (§2.2); we always send it when known.
    pub backchannel_logout_session_required: bool,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    /// PKCE required for this client even when the provider does not require it for all.
    pub require_pkce: bool,
    /// A disabled client is refused at the authorization endpoint and in client authentication;
    /// disabling one through `gan-admin` also revokes its tokens.
    pub enabled: bool,
    /// When the client was registered.
    pub created_at: OffsetDateTime,
}

impl Client {
    /// A client that authenticates with no credential (`auth_method` is `none`).
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

    /// Is the client registered for `grant` (a `grant_type` value)?
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// May a page of `origin` (an `Origin` header value) read this client's answers at the
    /// token, userinfo and revocation endpoints (CORS)? The origins of its `http(s)` redirect
    /// URIs and its `web_origins` may; nothing else (never `*`).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.web_origins.iter().any(|o| o == origin)
            || self
                .redirect_uris
                .iter()
                .any(|uri| web_origin_of(uri).as_deref() == Some(origin))
    }

    /// The registered scopes, as a set.
    pub fn allowed_scopes(&self) -> Scopes {
        Scopes::from_iter(self.scopes.iter().map(String::as_str))
    }
}

/// The web origin of an `http(s)` URL as browsers write it in `Origin` (RFC 6454:
/// `scheme://host[:port]`, the default port left out); `None` for other schemes (native apps'
/// custom schemes have none) and unparsable URLs.
pub fn web_origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some(url.origin().ascii_serialization())
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
            web_origins: vec![],
            access_token_format: AccessTokenFormat::Opaque,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
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
    /// The signed-in identity: the `sub` of the ID tokens it receives.
    pub identity_id: String,
    /// When the person last proved their password (`auth_time`); re-authentication moves it.
    pub auth_time: OffsetDateTime,
    /// Authentication methods (`amr`, RFC 8176), e.g. `pwd`.
    pub amr: Vec<String>,
    /// Authentication context class (`acr`), e.g. [`ACR_PASSWORD`](crate::ACR_PASSWORD).
    pub acr: String,
}

/// A browser session at the provider. `sid` is public (it goes in ID tokens); the cookie value
/// is a separate secret whose hash is the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// base64url(SHA-256) of the cookie value; the key of the record.
    pub id_hash: String,
    /// Public session id (22 base64url characters), sent as `sid` in ID tokens.
    pub sid: String,
    /// Who signed in, when and how.
    pub auth: Authentication,
    /// When the session started.
    pub created_at: OffsetDateTime,
    /// Last activity on the session (updated when a code is issued or an account page is used).
    pub last_seen_at: OffsetDateTime,
    /// When the session ends on its own (`session_ttl` after it started).
    pub expires_at: OffsetDateTime,
    /// The browser's `User-Agent` at sign-in, shown in the list of sessions.
    pub user_agent: Option<String>,
    /// The client IP at sign-in, shown in the list of sessions.
    pub ip: Option<String>,
}

/// A single-use authorization code, stored by hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationCode {
    /// base64url(SHA-256) of the code; the code itself is never stored.
    pub code_hash: String,
    /// The grant the code starts: the tokens exchanged for it share this id, so a replay revokes
    /// them all.
    pub grant_id: String,
    /// The client the code was issued to; only it may exchange the code.
    pub client_id: String,
    /// The `redirect_uri` of the authorization request, which the token request must repeat.
    pub redirect_uri: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The `nonce` of the authorization request, copied into the ID token.
    pub nonce: Option<String>,
    /// The PKCE S256 `code_challenge` (RFC 7636 §4.2), when one was sent.
    pub code_challenge: Option<String>,
    /// The authentication of the session the code was issued from.
    pub auth: Authentication,
    /// The `sid` of that session.
    pub sid: String,
    /// The `claims` request parameter (OIDC Core §5.5), kept for the ID token and userinfo.
    pub claims: Option<serde_json::Value>,
    /// When the code stops being accepted (`code_ttl`, 60 s by default, after issue).
    pub expires_at: OffsetDateTime,
    /// When the code was exchanged; a second exchange is a replay.
    pub consumed_at: Option<OffsetDateTime>,
}

/// Access or refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// An access token (RFC 6750 bearer), prefixed `gca_`.
    Access,
    /// A refresh token (RFC 6749 §6), prefixed `gcr_`; rotated at every use.
    Refresh,
}

impl TokenKind {
    /// The name used in audit events and storage (`access`, `refresh`).
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
    /// base64url(SHA-256) of the token; the token itself is never stored.
    pub token_hash: String,
    /// Access or refresh.
    pub kind: TokenKind,
    /// The grant the token belongs to: a code's tokens, a refresh family, or one client-credentials
    /// response.
    pub grant_id: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// `None` for client-credentials tokens.
    pub identity_id: Option<String>,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The person's authentication, copied from the code (`None` for client-credentials tokens).
    pub auth: Option<Authentication>,
    /// The session the grant came from.
    pub sid: Option<String>,
    /// The `claims` request parameter of the authorization request (OIDC Core §5.5).
    pub claims: Option<serde_json::Value>,
    /// When the token was issued.
    pub created_at: OffsetDateTime,
    /// When the token stops being accepted (`access_token_ttl` or `refresh_token_ttl` after issue).
    pub expires_at: OffsetDateTime,
    /// A refresh token that was exchanged (rotated).
    pub consumed_at: Option<OffsetDateTime>,
    /// When the token was revoked (RFC 7009 revocation, refresh reuse, code replay, or an admin
    /// action).
    pub revoked_at: Option<OffsetDateTime>,
}

impl TokenRecord {
    /// Not revoked, not exchanged, not expired at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.consumed_at.is_none() && self.expires_at > now
    }
}

/// Stored public and (encrypted) private parts of a signing key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredKey {
    /// Key id (`kid`, 16 base64url characters), in JWKS and in the header of every token it signs.
    pub kid: String,
    /// The algorithm the key signs with.
    pub alg: SigningAlg,
    /// The public key as a JWK (`kid`, `alg`, `use: sig`), published in JWKS.
    pub public_jwk: serde_json::Value,
    /// AES-256-GCM nonce ‖ ciphertext of the private key (DER), base64url.
    pub private_enc: String,
    /// When the key was generated and first published.
    pub created_at: OffsetDateTime,
    /// Signs nothing before this time, but is already in JWKS.
    pub active_from: OffsetDateTime,
    /// Signs nothing after this time; stays in JWKS until `expires_at`.
    pub retired_at: Option<OffsetDateTime>,
    /// When the key leaves JWKS (and may be deleted); set when it is retired, `None` before.
    pub expires_at: Option<OffsetDateTime>,
}
