//! `/migration`: how the move to Gan Connect is going (the migration dashboard's figures).

use axum::extract::State;
use axum::Json;
use gan_admin::MigrationReport;
use serde::Deserialize;
use utoipa::IntoParams;

use super::problem::{ApiQuery, Problem};
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MigrationParams {
    /// The period, in UTC days with today (1 to 366, default 30).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<u32>,
    /// A customer is stuck when their newest activation link was sent more than this many days
    /// ago and the upgrade was never completed (1 to 366, default 7).
    #[param(minimum = 1, maximum = 366)]
    pub stuck_days: Option<u32>,
}

/// Customer accounts by status (legacy, activation pending, upgraded), the upgrade funnel and,
/// per UTC day, upgrades completed and login emails refused as already used; customers stuck in
/// an activation.
#[utoipa::path(get, path = "/admin/api/v1/migration", tag = "migration", params(MigrationParams), responses((status = 200, body = MigrationReport)))]
pub async fn report(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<MigrationParams>,
) -> Result<Json<MigrationReport>, Problem> {
    Ok(Json(
        state
            .admin
            .migration(p.days.unwrap_or(30), p.stuck_days.unwrap_or(7))
            .await?,
    ))
}
