//! The support console at `/console`: help-desk agents (`support`) and administrators (`admin`)
//! in the browser. Staff sign in through Gan Connect's own authorization endpoint (the console is
//! a first-party client of it, code + PKCE), then give a TOTP code; every page below is
//! authorised on the server by role ([`gan_admin::console::Permission`]), every form carries a
//! CSRF token, and every action is recorded with the staff member as actor.

mod customers;
mod manage;
mod overview;
mod signin;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use gan_admin::console::{ConsoleAccess, Permission, Staff};
use gan_admin::AdminError;
use minijinja::{context, Value};

use crate::page::{Failure, PageError, Ui};
use crate::security::csrf_token;
use crate::{cookies, AppState};

/// The console's routes.
pub fn router(state: &AppState) -> Router<AppState> {
    let gate = |permission: Permission| {
        middleware::from_fn_with_state(
            (state.clone(), permission),
            |State((state, permission)): State<(AppState, Permission)>,
             req: Request,
             next: Next| async move { gate(state, permission, req, next).await },
        )
    };
    let read = Router::new()
        .route("/console", get(overview::dashboard))
        .route("/console/stuck.csv", get(overview::stuck_csv))
        .route("/console/audit", get(overview::audit))
        .route("/console/customers", get(customers::search))
        .route("/console/customers/{number}", get(customers::show))
        .route_layer(gate(Permission::Read));
    let act = Router::new()
        .route("/console/customers/{number}/{action}", post(customers::act))
        .route_layer(gate(Permission::CustomerActions));
    let manage = Router::new()
        .route(
            "/console/clients",
            get(manage::clients).post(manage::create_client),
        )
        .route("/console/clients/new", get(manage::new_client))
        .route(
            "/console/clients/{id}",
            get(manage::client).post(manage::update_client),
        )
        .route(
            "/console/clients/{id}/{action}",
            post(manage::client_action),
        )
        .route("/console/keys", get(manage::keys))
        .route("/console/keys/rotate", post(manage::rotate_keys))
        .route("/console/staff", get(manage::staff).post(manage::add_staff))
        .route("/console/staff/{id}/disable", post(manage::disable_staff))
        .route_layer(gate(Permission::Manage));
    Router::new()
        .route("/console/signin", get(signin::start))
        .route(gan_admin::console::CALLBACK_PATH, get(signin::callback))
        .route(
            "/console/second-factor",
            get(signin::second_factor_form).post(signin::second_factor),
        )
        .route("/console/signout", post(signin::sign_out))
        .merge(read)
        .merge(act)
        .merge(manage)
        .layer(middleware::from_fn(no_store))
}

/// Console pages are never cached: they show personal data.
async fn no_store(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The console session of this browser, by its cookie.
async fn access(state: &AppState, jar: &CookieJar) -> Result<ConsoleAccess, AdminError> {
    let cookie = cookies::get(jar, &state.settings, cookies::CONSOLE);
    state.admin.console_access(cookie.as_deref()).await
}

/// Lets a request through to a console page only for a staff member whose console session is
/// open and whose role allows `permission`; the member becomes the actor of the request's audit
/// events. A GET without an open session goes to sign-in (or to the second factor); a POST gets
/// a 401 page saying the session ended (what was typed is not replayed after sign-in).
async fn gate(state: AppState, permission: Permission, mut req: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(req.headers());
    let ui = Ui::new(
        &state,
        crate::request::page_lang(&jar, &state.settings, req.headers(), None),
    )
    .for_console();
    let staff = match access(&state, &jar).await {
        Ok(ConsoleAccess::Open(staff)) => staff,
        Ok(ConsoleAccess::SecondFactor { .. }) if req.method() == Method::GET => {
            return Redirect::to("/console/second-factor").into_response()
        }
        Ok(_) if req.method() == Method::GET => {
            return Redirect::to("/console/signin").into_response()
        }
        Ok(_) => {
            return ui
                .render(
                    StatusCode::UNAUTHORIZED,
                    "message.html",
                    context! {
                        title => ui.t("console_expired_title"),
                        paragraphs => vec![ui.t("console_expired_text")],
                        link_href => "/console/signin",
                        link_text => ui.t("console_signin_link"),
                    },
                )
                .into_response()
        }
        Err(e) => {
            return PageError::unavailable(&ui, "console: find the session", e).into_response()
        }
    };
    if !staff.role.may(permission) {
        state
            .admin
            .console_refused(&staff.identity_id, req.uri().path(), "role")
            .await;
        return ui.fail(Failure::Forbidden).into_response();
    }
    let mut context = gan_audit::current();
    context.actor = Some(gan_audit::Actor::staff(&staff.identity_id));
    req.extensions_mut().insert(staff);
    gan_audit::scope(context, next.run(req)).await
}

/// The staff member of a console page (the gate put them there) and the page language.
pub(super) struct Console {
    pub ui: Ui,
    pub staff: Staff,
    pub jar: CookieJar,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(ui) = Ui::from_request_parts(parts, state).await;
        let ui = ui.for_console();
        let staff = parts
            .extensions
            .get::<Staff>()
            .cloned()
            .ok_or_else(|| ui.fail(Failure::Forbidden))?;
        Ok(Self {
            ui,
            staff,
            jar: CookieJar::from_headers(&parts.headers),
        })
    }
}

