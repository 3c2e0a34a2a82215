//! The admin API under `/admin/api/v1`: JSON, bearer tokens from Gan Connect's own
//! `client_credentials` grant with `admin:read` (reads) or `admin:write` (changes), RFC 9457
//! errors, and an OpenAPI 3.1 document generated from these handlers.

mod audit;
mod clients;
mod customers;
mod keys;
mod migration;
pub mod problem;

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use gan_admin::console::Permission;
use gan_audit::Actor;
use gan_oidc::scope::{ADMIN_READ, ADMIN_WRITE};
use utoipa::openapi::security::{ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, OpenApi as Doc, RefOr, Response as DocResponse, ResponseBuilder,
};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use problem::Problem;

pub const BASE: &str = "/admin/api/v1";
pub const OPENAPI_PATH: &str = "/admin/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(title = "Gan Connect admin API", description = "Relying parties, customers, signing keys and the audit trail. Authenticate with a bearer access token from Gan Connect's `client_credentials` grant: scope `admin:read` for reads, `admin:write` for changes."),
    tags(
        (name = "clients", description = "Relying parties"),
        (name = "customers", description = "Customer accounts and identities"),
        (name = "keys", description = "Signing keys"),
        (name = "audit", description = "The audit trail"),
        (name = "migration", description = "How the move to Gan Connect is going"),
    ),
    components(schemas(Problem)),
)]
struct ApiDoc;

/// Adds what every operation shares: the security requirement and the problem responses.
struct Common {
    token_url: String,
}

fn problem_response(description: &str) -> RefOr<DocResponse> {
    let content = ContentBuilder::new()
        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(problem::CONTENT_TYPE, content)
            .build(),
    )
}

impl Modify for Common {
    fn modify(&self, doc: &mut Doc) {
        let scopes = Scopes::from_iter([
            (ADMIN_READ, "read clients, customers, keys and audit events"),
            (ADMIN_WRITE, "change them"),
        ]);
        let flow = Flow::ClientCredentials(ClientCredentials::new(self.token_url.clone(), scopes));
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("admin_token", SecurityScheme::OAuth2(OAuth2::new([flow])));
        for item in doc.paths.paths.values_mut() {
            let ops = [
                (&mut item.get, ADMIN_READ),
                (&mut item.post, ADMIN_WRITE),
                (&mut item.patch, ADMIN_WRITE),
                (&mut item.delete, ADMIN_WRITE),
                (&mut item.put, ADMIN_WRITE),
            ];
            for (op, scope) in ops {
                let Some(op) = op.as_mut() else { continue };
                op.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
                    "admin_token",
                    [scope],
                )]);
                let has_body = op.request_body.is_some();
                let responses = &mut op.responses.responses;
                let mut add = |code: &str, text: &str| {
                    responses
                        .entry(code.to_string())
                        .or_insert_with(|| problem_response(text));
                };
                add(
                    "400",
                    "Invalid request: `field` names the parameter at fault",
                );
                add("401", "No token, or an invalid or expired one");
                add("403", "The token lacks the scope");
                add("503", "The database is unavailable");
                if has_body {
                    add("413", "The body is too large");
                    add("415", "The body is not application/json");
                }
            }
        }
    }
}

/// The admin routes and the document describing them.
pub fn router(state: &AppState) -> Router<AppState> {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get, clients::update, clients::delete))
        .routes(routes!(clients::rotate_secret))
        .routes(routes!(clients::disable))
        .routes(routes!(customers::search))
        .routes(routes!(customers::get))
        .routes(routes!(customers::detach))
        .routes(routes!(customers::resend_activation))
        .routes(routes!(customers::cancel_activation))
        .routes(routes!(customers::identity))
        .routes(routes!(customers::lock))
        .routes(routes!(customers::unlock))
        .routes(routes!(customers::end_sessions))
        .routes(routes!(keys::list))
        .routes(routes!(keys::rotate))
        .routes(routes!(audit::query))
        .routes(routes!(migration::report))
        .routes(routes!(migration::stuck))
        .split_for_parts();
    let issuer = state.provider.config.issuer_str();
    let token_url = state.provider.config.url(gan_oidc::paths::TOKEN);
    Common { token_url }.modify(&mut doc);
    doc.servers = Some(vec![utoipa::openapi::Server::new(
        issuer.trim_end_matches('/'),
    )]);
    let json: std::sync::Arc<str> = doc.to_json().unwrap_or_default().into();
    let protected = api
        .route("/admin/api/v1/{*rest}", axum::routing::any(not_found))
        .layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .route(
            OPENAPI_PATH,
            axum::routing::get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.to_string(),
                    )
                }
            }),
        )
        .merge(protected)
}

