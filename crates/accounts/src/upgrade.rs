//! The upgrade (web's `routes/upgrade.rs`, design.md J1 steps 2 and 3, J2): choosing the login
//! email, the verification link, the password; and the "upgrade start" link from J5 that opens
//! step 2. The identity is created, the account attached and its legacy password retired in one
//! store transaction.

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::customer::{AccountStatus, CustomerAccount};
use crate::email;
use crate::links::{LinkData, LinkPurpose, LinkRecord, LinkState};
use crate::policy::Violation;
use crate::ports::AccountsStoreError;
use crate::service::{new_identity_id, Accounts, Unavailable};
use crate::{Identity, IdentityStatus};

/// Path of the page the verification link (step 3) leads to.
pub const VERIFY_PATH: &str = "/upgrade/verify";
/// Path of the page the "upgrade start" link (from a forgotten password) leads to.
pub const START_PATH: &str = "/upgrade/start";

/// Step 2's answer.
#[derive(Debug, PartialEq, Eq)]
pub enum ChooseEmail {
    /// The verification link went to the chosen address (masked here).
    Sent {
        /// The address, masked (`j***@example.fr`).
        masked: String,
    },
    /// Not an email address.
    Invalid,
    /// `Email déjà utilisé, saisissez un nouvel email de connexion`.
    Taken,
    /// Too many addresses checked from here or for this address this hour.
    TooMany,
    /// The step-2 session is over: sign in again.
    Expired,
}

/// Why step 3 did not complete.
#[derive(Debug)]
pub enum CompleteError {
    /// The link is not valid (used — perhaps by a concurrent request —, expired or unknown).
    Link(LinkState),
    /// The password breaks these rules.
    Policy(Vec<Violation>),
    /// The login email became someone else's since step 2.
    EmailTaken,
    /// Storage or the hashing threads failed.
    Unavailable(String),
}

impl From<AccountsStoreError> for CompleteError {
    fn from(e: AccountsStoreError) -> Self {
        match e {
            AccountsStoreError::EmailTaken => Self::EmailTaken,
            AccountsStoreError::LinkUsed
            | AccountsStoreError::AccountTaken
            | AccountsStoreError::LimitReached => Self::Link(LinkState::Used),
            AccountsStoreError::Unavailable(m) => Self::Unavailable(m),
        }
    }
}

impl From<Unavailable> for CompleteError {
    fn from(e: Unavailable) -> Self {
        Self::Unavailable(e.0)
    }
}

/// Why [`Accounts::send_verification`] sent nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendVerificationError {
    /// The link data names no account or no login email.
    #[error("the link names no account or email")]
    Incomplete,
    /// Storage or the mail queue did not answer.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// A completed upgrade.
#[derive(Debug)]
pub struct Completed {
    /// The new identity, signed in from now on.
    pub identity: Identity,
    /// The pending authorization request to resume, when the link carried one.
    pub interaction_hash: Option<String>,
}

impl Accounts {
    /// The customer account behind a live step-2 handle; `None` when the handle is unknown,
    /// expired, or its account was upgraded meanwhile.
    ///
    /// Errors: `Unavailable`.
    pub async fn upgrade_in_progress(
        &self,
        handle: &str,
        now: OffsetDateTime,
    ) -> Result<Option<CustomerAccount>, Unavailable> {
        let LinkState::Valid(link) = self.link(handle, LinkPurpose::UpgradeSession, now).await?
        else {
            return Ok(None);
        };
        let Some(number) = link.data.client_number else {
            return Ok(None);
        };
        Ok(self
            .ports
            .customers
            .find_customer(&number)
            .await?
            .filter(|c| c.status == AccountStatus::Legacy))
    }

