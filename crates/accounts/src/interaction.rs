//! The sign-in form (web's `routes/interaction.rs`): a login email with its password, or — not
//! yet upgraded — a client number with its legacy password, which starts the upgrade (J1 step
//! 1). Throttled per identifier and per address; wrong, unknown and locked look the same from
//! outside except where the design says otherwise (an upgraded client number).

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::customer::{normalize_client_number, AccountStatus, CustomerAccount};
use crate::email;
use crate::legacy::LegacyHash;
use crate::links::{LinkData, LinkPurpose};
use crate::service::{Accounts, SignInError, Unavailable};
use crate::throttle;
use crate::Identity;

/// What the sign-in form leads to.
#[derive(Debug)]
pub enum SignInOutcome {
    /// Signed in.
    Identity(Identity),
    /// The legacy credentials are right and the account is not upgraded: step 2, held by this
    /// handle (a cookie).
    UpgradeStarted {
        /// The token of the step-2 session (an `UpgradeSession` link).
        handle: String,
    },
    /// This client number was upgraded: the login email is now the identifier.
    UseEmail {
        /// The login email, masked (`j***@example.fr`).
        masked: String,
    },
    /// Unknown identifier or wrong password.
    Wrong,
    /// Too many failures: wait (the same answer whether or not the account exists).
    Throttled {
        /// At least 1.
        retry_after_seconds: i64,
    },
    /// The right password of a locked identity.
    Locked,
}

impl Accounts {
    /// Step 1: an email with its password, or a client number with its legacy password, from
    /// the client address `ip` (for throttling). Records `signin.succeeded`, `signin.failed`
    /// (with the reason) or `upgrade.started`.
    ///
    /// Errors: `Unavailable` (storage or the mail queue).
    pub async fn sign_in_any(
        &self,
        identifier: &str,
        password: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<SignInOutcome, Unavailable> {
        let outcome = self.check_sign_in(identifier, password, ip, now).await?;
        let number = (!identifier.contains('@'))
            .then(|| normalize_client_number(identifier))
            .flatten();
        let failure = |reason: &str| {
            let event = AuditEvent::failure(EventType::SignInFailed, Actor::anonymous(), now)
                .with("reason", reason);
            match &number {
                Some(n) => event.client_number(n),
                None => event.with("identifier", email::mask(&email::normalize(identifier))),
            }
        };
        let event = match &outcome {
            SignInOutcome::Identity(i) => {
                AuditEvent::success(EventType::SignInSucceeded, Actor::identity(&i.id), now)
                    .identity(&i.id)
                    .with("method", "password")
            }
            SignInOutcome::UpgradeStarted { .. } => {
                AuditEvent::success(EventType::UpgradeStarted, Actor::anonymous(), now)
                    .client_number(number.clone().unwrap_or_default())
                    .with("method", "legacy_password")
            }
            SignInOutcome::UseEmail { .. } => failure("client_number_upgraded"),
            SignInOutcome::Wrong => match self.identity_named(identifier).await {
                Some(id) => failure("wrong_credentials").identity(id),
                None => failure("wrong_credentials"),
            },
            SignInOutcome::Throttled { .. } => failure("throttled"),
            SignInOutcome::Locked => match self.identity_named(identifier).await {
                Some(id) => failure("identity_locked").identity(id),
                None => failure("identity_locked"),
            },
        };
        self.audit(event).await;
        Ok(outcome)
    }

    /// The identity an email identifier names, for the audit trail of a failure.
    async fn identity_named(&self, identifier: &str) -> Option<String> {
        if !identifier.contains('@') {
            return None;
        }
        self.ports
            .identities
            .find_identity_by_email(&email::normalize(identifier))
            .await
            .ok()
            .flatten()
            .map(|i| i.id)
    }

    async fn check_sign_in(
        &self,
        identifier: &str,
        password: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<SignInOutcome, Unavailable> {
        let is_email = identifier.contains('@');
        let normalized = if is_email {
            email::normalize(identifier)
        } else {
            normalize_client_number(identifier).unwrap_or_else(|| identifier.trim().to_uppercase())
        };
        let id_key = throttle::identifier_key(&normalized);
        if let Some(b) = self.throttled(&id_key, ip, now).await? {
            return Ok(SignInOutcome::Throttled {
                retry_after_seconds: b.retry_after_seconds,
            });
        }
        if is_email {
            return match self.sign_in(&normalized, password).await {
                Ok(identity) => {
                    self.clear_failures(&id_key).await?;
                    Ok(SignInOutcome::Identity(identity))
                }
                Err(SignInError::WrongCredentials) => {
                    self.record_failure(&id_key, ip, now).await?;
                    Ok(SignInOutcome::Wrong)
                }
                Err(SignInError::Locked) => Ok(SignInOutcome::Locked),
                Err(SignInError::Unavailable(e)) => Err(e),
            };
        }
        let account = self.ports.customers.find_customer(&normalized).await?;
        let Some(account) = account else {
            let _ = self.hasher.verify(password, None).await;
            self.record_failure(&id_key, ip, now).await?;
            return Ok(SignInOutcome::Wrong);
        };
        if account.status == AccountStatus::Upgraded {
            let masked = match self
                .ports
                .customers
                .owner_of(&account.client_number)
                .await?
            {
                Some(owner) => email::mask(&owner.login_email),
                None => email::mask(&account.contact_email),
            };
            return Ok(SignInOutcome::UseEmail { masked });
        }
        if !self.legacy_password_ok(&account, password).await {
            self.record_failure(&id_key, ip, now).await?;
            return Ok(SignInOutcome::Wrong);
        }
        self.clear_failures(&id_key).await?;
        let handle = self
            .issue_link(
                LinkPurpose::UpgradeSession,
                LinkData {
                    client_number: Some(account.client_number),
                    ..Default::default()
                },
                self.settings.upgrade_ttl,
                now,
            )
            .await?;
        Ok(SignInOutcome::UpgradeStarted { handle })
    }

    /// Checks a customer account's legacy password on the hashing threads; `false` when it has
    /// none (upgraded) or it cannot be parsed.
    pub(crate) async fn legacy_password_ok(
        &self,
        account: &CustomerAccount,
        password: &str,
    ) -> bool {
        let Some(Ok(hash)) = account.legacy_hash.as_deref().map(LegacyHash::parse) else {
            return false;
        };
        let password = password.to_string();
        self.hasher
            .blocking(move || hash.verify(&password))
            .await
            .unwrap_or(false)
    }
}
