//! `/customers` and `/identities`: helping customers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gan_admin::{CustomerDetail, CustomerPage, IdentityView};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problem::{ApiQuery, Problem};
use crate::AppState;

/// A path segment with its reserved characters percent-encoded.
pub fn path_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A client number, a login or contact email (exact), or part of a name.
    #[param(min_length = 1, max_length = 255)]
    pub q: String,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Customer accounts whose client number, login email, contact email or name matches `q`,
/// ordered by client number.
#[utoipa::path(get, path = "/admin/api/v1/customers", tag = "customers", params(SearchParams), responses((status = 200, body = CustomerPage)))]
pub async fn search(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<CustomerPage>, Problem> {
    if let Some(c) = &p.cursor {
        gan_admin::text_param(c, "cursor")?;
    }
    Ok(Json(
        state
            .admin
            .search_customers(&p.q, p.cursor, p.limit.unwrap_or(50))
            .await?,
    ))
}

const NOT_FOUND: &str = "application/problem+json";

#[utoipa::path(get, path = "/admin/api/v1/customers/{client_number}", tag = "customers", params(("client_number" = String, Path, pattern = "^[0-9A-Za-z]{4,32}$")),
    responses((status = 200, body = CustomerDetail), (status = 404, body = Problem, content_type = NOT_FOUND)))]
pub async fn get(
    State(state): State<AppState>,
    Path(n): Path<String>,
) -> Result<Json<CustomerDetail>, Problem> {
    Ok(Json(state.admin.customer(&n).await?))
}

/// Detaches the account from its identity; it goes back to `legacy`, without a legacy
/// password (its holder restarts from "Mot de passe oublié").
#[utoipa::path(post, path = "/admin/api/v1/customers/{client_number}/detach", tag = "customers", params(("client_number" = String, Path, pattern = "^[0-9A-Za-z]{4,32}$")),
    responses((status = 200, body = CustomerDetail), (status = 404, body = Problem, content_type = NOT_FOUND)))]
pub async fn detach(
    State(state): State<AppState>,
    Path(n): Path<String>,
) -> Result<Json<CustomerDetail>, Problem> {
    Ok(Json(state.admin.detach_account(&n).await?))
}

/// Sends a fresh verification link for the activation in progress; older links stop working.
#[utoipa::path(post, path = "/admin/api/v1/customers/{client_number}/activation/resend", tag = "customers", params(("client_number" = String, Path, pattern = "^[0-9A-Za-z]{4,32}$")),
    responses((status = 200, body = CustomerDetail), (status = 404, body = Problem, content_type = NOT_FOUND)))]
pub async fn resend_activation(
    State(state): State<AppState>,
    Path(n): Path<String>,
) -> Result<Json<CustomerDetail>, Problem> {
    Ok(Json(state.admin.resend_activation(&n).await?))
}

/// Cancels the activation in progress: its links stop working.
#[utoipa::path(delete, path = "/admin/api/v1/customers/{client_number}/activation", tag = "customers", params(("client_number" = String, Path, pattern = "^[0-9A-Za-z]{4,32}$")),
    responses((status = 200, body = CustomerDetail), (status = 404, body = Problem, content_type = NOT_FOUND)))]
pub async fn cancel_activation(
    State(state): State<AppState>,
    Path(n): Path<String>,
) -> Result<Json<CustomerDetail>, Problem> {
    Ok(Json(state.admin.cancel_activation(&n).await?))
}

/// An identity with its accounts, live sessions and recent sign-ins.
#[utoipa::path(get, path = "/admin/api/v1/identities/{id}", tag = "customers", params(("id" = String, Path)),
    responses((status = 200, body = IdentityView), (status = 404, body = Problem, content_type = NOT_FOUND)))]
pub async fn identity(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IdentityView>, Problem> {
    Ok(Json(state.admin.identity(&id).await?))
}

/// Locks an identity: it can no longer sign in, its sessions end and its tokens are revoked.
#[utoipa::path(post, path = "/admin/api/v1/identities/{id}/lock", tag = "customers", params(("id" = String, Path)),
    responses((status = 200, body = IdentityView), (status = 404, body = Problem, content_type = NOT_FOUND)))]
pub async fn lock(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IdentityView>, Problem> {
    Ok(Json(state.admin.lock_identity(&id).await?))
}

#[utoipa::path(post, path = "/admin/api/v1/identities/{id}/unlock", tag = "customers", params(("id" = String, Path)),
    responses((status = 200, body = IdentityView), (status = 404, body = Problem, content_type = NOT_FOUND)))]
pub async fn unlock(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IdentityView>, Problem> {
    Ok(Json(state.admin.unlock_identity(&id).await?))
}

/// Ends every session of the identity and revokes its tokens.
#[utoipa::path(delete, path = "/admin/api/v1/identities/{id}/sessions", tag = "customers", params(("id" = String, Path)),
    responses((status = 204, description = "Ended"), (status = 404, body = Problem, content_type = NOT_FOUND)))]
pub async fn end_sessions(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.admin.end_sessions(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