    /// Step 2: the login email chosen for the account behind `handle`; sends the verification
    /// link (valid `settings.link_ttl`) to it, to open at `base_url` + [`VERIFY_PATH`]. Records
    /// `upgrade.email_chosen`.
    ///
    /// Errors: `Unavailable` (storage or the mail queue).
    pub async fn choose_login_email(
        &self,
        handle: &str,
        chosen: &str,
        interaction_hash: Option<String>,
        lang: &str,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<ChooseEmail, Unavailable> {
        let Some(account) = self.upgrade_in_progress(handle, now).await? else {
            return Ok(ChooseEmail::Expired);
        };
        let Ok(login) = email::parse(chosen) else {
            return Ok(ChooseEmail::Invalid);
        };
        let ip = gan_audit::current().ip;
        if !self
            .within_hourly(
                "check",
                &login,
                self.settings.checks_per_hour,
                ip.as_deref(),
                now,
            )
            .await?
        {
            return Ok(ChooseEmail::TooMany);
        }
        if self
            .ports
            .identities
            .find_identity_by_email(&login)
            .await?
            .is_some()
        {
            self.audit(
                AuditEvent::failure(EventType::UpgradeEmailChosen, Actor::anonymous(), now)
                    .client_number(&account.client_number)
                    .with("reason", "email_taken"),
            )
            .await;
            return Ok(ChooseEmail::Taken);
        }
        self.audit(
            AuditEvent::success(EventType::UpgradeEmailChosen, Actor::anonymous(), now)
                .client_number(&account.client_number)
                .with("email", email::mask(&login)),
        )
        .await;
        let data = LinkData {
            client_number: Some(account.client_number.clone()),
            email: Some(login.clone()),
            interaction_hash,
            lang: Some(lang.to_string()),
            ..Default::default()
        };
        self.mail_verification(&login, &account.client_number, lang, data, base_url, now)
            .await?;
        Ok(ChooseEmail::Sent {
            masked: email::mask(&login),
        })
    }

    /// Issues a verification link with `data` and mails it to `login`.
    async fn mail_verification(
        &self,
        login: &str,
        client_number: &str,
        lang: &str,
        data: LinkData,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
        let token = self
            .issue_link(LinkPurpose::VerifyEmail, data, self.settings.link_ttl, now)
            .await?;
        let link = format!(
            "{}{VERIFY_PATH}?token={token}",
            base_url.trim_end_matches('/')
        );
        let vars = serde_json::json!({ "link": link, "client_number": client_number, "hours": self.settings.link_ttl.whole_hours() });
        self.send_mail(login, "upgrade_verify", lang, vars, now)
            .await
    }

    /// Records that the verification link of an upgrade was opened (its password form shown):
    /// `upgrade.link_opened`, a step of the migration funnel. Nothing else changes (links never
    /// act on GET).
    pub async fn link_opened(&self, link: &LinkRecord, now: OffsetDateTime) {
        let mut event = AuditEvent::success(EventType::UpgradeLinkOpened, Actor::anonymous(), now);
        if let Some(number) = &link.data.client_number {
            event = event.client_number(number);
        }
        self.audit(event).await;
    }

    /// Sends a fresh verification link for an expired (never used) one; `false` when `token`
    /// is not an expired verification link (valid, used or unknown links get nothing).
    ///
    /// Errors: `Unavailable`.
    pub async fn resend_verification(
        &self,
        token: &str,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<bool, Unavailable> {
        let LinkState::Expired(old) = self.link(token, LinkPurpose::VerifyEmail, now).await? else {
            return Ok(false);
        };
        match self.send_verification(old.data, base_url, now).await {
            Ok(()) => Ok(true),
            Err(SendVerificationError::Incomplete) => Ok(false),
            Err(SendVerificationError::Unavailable(e)) => Err(e),
        }
    }

    /// Sends a fresh verification link for an upgrade (`data` names the account and the chosen
    /// login email; the language defaults to French).
    ///
    /// Errors: `Incomplete` (no account or email in `data`), `Unavailable`.
    pub async fn send_verification(
        &self,
        data: LinkData,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<(), SendVerificationError> {
        let (Some(login), Some(number)) = (data.email.clone(), data.client_number.clone()) else {
            return Err(SendVerificationError::Incomplete);
        };
        let lang = data.lang.clone().unwrap_or_else(|| "fr".into());
        Ok(self
            .mail_verification(&login, &number, &lang, data, base_url, now)
            .await?)
    }

    /// Step 3: the password for the login email of a verification link. Creates the identity,
    /// attaches the account and retires its legacy password, all at once; records
    /// `email.verified` and `upgrade.completed`.
    ///
    /// Errors: `Link` (not a valid link, or used by a concurrent request), `Policy`,
    /// `EmailTaken` (taken since step 2), `Unavailable`.
    pub async fn complete_upgrade(
        &self,
        token: &str,
        password: &str,
        confirm: &str,
        now: OffsetDateTime,
    ) -> Result<Completed, CompleteError> {
        let state = self.link(token, LinkPurpose::VerifyEmail, now).await?;
        let LinkState::Valid(link) = state else {
            return Err(CompleteError::Link(state));
        };
        let (Some(login), Some(number)) =
            (link.data.email.clone(), link.data.client_number.clone())
        else {
            return Err(CompleteError::Link(LinkState::Unknown));
        };
        let violations = self
            .settings
            .policy
            .check(password, confirm, &login, &[number.as_str()]);
        if !violations.is_empty() {
            return Err(CompleteError::Policy(violations));
        }
        let hash = self
            .hasher
            .hash(password)
            .await
            .map_err(|e| CompleteError::Unavailable(e.to_string()))?;
        let identity = Identity {
            id: new_identity_id(),
            login_email: login,
            email_verified_at: Some(now),
            password_hash: hash,
            status: IdentityStatus::Active,
            created_at: now,
        };
        self.ports
            .customers
            .complete_upgrade(&link.token_hash, &identity, &number, now)
            .await?;
        // The upgrade is done: its other links (other verification mails, start links, step-2
        // sessions elsewhere) have nothing left to do.
        self.ports
            .links
            .cancel_account_links(&number, &LinkPurpose::UPGRADE, now)
            .await?;
        let actor = Actor::identity(&identity.id);
        self.audit(
            AuditEvent::success(EventType::EmailVerified, actor.clone(), now)
                .identity(&identity.id)
                .client_number(&number)
                .with("purpose", "upgrade"),
        )
        .await;
        self.audit(
            AuditEvent::success(EventType::UpgradeCompleted, actor, now)
                .identity(&identity.id)
                .client_number(&number),
        )
        .await;
        Ok(Completed {
            identity,
            interaction_hash: link.data.interaction_hash,
        })
    }

    /// Opens step 2 from an "upgrade start" link, which is used up with its siblings (the other
    /// start links of the account): `Ok(handle)` of the step-2 session, or the state of a link
    /// that cannot be used. Called from the page's button, never from opening the link.
    ///
    /// Errors: `Unavailable`.
    pub async fn start_upgrade_from_link(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Result<String, LinkState>, Unavailable> {
        let state = self.link(token, LinkPurpose::UpgradeStart, now).await?;
        let LinkState::Valid(link) = state else {
            return Ok(Err(state));
        };
        if !self.ports.links.use_link(&link.token_hash, now).await? {
            return Ok(Err(LinkState::Used));
        }
        if let Some(number) = &link.data.client_number {
            self.ports
                .links
                .cancel_account_links(number, &[LinkPurpose::UpgradeStart], now)
                .await?;
        }
        let data = LinkData {
            client_number: link.data.client_number,
            ..Default::default()
        };
        Ok(Ok(self
            .issue_link(
                LinkPurpose::UpgradeSession,
                data,
                self.settings.upgrade_ttl,
                now,
            )
            .await?))
    }
}