async fn not_found() -> Response {
    Problem::new(axum::http::StatusCode::NOT_FOUND).into_response()
}

/// The bearer token of a request, if it has one.
fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Checks the bearer token (a live access token from the `client_credentials` grant, with the
/// scope the method needs, of a client that is enabled and *now* registered for that grant and
/// that scope) and runs the request with the
/// admin as the actor of its audit events.
async fn authorize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req.headers().contains_key(header::AUTHORIZATION);
    let Some(token) = bearer(&req) else {
        return Problem::unauthorized(presented).into_response();
    };
    let record = match state.provider.access_token(token).await {
        Ok(Some(record)) => record,
        Ok(None) => return Problem::unauthorized(true).into_response(),
        Err(e) => return Problem::from(gan_admin::AdminError::from(e)).into_response(),
    };
    // A person's token is accepted from the console's client only, for a staff member whose
    // console session is open, with the console's role checks.
    if record.identity_id.is_some() {
        return as_staff(&state, &record, req, next).await;
    }
    // Authority is the client's registration as it is now, read past every cache: a token
    // outlives a change to its client (scope or grant removed, client disabled) but its
    // rights do not.
    let client = match state.provider.client_now(&record.client_id).await {
        Ok(Some(c))
            if c.enabled
                && c.grant_types
                    .iter()
                    .any(|g| g == gan_oidc::model::GRANT_CLIENT_CREDENTIALS) =>
        {
            c
        }
        Ok(_) => return Problem::unauthorized(true).into_response(),
        Err(e) => return Problem::from(gan_admin::AdminError::from(e)).into_response(),
    };
    let needed = if matches!(*req.method(), Method::GET | Method::HEAD) {
        ADMIN_READ
    } else {
        ADMIN_WRITE
    };
    let granted = record.scope.split(' ').any(|s| s == needed);
    let registered = client.scopes.iter().any(|s| s == needed);
    if !(granted && registered) {
        return Problem::forbidden(needed).into_response();
    }
    let mut context = gan_audit::current();
    context.actor = Some(Actor::admin(record.client_id));
    let mut res = gan_audit::scope(context, next.run(req)).await;
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(header::HeaderValue::from_static("no-store"));
    res
}

/// What a staff member needs for an admin API request: managing relying parties, keys and staff
/// for any method on those; acting on customers for a change elsewhere; reading otherwise. The
/// console's routes ask the same of the same roles.
pub fn permission_for(method: &Method, path: &str) -> Permission {
    let rest = path.strip_prefix(BASE).unwrap_or(path);
    let managed = ["/clients", "/keys", "/staff"]
        .iter()
        .any(|p| rest == *p || rest.starts_with(&format!("{p}/")));
    if managed {
        Permission::Manage
    } else if matches!(*method, Method::GET | Method::HEAD) {
        Permission::Read
    } else if rest.starts_with("/customers/") || rest.starts_with("/identities/") {
        Permission::CustomerActions
    } else {
        Permission::Manage
    }
}

/// An admin API request with a staff member's console token: the member's console session
/// must be open (second factor checked, not idle, browser session live) and their role must
/// allow the request; their identity is the actor of its audit events.
async fn as_staff(
    state: &AppState,
    record: &gan_oidc::model::TokenRecord,
    req: Request,
    next: Next,
) -> Response {
    let staff = match state.admin.staff_of_token(record).await {
        Ok(Some(staff)) => staff,
        Ok(None) => return Problem::unauthorized(true).into_response(),
        Err(e) => return Problem::from(e).into_response(),
    };
    let needed = permission_for(req.method(), req.uri().path());
    if let Err(e) = staff.must(needed) {
        state
            .admin
            .console_refused(&staff.identity_id, req.uri().path(), "role")
            .await;
        return Problem::from(e).into_response();
    }
    let mut context = gan_audit::current();
    context.actor = Some(Actor::staff(&staff.identity_id));
    let mut res = gan_audit::scope(context, next.run(req)).await;
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(header::HeaderValue::from_static("no-store"));
    res
}
