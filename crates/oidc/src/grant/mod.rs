//! The token endpoint: client authentication, then one file per grant type, dispatched by
//! `grant_type`.

mod authorization_code;
mod client_credentials;
mod refresh_token;

use gan_audit::{Actor, AuditEvent, EventType};
use serde::Serialize;
use time::OffsetDateTime;

use crate::authorize::claims::requested;
use crate::error::{EngineError, ErrorCode, OAuthError};
use crate::id_token::{self, IdTokenInput};
use crate::model::{
    AccessTokenFormat, Authentication, Client, SigningAlg, TokenKind, TokenRecord,
    GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN, GRANT_TYPES,
};
use crate::params::Params;
use crate::person::{Claims, Person};
use crate::scope::{self, Scopes};
use crate::secret::{hash_handle, new_handle};
use crate::{paths, Provider};

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// The access token: `gca_` and 43 base64url characters, opaque; or a JWT (RFC 9068) for a
    /// client registered with `access_token_format = jwt`.
    pub access_token: String,
    /// Always `Bearer` (RFC 6750).
    pub token_type: &'static str,
    /// Lifetime of the access token in seconds (`access_token_ttl`).
    pub expires_in: i64,
    /// The granted scopes, space-separated (RFC 6749 §5.1); always sent.
    pub scope: String,
    /// A new refresh token (`gcr_…`): from a code when `offline_access` was granted and the client
    /// may refresh; at every refresh (rotation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token (compact JWS), for user grants with `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// What a grant decided to issue.
pub(crate) struct Issue<'a> {
    pub client: &'a Client,
    pub grant_type: &'static str,
    pub grant_id: String,
    pub scopes: Scopes,
    /// How the person signed in, for user grants.
    pub auth: Option<Authentication>,
    /// The person, for user grants (read by the grant: see [`Provider::grant_person`]).
    pub person: Option<Person>,
    pub sid: Option<String>,
    pub nonce: Option<String>,
    pub claims_request: Option<serde_json::Value>,
    pub with_refresh: bool,
}

impl Provider {
    /// The token endpoint. `authorization` is the raw `Authorization` header.
    pub async fn token(
        &self,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<TokenResponse, EngineError> {
        params.each_once()?;
        let grant_type = params
            .get("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
        let client = self
            .authenticate_client(authorization, params, paths::TOKEN)
            .await?;
        if !client.allows_grant(grant_type) {
            let known = GRANT_TYPES.contains(&grant_type);
            let code = if known {
                ErrorCode::UnauthorizedClient
            } else {
                ErrorCode::UnsupportedGrantType
            };
            return Err(OAuthError::new(
                code,
                format!("grant_type {grant_type} is not allowed for this client"),
            )
            .into());
        }
        match grant_type {
            GRANT_AUTHORIZATION_CODE => self.grant_authorization_code(&client, params).await,
            GRANT_REFRESH_TOKEN => self.grant_refresh_token(&client, params).await,
            GRANT_CLIENT_CREDENTIALS => self.grant_client_credentials(&client, params).await,
            other => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("unsupported grant_type {other}"),
            )
            .into()),
        }
    }

    /// Authenticates the caller of an endpoint at `path`.
    pub async fn authenticate_client(
        &self,
        authorization: Option<&str>,
        params: &Params,
        path: &str,
    ) -> Result<Client, EngineError> {
        let audiences = [
            self.config.issuer_str(),
            self.config.url(paths::TOKEN),
            self.config.url(path),
        ];
        crate::client_auth::authenticate(
            self.stores.clients.as_ref(),
            self.stores.assertions.as_ref(),
            authorization,
            params,
            &audiences,
            self.now(),
        )
        .await
    }

    /// User claims about `person`, filtered to what `scopes` and the `claims` request release for
    /// `target` (`id_token` or `userinfo`) — the latter only for claims `client` is registered
    /// for — as `client` may see them (its account kinds).
    pub(crate) fn released_claims(
        &self,
        person: &Person,
        scopes: &Scopes,
        claims_request: Option<&serde_json::Value>,
        target: &str,
        client: &Client,
    ) -> Claims {
        // A scope the client is no longer registered for releases nothing, whatever the token
        // says: claims follow the registration as it is now.
        let scopes = scopes.intersect(&client.allowed_scopes());
        let mut wanted: Vec<String> = scopes
            .iter()
            .flat_map(|s| scope::claims_of(s).iter().map(|c| c.to_string()))
            .collect();
        // Individually requested claims only within the client's registration (OIDC Core §5.5
        // never widens it); the consent asked covered them (`consent_scopes`).
        wanted.extend(
            requested(claims_request, target)
                .into_iter()
                .filter(|c| scope::client_may_have(client, c)),
        );
        // Compute only the scopes whose claims will be released.
        let needed = Scopes::from_iter(scope::USER_SCOPES.iter().copied().filter(|s| {
            scope::claims_of(s)
                .iter()
                .any(|c| wanted.iter().any(|w| w == c))
        }));
        let mut available = person.claims(&needed, client);
        available.retain(|k, _| wanted.iter().any(|w| w == k));
        available
    }

