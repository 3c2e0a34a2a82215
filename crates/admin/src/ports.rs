//! What administration needs from storage beyond the engines' ports.

use async_trait::async_trait;
use gan_accounts::IdentityStatus;
use gan_oidc::ports::StoreResult;
use time::OffsetDateTime;

/// A customer search: `q` matched against client numbers, login and contact emails (exactly,
/// normalised) and names (substring, case-insensitive); keyset pages by client number.
#[derive(Debug, Clone)]
pub struct CustomerSearch {
    /// What to look for, trimmed; an email (anything with `@`) is already normalised.
    pub q: String,
    /// Return client numbers after this one.
    pub after: Option<String>,
    /// Page size, 1 to [`MAX_LIMIT`](crate::MAX_LIMIT).
    pub limit: u64,
}

/// A customer account as the search lists it, with its identity if attached.
#[derive(Debug, Clone)]
pub struct CustomerRow {
    /// The customer account as stored.
    pub account: gan_accounts::customer::CustomerAccount,
    /// The identity it is attached to, if any.
    pub identity_id: Option<String>,
    /// That identity's login email.
    pub login_email: Option<String>,
}

/// Storage operations of administration, implemented by `gan-store` (SQLite and PostgreSQL).
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// One more row than `limit` when there is a next page.
    async fn search_customers(&self, search: &CustomerSearch) -> StoreResult<Vec<CustomerRow>>;
    /// Sets an identity's status (`active` or `locked`); `false` when there is no such identity.
    async fn set_identity_status(
        &self,
        identity_id: &str,
        status: IdentityStatus,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Revokes every live token of a client; returns how many.
    async fn revoke_client_tokens(&self, client_id: &str, now: OffsetDateTime) -> StoreResult<u64>;
    /// Deletes a client with its tokens and consents; `false` when there was none.
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
    /// Detaches an account from its identity, in one transaction; the account goes back to
    /// `legacy` (without a legacy password: its owner restarts from "mot de passe oublié").
    /// Returns the identity it was attached to.
    async fn detach_account(
        &self,
        client_number: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<String>>;
    /// The newest unused verification link of an upgrade in progress for this account.
    async fn pending_activation(
        &self,
        client_number: &str,
    ) -> StoreResult<Option<gan_accounts::links::LinkRecord>>;
    /// Marks every unused upgrade link of this account used; returns how many.
    async fn cancel_activation(&self, client_number: &str, now: OffsetDateTime)
        -> StoreResult<u64>;
    /// The migration's figures: accounts by status at `now`, the funnel and the per-day counts
    /// from `since`, the accounts stuck since before `stuck_before`.
    async fn migration_counts(
        &self,
        since: OffsetDateTime,
        stuck_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<MigrationCounts>;
    /// Adds a staff member; `false` when the identity is staff already.
    async fn insert_staff(&self, member: &crate::StaffRecord) -> StoreResult<bool>;
    /// Every staff member with their login email.
    async fn list_staff(&self) -> StoreResult<Vec<(crate::StaffRecord, String)>>;
    /// The staff member an identity is, if any.
    async fn find_staff(&self, identity_id: &str) -> StoreResult<Option<crate::StaffRecord>>;
    /// Disables a staff member; `false` when the identity is not staff.
    async fn disable_staff(&self, identity_id: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// The accounts [`MigrationCounts::stuck`] counts, by client number after `after`, at most
    /// `limit + 1` when a limit is given (one more when there is a next page), every one
    /// otherwise.
    async fn stuck_customers(
        &self,
        stuck_before: OffsetDateTime,
        after: Option<&str>,
        limit: Option<u64>,
    ) -> StoreResult<Vec<crate::StuckCustomer>>;
}

/// What the migration dashboard reads from storage (customer accounts, upgrade links and the
/// audit trail).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationCounts {
    /// Accounts with status `legacy` (those with an activation pending included).
    pub legacy: u64,
    /// Legacy accounts with an unused, unexpired verification link (activation pending).
    pub activation_pending: u64,
    /// Accounts with status `upgraded`.
    pub upgraded: u64,
    /// Legacy accounts whose last activation (a login email chosen, or a link resent) was sent
    /// before the `stuck_before` time given, not cancelled since, and never completed: read from
    /// the audit trail, which outlives the links (purged a day after they expire).
    pub stuck: u64,
    /// Distinct client numbers, in the period, that signed in with their legacy password
    /// (`upgrade.started`), chose a login email (`upgrade.email_chosen`), opened the
    /// verification link (`upgrade.link_opened`, or completed: completing opens it) and completed
    /// the upgrade (`upgrade.completed`).
    pub funnel: [u64; 4],
    /// Per UTC day of the period (days since 1970-01-01), upgrades completed and choices
    /// refused because the email is already used; days without either are absent.
    pub per_day: Vec<(i64, u64, u64)>,
}

/// Storage of the console's sessions and of the staff's second factor, implemented by
/// `gan-store`.
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    /// Stores a new console session.
    async fn insert_console_session(
        &self,
        session: &crate::console::ConsoleSession,
    ) -> StoreResult<()>;
    /// The console session with this cookie hash, unless it was ended.
    async fn find_console_session(
        &self,
        id_hash: &str,
    ) -> StoreResult<Option<crate::console::ConsoleSession>>;
    /// The newest console session of `identity_id` opened from browser session `sid` whose
    /// second factor was checked, unless it was ended.
    async fn console_session_of_sid(
        &self,
        sid: &str,
        identity_id: &str,
    ) -> StoreResult<Option<crate::console::ConsoleSession>>;
    /// Marks a session seen at `now`.
    async fn touch_console_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Marks a session's second factor checked at `now` (and seen), and gives it a new cookie
    /// hash (the cookie changes as the session gains rights).
    async fn second_factor_checked(
        &self,
        id_hash: &str,
        new_id_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Ends a session.
    async fn end_console_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Keeps a pending TOTP secret (sealed) for a member not enrolled yet.
    async fn set_totp_secret(&self, identity_id: &str, sealed: &str) -> StoreResult<()>;
    /// Enrols the pending secret with the hashes of new recovery codes; `false` when there is
    /// no pending secret or the member is enrolled already.
    async fn enable_totp(
        &self,
        identity_id: &str,
        recovery_hashes: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Records time step `step` as used, atomically; `false` when it, or a later one, was.
    async fn accept_totp_step(&self, identity_id: &str, step: i64) -> StoreResult<bool>;
    /// Replaces the recovery code hashes if they are still `previous` (each code works once,
    /// even when two requests race); `false` otherwise.
    async fn replace_recovery_codes(
        &self,
        identity_id: &str,
        previous: &[String],
        left: &[String],
    ) -> StoreResult<bool>;
}
