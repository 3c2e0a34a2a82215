//! "Why can't this customer sign in?": the help desk's customer page, read from the data, with
//! a plain diagnosis the console renders in the agent's language.

use gan_accounts::email;
use gan_audit::{AuditEvent, AuditFilter, EventType};
use serde::Serialize;
use time::OffsetDateTime;

use crate::customers::{CustomerDetail, IdentityView};
use crate::{Admin, AdminResult};

/// One thing that explains how this customer signs in, or why they cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// Upgraded: the legacy password was retired; the customer signs in with their login email
    /// (masked here) or uses "Mot de passe oublié".
    LegacyRetired {
        /// When the upgrade completed, from the audit trail (absent if purged).
        #[serde(with = "time::serde::rfc3339::option")]
        upgraded_at: Option<OffsetDateTime>,
        /// The login email, masked (`j***@example.fr`).
        login_email: String,
    },
    /// An administrator locked the identity: no sign-in until unlocked.
    IdentityLocked,
    /// Too many wrong passwords: sign-ins refused until `until`.
    Throttled {
        /// Failures counted.
        failures: u32,
        /// When sign-ins are accepted again.
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
    },
    /// Some wrong passwords recently, not (yet) enough to wait.
    RecentFailures {
        /// Failures counted in the window.
        failures: u32,
    },
    /// An activation link is waiting: sent, not completed.
    ActivationPending {
        /// When it was sent.
        #[serde(with = "time::serde::rfc3339")]
        sent_at: OffsetDateTime,
        /// When it stops working.
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
        /// Whole days since it was sent.
        days: i64,
        /// Already expired: resend it, or the customer starts again.
        expired: bool,
        /// When the link's page was first opened since it was sent (`None`: never).
        #[serde(with = "time::serde::rfc3339::option")]
        opened_at: Option<OffsetDateTime>,
        /// The login email chosen, masked.
        login_email: Option<String>,
    },
    /// Not upgraded and no legacy password on record (imported without one, or detached): the
    /// customer starts from "Mot de passe oublié", which mails the contact address.
    NoLegacyPassword {
        /// The contact email, masked.
        contact_email: String,
    },
    /// Not upgraded, legacy password on record: the customer signs in with the client number
    /// and that password, then chooses a login email (step 1).
    NotUpgradedYet,
    /// Nothing stands in the way: the customer signs in with their login email.
    NothingWrong {
        /// The login email, masked.
        login_email: String,
    },
}

/// What the console's customer page shows.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerFile {
    /// The account and its activation in progress.
    pub detail: CustomerDetail,
    /// The identity it is attached to, with sessions and recent sign-ins.
    pub identity: Option<IdentityView>,
    /// Failures counted against the client number and the login email, the larger.
    #[serde(skip)]
    pub throttle: Option<gan_accounts::ThrottleState>,
    /// The journey's events for this account and its identity, newest first (at most 20).
    pub events: Vec<AuditEvent>,
    /// The diagnosis, most important first.
    pub findings: Vec<Finding>,
}

/// The findings for a customer account, from its data at `now`: a pure rule.
pub fn diagnose(
    detail: &CustomerDetail,
    identity: Option<&IdentityView>,
    throttle: Option<gan_accounts::ThrottleState>,
    upgraded_at: Option<OffsetDateTime>,
    opened_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let c = &detail.customer;
    if identity.is_some_and(|i| i.status == "locked") {
        findings.push(Finding::IdentityLocked);
    }
    match throttle {
        Some(t) if t.until > now => findings.push(Finding::Throttled {
            failures: t.failures,
            until: t.until,
        }),
        Some(t) if t.failures > 0 => findings.push(Finding::RecentFailures {
            failures: t.failures,
        }),
        _ => {}
    }
    if let Some(a) = &detail.pending_activation {
        findings.push(Finding::ActivationPending {
            sent_at: a.sent_at,
            expires_at: a.expires_at,
            days: (now - a.sent_at).whole_days(),
            expired: a.expired,
            opened_at,
            login_email: a.login_email.clone(),
        });
    }
    let login = c.login_email.as_deref().map(email::mask);
    match (c.status.as_str(), login) {
        ("upgraded", Some(login_email)) => {
            findings.push(Finding::LegacyRetired {
                upgraded_at,
                login_email: login_email.clone(),
            });
            if findings.len() == 1 {
                findings.push(Finding::NothingWrong { login_email });
            }
        }
        _ if !c.has_legacy_password => findings.push(Finding::NoLegacyPassword {
            contact_email: email::mask(&c.contact_email),
        }),
        _ if detail.pending_activation.is_none() => findings.push(Finding::NotUpgradedYet),
        _ => {}
    }
    findings
}

