//! `/keys`: signing keys.

use axum::extract::State;
use axum::Json;
use gan_admin::KeyView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::problem::Problem;
use crate::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
}

/// Every published key.
#[utoipa::path(get, path = "/admin/api/v1/keys", tag = "keys", responses((status = 200, body = KeyList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<KeyList>, Problem> {
    Ok(Json(KeyList {
        items: state.admin.keys().await?,
    }))
}

/// Adds a key per algorithm: published at once, signing after the publish delay; the old keys
/// stay published until their last ID token has expired.
#[utoipa::path(post, path = "/admin/api/v1/keys/rotate", tag = "keys", responses((status = 200, body = KeyList)))]
pub async fn rotate(State(state): State<AppState>) -> Result<Json<KeyList>, Problem> {
    Ok(Json(KeyList {
        items: state.admin.rotate_keys().await?,
    }))
}
