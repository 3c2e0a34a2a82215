//! The router: every route, with paths from `gan_oidc::paths` where the protocol defines them.

mod account;
mod documents;
mod forgot;
mod interaction;
mod logout;
mod ops;
mod protocol;
mod upgrade;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{middleware, Router};
use gan_oidc::paths;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::AppState;

pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    // Install the recorder before the first request is counted.
    let _ = crate::metrics::handle();
    let mut router = Router::new();
    if settings.metrics_route {
        router = router.route("/metrics", get(ops::metrics));
    }
    router
        .route(
            paths::AUTHORIZE,
            get(protocol::authorize_get).post(protocol::authorize_post),
        )
        .route(paths::AUTHORIZE_RESUME, get(protocol::resume))
        // Browser apps call these three from their own origin (CORS); nothing else.
        .merge(
            Router::new()
                .route(paths::TOKEN, post(protocol::token))
                .route(
                    paths::USERINFO,
                    get(protocol::userinfo_get).post(protocol::userinfo_post),
                )
                .route(paths::REVOKE, post(protocol::revoke))
                .layer(crate::cors::layer(&state)),
        )
        .route(paths::INTROSPECT, post(protocol::introspect))
        .route(
            paths::END_SESSION,
            get(logout::end_session_get).post(logout::end_session_post),
        )
        .route("/end_session/confirm", post(logout::confirm))
        .route(paths::INTERACTION, get(interaction::show))
        .route("/interaction/{uid}/login", post(interaction::login))
        .route("/interaction/{uid}/consent", post(interaction::consent))
        .route(
            "/upgrade/email",
            get(upgrade::email_form).post(upgrade::email_submit),
        )
        .route(
            gan_accounts::upgrade::VERIFY_PATH,
            get(upgrade::verify_form).post(upgrade::verify_submit),
        )
        .route("/upgrade/resend", post(upgrade::resend))
        .route(
            gan_accounts::upgrade::START_PATH,
            get(upgrade::start_form).post(upgrade::start),
        )
        .route(
            "/forgot/identifier",
            get(forgot::identifier_form).post(forgot::identifier_submit),
        )
        .route(
            "/forgot/password",
            get(forgot::password_form).post(forgot::password_submit),
        )
        .route(
            gan_accounts::forgot::RESET_PATH,
            get(forgot::reset_form).post(forgot::reset_submit),
        )
        .route("/account", get(account::show))
        .route("/account/attach", post(account::attach))
        .route("/account/password", post(account::change_password))
        .route("/account/reauth", post(account::reauth))
        .route("/account/email", post(account::change_email))
        .route(
            gan_accounts::account::EMAIL_CHANGE_PATH,
            get(account::confirm_email_form).post(account::confirm_email),
        )
        .route("/account/sessions/end", post(account::end_session))
        .route(
            "/account/sessions/end-others",
            post(account::end_other_sessions),
        )
        .route("/help", get(ops::help))
        .route("/demo/mailbox", get(ops::mailbox))
        .route("/lang", get(ops::switch_lang))
        .route("/static/style.css", get(ops::style))
        .route("/static/password.js", get(ops::script))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .merge(crate::admin::router(&state))
        .merge(crate::console::router(&state))
        .fallback(ops::not_found)
        .layer(middleware::from_fn(crate::metrics::track))
        // A failed request is logged once, with its cause, by the error type that answered it
        // (pages, protocol, admin API); the trace layer's own line for a 5xx is only for debugging.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(middleware::from_fn_with_state(
            settings.clone(),
            crate::context::tag,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::security::headers,
        ))
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        // Discovery and JWKS beside the stack above: the same bytes for everyone.
        .merge(documents::router(&state))
        .with_state(state)
}

/// The router of the metrics listener: `GET /metrics`, and 404 (empty) for anything else.
pub fn metrics_router() -> Router {
    let _ = crate::metrics::handle();
    Router::new()
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { StatusCode::NOT_FOUND })
}
