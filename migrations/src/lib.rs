//! Schema migrations, one portable set for SQLite and PostgreSQL (schema builder only, no raw
//! SQL), so the two cannot drift. Timestamps are Unix seconds (`BIGINT`).

pub use sea_orm_migration::prelude::*;

mod m0001_core;
mod m0002_customers;
mod m0003_admin;
mod m0004_cut_off;
mod m0005_customer_names;
mod m0006_client_web_origins;
mod m0007_demo_marker;
mod m0008_mail_sealed;
mod m0009_client_access_token_format;
mod m0010_backchannel_logout;
mod m0011_scrub_typed_identifiers;
mod m0012_staff;
mod m0013_console_session;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_core::Migration),
            Box::new(m0002_customers::Migration),
            Box::new(m0003_admin::Migration),
            Box::new(m0004_cut_off::Migration),
            Box::new(m0005_customer_names::Migration),
            Box::new(m0006_client_web_origins::Migration),
            Box::new(m0007_demo_marker::Migration),
            Box::new(m0008_mail_sealed::Migration),
            Box::new(m0009_client_access_token_format::Migration),
            Box::new(m0010_backchannel_logout::Migration),
            Box::new(m0011_scrub_typed_identifiers::Migration),
            Box::new(m0012_staff::Migration),
            Box::new(m0013_console_session::Migration),
        ]
    }
}
