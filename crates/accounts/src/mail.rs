//! Messages from the journeys: at most `mails_per_hour` per address (and six times as many per
//! client address), counted in the database so every process shares the limit, then queued
//! through the [`crate::ports::Mailer`].

use time::OffsetDateTime;

use crate::ports::OutgoingMail;
use crate::service::{Accounts, Unavailable};

impl Accounts {
    /// Whether a message to `to` would go now (its hourly allowance is not used up), without
    /// using any of it: for actions that must not cancel a working link before its replacement
    /// can be sent.
    ///
    /// Errors: `Unavailable`.
    pub async fn may_mail(&self, to: &str, now: OffsetDateTime) -> Result<bool, Unavailable> {
        let used = self
            .ports
            .counters
            .peek_counter(&self.counter_key("mail", to), now)
            .await?
            .map_or(0, |(n, _)| n);
        Ok(used < self.settings.mails_per_hour.max(1))
    }

    /// Queues a message unless the address, or the client address of the request being served
    /// (the request context the web layer sets, the one the audit trail records), reached its
    /// hourly limit: then it is dropped with a log line, and the caller answers as if it was
    /// sent (the answer never tells whether a message went).
    pub(crate) async fn send_mail(
        &self,
        to: &str,
        template: &'static str,
        lang: &str,
        vars: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
        let ip = gan_audit::current().ip;
        if !self
            .within_hourly("mail", to, self.settings.mails_per_hour, ip.as_deref(), now)
            .await?
        {
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
            .map_err(|e| Unavailable(e.to_string()))
    }
}
