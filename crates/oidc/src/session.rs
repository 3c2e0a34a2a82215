//! Browser sessions at the provider.

use time::OffsetDateTime;

use crate::model::{Authentication, Session};
use crate::secret::{hash_handle, new_handle};

/// A new session: the cookie value (secret, given to the browser once) and the record.
pub fn new_session(
    auth: Authentication,
    now: OffsetDateTime,
    ttl: time::Duration,
    user_agent: Option<String>,
    ip: Option<String>,
) -> (String, Session) {
    let cookie = new_handle("gcs_");
    let sid = new_handle("")[..22].to_string();
    let session = Session {
        id_hash: hash_handle(&cookie),
        sid,
        auth,
        created_at: now,
        last_seen_at: now,
        expires_at: now + ttl,
        user_agent,
        ip,
    };
    (cookie, session)
}
