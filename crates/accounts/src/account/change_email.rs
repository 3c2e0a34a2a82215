//! J4: "Modifier mon email de connexion" — the password again, a uniqueness check, a link to the
//! new address; when it is opened, the login email changes and the old address gets a notice.

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::cut_off::CutOffReason;
use crate::email;
use crate::links::{LinkData, LinkPurpose, LinkState};
use crate::ports::AccountsStoreError;
use crate::service::{Accounts, PasswordCheck, Unavailable};
use crate::Identity;

/// Path of the page the link to the new address leads to.
pub const EMAIL_CHANGE_PATH: &str = "/account/email/verify";

/// What a request to change the login email led to.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailChange {
    /// The link went to the new address (masked here); nothing changed yet.
    Sent {
        /// The address, masked (`j***@example.fr`).
        masked: String,
    },
    /// The current password is wrong.
    WrongPassword,
    /// Not an email address.
    Invalid,
    /// `Email déjà utilisé, saisissez un nouvel email de connexion`.
    Taken,
    /// Too many wrong passwords: wait this many seconds (the password was not checked).
    Throttled(i64),
    /// Too many addresses checked from here or for this address this hour.
    TooMany,
}

/// Why opening an email-change link changed nothing.
#[derive(Debug)]
pub enum ConfirmEmailError {
    /// The link is not valid (used — perhaps by a concurrent request —, expired or unknown).
    Link(LinkState),
    /// The new address became someone's login email since the request.
    EmailTaken,
    /// Storage failed (the message is for the log).
    Unavailable(String),
}

impl From<AccountsStoreError> for ConfirmEmailError {
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

impl From<Unavailable> for ConfirmEmailError {
    fn from(e: Unavailable) -> Self {
        Self::Unavailable(e.0)
    }
}

impl Accounts {
    /// Sends a verification link (valid `settings.link_ttl`) to the new address, within the
    /// mail limit, once the current password is checked (throttled like a sign-in, from the
    /// client address `ip`); nothing changes until the link is confirmed. Whether the address
    /// is free is asked at most `checks_per_hour` times per address and per client address.
    ///
    /// Errors: `Unavailable`.
    #[allow(clippy::too_many_arguments)]
    pub async fn request_email_change(
        &self,
        identity: &Identity,
        new_email: &str,
        current: &str,
        ip: Option<&str>,
        lang: &str,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<EmailChange, Unavailable> {
        match self.check_password(identity, current, ip, now).await? {
            PasswordCheck::Right => {}
            PasswordCheck::Wrong => return Ok(EmailChange::WrongPassword),
            PasswordCheck::Throttled(seconds) => return Ok(EmailChange::Throttled(seconds)),
        }
        let Ok(login) = email::parse(new_email) else {
            return Ok(EmailChange::Invalid);
        };
        if !self
            .within_hourly("check", &login, self.settings.checks_per_hour, ip, now)
            .await?
        {
            return Ok(EmailChange::TooMany);
        }
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

    /// The link from the new address was confirmed (a button on the page it opens, never the
    /// opening itself): change the login email (the link is used up), tell the old address,
    /// record `email.verified` and `login_email.changed`, and cut off what the old login
    /// granted ([`Accounts::cut_off`]) but `current`, this browser's session as
    /// `(identity id, sid)`, when it is the same identity's. Returns the identity as it was
    /// before and the new login email.
    ///
    /// Errors: `Link`, `EmailTaken`, `Unavailable` (a notice that cannot be queued is only
    /// logged).
    pub async fn confirm_email_change(
        &self,
        token: &str,
        current: Option<(&str, &str)>,
        now: OffsetDateTime,
    ) -> Result<(Identity, String), ConfirmEmailError> {
        let state = self.link(token, LinkPurpose::EmailChange, now).await?;
        let LinkState::Valid(link) = state else {
            return Err(ConfirmEmailError::Link(state));
        };
        let (Some(id), Some(new_email)) = (link.data.identity_id.clone(), link.data.email.clone())
        else {
            return Err(ConfirmEmailError::Link(LinkState::Unknown));
        };
        let before = self
            .ports
            .identities
            .find_identity(&id)
            .await?
            .ok_or(ConfirmEmailError::Link(LinkState::Unknown))?;
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
        let keep = current.filter(|(who, _)| *who == id).map(|(_, sid)| sid);
        self.cut_off(&id, keep, CutOffReason::LoginEmailChanged, now)
            .await?;
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
