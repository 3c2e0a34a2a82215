//! `/migration`: how the move to Gan Connect is going (the migration dashboard's figures).

use axum::extract::State;
use axum::Json;
use gan_admin::{MigrationReport, StuckPage};
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StuckParams {
    /// Stuck when the newest activation link was sent more than this many days ago (1 to 366,
    /// default 7).
    #[param(minimum = 1, maximum = 366)]
    pub stuck_days: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// The customers stuck in an activation (the newest verification link sent long ago, never
/// used, the account still legacy), by client number, with their contact email: for a reminder
/// campaign.
#[utoipa::path(get, path = "/admin/api/v1/migration/stuck", tag = "migration", params(StuckParams), responses((status = 200, body = StuckPage)))]
pub async fn stuck(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<StuckParams>,
) -> Result<Json<StuckPage>, Problem> {
    if let Some(c) = &p.cursor {
        gan_admin::text_param(c, "cursor")?;
    }
    Ok(Json(
        state
            .admin
            .stuck_customers(p.stuck_days.unwrap_or(7), p.cursor, p.limit.unwrap_or(50))
            .await?,
    ))
}
