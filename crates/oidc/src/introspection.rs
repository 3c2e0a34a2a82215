//! Token introspection (RFC 7662), for authenticated confidential clients only.

use crate::error::{EngineError, ErrorCode, OAuthError};
use crate::model::{Client, TokenKind};
use crate::params::Params;
use crate::scope::Scopes;
use crate::secret::hash_handle;
use crate::{paths, Provider};

impl Provider {
    /// The introspection endpoint (RFC 7662 §2). The caller must authenticate as a confidential
    /// client (`invalid_client` otherwise) and send `token` (`invalid_request` otherwise). Answers
    /// `{"active": false}` for an unknown, expired, used or revoked token, or when its person may
    /// no longer sign in; otherwise `active`, `iss`, `client_id`, `scope`, `exp` and `iat` (Unix
    /// seconds), `token_type` (`Bearer` or `refresh_token`), and for user tokens `sub` with the
    /// claims its scopes release. Any confidential client may introspect (partner APIs check
    /// tokens issued to portals, RFC 7662 §2.1 leaves it to the provider), but a client other
    /// than the token's sees no more than its own registration would give it: the claims of the
    /// scopes both the token and its registration hold, and `accounts` filtered to both
    /// clients' account kinds; when it may see none of the person's accounts the token is
    /// inactive for it.
    pub async fn introspect(
        &self,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<serde_json::Value, EngineError> {
        params.each_once()?;
        let caller = self
            .authenticate_client(authorization, params, paths::INTROSPECT)
            .await?;
        if caller.is_public() {
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "public clients cannot introspect",
            )
            .into());
        }
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let now = self.now();
        let inactive = serde_json::json!({ "active": false });
        // The token and its person in one read.
        let Some((record, person)) = self
            .claims
            .token_and_person(&hash_handle(token), self.stores.tokens.as_ref())
            .await?
            .filter(|(t, _)| t.is_live(now))
        else {
            return Ok(inactive);
        };
        // The token of a disabled (or deleted) client is inactive for everyone.
        let owner = self.stores.clients.find_client(&record.client_id).await?;
        let Some(owner) = owner.filter(|c| c.enabled) else {
            return Ok(inactive);
        };
        let mut body = serde_json::json!({
            "active": true,
            "iss": self.config.issuer_str(),
            "client_id": record.client_id,
            // Only what the client is still registered for (a narrowed registration narrows
            // its live tokens at once).
            "scope": record.scope.split(' ').filter(|s| owner.scopes.iter().any(|r| r == s)).collect::<Vec<_>>().join(" "),
            "exp": record.expires_at.unix_timestamp(),
            "iat": record.created_at.unix_timestamp(),
            "token_type": match record.kind { TokenKind::Access => "Bearer", TokenKind::Refresh => "refresh_token" },
        });
        if let Some(identity_id) = &record.identity_id {
            body["sub"] = identity_id.clone().into();
            let scopes = Scopes::parse(&record.scope).unwrap_or_default();
            // Another client sees the person through both registrations at once: the scopes
            // both hold, the account kinds both may see (names included: they come from an
            // account it may see); when their kinds do not meet, the token is inactive for it.
            let shared;
            let viewer = if caller.id == owner.id {
                &owner
            } else {
                let Some(view) = shared_view(&owner, &caller) else {
                    return Ok(inactive);
                };
                shared = view;
                &shared
            };
            // The person may still sign in and use the token's client (else it is inactive for
            // everyone), and the viewer must see one of their accounts if it is restricted.
            let Some(person) = person.filter(|p| p.may_use(&owner) && p.may_use(viewer)) else {
                return Ok(inactive);
            };
            let claims = self.released_claims(&person, &scopes, None, "userinfo", viewer);
            for (k, v) in claims {
                body[k] = v;
            }
        }
        Ok(body)
    }
}

/// What `caller` may see of a token issued to `owner`: a registration with the scopes both
/// hold and the account kinds both may see (no restriction on one side leaves the other's);
/// `None` when both are restricted to kinds that do not meet.
fn shared_view(owner: &Client, caller: &Client) -> Option<Client> {
    let account_kinds = if owner.account_kinds.is_empty() {
        caller.account_kinds.clone()
    } else if caller.account_kinds.is_empty() {
        owner.account_kinds.clone()
    } else {
        let both: Vec<String> = caller
            .account_kinds
            .iter()
            .filter(|k| owner.account_kinds.contains(k))
            .cloned()
            .collect();
        if both.is_empty() {
            return None;
        }
        both
    };
    Some(Client {
        scopes: caller
            .scopes
            .iter()
            .filter(|s| owner.scopes.contains(s))
            .cloned()
            .collect(),
        account_kinds,
        ..caller.clone()
    })
}
