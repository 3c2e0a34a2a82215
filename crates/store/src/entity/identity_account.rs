use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identity_account")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_number: String,
    pub identity_id: String,
    pub attached_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
