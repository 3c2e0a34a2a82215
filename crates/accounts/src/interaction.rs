//! The sign-in form (web's `routes/interaction.rs`): a login email with its password, or — not
//! yet upgraded — a client number with its legacy password, which starts the upgrade (J1 step
//! 1). Throttled per identifier and per address (an attempt is reserved before the password is
//! checked); wrong, unknown and locked look the same from outside except where the design says
//! otherwise (an upgraded client number).

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::customer::{normalize_client_number, AccountStatus, CustomerAccount};
use crate::email;
use crate::legacy::LegacyHash;
use crate::links::{LinkData, LinkPurpose};
use crate::service::{Accounts, SignInError, Unavailable};
use crate::throttle::Attempt;
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
    /// Unknown identifier, wrong password, or the right password of a locked identity: the
    /// three look the same from outside (the audit trail tells them apart).
    Wrong,
    /// Too many failures: wait (the same answer whether or not the account exists).
    Throttled {
        /// At least 1.
        retry_after_seconds: i64,
    },
}

/// What the check found, before the audit trail and the outside answer.
enum Checked {
    Identity(Identity),
    UpgradeStarted(String),
    UseEmail(String),
    Wrong,
    Throttled(i64),
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
        let checked = self.check_sign_in(identifier, password, ip, now).await?;
        let number = (!identifier.contains('@'))
            .then(|| normalize_client_number(identifier))
            .flatten();
        let failure = |reason: &str| {
            AuditEvent::failure(EventType::SignInFailed, Actor::anonymous(), now)
                .with("reason", reason)
        };
        let event = match &checked {
            Checked::Identity(i) => {
                AuditEvent::success(EventType::SignInSucceeded, Actor::identity(&i.id), now)
                    .identity(&i.id)
                    .with("method", "password")
            }
            Checked::UpgradeStarted(_) => {
                AuditEvent::success(EventType::UpgradeStarted, Actor::anonymous(), now)
                    .client_number(number.clone().unwrap_or_default())
                    .with("method", "legacy_password")
            }
            Checked::UseEmail(_) => {
                self.naming(failure("client_number_upgraded"), identifier)
                    .await
            }
            Checked::Wrong => self.naming(failure("wrong_credentials"), identifier).await,
            Checked::Throttled(_) => self.naming(failure("throttled"), identifier).await,
            Checked::Locked => self.naming(failure("identity_locked"), identifier).await,
        };
        let outcome = match checked {
            Checked::Identity(i) => SignInOutcome::Identity(i),
            Checked::UpgradeStarted(handle) => SignInOutcome::UpgradeStarted { handle },
            Checked::UseEmail(masked) => SignInOutcome::UseEmail { masked },
            Checked::Wrong | Checked::Locked => SignInOutcome::Wrong,
            Checked::Throttled(retry_after_seconds) => SignInOutcome::Throttled {
                retry_after_seconds,
            },
        };
        self.audit(event).await;
        Ok(outcome)
    }

    /// `event` naming what someone typed as an identifier, only in forms that cannot give
    /// away a secret typed in the wrong field: the identity a known login email names (and the
    /// email masked), a known client number as it is; anything matching no account only by its
    /// kind (`identifier: "unknown email"`, `"unknown client number"`). A storage failure while
    /// looking is logged by the store and leaves the identifier out.
    pub(crate) async fn naming(&self, event: AuditEvent, typed: &str) -> AuditEvent {
        if typed.contains('@') {
            let normalized = email::normalize(typed);
            let found = self
                .ports
                .identities
                .find_identity_by_email(&normalized)
                .await
                .ok()
                .flatten();
            return match found {
                Some(identity) => event
                    .identity(&identity.id)
                    .with("identifier", email::mask(&identity.login_email)),
                None => event.with("identifier", "unknown email"),
            };
        }
        let known = match normalize_client_number(typed) {
            Some(number) => match self.ports.customers.find_customer(&number).await {
                Ok(Some(account)) => Some(account.client_number),
                _ => None,
            },
            None => None,
        };
        match known {
            Some(number) => event.client_number(number),
            None => event.with("identifier", "unknown client number"),
        }
    }

    async fn check_sign_in(
        &self,
        identifier: &str,
        password: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Checked, Unavailable> {
        let is_email = identifier.contains('@');
        let normalized = if is_email {
            email::normalize(identifier)
        } else {
            normalize_client_number(identifier).unwrap_or_else(|| identifier.trim().to_uppercase())
        };
        let guess = match self.reserve_guess(&normalized, ip, now).await? {
            Attempt::Go(guess) => guess,
            Attempt::Throttled(seconds) => return Ok(Checked::Throttled(seconds)),
        };
        if is_email {
            return match self.sign_in(&normalized, password).await {
                Ok(identity) => {
                    self.guess_right(guess).await?;
                    Ok(Checked::Identity(identity))
                }
                Err(SignInError::WrongCredentials) => {
                    self.guess_wrong(guess, now).await?;
                    Ok(Checked::Wrong)
                }
                // The right password of a locked identity counts as a failure: from outside,
                // locked and wrong look the same.
                Err(SignInError::Locked) => {
                    self.guess_wrong(guess, now).await?;
                    Ok(Checked::Locked)
                }
                Err(SignInError::Unavailable(e)) => Err(e),
            };
        }
        let account = self.ports.customers.find_customer(&normalized).await?;
        let Some(account) = account else {
            let _ = self.hasher.verify(password, None).await;
            self.guess_wrong(guess, now).await?;
            return Ok(Checked::Wrong);
        };
        if account.status == AccountStatus::Upgraded {
            // Nothing was checked: the attempt is given back.
            self.guess_right(guess).await?;
            let masked = match self
                .ports
                .customers
                .owner_of(&account.client_number)
                .await?
            {
                Some(owner) => email::mask(&owner.login_email),
                None => email::mask(&account.contact_email),
            };
            return Ok(Checked::UseEmail(masked));
        }
        if !self.legacy_password_ok(&account, password).await {
            self.guess_wrong(guess, now).await?;
            return Ok(Checked::Wrong);
        }
        self.guess_right(guess).await?;
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
        Ok(Checked::UpgradeStarted(handle))
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
