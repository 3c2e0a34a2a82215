//! The engine's settings, filled from the server's configuration.

use time::Duration;
use url::Url;

/// Lifetimes and switches of the provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer identifier: an https URL (http only for local use) without query or fragment.
    pub issuer: Url,
    /// How long an authorization code may be exchanged (RFC 6749 §4.1.2; 60 s by default).
    pub code_ttl: Duration,
    /// Lifetime of access tokens, the `expires_in` of token responses (10 minutes by default).
    pub access_token_ttl: Duration,
    /// Lifetime of each refresh token from its issue; each rotation issues a new one (30 days by
    /// default).
    pub refresh_token_ttl: Duration,
    /// Lifetime of ID tokens, `exp` − `iat` (10 minutes by default).
    pub id_token_ttl: Duration,
    /// How long a pending authorization request waits for the UI (30 minutes by default).
    pub interaction_ttl: Duration,
    /// Lifetime of a browser session from sign-in (12 hours by default).
    pub session_ttl: Duration,
    /// PKCE for every client, not only public ones.
    pub require_pkce: bool,
    /// How long a new signing key is published in JWKS before it signs anything.
    pub key_publish_delay: Duration,
    /// How often a process reloads signing keys from storage (to see rotations made elsewhere).
    pub key_reload_interval: Duration,
}

impl ProviderConfig {
    /// Defaults for an issuer.
    pub fn new(issuer: Url) -> Self {
        Self {
            issuer,
            code_ttl: Duration::seconds(60),
            access_token_ttl: Duration::minutes(10),
            refresh_token_ttl: Duration::days(30),
            id_token_ttl: Duration::minutes(10),
            interaction_ttl: Duration::minutes(30),
            session_ttl: Duration::hours(12),
            require_pkce: true,
            key_publish_delay: Duration::minutes(5),
            key_reload_interval: Duration::seconds(30),
        }
    }

    /// The issuer as a string without a trailing slash.
    pub fn issuer_str(&self) -> String {
        self.issuer.as_str().trim_end_matches('/').to_string()
    }

    /// An absolute URL for one of our paths.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer_str(), path)
    }
}
