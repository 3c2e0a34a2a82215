//! The support console's sessions and the staff's second factor.
//!
//! A staff member signs in through Gan Connect's own authorization endpoint (the console is a
//! first-party client of its own provider), which gives a browser session (`sid`). The console
//! then opens a *console session*: a cookie whose hash is stored, shorter-lived than a
//! customer's session (an idle and an absolute limit), useful only once a TOTP code (RFC 6238)
//! or a recovery code was checked in it. The browser session must stay live for the console
//! session to be, so whatever ends a person's sessions (a credential change, an admin ending
//! them, the member disabled) ends the console too. The admin API accepts the console's access
//! tokens through the same rule ([`Admin::staff_of_token`]).

use gan_audit::{Actor, AuditEvent, EventType};
use gan_oidc::keys::KeySealer;
use gan_oidc::model::TokenRecord;
use time::{Duration, OffsetDateTime};
use totp_rs::{Algorithm, TOTP};

use crate::ports::ConsoleStore;
use crate::{Admin, AdminError, AdminResult, StaffRecord, StaffRole};

/// The console's client id: the first-party client the console signs staff in with.
pub const CONSOLE_CLIENT_ID: &str = "gan-console";

/// Where the provider sends the console's authorization responses (under the issuer).
pub const CALLBACK_PATH: &str = "/console/callback";

/// How many recovery codes an enrolment gives.
pub const RECOVERY_CODES: usize = 10;

/// How long console sessions last.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSettings {
    /// A session unused this long ends (`console.session_idle_minutes`, 30 by default).
    pub idle: Duration,
    /// A session ends this long after sign-in whatever happens (`console.session_hours`, 8).
    pub absolute: Duration,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(30),
            absolute: Duration::hours(8),
        }
    }
}

/// A console session as stored (the cookie itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// base64url(SHA-256) of the cookie's value.
    pub id_hash: String,
    /// The staff member's identity.
    pub identity_id: String,
    /// The browser session of Gan Connect the sign-in came from; it must stay live.
    pub sid: String,
    /// When the member signed in.
    pub created_at: OffsetDateTime,
    /// The last console request.
    pub last_seen_at: OffsetDateTime,
    /// The absolute end.
    pub expires_at: OffsetDateTime,
    /// When the second factor was checked; `None` until then (the session opens nothing).
    pub second_factor_at: Option<OffsetDateTime>,
}

impl ConsoleSession {
    /// Not past its absolute end, nor idle longer than `idle`, at `now`.
    pub fn live(&self, now: OffsetDateTime, idle: Duration) -> bool {
        self.expires_at > now && self.last_seen_at + idle > now
    }
}

/// What a console page needs: what the staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read customers, the audit trail and the migration's figures.
    Read,
    /// Act on a customer: resend or cancel an activation, unlock, end sessions, detach, show a
    /// login email in full.
    CustomerActions,
    /// Manage relying parties, keys and staff.
    Manage,
}

impl StaffRole {
    /// Whether this role allows `permission`: `admin` everything, `support` all but
    /// [`Permission::Manage`].
    pub fn may(self, permission: Permission) -> bool {
        match self {
            Self::Admin => true,
            Self::Support => permission != Permission::Manage,
        }
    }
}

/// A staff member with a console session whose second factor was checked.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Their identity.
    pub identity_id: String,
    /// Their login email.
    pub email: String,
    /// Their role.
    pub role: StaffRole,
    /// The console session.
    pub session: ConsoleSession,
}

impl Staff {
    /// [`AdminError::Forbidden`] unless the role allows `permission`.
    pub fn must(&self, permission: Permission) -> AdminResult<()> {
        if self.role.may(permission) {
            Ok(())
        } else {
            Err(AdminError::Forbidden(format!(
                "the {} role does not allow this",
                self.role.as_str()
            )))
        }
    }
}

