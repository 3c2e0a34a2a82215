//! J4: "Gérer mon compte" — change the password, change the login email (verified by a link to
//! the new address, with a notice to the old one).

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::email;
use crate::journeys::CompleteError;
use crate::links::{LinkData, LinkPurpose, LinkState};
use crate::password::Verdict;
use crate::policy::Violation;
use crate::service::{Accounts, SignInError};
use crate::Identity;

pub const EMAIL_CHANGE_PATH: &str = "/account/email/verify";

#[derive(Debug, PartialEq, Eq)]
pub enum PasswordChange {
    Changed,
    WrongPassword,
    Policy(Vec<Violation>),
}

#[derive(Debug, PartialEq, Eq)]
pub enum EmailChange {
    Sent {
        masked: String,
    },
    WrongPassword,
    Invalid,
    /// `Email déjà utilisé, saisissez un nouvel email de connexion`.
    Taken,
}

impl Accounts {
    async fn password_right(&self, identity: &Identity, password: &str) -> bool {
        !matches!(
            self.hasher
                .verify(password, Some(&identity.password_hash))
                .await,
            Verdict::Wrong
        )
    }

    /// A new password, with the current one. The caller ends the other sessions.
    pub async fn change_password(
        &self,
        identity: &Identity,
        current: &str,
        password: &str,
        confirm: &str,
        now: OffsetDateTime,
    ) -> Result<PasswordChange, SignInError> {
        if !self.password_right(identity, current).await {
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
            .map_err(|e| SignInError::Unavailable(e.to_string()))?;
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

    /// Sends a verification link to the new address; nothing changes until it is opened.
    pub async fn request_email_change(
        &self,
        identity: &Identity,
        new_email: &str,
        current: &str,
        lang: &str,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<EmailChange, SignInError> {
        if !self.password_right(identity, current).await {
            return Ok(EmailChange::WrongPassword);
        }
        if !email::looks_valid(new_email) {
            return Ok(EmailChange::Invalid);
        }
        let login = email::normalize(new_email);
        if self
            .ports
            .identities
            .find_identity_by_email(&login)
            .await?
            .is_some()
        {
            return Ok(EmailChange::Taken);
        }
        let data = LinkData {
            identity_id: Some(identity.id.clone()),
            email: Some(login.clone()),
            lang: Some(lang.to_string()),
            ..Default::default()
        };
        let token = self
            .issue_link(LinkPurpose::EmailChange, data, self.settings.link_ttl, now)
            .await?;
        let link = format!(
            "{}{EMAIL_CHANGE_PATH}?token={token}",
            base_url.trim_end_matches('/')
        );
        let vars =
            serde_json::json!({ "link": link, "hours": self.settings.link_ttl.whole_hours() });
        self.send_mail(&login, "email_change", lang, vars, now)
            .await?;
        Ok(EmailChange::Sent {
            masked: email::mask(&login),
        })
    }

    /// The link from the new address was opened: change the login email, tell the old address.
    /// Returns the identity as it was before. The caller ends the other sessions.
    pub async fn confirm_email_change(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<(Identity, String), CompleteError> {
        let state = self
            .link(token, LinkPurpose::EmailChange, now)
            .await
            .map_err(|e| CompleteError::Unavailable(e.to_string()))?;
        let LinkState::Valid(link) = state else {
            return Err(CompleteError::Link(state));
        };
        let (Some(id), Some(new_email)) = (link.data.identity_id.clone(), link.data.email.clone())
        else {
            return Err(CompleteError::Link(LinkState::Unknown));
        };
        let before = self
            .ports
            .identities
            .find_identity(&id)
            .await?
            .ok_or(CompleteError::Link(LinkState::Unknown))?;
        self.ports
            .customers
            .change_login_email(&link.token_hash, &id, &new_email, now)
            .await?;
        let actor = Actor::identity(&id);
        self.audit(
            AuditEvent::success(EventType::EmailVerified, actor.clone(), now)
                .identity(&id)
                .with("purpose", "email_change"),
        )
        .await;
        self.audit(
            AuditEvent::success(EventType::LoginEmailChanged, actor, now)
                .identity(&id)
                .with("from", email::mask(&before.login_email))
                .with("to", email::mask(&new_email)),
        )
        .await;
        let lang = link.data.lang.clone().unwrap_or_else(|| "fr".into());
        let vars = serde_json::json!({ "masked": email::mask(&new_email) });
        if let Err(e) = self
            .send_mail(
                &before.login_email,
                "email_changed_notice",
                &lang,
                vars,
                now,
            )
            .await
        {
            tracing::warn!(error = %e, "notice to the old login email not queued");
        }
        Ok((before, new_email))
    }
}
