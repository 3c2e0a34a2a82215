//! Messages from the journeys: at most `mails_per_hour` per address, counted in the database so
//! every process shares the limit, then queued through the [`crate::ports::Mailer`].

use time::OffsetDateTime;

use crate::ports::OutgoingMail;
use crate::service::{Accounts, Unavailable};

impl Accounts {
    /// Counts one message to `address` in its hourly window; `false` past the limit.
    async fn may_mail(&self, address: &str, now: OffsetDateTime) -> Result<bool, Unavailable> {
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

    /// Queues a message unless the address reached its limit (then it is dropped with a log
    /// line, and the caller answers as if it was sent).
    pub(crate) async fn send_mail(
        &self,
        to: &str,
        template: &'static str,
        lang: &str,
        vars: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
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
            .map_err(|e| Unavailable(e.to_string()))
    }
}
