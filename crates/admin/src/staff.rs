//! Staff of the support console: help-desk agents (`support`) and administrators (`admin`).
//! Each is an identity of Gan Connect (their own login email and password), invited by mail;
//! disabling one ends their sessions at once.

use gan_audit::EventType;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{Admin, AdminError, AdminResult};

/// What a staff member may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// Reads customers and does the customer actions (resend or cancel an activation, unlock,
    /// end sessions, detach an account).
    Support,
    /// Also manages relying parties, keys and staff.
    Admin,
}

impl StaffRole {
    /// `support` or `admin`, as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Support => "support",
            Self::Admin => "admin",
        }
    }

    /// The role a stored or typed name gives; `None` for others.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "support" => Some(Self::Support),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A staff member as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    /// The identity (`sub`) the member signs in as.
    pub identity_id: String,
    /// Their role.
    pub role: StaffRole,
    /// `false` once disabled: the console refuses them.
    pub active: bool,
    /// When they enrolled their second factor (TOTP); `None` until then.
    pub totp_enabled_at: Option<OffsetDateTime>,
    /// Their TOTP secret, sealed (pending until `totp_enabled_at`).
    pub totp_secret: Option<String>,
    /// The hashes of their unused recovery codes.
    pub recovery_codes: Vec<String>,
    /// When they were added.
    pub created_at: OffsetDateTime,
    /// Who added them (the actor of the audit trail: `cli:alice`, an admin client…).
    pub created_by: String,
    /// When they were disabled.
    pub disabled_at: Option<OffsetDateTime>,
}

/// A staff member as the CLI and the API show them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct StaffView {
    /// The identity (`sub`).
    pub identity_id: String,
    /// Their login email.
    pub email: String,
    /// `support` or `admin`.
    pub role: StaffRole,
    /// `active` or `disabled`.
    pub status: String,
    /// Whether their second factor is enrolled.
    pub totp_enrolled: bool,
    /// When they were added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Who added them.
    pub created_by: String,
}

impl Admin {
    /// Adds a staff member: the identity with this login email, with `role`. When there is none,
    /// it is created without a usable password (`identity.created`) and an invitation is mailed
    /// to it: a link to choose their password (valid 24 h); an existing identity keeps its
    /// password and gets no mail. Records `staff.added` (`detail.identity_created`). Returns the
    /// member and whether an invitation was sent.
    ///
    /// Errors: `Invalid` (`email`), `Conflict` (already staff), `Unavailable`.
    pub async fn add_staff(&self, email: &str, role: StaffRole) -> AdminResult<(StaffView, bool)> {
        let now = self.now();
        let existing = self.accounts.identity_by_email(email).await?;
        let created = existing.is_none();
        let identity = match existing {
            Some(identity) => identity,
            None => {
                // A password nobody knows: the invitation's link sets the real one.
                let unusable = gan_oidc::secret::new_handle("unusable-");
                self.accounts
                    .create_identity(email, &unusable, now)
                    .await
                    .map_err(|e| match e {
                        gan_accounts::CreateIdentityError::InvalidEmail(reason) => {
                            AdminError::invalid("email", reason.to_string())
                        }
                        other => AdminError::Unavailable(other.to_string()),
                    })?
            }
        };
        let actor = gan_audit::current()
            .actor
            .map(|a| a.id.unwrap_or_else(|| a.kind.as_str().to_string()))
            .unwrap_or_else(|| "unknown".into());
        let record = StaffRecord {
            identity_id: identity.id.clone(),
            role,
            active: true,
            totp_enabled_at: None,
            totp_secret: None,
            recovery_codes: Vec::new(),
            created_at: now,
            created_by: actor,
            disabled_at: None,
        };
        if created {
            self.record(
                self.event(EventType::IdentityCreated)
                    .identity(&identity.id)
                    .with("for", "staff"),
            )
            .await;
        }
        if !self.store.insert_staff(&record).await? {
            return Err(AdminError::Conflict(format!(
                "{} is already staff",
                identity.login_email
            )));
        }
        if created {
            self.accounts
                .send_staff_invitation(&identity, "fr", &self.settings.base_url, now)
                .await?;
        }
        self.record(
            self.event(EventType::StaffAdded)
                .identity(&identity.id)
                .with("role", role.as_str())
                .with("identity_created", created),
        )
        .await;
        Ok((view(record, identity.login_email), created))
    }

    /// Every staff member, by login email.
    ///
    /// Errors: `Unavailable`.
    pub async fn list_staff(&self) -> AdminResult<Vec<StaffView>> {
        let mut all: Vec<StaffView> = self
            .store
            .list_staff()
            .await?
            .into_iter()
            .map(|(record, email)| view(record, email))
            .collect();
        all.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(all)
    }

    /// Disables a staff member (by login email or identity id): the console refuses them from
    /// now on, and every session and token of their identity ends now. Records
    /// `staff.disabled`.
    ///
    /// Errors: `NotFound` (`staff member`), `Conflict` (already disabled), `Unavailable`.
    pub async fn disable_staff(&self, who: &str) -> AdminResult<StaffView> {
        let who = crate::named(who, "staff member")?;
        let identity = match self.accounts.identity_by_email(who).await? {
            Some(identity) => Some(identity),
            None => self.accounts.identity(who).await?,
        }
        .ok_or(AdminError::NotFound("staff member"))?;
        let now = self.now();
        let mut member = match self.store.find_staff(&identity.id).await? {
            None => return Err(AdminError::NotFound("staff member")),
            Some(member) if !member.active => {
                return Err(AdminError::Conflict(format!(
                    "{} is already disabled",
                    identity.login_email
                )))
            }
            Some(member) => member,
        };
        if !self.store.disable_staff(&identity.id, now).await? {
            return Err(AdminError::NotFound("staff member"));
        }
        let cut = self
            .accounts
            .cut_off(
                &identity.id,
                None,
                gan_accounts::cut_off::CutOffReason::EndedByAdmin,
                now,
            )
            .await?;
        self.record(
            self.event(EventType::StaffDisabled)
                .identity(&identity.id)
                .with("sessions_ended", cut.sessions_ended)
                .with("tokens_revoked", cut.tokens_revoked),
        )
        .await;
        member.active = false;
        member.disabled_at = Some(now);
        Ok(view(member, identity.login_email))
    }
}

fn view(record: StaffRecord, email: String) -> StaffView {
    StaffView {
        identity_id: record.identity_id,
        email,
        role: record.role,
        status: if record.active { "active" } else { "disabled" }.to_string(),
        totp_enrolled: record.totp_enabled_at.is_some(),
        created_at: record.created_at,
        created_by: record.created_by,
    }
}
