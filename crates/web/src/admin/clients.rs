//! `/clients`: relying parties.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gan_admin::{ClientInput, ClientPatch, ClientView, CreatedClient};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::problem::{ApiJson, ApiQuery, Problem};
use crate::AppState;

/// Every relying party.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientList {
    pub items: Vec<ClientView>,
}

#[utoipa::path(get, path = "/admin/api/v1/clients", tag = "clients", responses((status = 200, body = ClientList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<ClientList>, Problem> {
    Ok(Json(ClientList {
        items: state.admin.list_clients().await?,
    }))
}

/// Registers a relying party; a generated secret is in the answer, once.
#[utoipa::path(post, path = "/admin/api/v1/clients", tag = "clients", request_body = ClientInput,
    responses((status = 201, body = CreatedClient, headers(("Location" = String))), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ClientInput>,
) -> Result<Response, Problem> {
    let created = state.admin.create_client(input).await?;
    let location = format!(
        "{}/clients/{}",
        super::BASE,
        super::customers::path_segment(&created.client.client_id)
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created),
    )
        .into_response())
}

#[utoipa::path(get, path = "/admin/api/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, Problem> {
    Ok(Json(state.admin.get_client(&id).await?))
}

/// Changes the fields present in the body (`enabled: false` also revokes the client's tokens).
#[utoipa::path(patch, path = "/admin/api/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)), request_body = ClientPatch,
    responses((status = 200, body = ClientView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ClientPatch>,
) -> Result<Json<ClientView>, Problem> {
    Ok(Json(state.admin.update_client(&id, patch).await?))
}

/// Deletes a relying party with its tokens and consents.
#[utoipa::path(delete, path = "/admin/api/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.admin.delete_client(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of a secret rotation.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RotateQuery {
    /// `true` when the previous secret leaked: it stops working at once and every token issued
    /// to the client is revoked. Default `false`: it keeps working for the grace period.
    #[serde(default)]
    pub revoke_previous: bool,
}

/// A new secret, in the answer once; the previous one keeps working for the grace period
/// (`previous_secret_expires_at`), or stops at once with `revoke_previous=true`, which also
/// revokes every token issued to the client.
#[utoipa::path(post, path = "/admin/api/v1/clients/{client_id}/secret", tag = "clients", params(("client_id" = String, Path), RotateQuery),
    responses((status = 200, body = CreatedClient), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<RotateQuery>,
) -> Result<Json<CreatedClient>, Problem> {
    Ok(Json(
        state
            .admin
            .rotate_client_secret(&id, query.revoke_previous)
            .await?,
    ))
}

/// Disables a relying party and revokes its tokens.
#[utoipa::path(post, path = "/admin/api/v1/clients/{client_id}/disable", tag = "clients", params(("client_id" = String, Path)),
    responses((status = 200, body = ClientView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, Problem> {
    Ok(Json(state.admin.disable_client(&id).await?))
}
