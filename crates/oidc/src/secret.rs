//! Random handles and their hashes: only hashes of codes, tokens and session ids are stored. The
//! functions live in `gan-secret`, shared with the accounts engine and the mail queue.

pub use gan_secret::{constant_time_eq, hash_handle, new_handle};
