use sea_orm::entity::prelude::*;

/// A member of the console's staff: an identity with a role.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub identity_id: String,
    pub role: String,
    pub status: String,
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<i64>,
    pub recovery_codes: String,
    pub created_at: i64,
    pub created_by: String,
    pub disabled_at: Option<i64>,
    pub totp_last_step: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
