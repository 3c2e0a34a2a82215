//! What an audit event says.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Every kind of event the trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A person signed in with their login email and password (actor: the identity).
    #[serde(rename = "signin.succeeded")]
    SignInSucceeded,
    /// A sign-in was refused; `detail.reason` says why (`wrong_credentials`, `throttled`,
    /// `identity_locked`, `client_number_upgraded`). Always a failure.
    #[serde(rename = "signin.failed")]
    SignInFailed,
    /// Too many failures: the identifier or the address is held back.
    #[serde(rename = "signin.locked")]
    SignInLocked,
    /// Legacy credentials accepted: the upgrade starts.
    #[serde(rename = "upgrade.started")]
    UpgradeStarted,
    /// Upgrade step 2: a login email was chosen and its verification link sent (failure
    /// `email_taken` when it is another identity's).
    #[serde(rename = "upgrade.email_chosen")]
    UpgradeEmailChosen,
    /// The verification link of an upgrade was opened: its page (the password form) was shown.
    /// A mail scanner opening the link counts too; it is a figure of the funnel, nothing more.
    #[serde(rename = "upgrade.link_opened")]
    UpgradeLinkOpened,
    /// A verification link was opened: `detail.purpose` is `upgrade` or `email_change`.
    #[serde(rename = "email.verified")]
    EmailVerified,
    /// Upgrade done: the identity was created and the customer account attached to it.
    #[serde(rename = "upgrade.completed")]
    UpgradeCompleted,
    /// The login email changed, after the link sent to the new address was opened (`from`, `to`
    /// masked).
    #[serde(rename = "login_email.changed")]
    LoginEmailChanged,
    /// A signed-in person changed their password (failure `wrong_current_password`).
    #[serde(rename = "password.changed")]
    PasswordChanged,
    /// A password was set through a reset link (forgotten password).
    #[serde(rename = "password.reset")]
    PasswordReset,
    /// A customer account was attached to an identity from the account page (failure with
    /// `detail.reason` when refused).
    #[serde(rename = "account.attached")]
    AccountAttached,
    /// An admin detached a customer account from its identity.
    #[serde(rename = "account.detached")]
    AccountDetached,
    /// The token endpoint issued tokens (`detail`: `grant_type`, `scope`, `grant_id`).
    #[serde(rename = "token.issued")]
    TokenIssued,
    /// A rotated refresh token was presented again: its family was revoked (RFC 6749 §10.4).
    #[serde(rename = "token.refresh_reuse")]
    RefreshReuse,
    /// An authorization code was presented again: the tokens it issued were revoked (RFC 6749
    /// §4.1.2).
    #[serde(rename = "token.code_replay")]
    CodeReplay,
    /// A client revoked a token (RFC 7009); `detail.token_type` says which kind.
    #[serde(rename = "token.revoked")]
    TokenRevoked,
    /// Browser sessions ended by a logout or by the person (`detail.reason`: `logout`,
    /// `ended_by_user`; `detail.sid` when just one; counts `sessions`, `tokens_revoked` — the
    /// tokens issued in them, but `offline_access` ones).
    #[serde(rename = "session.ended")]
    SessionEnded,
    /// A client was told, server to server, that a session it took part in ended (OpenID
    /// Connect Back-Channel Logout 1.0): success once delivered, failure when given up
    /// (`detail.error`, `detail.attempts`, `detail.sid`).
    #[serde(rename = "logout.notified")]
    LogoutNotified,
    /// A credential changed (or an admin locked, detached or ended sessions): what the old
    /// credential granted was cut off (`detail.reason`; counts `sessions_ended`,
    /// `tokens_revoked`, `links_cancelled`; `detail.kept_session` when the session the person
    /// made the change from stays).
    #[serde(rename = "access.cut_off")]
    AccessCutOff,
    /// An admin locked an identity (its sessions ended, its tokens revoked).
    #[serde(rename = "identity.locked")]
    IdentityLocked,
    /// An admin unlocked an identity.
    #[serde(rename = "identity.unlocked")]
    IdentityUnlocked,
    /// An admin created an identity directly, with its login email and password (the CLI's
    /// `identity add`; `detail.login_email` masked).
    #[serde(rename = "identity.created")]
    IdentityCreated,
    /// Customer accounts imported from CSV (counts in the detail).
    #[serde(rename = "customers.imported")]
    CustomersImported,
    /// An admin sent an upgrade's verification link again.
    #[serde(rename = "activation.resent")]
    ActivationResent,
    /// An admin cancelled an upgrade in progress (its links stop working).
    #[serde(rename = "activation.cancelled")]
    ActivationCancelled,
    /// An admin registered a relying party.
    #[serde(rename = "client.created")]
    ClientCreated,
    /// An admin changed a relying party (`detail.fields` lists what).
    #[serde(rename = "client.updated")]
    ClientUpdated,
    /// An admin rotated a client secret (`detail.previous_valid_until`, Unix seconds).
    #[serde(rename = "client.secret_rotated")]
    ClientSecretRotated,
    /// An admin disabled a relying party and revoked its tokens.
    #[serde(rename = "client.disabled")]
    ClientDisabled,
    /// An admin deleted a relying party.
    #[serde(rename = "client.deleted")]
    ClientDeleted,
    /// An admin rotated the signing keys (`detail.added` lists the new `kid`s).
    #[serde(rename = "keys.rotated")]
    KeysRotated,
    /// An admin added a staff member of the console (`detail.role`); the identity is theirs.
    #[serde(rename = "staff.added")]
    StaffAdded,
    /// An admin disabled a staff member (their sessions and tokens ended).
    #[serde(rename = "staff.disabled")]
    StaffDisabled,
    /// A staff member opened a console session (password and second factor checked).
    #[serde(rename = "console.signed_in")]
    ConsoleSignedIn,
    /// The console refused someone: not staff, disabled, or a role that does not allow the page
    /// (`detail.path`, `detail.reason`).
    #[serde(rename = "console.refused")]
    ConsoleRefused,
    /// A staff member enrolled their second factor (TOTP), or a wrong code was typed (failure).
    #[serde(rename = "console.second_factor")]
    ConsoleSecondFactor,
    /// A support agent displayed a customer's login email in full.
    #[serde(rename = "console.email_shown")]
    ConsoleEmailShown,
}

