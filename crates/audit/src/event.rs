//! What an audit event says.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Every kind of event the trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "signin.succeeded")]
    SignInSucceeded,
    #[serde(rename = "signin.failed")]
    SignInFailed,
    /// Too many failures: the identifier or the address is held back.
    #[serde(rename = "signin.locked")]
    SignInLocked,
    /// Legacy credentials accepted: the upgrade starts.
    #[serde(rename = "upgrade.started")]
    UpgradeStarted,
    #[serde(rename = "upgrade.email_chosen")]
    UpgradeEmailChosen,
    #[serde(rename = "email.verified")]
    EmailVerified,
    #[serde(rename = "upgrade.completed")]
    UpgradeCompleted,
    #[serde(rename = "login_email.changed")]
    LoginEmailChanged,
    #[serde(rename = "password.changed")]
    PasswordChanged,
    #[serde(rename = "password.reset")]
    PasswordReset,
    #[serde(rename = "account.attached")]
    AccountAttached,
    #[serde(rename = "account.detached")]
    AccountDetached,
    #[serde(rename = "token.issued")]
    TokenIssued,
    #[serde(rename = "token.refresh_reuse")]
    RefreshReuse,
    #[serde(rename = "token.code_replay")]
    CodeReplay,
    #[serde(rename = "token.revoked")]
    TokenRevoked,
    #[serde(rename = "session.ended")]
    SessionEnded,
    #[serde(rename = "identity.locked")]
    IdentityLocked,
    #[serde(rename = "identity.unlocked")]
    IdentityUnlocked,
    /// Customer accounts imported from CSV (counts in the detail).
    #[serde(rename = "customers.imported")]
    CustomersImported,
    #[serde(rename = "activation.resent")]
    ActivationResent,
    #[serde(rename = "activation.cancelled")]
    ActivationCancelled,
    #[serde(rename = "client.created")]
    ClientCreated,
    #[serde(rename = "client.updated")]
    ClientUpdated,
    #[serde(rename = "client.secret_rotated")]
    ClientSecretRotated,
    #[serde(rename = "client.disabled")]
    ClientDisabled,
    #[serde(rename = "client.deleted")]
    ClientDeleted,
    #[serde(rename = "keys.rotated")]
    KeysRotated,
}

impl EventType {
    pub const ALL: [EventType; 28] = [
        Self::SignInSucceeded,
        Self::SignInFailed,
        Self::SignInLocked,
        Self::UpgradeStarted,
        Self::UpgradeEmailChosen,
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
        Self::IdentityLocked,
        Self::IdentityUnlocked,
        Self::CustomersImported,
        Self::ActivationResent,
        Self::ActivationCancelled,
        Self::ClientCreated,
        Self::ClientUpdated,
        Self::ClientSecretRotated,
        Self::ClientDisabled,
        Self::ClientDeleted,
        Self::KeysRotated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignInSucceeded => "signin.succeeded",
            Self::SignInFailed => "signin.failed",
            Self::SignInLocked => "signin.locked",
            Self::UpgradeStarted => "upgrade.started",
            Self::UpgradeEmailChosen => "upgrade.email_chosen",
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
            Self::IdentityLocked => "identity.locked",
            Self::IdentityUnlocked => "identity.unlocked",
            Self::CustomersImported => "customers.imported",
            Self::ActivationResent => "activation.resent",
            Self::ActivationCancelled => "activation.cancelled",
            Self::ClientCreated => "client.created",
            Self::ClientUpdated => "client.updated",
            Self::ClientSecretRotated => "client.secret_rotated",
            Self::ClientDisabled => "client.disabled",
            Self::ClientDeleted => "client.deleted",
            Self::KeysRotated => "keys.rotated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            _ => None,
        }
    }
}

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
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Client => "client",
            Self::Admin => "admin",
            Self::Anonymous => "anonymous",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Identity, Self::Client, Self::Admin, Self::Anonymous]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    pub kind: ActorKind,
    /// The identity id, the client id, the admin client id or `cli:<user>`; none when anonymous.
    pub id: Option<String>,
}

impl Actor {
    pub fn identity(id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Identity,
            id: Some(id.into()),
        }
    }

    pub fn client(id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Client,
            id: Some(id.into()),
        }
    }

    pub fn admin(id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Admin,
            id: Some(id.into()),
        }
    }

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
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub event_type: EventType,
    pub outcome: Outcome,
    pub actor: Actor,
    /// The person concerned (`sub`), when there is one.
    pub identity_id: Option<String>,
    pub client_number: Option<String>,
    /// The relying party concerned.
    pub client_id: Option<String>,
    pub ip: Option<String>,
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

    pub fn success(event_type: EventType, actor: Actor, at: OffsetDateTime) -> Self {
        Self::new(event_type, Outcome::Success, actor, at)
    }

    pub fn failure(event_type: EventType, actor: Actor, at: OffsetDateTime) -> Self {
        Self::new(event_type, Outcome::Failure, actor, at)
    }

    pub fn identity(mut self, id: impl Into<String>) -> Self {
        self.identity_id = Some(id.into());
        self
    }

    pub fn client_number(mut self, number: impl Into<String>) -> Self {
        self.client_number = Some(number.into());
        self
    }

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
