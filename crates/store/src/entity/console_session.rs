use sea_orm::entity::prelude::*;

/// A console session of a staff member, keyed by the hash of its cookie.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "console_session")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id_hash: String,
    pub identity_id: String,
    pub sid: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub second_factor_at: Option<i64>,
    pub ended_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
