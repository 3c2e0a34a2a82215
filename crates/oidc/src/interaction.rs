//! The interaction boundary: a pending authorization request handed to the UI.
//!
//! The engine stores the validated request under a random `uid` and redirects the browser to the
//! UI at `/interaction/{uid}`. The UI signs the person in (or asks for consent), tells the engine,
//! and sends the browser to `/authorize/resume/{uid}`, where the engine picks the request up again.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::authorize::AuthorizationRequest;

/// What the UI is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    Login,
    Consent,
}

/// A pending authorization request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interaction {
    /// Hash of the handle in the URL and cookie (the handle itself is never stored).
    pub uid_hash: String,
    pub request: AuthorizationRequest,
    pub prompt: Prompt,
    /// The session id hash of a sign-in made during this interaction: it satisfies
    /// `prompt=login` and `max_age` on resume.
    pub fresh_login: Option<String>,
    /// Consent given during this interaction (satisfies `prompt=consent`).
    pub consent_given: bool,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What the UI needs to render an interaction.
#[derive(Debug, Clone, Serialize)]
pub struct InteractionView {
    pub uid: String,
    pub prompt: Prompt,
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
}
