//! Administration: what support staff and operators do to relying parties, customers, keys and
//! the audit trail. The admin API and the CLI both call this crate, so an operation validates,
//! acts and leaves the same audit event whichever way it comes.

#![warn(missing_docs)]

mod clients;
pub mod console;
mod customers;
pub mod diagnosis;
mod keys;
mod migration;
mod ports;
mod staff;

use std::sync::Arc;

use gan_accounts::Accounts;
use gan_audit::{Actor, AuditEvent, Auditor, EventType};
use gan_oidc::Provider;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use clients::{ClientInput, ClientPatch, ClientView, CreatedClient};
pub use customers::{
    AccountView, ActivationView, CustomerDetail, CustomerView, IdentityView, SessionView, MAX_LIMIT,
};
pub use keys::KeyView;
pub use migration::{
    write_stuck_csv, AccountsByStatus, Funnel, MigrationDay, MigrationReport, Stuck, StuckCustomer,
    MAX_DAYS,
};
pub use ports::{AdminStore, ConsoleStore, CustomerRow, CustomerSearch, MigrationCounts};
pub use staff::{StaffRecord, StaffRole, StaffView};

/// Why an admin operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Nothing of that kind (`client`, `customer`, `identity`, `pending activation`, …) by that
    /// name; the API answers 404.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A value the caller sent is wrong; `field` names it as the API spells it.
    #[error("{field}: {reason}")]
    Invalid {
        /// The parameter or body field at fault (`client_id`, `limit`, `redirect_uris`, …).
        field: String,
        /// What is wrong with it, in English, for the caller.
        reason: String,
    },
    /// The operation contradicts the current state (an id already taken, a client without a
    /// secret to rotate, an admin client disabling itself); the API answers 409.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this (a console role without the permission, an identity that is
    /// not staff); the API answers 403.
    #[error("{0}")]
    Forbidden(String),
    /// Storage, mail or the engines failed; the detail is logged, the API answers 503.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl AdminError {
    /// [`AdminError::Invalid`] for `field`.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

