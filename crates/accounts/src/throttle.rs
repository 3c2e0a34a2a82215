//! Growing delays after failed sign-ins, then a temporary lock; per identifier and per IP.

use time::{Duration, OffsetDateTime};

/// Failures allowed before delays start.
pub const FREE_FAILURES: u32 = 3;
/// Failures after which the key is locked for [`LOCK`].
pub const LOCK_AFTER: u32 = 10;
pub const LOCK: Duration = Duration::minutes(15);

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

pub fn identifier_key(normalized: &str) -> String {
    format!("signin:id:{normalized}")
}

/// The identifier an identifier key is about (`None` for an address key).
pub fn identifier_of(key: &str) -> Option<&str> {
    key.strip_prefix("signin:id:")
}

pub fn ip_key(ip: &str) -> String {
    format!("signin:ip:{ip}")
}

/// The time left on a block, if any.
pub fn remaining(until: OffsetDateTime, now: OffsetDateTime) -> Option<Duration> {
    (until > now).then(|| until - now)
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
