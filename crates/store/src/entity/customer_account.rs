use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_account")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_number: String,
    pub kind: String,
    pub label: String,
    pub contact_email: String,
    pub legacy_hash: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