impl Admin {
    /// Everything the console's customer page shows about `client_number`, with the diagnosis.
    ///
    /// Errors: `Invalid` (`client_number`), `NotFound` (`customer`), `Unavailable`.
    pub async fn customer_file(&self, client_number: &str) -> AdminResult<CustomerFile> {
        let mut detail = self.customer_detail(client_number).await?;
        // Read once: who asks decides what is shown (support: masked emails, no staff member's).
        let role = self.acting_staff_role().await?;
        let now = self.now();
        let c = &detail.customer;
        let identity = match &c.identity_id {
            Some(id) => Some(self.identity_as(role, id).await?),
            None => None,
        };
        let mut throttle = self.accounts.throttle_state(&c.client_number, now).await?;
        if let Some(login) = &c.login_email {
            let by_email = self
                .accounts
                .throttle_state(&email::normalize(login), now)
                .await?;
            throttle = match (throttle, by_email) {
                (Some(a), Some(b)) => Some(if b.until > a.until || b.failures > a.failures {
                    b
                } else {
                    a
                }),
                (a, b) => a.or(b),
            };
        }
        let mut events = self
            .audit
            .query(&AuditFilter {
                client_number: Some(c.client_number.clone()),
                limit: 20,
                ..Default::default()
            })
            .await?
            .events;
        if let Some(id) = &c.identity_id {
            events.extend(
                self.audit
                    .query(&AuditFilter {
                        identity_id: Some(id.clone()),
                        limit: 20,
                        ..Default::default()
                    })
                    .await?
                    .events,
            );
        }
        events.sort_by(|a, b| b.id.cmp(&a.id));
        events.dedup_by(|a, b| a.id == b.id);
        events.truncate(20);
        let upgraded_at = self
            .audit
            .query(&AuditFilter {
                client_number: Some(c.client_number.clone()),
                event_type: Some(EventType::UpgradeCompleted),
                limit: 1,
                ..Default::default()
            })
            .await?
            .events
            .first()
            .map(|e| e.at);
        let opened_at = match &detail.pending_activation {
            Some(a) => self
                .audit
                .query(&AuditFilter {
                    client_number: Some(c.client_number.clone()),
                    event_type: Some(EventType::UpgradeLinkOpened),
                    from: Some(a.sent_at),
                    limit: 1,
                    ..Default::default()
                })
                .await?
                .events
                .first()
                .map(|e| e.at),
            None => None,
        };
        let findings = diagnose(
            &detail,
            identity.as_ref(),
            throttle,
            upgraded_at,
            opened_at,
            now,
        );
        if role == Some(crate::StaffRole::Support) {
            detail.customer = detail.customer.masked();
        }
        Ok(CustomerFile {
            detail,
            identity,
            throttle,
            events,
            findings,
        })
    }