impl EventType {
    /// Every event type, in declaration order (the CLI lists them when `--type` is unknown).
    pub const ALL: [EventType; 38] = [
        Self::SignInSucceeded,
        Self::SignInFailed,
        Self::SignInLocked,
        Self::UpgradeStarted,
        Self::UpgradeEmailChosen,
        Self::UpgradeLinkOpened,
        Self::EmailVerified,
        Self::UpgradeCompleted,
        Self::LoginEmailChanged,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::AccountAttached,
        Self::AccountDetached,
        Self::TokenIssued,
        Self::RefreshReuse,
        Self::CodeReplay,
        Self::TokenRevoked,
        Self::SessionEnded,
        Self::LogoutNotified,
        Self::AccessCutOff,
        Self::IdentityLocked,
        Self::IdentityUnlocked,
        Self::IdentityCreated,
        Self::CustomersImported,
        Self::ActivationResent,
        Self::ActivationCancelled,
        Self::ClientCreated,
        Self::ClientUpdated,
        Self::ClientSecretRotated,
        Self::ClientDisabled,
        Self::ClientDeleted,
        Self::KeysRotated,
        Self::StaffAdded,
        Self::StaffDisabled,
        Self::ConsoleSignedIn,
        Self::ConsoleRefused,
        Self::ConsoleSecondFactor,
        Self::ConsoleEmailShown,
    ];

    /// The stored and displayed name: `area.what`, as in `signin.failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignInSucceeded => "signin.succeeded",
            Self::SignInFailed => "signin.failed",
            Self::SignInLocked => "signin.locked",
            Self::UpgradeStarted => "upgrade.started",
            Self::UpgradeEmailChosen => "upgrade.email_chosen",
            Self::UpgradeLinkOpened => "upgrade.link_opened",
            Self::EmailVerified => "email.verified",
            Self::UpgradeCompleted => "upgrade.completed",
            Self::LoginEmailChanged => "login_email.changed",
            Self::PasswordChanged => "password.changed",
            Self::PasswordReset => "password.reset",
            Self::AccountAttached => "account.attached",
            Self::AccountDetached => "account.detached",
            Self::TokenIssued => "token.issued",
            Self::RefreshReuse => "token.refresh_reuse",
            Self::CodeReplay => "token.code_replay",
            Self::TokenRevoked => "token.revoked",
            Self::SessionEnded => "session.ended",
            Self::LogoutNotified => "logout.notified",
            Self::AccessCutOff => "access.cut_off",
            Self::IdentityLocked => "identity.locked",
            Self::IdentityUnlocked => "identity.unlocked",
            Self::IdentityCreated => "identity.created",
            Self::CustomersImported => "customers.imported",
            Self::ActivationResent => "activation.resent",
            Self::ActivationCancelled => "activation.cancelled",
            Self::ClientCreated => "client.created",
            Self::ClientUpdated => "client.updated",
            Self::ClientSecretRotated => "client.secret_rotated",
            Self::ClientDisabled => "client.disabled",
            Self::ClientDeleted => "client.deleted",
            Self::KeysRotated => "keys.rotated",
            Self::StaffAdded => "staff.added",
            Self::StaffDisabled => "staff.disabled",
            Self::ConsoleSignedIn => "console.signed_in",
            Self::ConsoleRefused => "console.refused",
            Self::ConsoleSecondFactor => "console.second_factor",
            Self::ConsoleEmailShown => "console.email_shown",
        }
    }

    /// The event type named `s` (as [`as_str`](Self::as_str) spells it); `None` for any other.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// Whether the action happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was refused or failed; `detail.reason` usually says why.
    Failure,
}

