//! J3: "Rattacher un compte" — a signed-in customer attaches another customer account with its
//! client number and legacy password. Throttled like the sign-in, per client number and address.

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::customer::{normalize_client_number, AccountKind, AccountStatus, CustomerAccount};
use crate::links::LinkPurpose;
use crate::ports::AccountsStoreError;
use crate::service::{Accounts, Unavailable};
use crate::throttle::Attempt;

/// What an attach request led to.
#[derive(Debug)]
pub enum AttachOutcome {
    /// Attached; its legacy password is retired.
    Attached(CustomerAccount),
    /// Unknown client number or wrong password: never told apart.
    WrongCredentials,
    /// Attached to another identity, or upgraded on its own.
    Taken,
    /// Already attached to this identity.
    AlreadyMine,
    /// The identity holds as many accounts of this kind as the settings allow.
    LimitReached(AccountKind),
    /// Too many failures for this client number or address: wait this many seconds.
    Throttled {
        /// At least 1.
        retry_after_seconds: i64,
    },
}

impl Accounts {
    fn limit(&self, kind: AccountKind) -> usize {
        match kind {
            AccountKind::Personal => self.settings.max_personal,
            AccountKind::Professional => self.settings.max_professional,
        }
    }

    /// Attaches the account `client_number` to `identity_id` if its legacy password is right,
    /// from the client address `ip` (for throttling). Records `account.attached` (a failure
    /// with its reason, or a success).
    ///
    /// Errors: `Unavailable`.
    pub async fn attach_account(
        &self,
        identity_id: &str,
        client_number: &str,
        password: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<AttachOutcome, Unavailable> {
        let outcome = self
            .try_attach(identity_id, client_number, password, ip, now)
            .await?;
        let reason = match &outcome {
            AttachOutcome::Attached(_) => None,
            AttachOutcome::WrongCredentials => Some("wrong_credentials"),
            AttachOutcome::AlreadyMine => Some("already_attached_here"),
            AttachOutcome::Taken => Some("attached_elsewhere"),
            AttachOutcome::LimitReached(_) => Some("limit_reached"),
            AttachOutcome::Throttled { .. } => Some("throttled"),
        };
        let actor = Actor::identity(identity_id);
        let event = match reason {
            None => AuditEvent::success(EventType::AccountAttached, actor, now),
            Some(r) => {
                AuditEvent::failure(EventType::AccountAttached, actor, now).with("reason", r)
            }
        };
        // The number as typed only when it names an account (never a slip of the password).
        let event = self.naming(event, client_number).await;
        self.audit(event.identity(identity_id)).await;
        Ok(outcome)
    }

    async fn try_attach(
        &self,
        identity_id: &str,
        client_number: &str,
        password: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<AttachOutcome, Unavailable> {
        let number = normalize_client_number(client_number)
            .unwrap_or_else(|| client_number.trim().to_uppercase());
        let account = self.ports.customers.find_customer(&number).await?;
        // Whose it is needs no password (design.md J3 explains it); an upgraded account has no
        // legacy password left to check anyway.
        if account.is_some() {
            if let Some(owner) = self.ports.customers.owner_of(&number).await? {
                return Ok(if owner.id == identity_id {
                    AttachOutcome::AlreadyMine
                } else {
                    AttachOutcome::Taken
                });
            }
        }
        if account
            .as_ref()
            .is_some_and(|a| a.status == AccountStatus::Upgraded)
        {
            return Ok(AttachOutcome::Taken);
        }
        let guess = match self.reserve_guess(&number, ip, now).await? {
            Attempt::Go(guess) => guess,
            Attempt::Throttled(retry_after_seconds) => {
                return Ok(AttachOutcome::Throttled {
                    retry_after_seconds,
                })
            }
        };
        let Some(account) = account else {
            let _ = self.hasher.verify(password, None).await;
            self.guess_wrong(guess, now).await?;
            return Ok(AttachOutcome::WrongCredentials);
        };
        if !self.legacy_password_ok(&account, password).await {
            self.guess_wrong(guess, now).await?;
            return Ok(AttachOutcome::WrongCredentials);
        }
        self.guess_right(guess).await?;
        let limit = self.limit(account.kind);
        match self
            .ports
            .customers
            .attach(identity_id, &number, account.kind, limit, now)
            .await
        {
            Ok(()) => {
                // The account's upgrade links (a start link, a verification mail) have nothing
                // left to do.
                self.ports
                    .links
                    .cancel_account_links(&number, &LinkPurpose::UPGRADE, now)
                    .await?;
                Ok(AttachOutcome::Attached(account))
            }
            Err(AccountsStoreError::AccountTaken) => Ok(AttachOutcome::Taken),
            Err(AccountsStoreError::LimitReached) => Ok(AttachOutcome::LimitReached(account.kind)),
            Err(e) => Err(e.into()),
        }
    }
}
