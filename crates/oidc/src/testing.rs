//! A provider on in-memory ports with a clock the tests move: the engine's own tests drive the
//! authorization endpoint, the grants, userinfo, introspection and revocation through it, with
//! no database and no HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use gan_audit::{AuditEvent, Auditor, EventType, MemoryAuditStore};
use time::OffsetDateTime;

use crate::authorize::AuthorizeOutcome;
use crate::clock::FixedClock;
use crate::error::{EngineError, ErrorCode};
use crate::grant::TokenResponse;
use crate::keys::KeySealer;
use crate::memory::{MemoryClaims, MemoryStore};
use crate::model::{AuthMethod, Authentication, Client};
use crate::params::Params;
use crate::person::{HeldAccount, Person};
use crate::provider::Ports;
use crate::secret::hash_handle;
use crate::{pkce, Provider, ProviderConfig, ACR_PASSWORD};

pub const ISSUER: &str = "https://connect.example.fr";
pub const REDIRECT: &str = "https://portal.example.fr/cb";
pub const PERSON: &str = "gc-person";
pub const VERIFIER: &str = "a-code-verifier-of-at-least-forty-three-characters";

/// The provider and what the test can look at behind it.
pub struct Op {
    pub provider: Provider,
    pub store: Arc<MemoryStore>,
    pub claims: Arc<MemoryClaims>,
    pub clock: Arc<FixedClock>,
    pub audit: Arc<MemoryAuditStore>,
}

/// `Basic` credentials for a client whose secret is [`secret_of`].
pub fn basic(client_id: &str) -> String {
    use base64::Engine;
    let raw = format!("{client_id}:{}", secret_of(client_id));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

pub fn secret_of(client_id: &str) -> String {
    format!("secret-of-{client_id}")
}

/// Form parameters from pairs.
pub fn params(pairs: &[(&str, &str)]) -> Params {
    Params::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The OAuth error code of an engine error.
pub fn code_of(e: &EngineError) -> ErrorCode {
    match e {
        EngineError::OAuth(o) => o.code,
        other => panic!("not a protocol error: {other}"),
    }
}

/// A confidential first-party portal allowed the code and refresh grants.
pub fn portal(id: &str) -> Client {
    Client {
        secret_hash: Some(hash_handle(&secret_of(id))),
        redirect_uris: vec![REDIRECT.into()],
        scopes: ["openid", "email", "offline_access", "accounts"]
            .map(String::from)
            .to_vec(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: AuthMethod::ClientSecretBasic,
        first_party: true,
        ..Client::bare(id, "Portail")
    }
}

/// A partner allowed the client-credentials grant.
pub fn partner(id: &str) -> Client {
    Client {
        secret_hash: Some(hash_handle(&secret_of(id))),
        scopes: vec!["partner:read".into()],
        grant_types: vec!["client_credentials".into()],
        auth_method: AuthMethod::ClientSecretBasic,
        ..Client::bare(id, "Partenaire")
    }
}

/// `PERSON`: Marie, verified email, one personal account (10000001).
pub fn marie() -> Person {
    Person {
        email: "marie@example.fr".into(),
        email_verified: true,
        updated_at: 1_700_000_000,
        accounts: vec![HeldAccount {
            client_number: "10000001".into(),
            kind: "personal".into(),
            label: "Contrat habitation".into(),
            given_name: None,
            family_name: None,
            updated_at: 1_700_000_000,
        }],
    }
}

impl Op {
    /// A provider with one person, `PERSON`, holding a personal account.
    pub async fn start() -> Op {
        let store = MemoryStore::new();
        let claims = MemoryClaims::new();
        claims.add(PERSON, marie());
        let clock = Arc::new(FixedClock::new(
            OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        ));
        let audit = Arc::new(MemoryAuditStore::default());
        let ports = Ports {
            stores: store.stores(),
            claims: claims.clone(),
            clock: clock.clone(),
            audit: Auditor::start(audit.clone()),
        };
        let config = ProviderConfig::new(url::Url::parse(ISSUER).unwrap());
        let provider = Provider::start(config, ports, KeySealer::new(&[7u8; 32]))
            .await
            .unwrap();
        Op {
            provider,
            store,
            claims,
            clock,
            audit,
        }
    }

    /// Registers a client.
    pub async fn add(&self, client: Client) {
        self.provider.save_client(&client).await.unwrap();
    }

    /// A browser session of `PERSON`, signed in now; returns the cookie value.
    pub async fn signed_in(&self) -> String {
        let auth = Authentication {
            identity_id: PERSON.into(),
            auth_time: self.provider.now(),
            amr: vec!["pwd".into()],
            acr: ACR_PASSWORD.into(),
        };
        self.provider
            .start_session(auth, None, None)
            .await
            .unwrap()
            .0
    }

    /// Runs the authorization endpoint for `client_id` with `scope` and returns the code, PKCE
    /// S256 with [`VERIFIER`].
    pub async fn code(&self, client_id: &str, scope: &str, cookie: &str) -> String {
        let challenge = pkce::challenge_s256(VERIFIER);
        let request = params(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st"),
            ("nonce", "n-0S6"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        match self.provider.authorize(&request, Some(cookie)).await {
            AuthorizeOutcome::Redirect(to) => {
                let url = url::Url::parse(&to).unwrap();
                let code = url.query_pairs().find(|(k, _)| k == "code");
                code.unwrap_or_else(|| panic!("no code in {to}"))
                    .1
                    .into_owned()
            }
            other => panic!("expected a redirect with a code, got {other:?}"),
        }
    }

    /// A fresh sign-in of `PERSON`, a code for `client_id` with `scope`, and the token response
    /// it is redeemed for.
    pub async fn tokens(&self, client_id: &str, scope: &str) -> TokenResponse {
        let cookie = self.signed_in().await;
        let code = self.code(client_id, scope, &cookie).await;
        self.redeem(client_id, &code).await.unwrap()
    }

    /// Exchanges a code at the token endpoint.
    pub async fn redeem(&self, client_id: &str, code: &str) -> Result<TokenResponse, EngineError> {
        let form = params(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]);
        self.provider.token(Some(&basic(client_id)), &form).await
    }

    /// Uses a refresh token.
    pub async fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<TokenResponse, EngineError> {
        let form = params(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]);
        self.provider.token(Some(&basic(client_id)), &form).await
    }

    /// Introspects `token` as `caller`; returns `active`.
    pub async fn active(&self, caller: &str, token: &str) -> bool {
        let form = params(&[("token", token)]);
        let body = self
            .provider
            .introspect(Some(&basic(caller)), &form)
            .await
            .unwrap();
        body["active"] == true
    }

    /// Audit events of a type recorded so far.
    pub async fn events(&self, t: EventType) -> Vec<AuditEvent> {
        self.provider.audit.flush().await;
        self.audit
            .all()
            .into_iter()
            .filter(|e| e.event_type == t)
            .collect()
    }
}
