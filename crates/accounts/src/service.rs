//! The accounts engine: [`Accounts`], its settings, its ports, and the checks every journey
//! shares (an email and password, re-authentication, creating an identity).

use std::sync::Arc;

use gan_audit::{AuditEvent, Auditor};
use time::{Duration, OffsetDateTime};

use crate::email;
use crate::password::{Hasher, Verdict};
use crate::policy::PasswordPolicy;
use crate::ports::{
    AccessStore, AccountsStoreError, CounterStore, CustomerStore, IdentityStore, LinkStore, Mailer,
};
use crate::throttle::Attempt;
use crate::{Identity, IdentityStatus};

/// Storage (or the mail queue) did not answer: the only failure of most engine methods. The
/// message is for the log, never for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage unavailable: {0}")]
pub struct Unavailable(pub String);

impl From<AccountsStoreError> for Unavailable {
    /// Conflicts (`EmailTaken`, `LinkUsed`, `AccountTaken`) are only expected where a method
    /// handles them itself; anywhere else they are reported as an unavailable store.
    fn from(e: AccountsStoreError) -> Self {
        match e {
            AccountsStoreError::Unavailable(m) => Self(m),
            other => Self(other.to_string()),
        }
    }
}

/// What [`Accounts::check_password`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is the identity's.
    Right,
    /// It is not (the failure is counted).
    Wrong,
    /// Too many failures: wait this many seconds (at least 1); the password was not checked.
    Throttled(i64),
}

/// Why [`Accounts::sign_in`] refused an email and password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unknown email or wrong password: the two are never told apart.
    #[error("wrong email or password")]
    WrongCredentials,
    /// The password is right but an administrator locked the identity.
    #[error("this identity is locked")]
    Locked,
    /// Storage did not answer.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

impl From<AccountsStoreError> for SignInError {
    fn from(e: AccountsStoreError) -> Self {
        Self::Unavailable(e.into())
    }
}

/// Why [`Accounts::create_identity`] created nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateIdentityError {
    /// Not an address we accept (see [`crate::email::parse`]).
    #[error("not an email address: {0}")]
    InvalidEmail(crate::email::EmailError),
    /// Another identity has this login email (compared after trimming and lower-casing).
    #[error("the login email is already used")]
    EmailTaken,
    /// The password could not be hashed (the hashing threads are gone).
    #[error("hashing failed: {0}")]
    Hashing(String),
    /// Storage did not answer.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

impl From<AccountsStoreError> for CreateIdentityError {
    fn from(e: AccountsStoreError) -> Self {
        match e {
            AccountsStoreError::EmailTaken => Self::EmailTaken,
            other => Self::Unavailable(other.into()),
        }
    }
}

/// Settings of the journeys.
#[derive(Debug, Clone)]
pub struct JourneySettings {
    /// The rules a new password must follow.
    pub policy: PasswordPolicy,
    /// Lifetime of the links sent by email (24 h by default).
    pub link_ttl: Duration,
    /// Lifetime of an upgrade in progress between steps (30 min).
    pub upgrade_ttl: Duration,
    /// Messages per address per hour from the email-sending forms.
    pub mails_per_hour: u32,
    /// Personal accounts one identity may hold (design.md J3).
    pub max_personal: usize,
    /// Professional accounts one identity may hold (design.md J3).
    pub max_professional: usize,
    /// Sensitive actions need a password check younger than this.
    pub reauth_after: Duration,
    /// How long a failed password check counts against its identifier and address (15 min).
    pub throttle_window: Duration,
    /// "Is this email free?" checks per address per hour (upgrade step 2, email change); the
    /// client address gets six times as many.
    pub checks_per_hour: u32,
    /// The keyed hash of what throttle counters count (identifiers, addresses): the server
    /// derives its key from the key-encryption key; the default is random.
    pub counter_hash: gan_secret::KeyedHash,
}

impl Default for JourneySettings {
    fn default() -> Self {
        Self {
            policy: PasswordPolicy::default(),
            link_ttl: Duration::hours(24),
            upgrade_ttl: Duration::minutes(30),
            mails_per_hour: 5,
            max_personal: 1,
            max_professional: 1,
            reauth_after: Duration::minutes(10),
            throttle_window: Duration::minutes(15),
            checks_per_hour: 10,
            counter_hash: gan_secret::KeyedHash::default(),
        }
    }
}

/// The ports of the accounts domain: what it needs from storage, mail and the audit trail.
#[derive(Clone)]
pub struct AccountsPorts {
    /// Identities.
    pub identities: Arc<dyn IdentityStore>,
    /// Customer accounts and attachments.
    pub customers: Arc<dyn CustomerStore>,
    /// One-time links.
    pub links: Arc<dyn LinkStore>,
    /// Throttling and rate-limit counters.
    pub counters: Arc<dyn CounterStore>,
    /// The mail queue.
    pub mailer: Arc<dyn Mailer>,
    /// Sessions and tokens, to cut off on a credential change.
    pub access: Arc<dyn AccessStore>,
    /// The audit trail.
    pub audit: Arc<Auditor>,
}