impl Console {
    /// Renders a console template with what every console page shows (the member, their role,
    /// the navigation, a CSRF token for the sign-out form and the page's forms).
    pub fn render(self, state: &AppState, status: StatusCode, name: &str, ctx: Value) -> Response {
        let (jar, csrf) = csrf_token(self.jar, state);
        let page = self.ui.render(
            status,
            name,
            context! {
                staff_email => self.staff.email,
                role => self.staff.role.as_str(),
                is_admin => self.staff.role.may(Permission::Manage),
                csrf_token => csrf,
                ..ctx
            },
        );
        (jar, page).into_response()
    }

    /// An admin operation's failure as a page: a missing thing 404, a refused value 400, a
    /// conflict 409, a forbidden one 403, storage 503 (logged).
    pub fn failed(&self, during: &'static str, e: AdminError) -> Response {
        let ui = &self.ui;
        if !matches!(e, AdminError::Unavailable(_)) {
            // Storage failures are logged (as errors) by the page error below.
            tracing::info!(request_id = %crate::page::request_id(), during, error = %e, "console request refused");
        }
        match e {
            AdminError::NotFound(_) => ui
                .error_key(StatusCode::NOT_FOUND, "console_not_found")
                .into_response(),
            AdminError::Invalid { field, reason } => ui
                .error(StatusCode::BAD_REQUEST, &format!("{field}: {reason}"))
                .into_response(),
            AdminError::Conflict(m) => ui.error(StatusCode::CONFLICT, &m).into_response(),
            AdminError::Forbidden(_) => ui.fail(Failure::Forbidden).into_response(),
            AdminError::Unavailable(m) => PageError::unavailable(ui, during, m).into_response(),
        }
    }
}

/// An axum extractor of a console page (its `Query`, its `Path`) whose rejection — a repeated
/// field, a value of the wrong type, a path that is not UTF-8 — becomes the console's 400 page in
/// the agent's language rather than axum's text.
pub(super) struct ConsoleArg<E>(pub E);

impl<E> FromRequestParts<AppState> for ConsoleArg<E>
where
    E: FromRequestParts<AppState> + Send,
    E::Rejection: IntoResponse,
{
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(ui) = Ui::from_request_parts(parts, state).await;
        E::from_request_parts(parts, state)
            .await
            .map(Self)
            .map_err(|e| PageError::unreadable(&ui.for_console(), e))
    }
}

/// The reason an agent typed for an action: 3 to 500 characters without control characters
/// (line breaks allowed), trimmed; `None` otherwise.
pub(super) fn reason_of(typed: &str) -> Option<String> {
    let reason = typed.trim();
    let len = reason.chars().count();
    // Line breaks are welcome; other controls and the characters that hide or reorder text
    // around them (a right-to-left override in the audit trail) are not.
    let clean = reason
        .chars()
        .all(|c| c == '\n' || c == '\r' || !gan_admin::invisible(c));
    ((3..=500).contains(&len) && clean).then(|| reason.to_string())
}

/// Runs `fut` with `reason` recorded in the audit events it leaves.
pub(super) async fn with_reason<F: std::future::Future>(reason: String, fut: F) -> F::Output {
    let mut context = gan_audit::current();
    context.reason = Some(reason);
    gan_audit::scope(context, fut).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_a_few_words_of_text() {
        assert_eq!(
            reason_of("  appel du client  ").as_deref(),
            Some("appel du client")
        );
        assert_eq!(reason_of("ok"), None);
        assert_eq!(reason_of(&"x".repeat(501)), None);
        assert_eq!(reason_of("a\u{0}bc"), None);
        assert!(reason_of("ligne 1\nligne 2").is_some());
        assert_eq!(reason_of("appel \u{202e}tneilc"), None);
    }
}
