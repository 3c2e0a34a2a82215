//! The customer journeys: sign-in with an email or a client number (J1 step 1), choosing the
//! login email (step 2, J2), the verification link and the password (step 3), and forgotten
//! credentials (J5). Never reveals whether an account exists where the design says so.

use gan_audit::{Actor, AuditEvent, EventType};
use time::OffsetDateTime;

use crate::customer::{normalize_client_number, AccountStatus, CustomerAccount};
use crate::email;
use crate::legacy::LegacyHash;
use crate::links::{LinkData, LinkPurpose, LinkRecord, LinkState};
use crate::policy::Violation;
use crate::ports::{AccountsStoreError, OutgoingMail};
use crate::service::{new_identity_id, Accounts, SignInError};
use crate::throttle;
use crate::{Identity, IdentityStatus};

/// Paths of the pages that links lead to (the web layer routes them).
pub const VERIFY_PATH: &str = "/upgrade/verify";
pub const START_PATH: &str = "/upgrade/start";
pub const RESET_PATH: &str = "/password/reset";

/// What the sign-in form leads to.
#[derive(Debug)]
pub enum SignInOutcome {
    Identity(Identity),
    /// The legacy credentials are right and the account is not upgraded: step 2, held by this
    /// handle (a cookie).
    UpgradeStarted {
        handle: String,
    },
    /// This client number was upgraded: the login email is now the identifier.
    UseEmail {
        masked: String,
    },
    Wrong,
    /// Too many failures: wait (the same answer whether or not the account exists).
    Throttled {
        retry_after_seconds: i64,
    },
    Locked,
}

/// Step 2's answer.
#[derive(Debug, PartialEq, Eq)]
pub enum ChooseEmail {
    Sent {
        masked: String,
    },
    Invalid,
    /// `Email déjà utilisé, saisissez un nouvel email de connexion`.
    Taken,
    /// The step-2 session is over: sign in again.
    Expired,
}

/// Why step 3 (or a password reset) did not complete.
#[derive(Debug)]
pub enum CompleteError {
    Link(LinkState),
    Policy(Vec<Violation>),
    EmailTaken,
    Unavailable(String),
}

impl From<AccountsStoreError> for CompleteError {
    fn from(e: AccountsStoreError) -> Self {
        match e {
            AccountsStoreError::EmailTaken => Self::EmailTaken,
            AccountsStoreError::LinkUsed | AccountsStoreError::AccountTaken => {
                Self::Link(LinkState::Used)
            }
            AccountsStoreError::Unavailable(m) => Self::Unavailable(m),
        }
    }
}

/// A completed upgrade.
#[derive(Debug)]
pub struct Completed {
    pub identity: Identity,
    pub interaction_hash: Option<String>,
}

fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The stored form of a link token.
pub fn hash_token(token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token.as_bytes()))
}

impl Accounts {
    async fn blocked(&self, key: &str, now: OffsetDateTime) -> Result<Option<i64>, SignInError> {
        Ok(self
            .ports
            .counters
            .counter(key)
            .await?
            .and_then(|(_, until)| throttle::remaining(until, now))
            .map(|d| d.whole_seconds().max(1)))
    }

    async fn fail(&self, key: &str, scale: u32, now: OffsetDateTime) -> Result<(), SignInError> {
        let failures = self
            .ports
            .counters
            .counter(key)
            .await?
            .map(|(n, _)| n)
            .unwrap_or(0)
            + 1;
        let until = now + throttle::block_for(failures / scale);
        self.ports
            .counters
            .set_counter(key, failures, until, now)
            .await?;
        if failures == throttle::LOCK_AFTER * scale {
            let mut event = AuditEvent::failure(EventType::SignInLocked, Actor::anonymous(), now)
                .with("minutes", throttle::LOCK.whole_minutes());
            event = match throttle::identifier_of(key) {
                Some(id) if id.contains('@') => event
                    .with("scope", "identifier")
                    .with("identifier", email::mask(id)),
                Some(number) => event.with("scope", "identifier").client_number(number),
                None => event.with("scope", "address"),
            };
            self.audit(event).await;
        }
        Ok(())
    }

