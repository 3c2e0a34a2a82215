//! Throttling of every password check and rate limits of every form that mails or probes an
//! address, in the database (shared by every process) behind [`crate::ports::CounterStore`].
//!
//! An attempt is *reserved* before the password is checked, in one atomic statement: however
//! many arrive together, at most [`LOCK_AFTER`] guesses per identifier are ever evaluated in a
//! window, and none while a delay runs. A failure earns the next attempt a delay (growing, then
//! the lock); right passwords in flight at the same time are not held back. Failures count for a
//! window (15 minutes by default), not forever; a right password forgets the identifier's
//! failures. The counters count people, not proxies: the client address comes from the web
//! layer's trusted-proxy rule, and IPv6 clients count per /64. Keys hold hashes of identifiers
//! and addresses, never what was typed.

use std::net::IpAddr;

use gan_audit::{Actor, AuditEvent, EventType};
use time::{Duration, OffsetDateTime};

use crate::ports::{Reservation, Rule};
use crate::service::{Accounts, Unavailable};

/// Failures allowed before delays start.
pub const FREE_FAILURES: u32 = 3;
/// Guesses per identifier per window; the last one locks the key for [`LOCK`].
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

/// The password-guessing rule of one identifier: [`LOCK_AFTER`] guesses per `window`, with
/// growing delays after [`FREE_FAILURES`].
pub fn identifier_rule(window: Duration) -> Rule {
    Rule {
        window,
        delays: (1..=LOCK_AFTER).map(block_for).collect(),
    }
}

/// The password-guessing rule of one client address: [`IP_SCALE`] times the identifier's.
pub fn address_rule(window: Duration) -> Rule {
    Rule {
        window,
        delays: (1..=LOCK_AFTER * IP_SCALE)
            .map(|n| block_for(n / IP_SCALE))
            .collect(),
    }
}

/// `limit` attempts per hour, without delays in between.
pub fn hourly(limit: u32) -> Rule {
    Rule {
        window: Duration::hours(1),
        delays: vec![Duration::ZERO; limit.max(1) as usize],
    }
}

/// The part of a client address that counts: IPv4 as is, IPv6 per /64 (one customer's network
/// holds a whole /64), IPv4-mapped IPv6 as IPv4. Anything unparsable counts as itself.
pub fn address_counted(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

/// The time left on a block, if any.
pub fn remaining(until: OffsetDateTime, now: OffsetDateTime) -> Option<Duration> {
    (until > now).then(|| until - now)
}

/// A reserved password check: report how it went with [`Accounts::guess_right`] or
/// [`Accounts::guess_wrong`].
#[derive(Debug)]
pub(crate) struct Guess {
    id_key: String,
    ip_key: Option<String>,
    /// The normalised identifier, for the audit trail of a lock (masked there).
    identifier: String,
}

/// The sign-in throttle of one identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    /// Attempts counted in the current window (right ones are given back).
    pub failures: u32,
    /// When its wait ends; in the past when it is not waiting.
    pub until: OffsetDateTime,
}

/// How a [throttled check](Accounts::throttled_check) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The secret was right.
    Right,
    /// The secret was wrong (the failure counts).
    Wrong,
    /// Too many failures: wait this many seconds (at least 1); nothing was checked.
    Throttled(i64),
}

/// Whether a password check may go ahead.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Reserved: check the password, then report how it went.
    Go(Guess),
    /// Too many attempts: wait this many seconds (at least 1).
    Throttled(i64),
}

impl Accounts {
    /// A counter key: its kind and a keyed hash of what it counts. Identifiers and addresses
    /// typed by anyone are never kept as typed, nor in a form a copy of the database could test
    /// guesses against (a password typed in the identifier field is a common slip).
    pub(crate) fn counter_key(&self, kind: &str, value: &str) -> String {
        format!("{kind}:{}", self.settings.counter_hash.hash(value))
    }

    /// The counter key of a normalised identifier (login email or client number).
    fn identifier_key(&self, normalized: &str) -> String {
        self.counter_key("signin", normalized)
    }

