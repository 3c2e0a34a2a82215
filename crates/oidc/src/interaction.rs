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
    /// The person must sign in (no session, `prompt=login`, `max_age` passed, or another `sub`
    /// hinted).
    Login,
    /// The person must allow the client the requested scopes (OIDC Core §3.1.2.4).
    Consent,
}

/// A pending authorization request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interaction {
    /// Hash of the handle in the URL and cookie (the handle itself is never stored).
    pub uid_hash: String,
    /// The validated authorization request, replayed on resume.
    pub request: AuthorizationRequest,
    /// What the UI is asked to do.
    pub prompt: Prompt,
    /// The session id hash of a sign-in made during this interaction: it satisfies
    /// `prompt=login` and `max_age` on resume.
    pub fresh_login: Option<String>,
    /// Consent given during this interaction (satisfies `prompt=consent`).
    pub consent_given: bool,
    /// The session id hash of whoever gave that consent: it counts on resume for that session
    /// only, and is never a sign-in (only a password checked in this interaction is).
    #[serde(default)]
    pub consented_by: Option<String>,
    /// When the interaction was created.
    pub created_at: OffsetDateTime,
    /// When it stops being resumable (`interaction_ttl`, 30 minutes by default, after creation).
    pub expires_at: OffsetDateTime,
}

/// What the UI needs to render an interaction.
#[derive(Debug, Clone, Serialize)]
pub struct InteractionView {
    /// The interaction handle from the URL (`/interaction/{uid}`), not its hash.
    pub uid: String,
    /// Whether to show the sign-in or the consent page.
    pub prompt: Prompt,
    /// The `client_id` of the relying party asking.
    pub client_id: String,
    /// The client's registered name, shown to the person.
    pub client_name: String,
    /// The scopes granted to the request, `openid` included, in order.
    pub scopes: Vec<String>,
    /// The `login_hint` of the request (OIDC Core §3.1.2.1), to prefill the sign-in form.
    pub login_hint: Option<String>,
    /// The raw `ui_locales` of the request (space-separated language tags, in order of preference).
    pub ui_locales: Option<String>,
}
