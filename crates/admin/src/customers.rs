//! Helping customers: find them, see an identity, lock it, detach an account, deal with an
//! activation in progress, end sessions.

use gan_accounts::customer::{normalize_client_number, CustomerAccount};
use gan_accounts::cut_off::CutOffReason;
use gan_accounts::{email, IdentityStatus};
use gan_audit::{AuditFilter, EventType};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::ports::{CustomerRow, CustomerSearch};
use crate::{Admin, AdminError, AdminResult, Page};

/// A customer account, with the identity it is attached to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomerView {
    /// The customer's client number (upper case, 4 to 32 letters or digits).
    pub client_number: String,
    /// `personal` or `professional`.
    pub kind: String,
    /// The account's name as imported (a person's or a company's), searched by substring.
    pub label: String,
    /// The contact address from the import, where forgotten-credential messages go (families
    /// may share one).
    pub contact_email: String,
    /// `legacy` (not upgraded) or `upgraded`.
    pub status: String,
    /// Whether a legacy password hash is still stored (upgrade retires it, detach clears it).
    pub has_legacy_password: bool,
    /// The identity the account is attached to, if any.
    pub identity_id: Option<String>,
    /// That identity's login email, in full.
    pub login_email: Option<String>,
}

impl CustomerView {
    /// The same with the login email masked (`j***@example.fr`), as support sees it.
    pub fn masked(mut self) -> Self {
        self.login_email = self.login_email.as_deref().map(email::mask);
        self
    }
}

impl From<CustomerRow> for CustomerView {
    fn from(r: CustomerRow) -> Self {
        Self {
            client_number: r.account.client_number,
            kind: r.account.kind.as_str().to_string(),
            label: r.account.label,
            contact_email: r.account.contact_email,
            status: r.account.status.as_str().to_string(),
            has_legacy_password: r.account.legacy_hash.is_some(),
            identity_id: r.identity_id,
            login_email: r.login_email,
        }
    }
}

/// An account attached to an identity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    /// The customer's client number.
    pub client_number: String,
    /// `personal` or `professional`.
    pub kind: String,
    /// The account's name as imported.
    pub label: String,
    /// The contact address from the import.
    pub contact_email: String,
}

impl From<&CustomerAccount> for AccountView {
    fn from(a: &CustomerAccount) -> Self {
        Self {
            client_number: a.client_number.clone(),
            kind: a.kind.as_str().to_string(),
            label: a.label.clone(),
            contact_email: a.contact_email.clone(),
        }
    }
}

/// A live browser session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// The public session id (`sid`), the one to name when ending a session.
    pub sid: String,
    /// When the person signed in.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last activity on the session.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// When the session ends on its own.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The client IP at sign-in.
    pub ip: Option<String>,
    /// The browser's `User-Agent` at sign-in (at most 256 characters).
    pub user_agent: Option<String>,
}

/// An identity with its accounts, sessions and recent sign-ins.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IdentityView {
    /// The identity id (`gc-…`), the `sub` of its ID tokens.
    pub id: String,
    /// The address the person signs in with, in full.
    pub login_email: String,
    /// When the login email was last verified (an operator-created identity counts as verified).
    /// `None` if never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub email_verified_at: Option<OffsetDateTime>,
    /// `active` or `locked`.
    pub status: String,
    /// When the identity was created (by an upgrade, or by an operator).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The customer accounts attached to it.
    pub accounts: Vec<AccountView>,
    /// Its live sessions, newest first.
    pub sessions: Vec<SessionView>,
    /// The last successful and failed sign-ins, newest first.
    pub recent_sign_ins: Vec<gan_audit::AuditEvent>,
}

/// An upgrade waiting for its verification link to be opened.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActivationView {
    /// The account being upgraded.
    pub client_number: String,
    /// The login email chosen, masked.
    pub login_email: Option<String>,
    /// When the current link was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    /// When that link stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Whether it has already expired (the customer must start again, or an admin resend it).
    pub expired: bool,
}

/// A customer account with its activation in progress, if any.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomerDetail {
    /// The customer account and the identity it is attached to.
    pub customer: CustomerView,
    /// The upgrade waiting for its link, if any (expired or not).
    pub pending_activation: Option<ActivationView>,
}

/// The largest page.
pub const MAX_LIMIT: u64 = 200;

fn number(raw: &str) -> AdminResult<String> {
    normalize_client_number(raw)
        .ok_or_else(|| AdminError::invalid("client_number", "4 to 32 letters or digits"))
}

