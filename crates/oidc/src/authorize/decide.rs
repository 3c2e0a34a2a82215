//! After validation: does the person need to sign in, to consent, or can a code be issued?

use time::OffsetDateTime;

use super::AuthorizationRequest;
use crate::error::{ErrorCode, OAuthError};
use crate::interaction::Prompt;
use crate::model::{Client, Session};
use crate::scope::{self, Scopes};

/// The next step of an authorization request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Hand over to the UI for a sign-in or a consent.
    Interact(Prompt),
    /// Send this error to the client (`login_required` or `consent_required` under `prompt=none`).
    Fail(OAuthError),
    /// The person is signed in and the scopes are allowed: issue a code.
    IssueCode,
}

/// What is known when deciding.
pub struct Situation<'a> {
    /// The validated request.
    pub request: &'a AuthorizationRequest,
    /// The requesting client (first-party clients skip consent).
    pub client: &'a Client,
    /// The live session of the browser, if any.
    pub session: Option<&'a Session>,
    /// The session was started during this interaction.
    pub fresh_login: bool,
    /// The scopes this person already allowed this client, if ever asked.
    pub consented: Option<&'a Scopes>,
    /// Consent was given during this interaction, by the person of the fresh sign-in.
    pub consent_given_now: bool,
    /// The time `max_age` is measured against.
    pub now: OffsetDateTime,
}

/// Scopes that need the person's consent (openid is implied by signing in), those behind
/// individually requested claims included.
fn consent_scopes(request: &AuthorizationRequest, client: &Client) -> Scopes {
    let mut s = request.consent_scopes(client);
    s.remove(scope::OPENID);
    s
}

