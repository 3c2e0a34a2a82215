//! The HTTP layer of Gan Connect: thin handlers that parse requests, call the engines and render
//! the result. Protocol routes, the sign-in and consent pages, cookies, CSRF, security headers,
//! health and metrics.

pub mod admin;
pub mod client_addr;
mod console;
pub mod context;
pub mod cookies;
mod cors;
pub mod error;
pub mod mail;
pub mod metrics;
pub mod page;
pub mod pages;
mod request;
mod routes;
pub mod security;
pub mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use gan_accounts::Accounts;
use gan_oidc::Provider;

pub use pages::{Lang, Pages};

/// Is the service able to serve (database reachable)?
#[async_trait::async_trait]
pub trait Readiness: Send + Sync {
    async fn ready(&self) -> bool;
}

/// Settings of the web layer.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// `Secure` cookies with the `__Host-` prefix (on when the issuer is https).
    pub secure_cookies: bool,
    /// Send `Strict-Transport-Security` (on when the issuer is https).
    pub hsts: bool,
    pub body_limit: usize,
    pub request_timeout: Duration,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers name the caller
    /// (`server.trusted_proxies`); empty by default: the socket's peer is the caller.
    pub trusted_proxies: client_addr::TrustedProxies,
    /// Serve `GET /metrics` on this router (on by default); off when the metrics have a
    /// listener of their own ([`metrics_app`]).
    pub metrics_route: bool,
}

impl WebSettings {
    /// Defaults for an issuer URL.
    pub fn for_issuer(issuer: &url::Url) -> Self {
        let https = issuer.scheme() == "https";
        Self {
            secure_cookies: https,
            hsts: https,
            body_limit: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            trusted_proxies: client_addr::TrustedProxies::default(),
            metrics_route: true,
        }
    }
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub provider: Arc<Provider>,
    pub accounts: Arc<Accounts>,
    pub admin: Arc<gan_admin::Admin>,
    pub pages: Arc<Pages>,
    pub readiness: Arc<dyn Readiness>,
    pub settings: Arc<WebSettings>,
    /// Demo mode only: the messages the server sent, shown at `/demo/mailbox`.
    pub mailbox: Option<Arc<gan_mail::Postman>>,
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// `GET /metrics` alone, for a listener of its own (`server.metrics_listen`); anything else is
/// 404.
pub fn metrics_app() -> Router {
    routes::metrics_router()
}