impl Outcome {
    /// `success` or `failure`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    /// The outcome named `s`; `None` for any other.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

/// The kind of actor behind an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in (or signing-in) person.
    Identity,
    /// A relying party at the protocol endpoints.
    Client,
    /// An admin: a client holding an `admin:*` scope, or the operator's CLI.
    Admin,
    /// Someone not (yet) known: a failed sign-in, a forgotten-credential request.
    Anonymous,
    /// A staff member acting in the support console (or with a console token at the admin
    /// API), by identity id.
    Staff,
}

impl ActorKind {
    /// `identity`, `client`, `admin` or `anonymous`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Client => "client",
            Self::Admin => "admin",
            Self::Anonymous => "anonymous",
            Self::Staff => "staff",
        }
    }

    /// The kind named `s`; `None` for any other.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Identity,
            Self::Client,
            Self::Admin,
            Self::Anonymous,
            Self::Staff,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    /// What kind of actor.
    pub kind: ActorKind,
    /// The identity id, the client id, the admin client id or `cli:<user>`; none when anonymous.
    pub id: Option<String>,
}

impl Actor {
    /// A person, by identity id.
    pub fn identity(id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Identity,
            id: Some(id.into()),
        }
    }

    /// A relying party, by `client_id`.
    pub fn client(id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Client,
            id: Some(id.into()),
        }
    }

    /// An admin: the admin client's `client_id`, or `cli:<user>` for the CLI.
    pub fn admin(id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Admin,
            id: Some(id.into()),
        }
    }

    /// A staff member of the console, by identity id.
    pub fn staff(identity_id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Staff,
            id: Some(identity_id.into()),
        }
    }

    /// Someone not known (yet).
    pub fn anonymous() -> Self {
        Self {
            kind: ActorKind::Anonymous,
            id: None,
        }
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// Time-ordered (UUID v7), so that ids page in time order.
    pub id: String,
    /// When it happened (RFC 3339 in JSON).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened.
    pub event_type: EventType,
    /// Whether it happened or was refused.
    pub outcome: Outcome,
    /// Who did it; the request context's actor, when set, replaces the one the engine gave.
    pub actor: Actor,
    /// The person concerned (`sub`), when there is one.
    pub identity_id: Option<String>,
    /// The customer account concerned (its client number), when there is one.
    pub client_number: Option<String>,
    /// The relying party concerned.
    pub client_id: Option<String>,
    /// The caller's IP address (from the request context).
    pub ip: Option<String>,
    /// The request's correlation id: its `X-Request-Id` (echoed on the response), or `cli-<pid>`.
    pub correlation_id: Option<String>,
    /// A few facts particular to the event (a reason, a grant type, changed fields); never a
    /// secret.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// A new event at `at`; the request context fills in the IP and correlation id when recorded.
    pub fn new(event_type: EventType, outcome: Outcome, actor: Actor, at: OffsetDateTime) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            event_type,
            outcome,
            actor,
            identity_id: None,
            client_number: None,
            client_id: None,
            ip: None,
            correlation_id: None,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    /// A successful event at `at`.
    pub fn success(event_type: EventType, actor: Actor, at: OffsetDateTime) -> Self {
        Self::new(event_type, Outcome::Success, actor, at)
    }

    /// A failed or refused event at `at`.
    pub fn failure(event_type: EventType, actor: Actor, at: OffsetDateTime) -> Self {
        Self::new(event_type, Outcome::Failure, actor, at)
    }

    /// Sets the person concerned (`identity_id`).
    pub fn identity(mut self, id: impl Into<String>) -> Self {
        self.identity_id = Some(id.into());
        self
    }

    /// Sets the customer account concerned (`client_number`).
    pub fn client_number(mut self, number: impl Into<String>) -> Self {
        self.client_number = Some(number.into());
        self
    }

    /// Sets the relying party concerned (`client_id`).
    pub fn client(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// Adds a fact to `detail`.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        if let serde_json::Value::Object(map) = &mut self.detail {
            map.insert(key.to_string(), value.into());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_through_their_names() {
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
            assert_eq!(
                serde_json::to_value(e).ok(),
                Some(serde_json::Value::String(e.as_str().into()))
            );
        }
    }
}
