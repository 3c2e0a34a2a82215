use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub at: i64,
    pub event_type: String,
    pub outcome: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub identity_id: Option<String>,
    pub client_number: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub correlation_id: Option<String>,
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