/// Decides the next step of a request (OIDC Core §3.1.2.3–4). A sign-in is needed without a
/// session, with one of another `sub` than the `id_token_hint`'s, or on `prompt=login` or an
/// exceeded `max_age` unless it happened during this interaction; consent is needed unless the
/// client is first-party or the person already allowed every requested scope (and `prompt` is not
/// `consent`). Under `prompt=none` either need fails instead of interacting.
pub fn decide(s: &Situation<'_>) -> Decision {
    let prompt = s.request.prompt;
    // Someone else signed in during this interaction than the one the request names: asking
    // again would loop; the request fails (OIDC Core §3.1.2.6).
    if let (Some(sess), Some(sub)) = (s.session, s.request.hinted_sub.as_deref()) {
        if s.fresh_login && sess.auth.identity_id != sub {
            return Decision::Fail(OAuthError::new(
                ErrorCode::AccessDenied,
                "the person who signed in is not the one the request names",
            ));
        }
    }
    let session = s.session.filter(|sess| {
        s.request
            .hinted_sub
            .as_deref()
            .is_none_or(|sub| sub == sess.auth.identity_id)
    });
    let needs_login = match session {
        None => true,
        Some(_) if s.fresh_login => false,
        // `max_age=0` asks for a sign-in now whatever the clock says (times are in whole
        // seconds: a sign-in in this very second has not "elapsed" more than 0).
        Some(sess) => {
            prompt.login
                || s.request.max_age.is_some_and(|max| {
                    max == 0 || (s.now - sess.auth.auth_time).whole_seconds() > max
                })
        }
    };
    if needs_login {
        return if prompt.none {
            Decision::Fail(OAuthError::new(
                ErrorCode::LoginRequired,
                "the end-user is not signed in",
            ))
        } else {
            Decision::Interact(Prompt::Login)
        };
    }
    if s.client.first_party || s.consent_given_now {
        return Decision::IssueCode;
    }
    let needed = consent_scopes(s.request, s.client);
    let covered = s.consented.is_some_and(|c| needed.is_subset(c));
    if covered && !prompt.consent {
        return Decision::IssueCode;
    }
    if prompt.none {
        Decision::Fail(OAuthError::new(
            ErrorCode::ConsentRequired,
            "the end-user has not consented",
        ))
    } else {
        Decision::Interact(Prompt::Consent)
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // the table's rows are tuples on purpose: one line each
mod tests {
    use super::*;
    use crate::authorize::PromptSet;
    use crate::model::Authentication;

    fn request(prompt: PromptSet, max_age: Option<i64>) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "c".into(),
            redirect_uri: "https://rp/cb".into(),
            scope: "openid email".into(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt,
            max_age,
            login_hint: None,
            ui_locales: None,
            claims_locales: None,
            acr_values: None,
            display: None,
            claims: None,
            hinted_sub: None,
        }
    }

    fn client(first_party: bool) -> Client {
        Client {
            first_party,
            ..Client::bare("c", "C")
        }
    }

    fn session(auth_time: OffsetDateTime) -> Session {
        Session {
            id_hash: "h".into(),
            sid: "s".into(),
            auth: Authentication {
                identity_id: "i".into(),
                auth_time,
                amr: vec!["pwd".into()],
                acr: "0".into(),
            },
            created_at: auth_time,
            last_seen_at: auth_time,
            expires_at: auth_time + time::Duration::hours(1),
            user_agent: None,
            ip: None,
        }
    }

    #[test]
    fn table() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1000);
        let old = session(now - time::Duration::seconds(100));
        let just_now = session(now);
        let none = PromptSet {
            none: true,
            ..Default::default()
        };
        let login = PromptSet {
            login: true,
            ..Default::default()
        };
        let consented = Scopes::from_iter(["email"]);
        let cases: Vec<(
            AuthorizationRequest,
            bool,
            Option<&Session>,
            bool,
            Option<&Scopes>,
            Decision,
        )> = vec![
            (
                request(none, None),
                true,
                None,
                false,
                None,
                Decision::Fail(OAuthError::new(
                    ErrorCode::LoginRequired,
                    "the end-user is not signed in",
                )),
            ),
            (
                request(PromptSet::default(), None),
                true,
                None,
                false,
                None,
                Decision::Interact(Prompt::Login),
            ),
            (
                request(PromptSet::default(), None),
                true,
                Some(&old),
                false,
                None,
                Decision::IssueCode,
            ),
            (
                request(login, None),
                true,
                Some(&old),
                false,
                None,
                Decision::Interact(Prompt::Login),
            ),
            (
                request(login, None),
                true,
                Some(&old),
                true,
                None,
                Decision::IssueCode,
            ),
            (
                request(PromptSet::default(), Some(50)),
                true,
                Some(&old),
                false,
                None,
                Decision::Interact(Prompt::Login),
            ),
            (
                request(PromptSet::default(), Some(500)),
                true,
                Some(&old),
                false,
                None,
                Decision::IssueCode,
            ),
            // max_age=0 even within the second of the sign-in: a new sign-in, unless it was
            // made in this interaction.
            (
                request(PromptSet::default(), Some(0)),
                true,
                Some(&just_now),
                false,
                None,
                Decision::Interact(Prompt::Login),
            ),
            (
                request(PromptSet::default(), Some(0)),
                true,
                Some(&just_now),
                true,
                None,
                Decision::IssueCode,
            ),
            (
                request(PromptSet::default(), None),
                false,
                Some(&old),
                false,
                None,
                Decision::Interact(Prompt::Consent),
            ),
            (
                request(none, None),
                false,
                Some(&old),
                false,
                None,
                Decision::Fail(OAuthError::new(
                    ErrorCode::ConsentRequired,
                    "the end-user has not consented",
                )),
            ),
            (
                request(PromptSet::default(), None),
                false,
                Some(&old),
                false,
                Some(&consented),
                Decision::IssueCode,
            ),
        ];
        for (i, (req, first, sess, fresh, consent, expected)) in cases.into_iter().enumerate() {
            let c = client(first);
            let got = decide(&Situation {
                request: &req,
                client: &c,
                session: sess,
                fresh_login: fresh,
                consented: consent,
                consent_given_now: false,
                now,
            });
            assert_eq!(got, expected, "case {i}");
        }
    }
}