    /// Reserves one attempt of `rule` for `key`: `None` when granted, else the seconds to
    /// wait (rounded up: waiting the seconds announced is always enough; at least 1).
    async fn take(
        &self,
        key: &str,
        rule: &Rule,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, Unavailable> {
        Ok(match self.ports.counters.reserve(key, rule, now).await? {
            Reservation::Granted(_) => None,
            Reservation::Refused { until } => Some(
                remaining(until, now)
                    .map(|d| ((d.whole_milliseconds() + 999) / 1000).max(1) as i64)
                    .unwrap_or(1),
            ),
        })
    }

    /// Reserves one password check for the normalised `identifier` and the client address `ip`,
    /// before the password is hashed. Report the outcome with [`Accounts::guess_right`] or
    /// [`Accounts::guess_wrong`].
    pub(crate) async fn reserve_guess(
        &self,
        identifier: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Attempt, Unavailable> {
        let window = self.settings.throttle_window;
        let id_key = self.identifier_key(identifier);
        if let Some(wait) = self.take(&id_key, &identifier_rule(window), now).await? {
            return Ok(Attempt::Throttled(wait));
        }
        let ip_key = ip.map(|ip| self.counter_key("signin-ip", &address_counted(ip)));
        if let Some(ip_key) = &ip_key {
            if let Some(wait) = self.take(ip_key, &address_rule(window), now).await? {
                self.ports.counters.release(&id_key).await?;
                return Ok(Attempt::Throttled(wait));
            }
        }
        Ok(Attempt::Go(Guess {
            id_key,
            ip_key,
            identifier: identifier.to_string(),
        }))
    }

    /// A reserved guess was wrong: the identifier and the address wait the delay their counts
    /// earn; records `signin.locked` when this failure locks either.
    pub(crate) async fn guess_wrong(
        &self,
        guess: Guess,
        now: OffsetDateTime,
    ) -> Result<(), Unavailable> {
        let window = self.settings.throttle_window;
        let counters = &self.ports.counters;
        let n = counters
            .penalize(&guess.id_key, &identifier_rule(window), now)
            .await?;
        if n == LOCK_AFTER {
            self.locked(Some(&guess.identifier), now).await;
        }
        if let Some(ip_key) = &guess.ip_key {
            let m = counters
                .penalize(ip_key, &address_rule(window), now)
                .await?;
            if m == LOCK_AFTER * IP_SCALE {
                self.locked(None, now).await;
            }
        }
        Ok(())
    }

    async fn locked(&self, identifier: Option<&str>, now: OffsetDateTime) {
        let event = AuditEvent::failure(EventType::SignInLocked, Actor::anonymous(), now)
            .with("minutes", LOCK.whole_minutes());
        let event = match identifier {
            Some(typed) => self.naming(event.with("scope", "identifier"), typed).await,
            None => event.with("scope", "address"),
        };
        self.audit(event).await;
    }

    /// A reserved guess was right: the identifier's failures are forgotten and the address gets
    /// its attempt back (its failures stay).
    pub(crate) async fn guess_right(&self, guess: Guess) -> Result<(), Unavailable> {
        self.ports.counters.clear_counter(&guess.id_key).await?;
        if let Some(ip_key) = &guess.ip_key {
            self.ports.counters.release(ip_key).await?;
        }
        Ok(())
    }

    /// A check of a secret other than a password (a staff member's second-factor code),
    /// throttled like a password: one attempt of `subject` (and of the address `ip`) is reserved
    /// before `check` runs, and its answer counts as a right or wrong guess.
    ///
    /// Errors: `Unavailable`.
    pub async fn throttled_check(
        &self,
        subject: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
        check: impl FnOnce() -> bool + Send,
    ) -> Result<Checked, Unavailable> {
        let guess = match self.reserve_guess(subject, ip, now).await? {
            Attempt::Throttled(wait) => return Ok(Checked::Throttled(wait)),
            Attempt::Go(guess) => guess,
        };
        if check() {
            self.guess_right(guess).await?;
            Ok(Checked::Right)
        } else {
            self.guess_wrong(guess, now).await?;
            Ok(Checked::Wrong)
        }
    }

    /// The sign-in throttle of a normalised identifier (login email or client number), for the
    /// help desk: failures counted in the current window and when its wait ends (in the past
    /// when it is not waiting); `None` when nothing is counted.
    ///
    /// Errors: `Unavailable`.
    pub async fn throttle_state(
        &self,
        identifier: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ThrottleState>, Unavailable> {
        Ok(self
            .ports
            .counters
            .peek_counter(&self.identifier_key(identifier), now)
            .await?
            .map(|(failures, until)| ThrottleState { failures, until }))
    }

    /// Forgets the sign-in failures of a normalised identifier (an agent unlocked the customer).
    ///
    /// Errors: `Unavailable`.
    pub async fn clear_throttle(&self, identifier: &str) -> Result<(), Unavailable> {
        self.forget_failures(identifier).await
    }

    /// Forgets the failures of a normalised identifier (its password was just reset).
    pub(crate) async fn forget_failures(&self, identifier: &str) -> Result<(), Unavailable> {
        Ok(self
            .ports
            .counters
            .clear_counter(&self.identifier_key(identifier))
            .await?)
    }

    /// One use of an hourly allowance: `limit` per hour for `what` (a normalised address, say)
    /// and `limit × 6` for the client address `ip`. `false` when either is used up.
    pub(crate) async fn within_hourly(
        &self,
        kind: &str,
        what: &str,
        limit: u32,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool, Unavailable> {
        if self
            .take(&self.counter_key(kind, what), &hourly(limit), now)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        if let Some(ip) = ip {
            let ip_key = self.counter_key(&format!("{kind}-ip"), &address_counted(ip));
            let per_ip = limit.saturating_mul(6);
            if self.take(&ip_key, &hourly(per_ip), now).await?.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Deletes counters whose window and wait have ended, and links expired for a day (kept
    /// that long so a late click still gets the "expired" page, not "unknown").
    ///
    /// Errors: `Unavailable`.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, Unavailable> {
        Ok(self.ports.counters.purge_counters(now).await?
            + self
                .ports
                .links
                .purge_links(now - Duration::days(1))
                .await?)
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
        let rule = identifier_rule(Duration::minutes(15));
        assert_eq!(rule.limit(), LOCK_AFTER);
        assert_eq!(rule.delay_after(10), LOCK);
        assert_eq!(address_rule(Duration::minutes(15)).limit(), 50);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_counted("2001:db8:1:2:aaaa::1"),
            address_counted("2001:db8:1:2:ffff:1:2:3")
        );
        assert_ne!(
            address_counted("2001:db8:1:2::1"),
            address_counted("2001:db8:1:3::1")
        );
        assert_eq!(address_counted("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_counted("192.0.2.7"), "192.0.2.7");
    }
}