    /// `Throttled` when the identifier or the IP is blocked; `Wrong` otherwise (not a verdict).
    pub(crate) async fn throttled(
        &self,
        id_key: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<SignInOutcome, SignInError> {
        let ip_key = ip.map(throttle::ip_key);
        for key in std::iter::once(id_key).chain(ip_key.as_deref()) {
            if let Some(retry_after_seconds) = self.blocked(key, now).await? {
                return Ok(SignInOutcome::Throttled {
                    retry_after_seconds,
                });
            }
        }
        Ok(SignInOutcome::Wrong)
    }

    pub(crate) async fn record_failure(
        &self,
        id_key: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), SignInError> {
        self.failed(id_key, ip.map(throttle::ip_key).as_deref(), now)
            .await
            .map(|_| ())
    }

    async fn failed(
        &self,
        id_key: &str,
        ip_key: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<SignInOutcome, SignInError> {
        self.fail(id_key, 1, now).await?;
        if let Some(k) = ip_key {
            // An address may carry many customers (offices, families): five times more room.
            self.fail(k, 5, now).await?;
        }
        Ok(SignInOutcome::Wrong)
    }

    /// Step 1: an email with its password, or a client number with its legacy password.
    pub async fn sign_in_any(
        &self,
        identifier: &str,
        password: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<SignInOutcome, SignInError> {
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
    ) -> Result<SignInOutcome, SignInError> {
        let is_email = identifier.contains('@');
        let normalized = if is_email {
            email::normalize(identifier)
        } else {
            normalize_client_number(identifier).unwrap_or_else(|| identifier.trim().to_uppercase())
        };
        let id_key = throttle::identifier_key(&normalized);
        let ip_key = ip.map(throttle::ip_key);
        if let throttled @ SignInOutcome::Throttled { .. } =
            self.throttled(&id_key, ip, now).await?
        {
            return Ok(throttled);
        }
        if is_email {
            return match self.sign_in(&normalized, password).await {
                Ok(identity) => {
                    self.ports.counters.clear_counter(&id_key).await?;
                    Ok(SignInOutcome::Identity(identity))
                }
                Err(SignInError::WrongCredentials) => {
                    self.failed(&id_key, ip_key.as_deref(), now).await
                }
                Err(SignInError::Locked) => Ok(SignInOutcome::Locked),
                Err(e) => Err(e),
            };
        }
        let account = self.ports.customers.find_customer(&normalized).await?;
        let Some(account) = account else {
            let _ = self.hasher.verify(password, None).await;
            return self.failed(&id_key, ip_key.as_deref(), now).await;
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
            return self.failed(&id_key, ip_key.as_deref(), now).await;
        }
        self.ports.counters.clear_counter(&id_key).await?;
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

    pub(crate) async fn issue_link(
        &self,
        purpose: LinkPurpose,
        data: LinkData,
        ttl: time::Duration,
        now: OffsetDateTime,
    ) -> Result<String, SignInError> {
        let token = new_token();
        let record = LinkRecord {
            token_hash: hash_token(&token),
            purpose,
            data,
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
        };
        self.ports.links.insert_link(&record).await?;
        Ok(token)
    }

    /// A presented link, by purpose.
    pub async fn link(
        &self,
        token: &str,
        purpose: LinkPurpose,
        now: OffsetDateTime,
    ) -> Result<LinkState, SignInError> {
        Ok(
            match self
                .ports
                .links
                .find_link(&hash_token(token), purpose)
                .await?
            {
                Some(r) => r.state(now),
                None => LinkState::Unknown,
            },
        )
    }

    /// The customer account behind a live step-2 handle.
    pub async fn upgrade_in_progress(
        &self,
        handle: &str,
        now: OffsetDateTime,
    ) -> Result<Option<CustomerAccount>, SignInError> {
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

    /// Rate limit of messages per address (shared by every process).
    async fn may_mail(&self, address: &str, now: OffsetDateTime) -> Result<bool, SignInError> {
        let key = format!("mail:{address}");
        let (count, window_end) = match self.ports.counters.counter(&key).await? {
            Some((n, end)) if end > now => (n + 1, end),
            _ => (1, now + time::Duration::hours(1)),
        };
        self.ports
            .counters
            .set_counter(&key, count, window_end, now)
            .await?;
        Ok(count <= self.settings.mails_per_hour)
    }

    pub(crate) async fn send_mail(
        &self,
        to: &str,
        template: &'static str,
        lang: &str,
        vars: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(), SignInError> {
        if !self.may_mail(to, now).await? {
            tracing::warn!(
                template,
                "mail rate limit reached for an address; message not sent"
            );
            return Ok(());
        }
        self.ports
            .mailer
            .send(OutgoingMail {
                to: to.to_string(),
                template,
                lang: lang.to_string(),
                vars,
            })
            .await
            .map_err(|e| SignInError::Unavailable(e.to_string()))
    }

    /// Step 2: the login email chosen for the account behind `handle`; sends the verification link.
    pub async fn choose_login_email(
        &self,
        handle: &str,
        chosen: &str,
        interaction_hash: Option<String>,
        lang: &str,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<ChooseEmail, SignInError> {
        let Some(account) = self.upgrade_in_progress(handle, now).await? else {
            return Ok(ChooseEmail::Expired);
        };
        if !email::looks_valid(chosen) {
            return Ok(ChooseEmail::Invalid);
        }
        let login = email::normalize(chosen);
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
        let token = self
            .issue_link(LinkPurpose::VerifyEmail, data, self.settings.link_ttl, now)
            .await?;
        let link = format!(
            "{}{VERIFY_PATH}?token={token}",
            base_url.trim_end_matches('/')
        );
        let vars = serde_json::json!({ "link": link, "client_number": account.client_number, "hours": self.settings.link_ttl.whole_hours() });
        self.send_mail(&login, "upgrade_verify", lang, vars, now)
            .await?;
        Ok(ChooseEmail::Sent {
            masked: email::mask(&login),
        })
    }

    /// Sends a fresh verification link for an expired (never used) one.
    pub async fn resend_verification(
        &self,
        token: &str,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<bool, SignInError> {
        let LinkState::Expired(old) = self.link(token, LinkPurpose::VerifyEmail, now).await? else {
            return Ok(false);
        };
        if old.data.email.is_none() || old.data.client_number.is_none() {
            return Ok(false);
        }
        self.send_verification(old.data, base_url, now).await?;
        Ok(true)
    }

    /// Sends a fresh verification link for an upgrade (`data` names the account and the chosen
    /// login email).
    pub async fn send_verification(
        &self,
        data: LinkData,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<(), SignInError> {
        let (Some(login), Some(number)) = (data.email.clone(), data.client_number.clone()) else {
            return Err(SignInError::Invalid(
                "the link names no account or email".into(),
            ));
        };
        let lang = data.lang.clone().unwrap_or_else(|| "fr".into());
        let fresh = self
            .issue_link(LinkPurpose::VerifyEmail, data, self.settings.link_ttl, now)
            .await?;
        let link = format!(
            "{}{VERIFY_PATH}?token={fresh}",
            base_url.trim_end_matches('/')
        );
        let vars = serde_json::json!({ "link": link, "client_number": number, "hours": self.settings.link_ttl.whole_hours() });
        self.send_mail(&login, "upgrade_verify", &lang, vars, now)
            .await
    }

    /// Step 3: the password for the login email of a verification link. Creates the identity,
    /// attaches the account and retires its legacy password, all at once.
    pub async fn complete_upgrade(
        &self,
        token: &str,
        password: &str,
        confirm: &str,
        now: OffsetDateTime,
    ) -> Result<Completed, CompleteError> {
        let state = self
            .link(token, LinkPurpose::VerifyEmail, now)
            .await
            .map_err(|e| CompleteError::Unavailable(e.to_string()))?;
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

    /// "Identifiant oublié": every client number on record for a contact email, sent to it.
    pub async fn forgot_identifier(
        &self,
        contact: &str,
        lang: &str,
        now: OffsetDateTime,
    ) -> Result<(), SignInError> {
        if !email::looks_valid(contact) {
            return Ok(());
        }
        let address = email::normalize(contact);
        let accounts = self
            .ports
            .customers
            .customers_by_contact_email(&address)
            .await?;
        if accounts.is_empty() {
            return Ok(());
        }
        let list: Vec<serde_json::Value> = accounts
            .iter()
            .map(|a| serde_json::json!({ "client_number": a.client_number, "label": a.label, "kind": a.kind.as_str(), "upgraded": a.status == AccountStatus::Upgraded }))
            .collect();
        self.send_mail(
            &address,
            "identifier_reminder",
            lang,
            serde_json::json!({ "accounts": list }),
            now,
        )
        .await
    }

    /// "Mot de passe oublié": a reset link for an email login; for a client number not yet
    /// upgraded, a link to its contact email that leads to step 2.
    pub async fn forgot_password(
        &self,
        identifier: &str,
        lang: &str,
        base_url: &str,
        now: OffsetDateTime,
    ) -> Result<(), SignInError> {
        let base = base_url.trim_end_matches('/');
        let reset = |identity: Identity| async move {
            let data = LinkData {
                identity_id: Some(identity.id.clone()),
                email: Some(identity.login_email.clone()),
                lang: Some(lang.to_string()),
                ..Default::default()
            };
            let token = self
                .issue_link(
                    LinkPurpose::PasswordReset,
                    data,
                    time::Duration::hours(1),
                    now,
                )
                .await?;
            let vars = serde_json::json!({ "link": format!("{base}{RESET_PATH}?token={token}") });
            self.send_mail(&identity.login_email, "password_reset", lang, vars, now)
                .await
        };
        if identifier.contains('@') {
            if let Some(identity) = self
                .ports
                .identities
                .find_identity_by_email(&email::normalize(identifier))
                .await?
            {
                return reset(identity).await;
            }
            return Ok(());
        }
        let Some(number) = normalize_client_number(identifier) else {
            return Ok(());
        };
        let Some(account) = self.ports.customers.find_customer(&number).await? else {
            return Ok(());
        };
        if account.status == AccountStatus::Upgraded {
            if let Some(owner) = self.ports.customers.owner_of(&number).await? {
                return reset(owner).await;
            }
            return Ok(());
        }
        let data = LinkData {
            client_number: Some(number.clone()),
            lang: Some(lang.to_string()),
            ..Default::default()
        };
        let token = self
            .issue_link(LinkPurpose::UpgradeStart, data, self.settings.link_ttl, now)
            .await?;
        let vars = serde_json::json!({ "link": format!("{base}{START_PATH}?token={token}"), "client_number": number });
        self.send_mail(&account.contact_email, "upgrade_start", lang, vars, now)
            .await
    }

    /// Opens step 2 from an "upgrade start" link; the link is used up.
    pub async fn start_upgrade_from_link(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Result<String, LinkState>, SignInError> {
        let state = self.link(token, LinkPurpose::UpgradeStart, now).await?;
        let LinkState::Valid(link) = state else {
            return Ok(Err(state));
        };
        if !self.ports.links.use_link(&link.token_hash, now).await? {
            return Ok(Err(LinkState::Used));
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

    /// A new password from a reset link.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        confirm: &str,
        now: OffsetDateTime,
    ) -> Result<Identity, CompleteError> {
        let state = self
            .link(token, LinkPurpose::PasswordReset, now)
            .await
            .map_err(|e| CompleteError::Unavailable(e.to_string()))?;
        let LinkState::Valid(link) = state else {
            return Err(CompleteError::Link(state));
        };
        let identity_id = link.data.identity_id.clone().unwrap_or_default();
        let identity = self
            .ports
            .identities
            .find_identity(&identity_id)
            .await?
            .ok_or(CompleteError::Link(LinkState::Unknown))?;
        let numbers = self.ports.customers.accounts_of(&identity.id).await?;
        let numbers: Vec<&str> = numbers.iter().map(|a| a.client_number.as_str()).collect();
        let violations =
            self.settings
                .policy
                .check(password, confirm, &identity.login_email, &numbers);
        if !violations.is_empty() {
            return Err(CompleteError::Policy(violations));
        }
        let hash = self
            .hasher
            .hash(password)
            .await
            .map_err(|e| CompleteError::Unavailable(e.to_string()))?;
        if !self.ports.links.use_link(&link.token_hash, now).await? {
            return Err(CompleteError::Link(LinkState::Used));
        }
        self.ports
            .identities
            .set_password_hash(&identity.id, &hash)
            .await?;
        self.audit(
            AuditEvent::success(EventType::PasswordReset, Actor::identity(&identity.id), now)
                .identity(&identity.id),
        )
        .await;
        Ok(identity)
    }
}
