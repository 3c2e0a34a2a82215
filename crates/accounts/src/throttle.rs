//! Growing delays after failed sign-ins, then a temporary lock; per identifier and per IP. The
//! counters live behind [`crate::ports::CounterStore`], so every process sees them.

use gan_audit::{Actor, AuditEvent, EventType};
use time::{Duration, OffsetDateTime};

use crate::email;
use crate::service::{Accounts, Unavailable};

/// Failures allowed before delays start.
pub const FREE_FAILURES: u32 = 3;
/// Failures after which the key is locked for [`LOCK`].
pub const LOCK_AFTER: u32 = 10;
/// How long a key stays locked after [`LOCK_AFTER`] failures.
pub const LOCK: Duration = Duration::minutes(15);

/// An address may carry many customers (offices, families): it gets five times more room.
const IP_SCALE: u32 = 5;

/// How long a key is blocked after its `failures`-th failure.
pub fn block_for(failures: u32) -> Duration {
    if failures >= LOCK_AFTER {
        LOCK
    } else if failures >= FREE_FAILURES {
        Duration::seconds(1i64 << (failures - FREE_FAILURES).min(8))
    } else {
        Duration::ZERO
    }
}

/// The counter key of a normalised identifier (login email or client number).
pub fn identifier_key(normalized: &str) -> String {
    format!("signin:id:{normalized}")
}

/// The identifier an identifier key is about (`None` for an address key).
pub fn identifier_of(key: &str) -> Option<&str> {
    key.strip_prefix("signin:id:")
}

/// The counter key of a client address.
pub fn ip_key(ip: &str) -> String {
    format!("signin:ip:{ip}")
}

/// The time left on a block, if any.
pub fn remaining(until: OffsetDateTime, now: OffsetDateTime) -> Option<Duration> {
    (until > now).then(|| until - now)
}

/// A check that may not go ahead yet: wait this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blocked {
    pub retry_after_seconds: i64,
}

impl Accounts {
    async fn blocked(&self, key: &str, now: OffsetDateTime) -> Result<Option<i64>, Unavailable> {
        Ok(self
            .ports
            .counters
            .counter(key)
            .await?
            .and_then(|(_, until)| remaining(until, now))
            .map(|d| d.whole_seconds().max(1)))
    }

    async fn fail(&self, key: &str, scale: u32, now: OffsetDateTime) -> Result<(), Unavailable> {
        let failures = self
            .ports
            .counters
            .counter(key)
            .await?
            .map(|(n, _)| n)
            .unwrap_or(0)
            + 1;
        let until = now + block_for(failures / scale);
        self.ports
            .counters
            .set_counter(key, failures, until, now)
            .await?;
        if failures == LOCK_AFTER * scale {
            let mut event = AuditEvent::failure(EventType::SignInLocked, Actor::anonymous(), now)
                .with("minutes", LOCK.whole_minutes());
            event = match identifier_of(key) {
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

    /// `Some` when the identifier key or the address is blocked (checked in that order).
    pub(crate) async fn throttled(
        &self,
        id_key: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<Blocked>, Unavailable> {
        let ip_key = ip.map(ip_key);
        for key in std::iter::once(id_key).chain(ip_key.as_deref()) {
            if let Some(retry_after_seconds) = self.blocked(key, now).await? {
                return Ok(Some(Blocked {
                    retry_after_seconds,
                }));
            }
        }
        Ok(None)
    }

    /// Counts a failed password check against the identifier key and the address.
    pub(crate) async fn record_failure(
        &self,
        id_key: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
        self.fail(id_key, 1, now).await?;
        if let Some(ip) = ip {
            self.fail(&ip_key(ip), IP_SCALE, now).await?;
        }
        Ok(())
    }

    /// A right password: the identifier's failures are forgotten (the address's are not).
    pub(crate) async fn clear_failures(&self, id_key: &str) -> Result<(), Unavailable> {
        Ok(self.ports.counters.clear_counter(id_key).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_lock() {
        assert_eq!(block_for(1), Duration::ZERO);
        assert_eq!(block_for(3), Duration::seconds(1));
        assert_eq!(block_for(5), Duration::seconds(4));
        assert_eq!(block_for(9), Duration::seconds(64));
        assert_eq!(block_for(10), LOCK);
        assert_eq!(block_for(50), LOCK);
    }
}