/// Where a console cookie stands.
#[derive(Debug)]
pub enum ConsoleAccess {
    /// No session, an ended or expired one, or its browser session ended: sign in.
    SignIn,
    /// Signed in with the password; the second factor is still to check (or, when `enrolled`
    /// is false, to enrol).
    SecondFactor {
        /// The session.
        session: ConsoleSession,
        /// Whether the member has a second factor already.
        enrolled: bool,
    },
    /// Open.
    Open(Staff),
}

/// A new second factor to show the member: the secret in base32 and the `otpauth://` URI the
/// QR code carries.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret, base32 (to type into an app by hand).
    pub secret: String,
    /// `otpauth://totp/Gan%20Connect:email?secret=…&issuer=Gan%20Connect`.
    pub uri: String,
}

/// How a second-factor code fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right: the session is open, under a new cookie value (the one set at the password step
    /// no longer works). At enrolment, `codes`: the recovery codes to show once.
    Right {
        /// The console cookie's new value.
        cookie: String,
        /// The recovery codes made at enrolment (empty otherwise).
        codes: Vec<String>,
    },
    /// Wrong (or already used).
    Wrong,
    /// Too many wrong codes: wait this many seconds.
    Throttled(i64),
}

fn totp(secret: Vec<u8>, email: &str) -> AdminResult<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some("Gan Connect".to_string()),
        email.to_string(),
    )
    .map_err(|e| AdminError::Unavailable(format!("second factor: {e}")))
}

/// The time step (RFC 6238 §4.2, 30 s) of `code` near `now` (one step either side for clocks
/// that drift), if it is right.
fn matching_step(totp: &TOTP, code: &str, now: OffsetDateTime) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = now.unix_timestamp();
    (-1..=1).map(|skew| t / 30 + skew).find(|step| {
        let expected = totp.generate((*step * 30).max(0) as u64);
        gan_secret::constant_time_eq(expected.as_bytes(), code.as_bytes())
    })
}

/// A recovery code as shown: ten characters from an alphabet without look-alikes, as
/// `xxxxx-xxxxx`.
fn new_recovery_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let chars: String = (0..10)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// The stored form of a recovery code as typed (case, spaces and the dash do not matter).
fn recovery_hash(typed: &str) -> String {
    let plain: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    gan_secret::hash_handle(&format!("recovery:{plain}"))
}

impl Admin {
    fn console_store(&self) -> &dyn ConsoleStore {
        self.console.store.as_ref()
    }

    fn totp_sealer(&self) -> &KeySealer {
        &self.console.sealer
    }