    /// Unlocks a customer: the identity's admin lock (if any) is lifted and the sign-in failures
    /// counted against its client number and login email are forgotten. Records
    /// `identity.unlocked` when there was an identity.
    ///
    /// Errors: `Invalid`, `NotFound` (`customer`), `Unavailable`.
    pub async fn unlock_customer(&self, client_number: &str) -> AdminResult<()> {
        let detail = self.customer_detail(client_number).await?;
        if let Some(id) = &detail.customer.identity_id {
            self.may_touch_identity(id).await?;
        }
        let c = &detail.customer;
        self.accounts.clear_throttle(&c.client_number).await?;
        if let Some(login) = &c.login_email {
            self.accounts
                .clear_throttle(&email::normalize(login))
                .await?;
        }
        if let Some(id) = &c.identity_id {
            self.unlock_identity(id).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use time::Duration;

    use super::*;
    use crate::customers::{ActivationView, CustomerView};

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap()
    }

    fn customer(status: &str, login: Option<&str>, legacy: bool) -> CustomerDetail {
        CustomerDetail {
            customer: CustomerView {
                client_number: "C1001".into(),
                kind: "personal".into(),
                label: "Jeanne".into(),
                contact_email: "jeanne@example.fr".into(),
                status: status.into(),
                has_legacy_password: legacy,
                identity_id: login.map(|_| "gc-1".into()),
                login_email: login.map(str::to_string),
            },
            pending_activation: None,
        }
    }

    #[test]
    fn an_upgraded_customer_is_told_the_legacy_password_is_retired() {
        let d = customer("upgraded", Some("jeanne@example.fr"), false);
        let at = now() - Duration::days(3);
        let f = diagnose(&d, None, None, Some(at), None, now());
        assert_eq!(
            f,
            vec![
                Finding::LegacyRetired {
                    upgraded_at: Some(at),
                    login_email: "j***@example.fr".into()
                },
                Finding::NothingWrong {
                    login_email: "j***@example.fr".into()
                }
            ]
        );
    }

    #[test]
    fn a_throttled_customer_is_told_until_when() {
        let d = customer("upgraded", Some("jeanne@example.fr"), false);
        let until = now() + Duration::minutes(12);
        let t = gan_accounts::ThrottleState {
            failures: 10,
            until,
        };
        let f = diagnose(&d, None, Some(t), None, None, now());
        assert_eq!(
            f[0],
            Finding::Throttled {
                failures: 10,
                until
            }
        );
        assert!(!f.iter().any(|f| matches!(f, Finding::NothingWrong { .. })));
        let past = gan_accounts::ThrottleState {
            failures: 2,
            until: now() - Duration::seconds(1),
        };
        let f = diagnose(&d, None, Some(past), None, None, now());
        assert_eq!(f[0], Finding::RecentFailures { failures: 2 });
    }

    #[test]
    fn a_pending_activation_says_how_old_it_is() {
        let mut d = customer("legacy", None, true);
        d.pending_activation = Some(ActivationView {
            client_number: "C1001".into(),
            login_email: Some("j***@example.fr".into()),
            sent_at: now() - Duration::days(3),
            expires_at: now() - Duration::days(2),
            expired: true,
        });
        let f = diagnose(&d, None, None, None, None, now());
        assert!(matches!(
            f.as_slice(),
            [Finding::ActivationPending {
                days: 3,
                expired: true,
                opened_at: None,
                ..
            }]
        ));
        let opened = now() - Duration::days(2);
        let f = diagnose(&d, None, None, None, Some(opened), now());
        assert!(matches!(
            f.as_slice(),
            [Finding::ActivationPending {
                opened_at: Some(at),
                ..
            }] if *at == opened
        ));
    }

    #[test]
    fn a_legacy_customer_without_password_starts_from_forgotten_password() {
        let d = customer("legacy", None, false);
        assert_eq!(
            diagnose(&d, None, None, None, None, now()),
            vec![Finding::NoLegacyPassword {
                contact_email: "j***@example.fr".into()
            }]
        );
        let d = customer("legacy", None, true);
        assert_eq!(
            diagnose(&d, None, None, None, None, now()),
            vec![Finding::NotUpgradedYet]
        );
    }
}
