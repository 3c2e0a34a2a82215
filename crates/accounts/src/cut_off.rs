//! The rule of design.md §6, in one place: a credential change cuts off what the old credential
//! granted. A password reset or change, a login-email change, an admin lock, detach or "end
//! sessions" all come here.
//!
//! What ends: every browser session of the identity but the one the person made the change from
//! (when they made it themselves, signed in); every access and refresh token issued under the
//! identity's grants but those issued in that session — `offline_access` tokens included, since
//! whoever held the old credential may hold them (the relying party asks again); every pending
//! one-time link of the identity (reset, email change). Pending authorization codes die with
//! their session (the token endpoint refuses a code whose session has ended).

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::service::{Accounts, Unavailable};

/// Why access was cut off (the audit trail's `detail.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutOffReason {
    /// A password was set through a reset link.
    PasswordReset,
    /// The person changed their password, signed in.
    PasswordChanged,
    /// The login email changed (its link was confirmed).
    LoginEmailChanged,
    /// An administrator locked the identity.
    IdentityLocked,
    /// An administrator detached one of its customer accounts.
    AccountDetached,
    /// An administrator ended its sessions.
    EndedByAdmin,
}

impl CutOffReason {
    /// The name recorded in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::LoginEmailChanged => "login_email_changed",
            Self::IdentityLocked => "identity_locked",
            Self::AccountDetached => "account_detached",
            Self::EndedByAdmin => "ended_by_admin",
        }
    }
}

/// What [`Accounts::cut_off`] ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CutOff {
    /// Browser sessions ended.
    pub sessions_ended: u64,
    /// Access and refresh tokens revoked.
    pub tokens_revoked: u64,
    /// Pending one-time links cancelled.
    pub links_cancelled: u64,
}

impl Accounts {
    /// Cuts off what the identity's credentials granted, but the session `keep_sid` (the one the
    /// person made the change from, and the tokens issued in it); records `access.cut_off`
    /// with the counts.
    ///
    /// Errors: `Unavailable` (what was cut before the failure stays cut; the caller answers
    /// 503 and the person may try again).
    pub async fn cut_off(
        &self,
        identity_id: &str,
        keep_sid: Option<&str>,
        reason: CutOffReason,
        now: OffsetDateTime,
    ) -> Result<CutOff, Unavailable> {
        let access = self.ports.access.cut_off(identity_id, keep_sid).await?;
        let links_cancelled = self.ports.links.cancel_links_of(identity_id, now).await?;
        let cut = CutOff {
            sessions_ended: access.sessions_ended,
            tokens_revoked: access.tokens_revoked,
            links_cancelled,
        };
        let mut event =
            AuditEvent::success(EventType::AccessCutOff, Actor::identity(identity_id), now)
                .identity(identity_id)
                .with("reason", reason.as_str())
                .with("sessions_ended", cut.sessions_ended)
                .with("tokens_revoked", cut.tokens_revoked)
                .with("links_cancelled", cut.links_cancelled);
        if let Some(sid) = keep_sid {
            event = event.with("kept_session", sid);
        }
        self.audit(event).await;
        Ok(cut)
    }
}