/// The accounts engine. Its ports are its own: callers use its methods, which apply the rules
/// (throttling, mail limits, audit events) the ports know nothing about.
#[derive(Clone)]
pub struct Accounts {
    /// Private to the engine: nothing outside this crate goes around its rules.
    pub(crate) ports: AccountsPorts,
    /// argon2id hashing on its own threads (the engine's: callers check passwords through its
    /// methods).
    pub(crate) hasher: Hasher,
    /// Password rules, link lifetimes, limits.
    pub settings: JourneySettings,
}

/// 128 random bits, hex: the opaque part of an identity id.
pub(crate) fn new_identity_id() -> String {
    format!("gc-{}", gan_secret::random_hex(16))
}

impl Accounts {
    /// Sensitive account actions (attach an account, end sessions) need a password checked
    /// recently: `true` when the last check, at `auth_time`, is older than `reauth_after`
    /// (10 minutes by default) at `now`, so the person must type their password again.
    pub fn reauthentication_due(&self, auth_time: OffsetDateTime, now: OffsetDateTime) -> bool {
        now - auth_time > self.settings.reauth_after
    }

    /// The engine over its ports, with a hasher and the journeys' settings.
    pub fn new(ports: AccountsPorts, hasher: Hasher, settings: JourneySettings) -> Self {
        Self {
            ports,
            hasher,
            settings,
        }
    }

    /// Creates an identity with a verified login email (for administrators, demos and tests; the
    /// customer journeys create identities through the upgrade). The password is not checked
    /// against the policy.
    ///
    /// Errors: `InvalidEmail`, `EmailTaken`, `Hashing`, `Unavailable`.
    pub async fn create_identity(
        &self,
        login_email: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<Identity, CreateIdentityError> {
        let login_email = email::parse(login_email).map_err(CreateIdentityError::InvalidEmail)?;
        let hash = self
            .hasher
            .hash(password)
            .await
            .map_err(|e| CreateIdentityError::Hashing(e.to_string()))?;
        let identity = Identity {
            id: new_identity_id(),
            login_email,
            email_verified_at: Some(now),
            password_hash: hash,
            status: IdentityStatus::Active,
            created_at: now,
        };
        self.ports.identities.insert_identity(&identity).await?;
        Ok(identity)
    }

    /// Records an audit event (tagged with the current request by the auditor).
    pub(crate) async fn audit(&self, event: AuditEvent) {
        self.ports.audit.record(event).await;
    }

    /// A password check of a signed-in person (re-authentication, password and email change),
    /// throttled like the sign-in on their login email and the client address `ip`: a stolen
    /// session cookie gets no more guesses than the sign-in form.
    ///
    /// Errors: `Unavailable`.
    pub async fn check_password(
        &self,
        identity: &Identity,
        password: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<PasswordCheck, Unavailable> {
        let guess = match self.reserve_guess(&identity.login_email, ip, now).await? {
            Attempt::Go(guess) => guess,
            Attempt::Throttled(seconds) => return Ok(PasswordCheck::Throttled(seconds)),
        };
        let verdict = self
            .hasher
            .verify(password, Some(&identity.password_hash))
            .await;
        if matches!(verdict, Verdict::Wrong) {
            self.guess_wrong(guess, now).await?;
            return Ok(PasswordCheck::Wrong);
        }
        self.guess_right(guess).await?;
        Ok(PasswordCheck::Right)
    }

    /// Checks an email and password, without throttling or audit (the sign-in form goes through
    /// [`Accounts::sign_in_any`]); stores a fresh hash when the hashing parameters changed.
    ///
    /// Errors: `WrongCredentials` (unknown email or wrong password, in the same time), `Locked`
    /// (right password, locked identity), `Unavailable`.
    pub async fn sign_in(
        &self,
        login_email: &str,
        password: &str,
    ) -> Result<Identity, SignInError> {
        let found = self
            .ports
            .identities
            .find_identity_by_email(&email::normalize(login_email))
            .await?;
        let verdict = self
            .hasher
            .verify(password, found.as_ref().map(|i| i.password_hash.as_str()))
            .await;
        let Some(identity) = found else {
            return Err(SignInError::WrongCredentials);
        };
        match verdict {
            Verdict::Wrong => Err(SignInError::WrongCredentials),
            _ if identity.status == IdentityStatus::Locked => Err(SignInError::Locked),
            Verdict::RightRehashed(new_hash) => {
                self.ports
                    .identities
                    .set_password_hash(&identity.id, &new_hash)
                    .await?;
                Ok(identity)
            }
            Verdict::Right => Ok(identity),
        }
    }
}
