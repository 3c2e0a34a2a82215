//! The engine's settings, filled from the server's configuration.

use time::Duration;
use url::Url;

/// Lifetimes and switches of the provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer identifier: an https URL (http only for local use) without query or fragment.
    pub issuer: Url,
    pub code_ttl: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub id_token_ttl: Duration,
    pub interaction_ttl: Duration,
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
