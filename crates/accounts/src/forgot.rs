//! Forgotten credentials (web's `routes/forgot.rs`, design.md J5): "Identifiant oublié",
//! "Mot de passe oublié" and the password reset. The answers never say whether anything exists:
//! every request that names nothing succeeds silently.

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::customer::{normalize_client_number, AccountStatus};
use crate::cut_off::CutOffReason;
use crate::email;
use crate::links::{LinkData, LinkPurpose, LinkState};
use crate::policy::Violation;
use crate::ports::AccountsStoreError;
use crate::service::{Accounts, Unavailable};
use crate::upgrade::START_PATH;
use crate::Identity;

/// Path of the page the reset link leads to.
pub const RESET_PATH: &str = "/password/reset";

/// How long a password reset link works.
const RESET_TTL: time::Duration = time::Duration::hours(1);

/// Why a password reset did not complete.
#[derive(Debug)]
pub enum ResetError {
    /// The link is not valid (used — perhaps by a concurrent request —, expired or unknown).
    Link(LinkState),
    /// The password breaks these rules.
    Policy(Vec<Violation>),
    /// Storage or the hashing threads failed.
    Unavailable(String),
}

impl From<Unavailable> for ResetError {
    fn from(e: Unavailable) -> Self {
        Self::Unavailable(e.0)
    }
}

impl From<AccountsStoreError> for ResetError {
    fn from(e: AccountsStoreError) -> Self {
        Self::Unavailable(Unavailable::from(e).0)
    }
}

impl Accounts {
    /// "Identifiant oublié": every client number on record for a contact email, sent to it (one
    /// message, within the mail limit). Nothing happens for an address with no account.
    ///
    /// Errors: `Unavailable`.
    pub async fn forgot_identifier(
        &self,
        contact: &str,
        lang: &str,
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
        let Ok(address) = email::parse(contact) else {
            return Ok(());
        };
        let accounts = self
            .ports
            .customers
            .customers_by_contact_email(&address)
            .await?;
        if accounts.is_empty() {
            return Ok(());
        }
        let list: Vec<serde_json::Value> = accounts
            .iter()
            .map(|a| serde_json::json!({ "client_number": a.client_number, "label": a.label, "kind": a.kind.as_str(), "upgraded": a.status == AccountStatus::Upgraded }))
            .collect();
        self.send_mail(
            &address,
            "identifier_reminder",
            lang,
            serde_json::json!({ "accounts": list }),
            now,
        )
        .await
    }

    /// "Mot de passe oublié": for an email login (or an upgraded client number), a reset link
    /// (1 h) to the login email; for a client number not yet upgraded, a link to its contact
    /// email that leads to step 2 of the upgrade. Nothing happens for an unknown identifier.
    ///
    /// Errors: `Unavailable`.
    pub async fn forgot_password(
        &self,
        identifier: &str,
        lang: &str,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
        let base = base_url.trim_end_matches('/');
        if identifier.contains('@') {
            if let Some(identity) = self
                .ports
                .identities
                .find_identity_by_email(&email::normalize(identifier))
                .await?
            {
                return self.send_reset(identity, lang, base, now).await;
            }
            return Ok(());
        }
        let Some(number) = normalize_client_number(identifier) else {
            return Ok(());
        };
        let Some(account) = self.ports.customers.find_customer(&number).await? else {
            return Ok(());
        };
        if account.status == AccountStatus::Upgraded {
            if let Some(owner) = self.ports.customers.owner_of(&number).await? {
                return self.send_reset(owner, lang, base, now).await;
            }
            return Ok(());
        }
        let data = LinkData {
            client_number: Some(number.clone()),
            lang: Some(lang.to_string()),
            ..Default::default()
        };
        let token = self
            .issue_link(LinkPurpose::UpgradeStart, data, self.settings.link_ttl, now)
            .await?;
        let vars = serde_json::json!({ "link": format!("{base}{START_PATH}?token={token}"), "client_number": number });
        self.send_mail(&account.contact_email, "upgrade_start", lang, vars, now)
            .await
    }

    /// Invites a new staff member of the console: a link (valid [`JourneySettings::link_ttl`],
    /// 24 h by default) to choose their password, mailed to their login email.
    ///
    /// Errors: `Unavailable`.
    ///
    /// [`JourneySettings::link_ttl`]: crate::service::JourneySettings::link_ttl
    pub async fn send_staff_invitation(
        &self,
        identity: &Identity,
        lang: &str,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
        let base = base_url.trim_end_matches('/');
        let ttl = self.settings.link_ttl;
        self.send_password_link(identity, lang, base, (ttl, "staff_invitation"), now)
            .await
    }

    /// Issues a reset link for `identity` and mails it to its login email.
    async fn send_reset(
        &self,
        identity: Identity,
        lang: &str,
        base: &str,
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
        self.send_password_link(&identity, lang, base, (RESET_TTL, "password_reset"), now)
            .await
    }

    /// A link to choose a password (a `PasswordReset` link valid `ttl`), mailed to the
    /// identity's login email with `template`.
    async fn send_password_link(
        &self,
        identity: &Identity,
        lang: &str,
        base: &str,
        (ttl, template): (time::Duration, &'static str),
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
        let data = LinkData {
            identity_id: Some(identity.id.clone()),
            email: Some(identity.login_email.clone()),
            lang: Some(lang.to_string()),
            ..Default::default()
        };
        let token = self
            .issue_link(LinkPurpose::PasswordReset, data, ttl, now)
            .await?;
        let vars = serde_json::json!({ "link": format!("{base}{RESET_PATH}?token={token}") });
        self.send_mail(&identity.login_email, template, lang, vars, now)
            .await
    }

    /// A new password from a reset link, which is used up; records `password.reset`. Everything
    /// the old password granted is cut off ([`Accounts::cut_off`]: every session, every token,
    /// every other pending link — the sibling reset links included) and the identifier's
    /// failed attempts are forgotten.
    ///
    /// Errors: `Link` (not a valid link, or used by a concurrent request), `Policy`,
    /// `Unavailable`.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        confirm: &str,
        now: OffsetDateTime,
    ) -> Result<Identity, ResetError> {
        let state = self.link(token, LinkPurpose::PasswordReset, now).await?;
        let LinkState::Valid(link) = state else {
            return Err(ResetError::Link(state));
        };
        let identity_id = link.data.identity_id.clone().unwrap_or_default();
        let identity = self
            .ports
            .identities
            .find_identity(&identity_id)
            .await?
            .ok_or(ResetError::Link(LinkState::Unknown))?;
        let numbers = self.ports.customers.accounts_of(&identity.id).await?;
        let numbers: Vec<&str> = numbers.iter().map(|a| a.client_number.as_str()).collect();
        let violations =
            self.settings
                .policy
                .check(password, confirm, &identity.login_email, &numbers);
        if !violations.is_empty() {
            return Err(ResetError::Policy(violations));
        }
        let hash = self
            .hasher
            .hash(password)
            .await
            .map_err(|e| ResetError::Unavailable(e.to_string()))?;
        if !self.ports.links.use_link(&link.token_hash, now).await? {
            return Err(ResetError::Link(LinkState::Used));
        }
        self.ports
            .identities
            .set_password_hash(&identity.id, &hash)
            .await?;
        self.audit(
            AuditEvent::success(EventType::PasswordReset, Actor::identity(&identity.id), now)
                .identity(&identity.id),
        )
        .await;
        self.cut_off(&identity.id, None, CutOffReason::PasswordReset, now)
            .await?;
        self.forget_failures(&identity.login_email).await?;
        Ok(identity)
    }
}
