//! J4: "Modifier mon mot de passe" — a new password, with the current one.

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::policy::Violation;
use crate::service::{Accounts, Unavailable};
use crate::Identity;

/// What a password change led to.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordChange {
    /// The new password is stored; the caller ends the other sessions.
    Changed,
    /// The current password is wrong.
    WrongPassword,
    /// The new password breaks these rules.
    Policy(Vec<Violation>),
}

impl Accounts {
    /// A new password, with the current one; records `password.changed` (a failure when the
    /// current password is wrong). The caller ends the other sessions.
    ///
    /// Errors: `Unavailable` (storage or the hashing threads).
    pub async fn change_password(
        &self,
        identity: &Identity,
        current: &str,
        password: &str,
        confirm: &str,
        now: OffsetDateTime,
    ) -> Result<PasswordChange, Unavailable> {
        if !self.password_matches(identity, current).await {
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
        Ok(PasswordChange::Changed)
    }
}