impl Admin {
    /// Customers whose client number, login email, contact email or name matches `q`.
    pub async fn search_customers(
        &self,
        q: &str,
        cursor: Option<String>,
        limit: u64,
    ) -> AdminResult<Page<CustomerView>> {
        let q = crate::text_param(q.trim(), "q")?;
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AdminError::invalid("limit", format!("1 to {MAX_LIMIT}")));
        }
        let q = if q.contains('@') {
            email::normalize(q)
        } else {
            q.to_string()
        };
        let mut rows = self
            .store
            .search_customers(&CustomerSearch {
                q,
                after: cursor,
                limit,
            })
            .await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| r.account.client_number.clone())
        } else {
            None
        };
        let masked = self.masks_login_emails().await?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(CustomerView::from)
                .map(|c| if masked { c.masked() } else { c })
                .collect(),
            next_cursor,
        })
    }

    /// One customer account and its activation in progress (the login email masked for a
    /// support agent: [`Admin::reveal_login_email`] shows it, audited).
    pub async fn customer(&self, client_number: &str) -> AdminResult<CustomerDetail> {
        let mut detail = self.customer_detail(client_number).await?;
        if self.masks_login_emails().await? {
            detail.customer = detail.customer.masked();
        }
        Ok(detail)
    }

    /// The login email of the identity a customer account is attached to, in full, for the
    /// agent who asked: recorded as `console.email_shown`. `None` when it is not attached.
    ///
    /// Errors: `Invalid`, `NotFound` (`customer`), `Forbidden` (a staff member's, for support),
    /// `Unavailable`.
    pub async fn reveal_login_email(&self, client_number: &str) -> AdminResult<Option<String>> {
        let detail = self.customer_detail(client_number).await?;
        let c = detail.customer;
        if let Some(id) = &c.identity_id {
            self.may_touch_identity(id).await?;
        }
        self.email_shown(&c.client_number, c.identity_id.as_deref())
            .await;
        Ok(c.login_email)
    }

    /// [`Admin::customer`] as stored, whoever asks.
    pub(crate) async fn customer_detail(&self, client_number: &str) -> AdminResult<CustomerDetail> {
        let n = number(client_number)?;
        let account = self
            .accounts
            .customer(&n)
            .await?
            .ok_or(AdminError::NotFound("customer"))?;
        let owner = self.accounts.owner_of(&n).await?;
        let customer = CustomerView::from(CustomerRow {
            account,
            identity_id: owner.as_ref().map(|o| o.id.clone()),
            login_email: owner.map(|o| o.login_email),
        });
        let now = self.now();
        let pending_activation =
            self.store
                .pending_activation(&n)
                .await?
                .map(|link| ActivationView {
                    client_number: n.clone(),
                    login_email: link.data.email.as_deref().map(email::mask),
                    sent_at: link.created_at,
                    expires_at: link.expires_at,
                    expired: link.expires_at <= now,
                });
        Ok(CustomerDetail {
            customer,
            pending_activation,
        })
    }

    /// An identity with its accounts, live sessions and up to 10 recent successful and 10 failed
    /// sign-ins; `NotFound` when there is none by that id.
    pub async fn identity(&self, id: &str) -> AdminResult<IdentityView> {
        let role = self.acting_staff_role().await?;
        self.identity_as(role, id).await
    }

    /// [`Admin::identity`] for an acting role already read (support: refused a staff member's,
    /// the login email masked).
    pub(crate) async fn identity_as(
        &self,
        role: Option<crate::StaffRole>,
        id: &str,
    ) -> AdminResult<IdentityView> {
        let id = crate::named(id, "identity")?;
        self.may_touch_identity_as(role, id).await?;
        let mut view = self.identity_view(id).await?;
        if role == Some(crate::StaffRole::Support) {
            view.login_email = email::mask(&view.login_email);
        }
        Ok(view)
    }

    async fn identity_view(&self, id: &str) -> AdminResult<IdentityView> {
        let identity = self
            .accounts
            .identity(id)
            .await?
            .ok_or(AdminError::NotFound("identity"))?;
        let accounts = self.accounts.accounts_of(id).await?;
        let sessions = self.provider.sessions_of(id).await?;
        let mut recent = Vec::new();
        for t in [EventType::SignInSucceeded, EventType::SignInFailed] {
            let filter = AuditFilter {
                identity_id: Some(id.to_string()),
                event_type: Some(t),
                limit: 10,
                ..Default::default()
            };
            recent.extend(self.audit.query(&filter).await?.events);
        }
        recent.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(IdentityView {
            id: identity.id,
            login_email: identity.login_email,
            email_verified_at: identity.email_verified_at,
            status: identity.status.as_str().to_string(),
            created_at: identity.created_at,
            accounts: accounts.iter().map(AccountView::from).collect(),
            sessions: sessions
                .into_iter()
                .map(|s| SessionView {
                    sid: s.sid,
                    created_at: s.created_at,
                    last_seen_at: s.last_seen_at,
                    expires_at: s.expires_at,
                    ip: s.ip,
                    user_agent: s.user_agent,
                })
                .collect(),
            recent_sign_ins: recent,
        })
    }

    /// Locks an identity: no sign-in, its sessions end and its tokens are revoked.
    pub async fn lock_identity(&self, id: &str) -> AdminResult<IdentityView> {
        let id = crate::named(id, "identity")?;
        self.may_touch_identity(id).await?;
        let now = self.now();
        if !self
            .store
            .set_identity_status(id, IdentityStatus::Locked, now)
            .await?
        {
            return Err(AdminError::NotFound("identity"));
        }
        let cut = self
            .accounts
            .cut_off(id, None, CutOffReason::IdentityLocked, now)
            .await?;
        self.record(
            self.event(EventType::IdentityLocked)
                .identity(id)
                .with("sessions_ended", cut.sessions_ended)
                .with("tokens_revoked", cut.tokens_revoked),
        )
        .await;
        self.identity(id).await
    }

    /// Unlocks a locked identity (its person may sign in again; sessions and tokens stay ended).
    /// `NotFound` when there is none by that id.
    pub async fn unlock_identity(&self, id: &str) -> AdminResult<IdentityView> {
        let id = crate::named(id, "identity")?;
        self.may_touch_identity(id).await?;
        if !self
            .store
            .set_identity_status(id, IdentityStatus::Active, self.now())
            .await?
        {
            return Err(AdminError::NotFound("identity"));
        }
        self.record(self.event(EventType::IdentityUnlocked).identity(id))
            .await;
        self.identity(id).await
    }

    /// Ends every session of an identity and revokes its tokens.
    pub async fn end_sessions(&self, id: &str) -> AdminResult<()> {
        let id = crate::named(id, "identity")?;
        self.may_touch_identity(id).await?;
        if self.accounts.identity(id).await?.is_none() {
            return Err(AdminError::NotFound("identity"));
        }
        self.accounts
            .cut_off(id, None, CutOffReason::EndedByAdmin, self.now())
            .await?;
        Ok(())
    }

    /// Detaches an account from its identity.
    pub async fn detach_account(&self, client_number: &str) -> AdminResult<CustomerDetail> {
        let n = number(client_number)?;
        if let Some(owner) = self.accounts.owner_of(&n).await? {
            self.may_touch_identity(&owner.id).await?;
        }
        let now = self.now();
        let Some(identity_id) = self.store.detach_account(&n, now).await? else {
            return Err(AdminError::NotFound("attached account"));
        };
        self.record(
            self.event(EventType::AccountDetached)
                .identity(&identity_id)
                .client_number(&n),
        )
        .await;
        // What the identity was granted listed this account: it ends.
        self.accounts
            .cut_off(&identity_id, None, CutOffReason::AccountDetached, now)
            .await?;
        self.customer(&n).await
    }

    /// Sends the verification link of an activation in progress again (a fresh one; the old
    /// links stop working).
    pub async fn resend_activation(&self, client_number: &str) -> AdminResult<CustomerDetail> {
        let n = number(client_number)?;
        let link = self
            .store
            .pending_activation(&n)
            .await?
            .ok_or(AdminError::NotFound("pending activation"))?;
        let now = self.now();
        // The new link must reach the customer before the old ones are cancelled: an address
        // that had its hour's messages would be left with no working link.
        if let Some(to) = &link.data.email {
            if !self.accounts.may_mail(to, now).await? {
                return Err(AdminError::Conflict(
                    "this address received as many messages as allowed in an hour; its current \
                     link still works: try again later"
                        .into(),
                ));
            }
        }
        self.store.cancel_activation(&n, now).await?;
        self.accounts
            .send_verification(link.data, &self.settings.base_url, now)
            .await
            .map_err(|e| AdminError::Unavailable(e.to_string()))?;
        self.record(self.event(EventType::ActivationResent).client_number(&n))
            .await;
        self.customer(&n).await
    }

    /// Cancels an activation in progress: its links stop working.
    pub async fn cancel_activation(&self, client_number: &str) -> AdminResult<CustomerDetail> {
        let n = number(client_number)?;
        if self.store.cancel_activation(&n, self.now()).await? == 0 {
            return Err(AdminError::NotFound("pending activation"));
        }
        self.record(self.event(EventType::ActivationCancelled).client_number(&n))
            .await;
        self.customer(&n).await
    }
}
