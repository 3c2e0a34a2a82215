//! J4: "Modifier mon mot de passe" — a new password, with the current one.

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::cut_off::CutOffReason;
use crate::policy::Violation;
use crate::service::{Accounts, PasswordCheck, Unavailable};
use crate::Identity;

/// What a password change led to.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordChange {
    /// The new password is stored; the other sessions ended and what they were issued is
    /// revoked.
    Changed(crate::cut_off::CutOff),
    /// The current password is wrong.
    WrongPassword,
    /// The new password breaks these rules.
    Policy(Vec<Violation>),
    /// Too many wrong passwords: wait this many seconds (the password was not checked).
    Throttled(i64),
}

impl Accounts {
    /// A new password, with the current one (checked and throttled like a sign-in, from the
    /// client address `ip`), made from the session `keep_sid`; records `password.changed` (a
    /// failure when the current password is wrong). Every other session ends and everything
    /// they were issued is revoked ([`Accounts::cut_off`]).
    ///
    /// Errors: `Unavailable` (storage or the hashing threads).
    #[allow(clippy::too_many_arguments)]
    pub async fn change_password(
        &self,
        identity: &Identity,
        current: &str,
        password: &str,
        confirm: &str,
        keep_sid: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<PasswordChange, Unavailable> {
        let check = self.check_password(identity, current, ip, now).await?;
        if let PasswordCheck::Throttled(seconds) = check {
            return Ok(PasswordChange::Throttled(seconds));
        }
        if check == PasswordCheck::Wrong {
            self.audit(
                AuditEvent::failure(
                    EventType::PasswordChanged,
                    Actor::identity(&identity.id),
                    now,
                )
                .identity(&identity.id)
                .with("reason", "wrong_current_password"),
            )
            .await;
            return Ok(PasswordChange::WrongPassword);
        }
        let accounts = self.ports.customers.accounts_of(&identity.id).await?;
        let numbers: Vec<&str> = accounts.iter().map(|a| a.client_number.as_str()).collect();
        let violations =
            self.settings
                .policy
                .check(password, confirm, &identity.login_email, &numbers);
        if !violations.is_empty() {
            return Ok(PasswordChange::Policy(violations));
        }
        let hash = self
            .hasher
            .hash(password)
            .await
            .map_err(|e| Unavailable(e.to_string()))?;
        self.ports
            .identities
            .set_password_hash(&identity.id, &hash)
            .await?;
        self.audit(
            AuditEvent::success(
                EventType::PasswordChanged,
                Actor::identity(&identity.id),
                now,
            )
            .identity(&identity.id),
        )
        .await;
        let cut = self
            .cut_off(
                &identity.id,
                Some(keep_sid),
                CutOffReason::PasswordChanged,
                now,
            )
            .await?;
        Ok(PasswordChange::Changed(cut))
    }
}