    /// Opens a console session for the identity signed in to browser session `sid`: returns the
    /// cookie's value. The second factor is still to check.
    ///
    /// Errors: `Forbidden` (not staff, or disabled; recorded as `console.refused`),
    /// `Unavailable`.
    pub async fn open_console(&self, identity_id: &str, sid: &str) -> AdminResult<String> {
        let now = self.now();
        match self.store.find_staff(identity_id).await? {
            Some(member) if member.active => {}
            found => {
                let reason = if found.is_some() {
                    "disabled"
                } else {
                    "not staff"
                };
                self.console_refused(identity_id, "/console", reason).await;
                return Err(AdminError::Forbidden(
                    "this identity is not a staff member of the console".into(),
                ));
            }
        }
        let cookie = gan_secret::new_handle("gcs_");
        let session = ConsoleSession {
            id_hash: gan_secret::hash_handle(&cookie),
            identity_id: identity_id.to_string(),
            sid: sid.to_string(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.console.settings.absolute,
            second_factor_at: None,
        };
        self.console_store()
            .insert_console_session(&session)
            .await?;
        Ok(cookie)
    }

    /// Registers the console's own client (first party, public, code + PKCE, its callback under
    /// the issuer), or puts it back as it must be when it was changed or removed.
    ///
    /// Errors: `Unavailable`.
    pub async fn ensure_console_client(&self) -> AdminResult<()> {
        let callback = self.provider.config.url(CALLBACK_PATH);
        let existing = self.provider.client_now(CONSOLE_CLIENT_ID).await?;
        let mut client = gan_oidc::model::Client::bare(CONSOLE_CLIENT_ID, "Gan Connect console");
        client.redirect_uris = vec![callback];
        client.scopes = vec![gan_oidc::scope::OPENID.to_string()];
        client.grant_types = vec![gan_oidc::model::GRANT_AUTHORIZATION_CODE.to_string()];
        client.first_party = true;
        client.require_pkce = true;
        client.created_at = existing.as_ref().map_or(self.now(), |c| c.created_at);
        let same = existing.as_ref().is_some_and(|c| {
            c.enabled
                && c.redirect_uris == client.redirect_uris
                && c.scopes == client.scopes
                && c.grant_types == client.grant_types
                && c.is_public()
                && c.first_party
                && c.require_pkce
                && c.account_kinds.is_empty()
        });
        if !same {
            self.provider.save_client(&client).await?;
        }
        Ok(())
    }

    /// Records that the console refused `identity_id` at `path` (`reason`: `not staff`,
    /// `disabled`, `role`).
    pub async fn console_refused(&self, identity_id: &str, path: &str, reason: &str) {
        let event = AuditEvent::failure(
            EventType::ConsoleRefused,
            Actor::identity(identity_id),
            self.now(),
        )
        .identity(identity_id)
        .with("path", path)
        .with("reason", reason);
        self.record(event).await;
    }

    /// Where the console session of cookie value `cookie` stands; an open one is marked seen now.
    ///
    /// Errors: `Unavailable`.
    pub async fn console_access(&self, cookie: Option<&str>) -> AdminResult<ConsoleAccess> {
        let Some(cookie) = cookie.filter(|c| c.starts_with("gcs_") && c.len() < 100) else {
            return Ok(ConsoleAccess::SignIn);
        };
        let Some(session) = self
            .console_store()
            .find_console_session(&gan_secret::hash_handle(cookie))
            .await?
        else {
            return Ok(ConsoleAccess::SignIn);
        };
        self.access_of(session).await
    }

    async fn access_of(&self, session: ConsoleSession) -> AdminResult<ConsoleAccess> {
        let now = self.now();
        if !session.live(now, self.console.settings.idle)
            || !self.provider.session_live(&session.sid).await?
        {
            return Ok(ConsoleAccess::SignIn);
        }
        let member = match self.store.find_staff(&session.identity_id).await? {
            Some(member) if member.active => member,
            _ => return Ok(ConsoleAccess::SignIn),
        };
        if session.second_factor_at.is_none() {
            return Ok(ConsoleAccess::SecondFactor {
                enrolled: member.totp_enabled_at.is_some(),
                session,
            });
        }
        let Some(identity) = self.accounts.identity(&session.identity_id).await? else {
            return Ok(ConsoleAccess::SignIn);
        };
        self.console_store()
            .touch_console_session(&session.id_hash, now)
            .await?;
        Ok(ConsoleAccess::Open(Staff {
            identity_id: identity.id,
            email: identity.login_email,
            role: member.role,
            session,
        }))
    }

    /// The staff member behind an access token of the console's client, with the same rules as
    /// a console page: the console session the token was issued to (same browser session, second
    /// factor checked) is live, and the member active. `None` for any other token.
    ///
    /// Errors: `Unavailable`.
    pub async fn staff_of_token(&self, token: &TokenRecord) -> AdminResult<Option<Staff>> {
        let (Some(sid), Some(identity_id)) = (&token.sid, &token.identity_id) else {
            return Ok(None);
        };
        if token.client_id != CONSOLE_CLIENT_ID {
            return Ok(None);
        }
        let Some(session) = self
            .console_store()
            .console_session_of_sid(sid, identity_id)
            .await?
        else {
            return Ok(None);
        };
        Ok(match self.access_of(session).await? {
            ConsoleAccess::Open(staff) => Some(staff),
            _ => None,
        })
    }

    /// Ends a console session (sign-out). The browser session stays: the customer pages are
    /// another matter.
    ///
    /// Errors: `Unavailable`.
    pub async fn end_console(&self, session: &ConsoleSession) -> AdminResult<()> {
        self.console_store()
            .end_console_session(&session.id_hash, self.now())
            .await?;
        Ok(())
    }

    /// A new TOTP secret for a member without a second factor yet: stored sealed, pending until
    /// a code from it is checked ([`Admin::check_second_factor`]).
    ///
    /// Errors: `Conflict` (already enrolled), `Unavailable`.
    pub async fn start_enrolment(&self, session: &ConsoleSession) -> AdminResult<Enrolment> {
        let member = self.member(&session.identity_id).await?;
        if member.totp_enabled_at.is_some() {
            return Err(AdminError::Conflict("a second factor is enrolled".into()));
        }
        let email = self.email_of(&session.identity_id).await?;
        // A pending secret is shown again (a reload must not break the app already scanned).
        let raw = match &member.totp_secret {
            Some(sealed) => self.totp_sealer().open(sealed)?,
            None => {
                // 160 bits, the size RFC 4226 §4 recommends for HMAC-SHA-1.
                let mut raw = vec![0u8; 20];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
                let sealed = self.totp_sealer().seal(&raw)?;
                self.console_store()
                    .set_totp_secret(&session.identity_id, &sealed)
                    .await?;
                raw
            }
        };
        let totp = totp(raw, &email)?;
        Ok(Enrolment {
            secret: totp.get_secret_base32(),
            uri: totp.get_url(),
        })
    }

    /// Checks a code typed on the console's second-factor page: a TOTP code (enrolled, or being
    /// enrolled), or a recovery code (enrolled only; each works once). Throttled like a password
    /// (the member's failures and the address's). Right: the session opens (`console.signed_in`)
    /// and, at enrolment, the member's recovery codes are made and returned to be shown once
    /// (`console.second_factor`). Wrong: `console.second_factor` with outcome failure.
    ///
    /// Errors: `Unavailable`.
    pub async fn check_second_factor(
        &self,
        session: &ConsoleSession,
        code: &str,
    ) -> AdminResult<CodeCheck> {
        let now = self.now();
        let member = self.member(&session.identity_id).await?;
        let ip = gan_audit::current().ip;
        let subject = format!("second-factor:{}", session.identity_id);
        let email = self.email_of(&session.identity_id).await?;
        let sealer = self.totp_sealer().clone();
        let secret = member.totp_secret.clone();
        let step = {
            let mut found = None;
            let outcome = self
                .accounts
                .throttled_check(&subject, ip.as_deref(), now, || {
                    found = secret
                        .as_deref()
                        .and_then(|s| sealer.open(s).ok())
                        .and_then(|raw| totp(raw, &email).ok())
                        .and_then(|t| matching_step(&t, code, now));
                    found.is_some()
                })
                .await?;
            match outcome {
                gan_accounts::Checked::Throttled(wait) => return Ok(CodeCheck::Throttled(wait)),
                gan_accounts::Checked::Right => found,
                gan_accounts::Checked::Wrong => None,
            }
        };
        let enrolled = member.totp_enabled_at.is_some();
        let right = match step {
            // A code is accepted once: a second use of the same step (or an older one) is wrong.
            Some(step) => {
                self.console_store()
                    .accept_totp_step(&session.identity_id, step)
                    .await?
            }
            None if enrolled => self.use_recovery_code(&member, code).await?,
            None => false,
        };
        if !right {
            let event = AuditEvent::failure(
                EventType::ConsoleSecondFactor,
                Actor::identity(&session.identity_id),
                now,
            )
            .identity(&session.identity_id);
            self.record(event).await;
            return Ok(CodeCheck::Wrong);
        }
        let mut codes = Vec::new();
        if !enrolled {
            codes = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
            let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
            if !self
                .console_store()
                .enable_totp(&session.identity_id, &hashes, now)
                .await?
            {
                return Ok(CodeCheck::Wrong);
            }
            let event = AuditEvent::success(
                EventType::ConsoleSecondFactor,
                Actor::identity(&session.identity_id),
                now,
            )
            .identity(&session.identity_id)
            .with("enrolled", true);
            self.record(event).await;
        }
        let cookie = gan_secret::new_handle("gcs_");
        self.console_store()
            .second_factor_checked(&session.id_hash, &gan_secret::hash_handle(&cookie), now)
            .await?;
        let event = AuditEvent::success(
            EventType::ConsoleSignedIn,
            Actor::staff(&session.identity_id),
            now,
        )
        .identity(&session.identity_id)
        .with("role", member.role.as_str())
        .with(
            "method",
            if step.is_some() {
                "totp"
            } else {
                "recovery_code"
            },
        );
        self.record(event).await;
        Ok(CodeCheck::Right { cookie, codes })
    }

    async fn use_recovery_code(&self, member: &StaffRecord, typed: &str) -> AdminResult<bool> {
        let hash = recovery_hash(typed);
        if !member
            .recovery_codes
            .iter()
            .any(|h| gan_secret::constant_time_eq(h.as_bytes(), hash.as_bytes()))
        {
            return Ok(false);
        }
        let left: Vec<String> = member
            .recovery_codes
            .iter()
            .filter(|h| **h != hash)
            .cloned()
            .collect();
        Ok(self
            .console_store()
            .replace_recovery_codes(&member.identity_id, &member.recovery_codes, &left)
            .await?)
    }

    async fn member(&self, identity_id: &str) -> AdminResult<StaffRecord> {
        self.store
            .find_staff(identity_id)
            .await?
            .ok_or(AdminError::NotFound("staff member"))
    }

    async fn email_of(&self, identity_id: &str) -> AdminResult<String> {
        Ok(self
            .accounts
            .identity(identity_id)
            .await?
            .ok_or(AdminError::NotFound("identity"))?
            .login_email)
    }

    /// Records that `staff` displayed the login email of `client_number` in full.
    pub(crate) async fn email_shown(&self, client_number: &str, identity_id: Option<&str>) {
        let mut event = self
            .event(EventType::ConsoleEmailShown)
            .client_number(client_number);
        if let Some(id) = identity_id {
            event = event.identity(id);
        }
        self.record(event).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn support_may_all_but_manage() {
        assert!(StaffRole::Support.may(Permission::Read));
        assert!(StaffRole::Support.may(Permission::CustomerActions));
        assert!(!StaffRole::Support.may(Permission::Manage));
        assert!(StaffRole::Admin.may(Permission::Manage));
    }

    #[test]
    fn a_code_matches_its_step_and_the_ones_beside_only() {
        let t = totp(vec![7u8; 20], "a@example.fr").unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let step = now.unix_timestamp() / 30;
        let code = t.generate(now.unix_timestamp() as u64);
        assert_eq!(matching_step(&t, &code, now), Some(step));
        let earlier = t.generate((now.unix_timestamp() - 30) as u64);
        assert_eq!(matching_step(&t, &earlier, now), Some(step - 1));
        let old = t.generate((now.unix_timestamp() - 90) as u64);
        assert_eq!(matching_step(&t, &old, now), None);
        assert_eq!(matching_step(&t, "12345", now), None);
        assert_eq!(matching_step(&t, "abcdef", now), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(matching_step(&t, &spaced, now), Some(step));
    }

    #[test]
    fn recovery_codes_are_typed_loosely_and_stored_hashed() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(
            recovery_hash(&code),
            recovery_hash(&code.to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(&code), code);
    }

    #[test]
    fn a_session_ends_when_idle_or_past_its_end() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let s = ConsoleSession {
            id_hash: "h".into(),
            identity_id: "i".into(),
            sid: "s".into(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + Duration::hours(8),
            second_factor_at: None,
        };
        let idle = Duration::minutes(30);
        assert!(s.live(now + Duration::minutes(29), idle));
        assert!(!s.live(now + Duration::minutes(31), idle));
        let busy = ConsoleSession {
            last_seen_at: now + Duration::hours(8),
            ..s
        };
        assert!(!busy.live(now + Duration::hours(8), idle));
    }
}
