//! Example relying party for Gan Connect: an insurance portal that signs the customer in with the
//! code flow + PKCE (`openidconnect` crate), verifies the ID token, reads the `accounts` claim
//! with a typed struct and shows one card per customer account; it also introspects its access
//! token the way a partner app would.
//!
//! Environment: `GAN_ISSUER` (default http://127.0.0.1:8080), `PORTAL_CLIENT_ID` (demo-portal),
//! `PORTAL_CLIENT_SECRET` (required), `PORTAL_LISTEN` (127.0.0.1:9090).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IntrospectionUrl, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenIntrospectionResponse,
    TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

/// One customer account, as the `accounts` claim lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Account {
    client_number: String,
    kind: String,
    label: String,
}

/// Gan Connect's additional claims.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GanClaims {
    #[serde(default)]
    accounts: Vec<Account>,
}
impl AdditionalClaims for GanClaims {}

type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Portal {
    rp: Rp,
    http: reqwest::Client,
    /// state → (PKCE verifier, nonce): the flows in progress.
    pending: Mutex<HashMap<String, (String, String)>>,
}

fn page(body: String) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Espace client</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1d2433}}\
         .cards{{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:1rem}}\
         .card{{border:1px solid #d5dae3;border-radius:10px;padding:1rem}} .kind{{color:#5b6475}} a.btn{{background:#00508c;color:#fff;padding:.6rem 1rem;border-radius:8px;text-decoration:none}}</style>\
         </head><body><main>{body}</main></body></html>"
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn home() -> Html<String> {
    page("<h1>Portail de démonstration</h1><p>Connectez-vous avec Gan Connect pour voir vos contrats.</p><p><a class=\"btn\" href=\"/login\">Se connecter</a></p>".into())
}

async fn login(State(portal): State<Arc<Portal>>) -> Redirect {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = portal
        .rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("accounts".into()))
        .set_pkce_challenge(challenge)
        .url();
    if let Ok(mut p) = portal.pending.lock() {
        p.insert(
            state.secret().clone(),
            (verifier.secret().clone(), nonce.secret().clone()),
        );
    }
    Redirect::to(url.as_str())
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(State(portal): State<Arc<Portal>>, Query(cb): Query<Callback>) -> Response {
    match finish(&portal, cb).await {
        Ok(html) => html.into_response(),
        Err(e) => page(format!(
            "<h1>Connexion impossible</h1><p>{}</p><p><a href=\"/\">Recommencer</a></p>",
            escape(&format!("{e:#}"))
        ))
        .into_response(),
    }
}

async fn finish(portal: &Portal, cb: Callback) -> anyhow::Result<Html<String>> {
    if let Some(error) = cb.error {
        anyhow::bail!("Gan Connect answered {error}");
    }
    let state = cb.state.context("no state")?;
    let (verifier, nonce) = portal
        .pending
        .lock()
        .ok()
        .and_then(|mut p| p.remove(&state))
        .context("unknown or replayed state")?;
    let tokens = portal
        .rp
        .exchange_code(AuthorizationCode::new(cb.code.context("no code")?))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&portal.http)
        .await
        .context("token request")?;
    let id_token = tokens.id_token().context("no ID token")?;
    let claims = id_token
        .claims(&portal.rp.id_token_verifier(), &Nonce::new(nonce))
        .context("ID token verification")?;
    let info: UserInfoClaims<GanClaims, CoreGenderClaim> = portal
        .rp
        .user_info(tokens.access_token().clone(), None)?
        .request_async(&portal.http)
        .await
        .context("userinfo")?;
    let introspection = portal
        .rp
        .introspect(tokens.access_token())
        .request_async(&portal.http)
        .await
        .context("introspection")?;
    let cards: String = info
        .additional_claims()
        .accounts
        .iter()
        .map(|a| {
            let kind = if a.kind == "professional" { "Professionnel" } else { "Particulier" };
            format!("<article class=\"card\"><h2>{}</h2><p class=\"kind\">{kind}</p><p>N° client <strong>{}</strong></p></article>", escape(&a.label), escape(&a.client_number))
        })
        .collect();
    let email = claims
        .email()
        .map(|e| e.as_str().to_string())
        .unwrap_or_default();
    Ok(page(format!(
        "<h1>Bienvenue</h1><p id=\"email\">{}</p><section class=\"cards\" aria-label=\"Mes contrats\">{cards}</section>\
         <p>Introspection du jeton (comme une application partenaire) : <strong id=\"active\">{}</strong></p>",
        escape(&email),
        if introspection.active() { "actif" } else { "inactif" }
    )))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let issuer = std::env::var("GAN_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let client_id = std::env::var("PORTAL_CLIENT_ID").unwrap_or_else(|_| "demo-portal".into());
    let secret = std::env::var("PORTAL_CLIENT_SECRET")
        .context("set PORTAL_CLIENT_SECRET (printed by `gan-connect serve --demo`)")?;
    let listen = std::env::var("PORTAL_LISTEN").unwrap_or_else(|_| "127.0.0.1:9090".into());
    // No redirects: the provider's answers are read as they are (and no SSRF through them).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone())?, &http)
        .await
        .context("discovery")?;
    let introspection: serde_json::Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))
        .send()
        .await?
        .json()
        .await?;
    let introspection_url = introspection["introspection_endpoint"]
        .as_str()
        .context("no introspection endpoint")?
        .to_string();
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(format!("http://{listen}/callback"))?)
    .set_introspection_url(IntrospectionUrl::new(introspection_url)?);
    let portal = Arc::new(Portal {
        rp,
        http,
        pending: Mutex::new(HashMap::new()),
    });
    let app = Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .with_state(portal);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("portal on http://{listen}/ (issuer {issuer})");
    axum::serve(listener, app).await?;
    Ok(())
}