impl From<gan_oidc::error::StoreError> for AdminError {
    fn from(e: gan_oidc::error::StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<gan_oidc::EngineError> for AdminError {
    fn from(e: gan_oidc::EngineError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<gan_accounts::ports::AccountsStoreError> for AdminError {
    fn from(e: gan_accounts::ports::AccountsStoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<gan_accounts::Unavailable> for AdminError {
    fn from(e: gan_accounts::Unavailable) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<gan_audit::AuditStoreError> for AdminError {
    fn from(e: gan_audit::AuditStoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// The result of an admin operation.
pub type AdminResult<T> = Result<T, AdminError>;

/// An identifier from a path: nothing by that name can exist when it is empty, too long or
/// holds control characters (which some databases refuse outright).
pub(crate) fn named<'a>(id: &'a str, what: &'static str) -> AdminResult<&'a str> {
    if id.is_empty() || id.len() > 255 || id.chars().any(char::is_control) {
        return Err(AdminError::NotFound(what));
    }
    Ok(id)
}

/// The client the current admin request authenticated as (it may not disable or delete itself).
pub(crate) fn acting_client() -> Option<String> {
    gan_audit::current()
        .actor
        .filter(|a| a.kind == gan_audit::ActorKind::Admin)
        .and_then(|a| a.id)
}

/// A character that is not seen, or that reorders the text around it, where it is shown:
/// controls, the soft hyphen, zero-width characters and joiners, the byte-order mark, the line
/// and paragraph separators, and the bidirectional marks, embeddings, overrides and isolates.
/// Names and identifiers holding one could pass for others (`ev\u{200b}il` looks like `evil`).
pub fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// A free-text parameter: 1 to 255 characters, no control characters.
pub fn text_param<'a>(value: &'a str, field: &str) -> AdminResult<&'a str> {
    if value.is_empty() || value.chars().count() > 255 || value.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            field,
            "1 to 255 characters, without control characters",
        ));
    }
    Ok(value)
}

/// A page of a collection and the cursor of the next one (`null` on the last page).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// At most `limit` items, in the collection's order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// A page of the customer search, by client number.
pub type CustomerPage = Page<CustomerView>;
/// A page of customers stuck in an activation, by client number.
pub type StuckPage = Page<StuckCustomer>;
/// A page of audit events: newest first, or oldest first when following with `after`.
pub type AuditEventPage = Page<gan_audit::AuditEvent>;

/// Settings of administration.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// How long a rotated client secret keeps working.
    pub secret_grace: time::Duration,
    /// The public URL links in messages start with.
    pub base_url: String,
    /// How long console sessions last.
    pub console: console::ConsoleSettings,
}

/// The admin service.
pub struct Admin {
    /// The OpenID provider: clients, sessions, keys.
    pub provider: Arc<Provider>,
    /// The identity domain: identities, customer accounts, verification links.
    pub accounts: Accounts,
    /// What administration needs from storage beyond the engines' ports.
    pub store: Arc<dyn AdminStore>,
    /// The audit trail (the provider's).
    pub audit: Arc<Auditor>,
    /// Secret grace period and public base URL.
    pub settings: AdminSettings,
    /// The console's sessions and the staff's second factor.
    pub(crate) console: ConsoleParts,
}

/// What the console's sessions need: their storage, the sealer of TOTP secrets, their limits.
pub(crate) struct ConsoleParts {
    store: Arc<dyn ConsoleStore>,
    sealer: gan_oidc::keys::KeySealer,
    settings: console::ConsoleSettings,
}

impl Admin {
    /// The admin service over a provider and an accounts domain; it records to the provider's
    /// audit trail.
    ///
    /// `console_store` keeps console sessions; `totp_sealer` seals the staff's TOTP secrets
    /// (a key derived from the key-encryption key for that purpose alone).
    pub fn new(
        provider: Arc<Provider>,
        accounts: Accounts,
        store: Arc<dyn AdminStore>,
        console_store: Arc<dyn ConsoleStore>,
        totp_sealer: gan_oidc::keys::KeySealer,
        settings: AdminSettings,
    ) -> Self {
        let audit = provider.audit.clone();
        let console = ConsoleParts {
            store: console_store,
            sealer: totp_sealer,
            settings: settings.console,
        };
        Self {
            provider,
            accounts,
            store,
            audit,
            settings,
            console,
        }
    }

    /// How long console sessions last.
    pub fn console_settings(&self) -> console::ConsoleSettings {
        self.console.settings
    }

    fn now(&self) -> time::OffsetDateTime {
        self.provider.now()
    }

    /// An event whose actor is the admin of the current request (the API or the CLI sets it).
    fn event(&self, event_type: EventType) -> AuditEvent {
        let context = gan_audit::current();
        let actor = context.actor.unwrap_or_else(|| Actor::admin("unknown"));
        let event = AuditEvent::success(event_type, actor, self.now());
        match context.reason {
            Some(reason) => event.with("reason", reason),
            None => event,
        }
    }

    async fn record(&self, event: AuditEvent) {
        self.audit.record(event).await;
    }

    /// The role of the staff member acting in the current request (the console, or a console
    /// token at the API); `None` for the CLI and admin clients. A member no longer found or
    /// disabled counts as `support`, the lesser role.
    pub(crate) async fn acting_staff_role(&self) -> AdminResult<Option<StaffRole>> {
        let Some(actor) = gan_audit::current()
            .actor
            .filter(|a| a.kind == gan_audit::ActorKind::Staff)
        else {
            return Ok(None);
        };
        let id = actor.id.unwrap_or_default();
        let role = self
            .store
            .find_staff(&id)
            .await?
            .filter(|m| m.active)
            .map_or(StaffRole::Support, |m| m.role);
        Ok(Some(role))
    }

    /// Support acts on customers, not on staff: an identity that is a staff member (an
    /// administrator included) is looked into, locked, unlocked or cut off by administrators,
    /// the CLI or admin clients only.
    ///
    /// Errors: `Forbidden`, `Unavailable`.
    pub(crate) async fn may_touch_identity(&self, identity_id: &str) -> AdminResult<()> {
        let role = self.acting_staff_role().await?;
        self.may_touch_identity_as(role, identity_id).await
    }

    /// [`Admin::may_touch_identity`] for an acting role already read.
    pub(crate) async fn may_touch_identity_as(
        &self,
        role: Option<StaffRole>,
        identity_id: &str,
    ) -> AdminResult<()> {
        if role == Some(StaffRole::Support) && self.store.find_staff(identity_id).await?.is_some() {
            return Err(AdminError::Forbidden(
                "staff members are managed by administrators".into(),
            ));
        }
        Ok(())
    }

    /// Whether login emails are shown masked to whoever acts (a support agent), as on the
    /// console.
    pub(crate) async fn masks_login_emails(&self) -> AdminResult<bool> {
        Ok(self.acting_staff_role().await? == Some(StaffRole::Support))
    }

    /// Audit events, newest first (or oldest first after `filter.after`).
    pub async fn audit_events(
        &self,
        filter: &gan_audit::AuditFilter,
    ) -> AdminResult<Page<gan_audit::AuditEvent>> {
        let page = self.audit.query(filter).await?;
        Ok(Page {
            items: page.events,
            next_cursor: page.next,
        })
    }
}
