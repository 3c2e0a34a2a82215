//! CORS for browser apps at the token, userinfo and revocation endpoints (tower-http's
//! `CorsLayer`): a page may read an answer when its origin is one its client allows (the
//! origins of the client's `http(s)` redirect URIs, and its `web_origins`). Never `*`, never
//! credentials (these endpoints take no cookie), `Vary: Origin` always; never on `/authorize`.
//! Discovery and JWKS answer `*` on their own.
//!
//! Which client: the one a Basic `Authorization` names (confidential clients), the one a bearer
//! token was issued to (userinfo); otherwise — a public client's `client_id` travels in the body
//! the layer cannot read, and a preflight carries no credential — any enabled client's.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{request::Parts, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::AppState;

/// How long the union of every enabled client's origins is kept (as long as a client).
const ORIGINS_TTL: Duration = Duration::from_secs(5);

/// Origins of every enabled client, as of when they were read.
#[derive(Default)]
struct Known {
    origins: RwLock<Option<(Instant, Arc<HashSet<String>>)>>,
}

impl Known {
    async fn any_client_allows(&self, state: &AppState, origin: &str) -> bool {
        let cached = self
            .origins
            .read()
            .ok()
            .and_then(|g| g.clone())
            .filter(|(at, _)| at.elapsed() < ORIGINS_TTL);
        let origins = match cached {
            Some((_, origins)) => origins,
            None => {
                let clients = match state.provider.clients().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "CORS: cannot read the clients; origin refused");
                        return false;
                    }
                };
                let origins: Arc<HashSet<String>> = Arc::new(
                    clients
                        .iter()
                        .filter(|c| c.enabled)
                        .flat_map(|c| {
                            c.web_origins.iter().cloned().chain(
                                c.redirect_uris
                                    .iter()
                                    .filter_map(|u| gan_oidc::model::web_origin_of(u)),
                            )
                        })
                        .collect(),
                );
                if let Ok(mut g) = self.origins.write() {
                    *g = Some((Instant::now(), origins.clone()));
                }
                origins
            }
        };
        origins.contains(origin)
    }
}

/// Does the client named by `authorization` (Basic, or the bearer token's) allow `origin`? Falls
/// back to any enabled client when the request names none.
async fn allowed(
    state: &AppState,
    known: &Known,
    origin: &str,
    authorization: Option<&str>,
) -> bool {
    let client_id = match authorization {
        Some(h) if h.len() > 6 && h[..6].eq_ignore_ascii_case("basic ") => {
            gan_oidc::client_auth::basic_client_id(h)
        }
        Some(h) if h.len() > 7 && h[..7].eq_ignore_ascii_case("bearer ") => {
            match state.provider.access_token(h[7..].trim()).await {
                Ok(Some(token)) => Some(token.client_id),
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(error = %e, "CORS: cannot read the token; origin refused");
                    return false;
                }
            }
        }
        _ => None,
    };
    match client_id {
        Some(id) => match state.provider.client(&id).await {
            Ok(Some(c)) => c.enabled && c.allows_origin(origin),
            // An unknown client's error is readable by the pages any client allows.
            Ok(None) => known.any_client_allows(state, origin).await,
            Err(e) => {
                tracing::warn!(error = %e, "CORS: cannot read the client; origin refused");
                false
            }
        },
        None => known.any_client_allows(state, origin).await,
    }
}

/// A token request from a browser page (`Origin` sent) whose origin the request's client does
/// not allow: refused before anything is redeemed, since the page could never read the answer
/// (a code or refresh token would be spent for nothing, or for a page that is not the client's).
/// Requests without `Origin` (servers) and clients we do not know (the engine answers
/// `invalid_client`) pass.
pub(crate) async fn token_origin_refused(
    state: &AppState,
    origin: Option<&str>,
    authorization: Option<&str>,
    params: &gan_oidc::params::Params,
) -> Result<Option<gan_oidc::OAuthError>, gan_oidc::error::StoreError> {
    let Some(origin) = origin else {
        return Ok(None);
    };
    let client_id = authorization
        .and_then(gan_oidc::client_auth::basic_client_id)
        .or_else(|| params.get("client_id").map(str::to_string));
    let Some(client_id) = client_id else {
        return Ok(None);
    };
    Ok(match state.provider.client(&client_id).await? {
        Some(c) if !c.allows_origin(origin) => Some(gan_oidc::OAuthError::invalid_request(
            "this client does not accept token requests from the page's origin",
        )),
        _ => None,
    })
}

/// The layer for `/token`, `/userinfo` and `/revoke`.
pub fn layer(state: &AppState) -> CorsLayer {
    let state = state.clone();
    let known = Arc::new(Known::default());
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(
            move |origin: HeaderValue, parts: &Parts| {
                let state = state.clone();
                let known = known.clone();
                let origin = origin.to_str().map(str::to_string);
                // A preflight carries no credential: only the union can answer it.
                let authorization = (parts.method != Method::OPTIONS)
                    .then(|| parts.headers.get(AUTHORIZATION))
                    .flatten()
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                async move {
                    match origin {
                        Ok(origin) => {
                            allowed(&state, &known, &origin, authorization.as_deref()).await
                        }
                        Err(_) => false,
                    }
                }
            },
        ))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE])
        .expose_headers([WWW_AUTHENTICATE])
        .max_age(Duration::from_secs(600))
}