    /// The person behind a user grant, who must still be able to sign in and to use `client`
    /// (`invalid_grant` otherwise: a locked identity, or one that no longer holds an account of
    /// the kinds the client is restricted to, gets no new token).
    pub(crate) async fn grant_person(
        &self,
        identity_id: &str,
        client: &Client,
    ) -> Result<Person, EngineError> {
        self.claims
            .person(identity_id)
            .await?
            .filter(|p| p.may_use(client))
            .ok_or_else(|| OAuthError::invalid_grant("the account can no longer sign in").into())
    }

    /// Mints the tokens of a grant, stores them, and builds the response. `store` is false when
    /// the caller stores them itself (refresh rotation does, in one transaction).
    pub(crate) async fn issue(
        &self,
        issue: Issue<'_>,
        store: bool,
    ) -> Result<(TokenResponse, Vec<TokenRecord>), EngineError> {
        let now = self.now();
        let identity_id = issue.auth.as_ref().map(|a| a.identity_id.clone());
        let access_token = match issue.client.access_token_format {
            AccessTokenFormat::Opaque => new_handle("gca_"),
            AccessTokenFormat::Jwt => self.sign_access_token(&issue, now).await?,
        };
        let record = |kind: TokenKind, handle: &str, ttl: time::Duration| TokenRecord {
            token_hash: hash_handle(handle),
            kind,
            grant_id: issue.grant_id.clone(),
            client_id: issue.client.id.clone(),
            identity_id: identity_id.clone(),
            scope: issue.scopes.to_string(),
            auth: issue.auth.clone(),
            sid: issue.sid.clone(),
            claims: issue.claims_request.clone(),
            created_at: now,
            expires_at: now + ttl,
            consumed_at: None,
            revoked_at: None,
        };
        let mut records = vec![record(
            TokenKind::Access,
            &access_token,
            self.config.access_token_ttl,
        )];
        let refresh_token = issue.with_refresh.then(|| new_handle("gcr_"));
        if let Some(rt) = &refresh_token {
            records.push(record(
                TokenKind::Refresh,
                rt,
                self.config.refresh_token_ttl,
            ));
        }
        let id_token = match (&issue.auth, &issue.person) {
            (Some(auth), Some(person)) if issue.scopes.contains(scope::OPENID) => {
                let claims = self.released_claims(
                    person,
                    &issue.scopes,
                    issue.claims_request.as_ref(),
                    "id_token",
                    issue.client,
                );
                Some(
                    self.sign_id_token(
                        issue.client,
                        auth,
                        issue.sid.as_deref(),
                        issue.nonce.as_deref(),
                        Some(&access_token),
                        claims,
                        now,
                    )
                    .await?,
                )
            }
            _ => None,
        };
        if store {
            self.stores.tokens.insert_tokens(&records).await?;
        }
        let mut event =
            AuditEvent::success(EventType::TokenIssued, Actor::client(&issue.client.id), now)
                .client(&issue.client.id)
                .with("grant_type", issue.grant_type)
                .with("scope", issue.scopes.to_string())
                .with("grant_id", issue.grant_id.clone());
        if let Some(id) = identity_id {
            event = event.identity(id);
        }
        self.audit.record(event).await;
        let response = TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.config.access_token_ttl.whole_seconds(),
            scope: issue.scopes.to_string(),
            refresh_token,
            id_token,
        };
        Ok((response, records))
    }

    /// A JWT access token (RFC 9068 §2): `typ: at+jwt`, RS256, with `iss`, `exp`, `aud` (the
    /// client: no resource indicators yet), `sub` (the person, or the client itself for
    /// `client_credentials`), `client_id`, `iat`, `jti` (random: each token is stored under its
    /// own hash), `scope`, and `auth_time` / `acr` for a person. Released claims stay at
    /// userinfo: the token carries no personal data.
    async fn sign_access_token(
        &self,
        issue: &Issue<'_>,
        now: OffsetDateTime,
    ) -> Result<String, EngineError> {
        let mut payload = serde_json::json!({
            "iss": self.config.issuer_str(),
            "exp": (now + self.config.access_token_ttl).unix_timestamp(),
            "aud": issue.client.id,
            "sub": issue.auth.as_ref().map(|a| a.identity_id.clone()).unwrap_or_else(|| issue.client.id.clone()),
            "client_id": issue.client.id,
            "iat": now.unix_timestamp(),
            "jti": new_handle(""),
            "scope": issue.scopes.to_string(),
        });
        if let Some(auth) = &issue.auth {
            payload["auth_time"] = auth.auth_time.unix_timestamp().into();
            payload["acr"] = crate::ACR_PASSWORD.into();
        }
        self.keys()
            .await?
            .sign_typed(SigningAlg::RS256, "at+jwt", &payload, now)
    }

    #[allow(clippy::too_many_arguments)]
    async fn sign_id_token(
        &self,
        client: &Client,
        auth: &Authentication,
        sid: Option<&str>,
        nonce: Option<&str>,
        access_token: Option<&str>,
        claims: serde_json::Map<String, serde_json::Value>,
        now: OffsetDateTime,
    ) -> Result<String, EngineError> {
        let issuer = self.config.issuer_str();
        let payload = id_token::payload(IdTokenInput {
            issuer: &issuer,
            client_id: &client.id,
            auth,
            sid,
            nonce,
            access_token,
            alg: client.id_token_alg,
            now,
            ttl: self.config.id_token_ttl,
            claims,
        });
        self.keys().await?.sign(client.id_token_alg, &payload, now)
    }
}

#[cfg(test)]
mod tests;
