//! Conversions between records and rows.

use gan_oidc::error::StoreError;
use time::OffsetDateTime;

/// Every database failure becomes "unavailable" for the engines, with the driver's message as
/// the cause. It is logged once, with the request id, by whoever turns it into an answer (the
/// page, protocol and admin error types, the background workers); here only at debug level.
pub fn db_err(e: sea_orm::DbErr) -> StoreError {
    tracing::debug!(error = %e, "database error");
    StoreError::Unavailable(e.to_string())
}

pub fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

pub fn from_ts(s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(s).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}
