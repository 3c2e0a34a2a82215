//! The authorization endpoint's flow over the interaction boundary: authorize, hand over to the
//! UI, resume, and issue a code.

use time::OffsetDateTime;

use super::decide::{decide, Situation};
use super::{
    error_redirect, success_redirect, validate, AuthorizationRequest, Decision, Params, Rejection,
};
use crate::error::{EngineError, ErrorCode, OAuthError};
use crate::interaction::{Interaction, InteractionView, Prompt};
use crate::model::{AuthorizationCode, Client, Session};
use crate::secret::{hash_handle, new_handle};
use crate::{paths, Provider};

/// Where the browser goes next.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// To the client (code or error) or to the UI.
    Redirect(String),
    /// A new interaction: redirect to the UI and bind the browser to `uid`.
    Interact {
        /// The interaction handle, for the browser-binding cookie.
        uid: String,
        /// The UI's URL for it (`/interaction/{uid}`), absolute.
        location: String,
    },
    /// Our own error page: the client or its redirect URI could not be verified, or we failed.
    Page(OAuthError),
}

impl Provider {
    /// The authorization endpoint (GET and POST alike).
    pub async fn authorize(
        &self,
        params: &Params,
        session_cookie: Option<&str>,
    ) -> AuthorizeOutcome {
        match self.try_authorize(params, session_cookie).await {
            Ok(outcome) => outcome,
            Err(e) => self.internal_failure(e),
        }
    }

    async fn try_authorize(
        &self,
        params: &Params,
        session_cookie: Option<&str>,
    ) -> Result<AuthorizeOutcome, EngineError> {
        let client = match params.get("client_id") {
            Some(id) => self.stores.clients.find_client(id).await?,
            None => None,
        };
        let keys = self.keys().await?;
        let request = match validate(params, client.as_ref(), &self.config, &keys) {
            Ok(r) => r,
            Err(Rejection::Page(e)) => return Ok(AuthorizeOutcome::Page(e)),
            Err(Rejection::Redirect {
                redirect_uri,
                state,
                error,
            }) => {
                return Ok(AuthorizeOutcome::Redirect(error_redirect(
                    &redirect_uri,
                    state.as_deref(),
                    &error,
                    &self.config.issuer_str(),
                )))
            }
        };
        let Some(client) = client else {
            return Ok(AuthorizeOutcome::Page(OAuthError::invalid_request(
                "unknown client_id",
            )));
        };
        let session = self.session(session_cookie).await?;
        self.proceed(request, &client, session.as_ref(), None).await
    }

    /// Resumes a pending request after the UI is done (`/authorize/resume/{uid}`).
    pub async fn resume(&self, uid: &str, session_cookie: Option<&str>) -> AuthorizeOutcome {
        let run = async {
            let Some(interaction) = self.live_interaction(uid).await? else {
                return Ok(AuthorizeOutcome::Page(OAuthError::invalid_request(
                    "this sign-in request has expired or was already completed; start again from the application",
                )));
            };
            let Some(client) = self
                .stores
                .clients
                .find_client(&interaction.request.client_id)
                .await?
                .filter(|c| c.enabled)
            else {
                return Ok(AuthorizeOutcome::Page(OAuthError::invalid_request(
                    "unknown client_id",
                )));
            };
            let session = self.session(session_cookie).await?;
            let request = interaction.request.clone();
            self.proceed(request, &client, session.as_ref(), Some(interaction))
                .await
        };
        match run.await {
            Ok(outcome) => outcome,
            Err(e) => self.internal_failure(e),
        }
    }

    fn internal_failure(&self, e: EngineError) -> AuthorizeOutcome {
        tracing::error!(error = %e, "authorization request failed");
        AuthorizeOutcome::Page(e.public())
    }

    async fn live_interaction(&self, uid: &str) -> Result<Option<Interaction>, EngineError> {
        let now = self.now();
        Ok(self
            .stores
            .interactions
            .find_interaction(&hash_handle(uid))
            .await?
            .filter(|i| i.expires_at > now))
    }

    async fn proceed(
        &self,
        request: AuthorizationRequest,
        client: &Client,
        session: Option<&Session>,
        interaction: Option<Interaction>,
    ) -> Result<AuthorizeOutcome, EngineError> {
        let now = self.now();
        let consented = match session {
            Some(s) => {
                self.stores
                    .consents
                    .find_consent(&s.auth.identity_id, &client.id)
                    .await?
            }
            None => None,
        };
        let fresh_login = match (&interaction, session) {
            (Some(i), Some(s)) => i.fresh_login.as_deref() == Some(s.id_hash.as_str()),
            _ => false,
        };
        let consent_given_now = match (&interaction, session) {
            (Some(i), Some(s)) => {
                i.consent_given && i.consented_by.as_deref() == Some(s.id_hash.as_str())
            }
            _ => false,
        };
        let decision = decide(&Situation {
            request: &request,
            client,
            session,
            fresh_login,
            consented: consented.as_ref(),
            consent_given_now,
            now,
        });
        let issuer = self.config.issuer_str();
        match decision {
            Decision::Fail(error) => {
                if let Some(i) = &interaction {
                    self.stores
                        .interactions
                        .delete_interaction(&i.uid_hash)
                        .await?;
                }
                Ok(AuthorizeOutcome::Redirect(error_redirect(
                    &request.redirect_uri,
                    request.state.as_deref(),
                    &error,
                    &issuer,
                )))
            }
            Decision::Interact(prompt) => {
                let uid = new_handle("");
                if let Some(old) = &interaction {
                    self.stores
                        .interactions
                        .delete_interaction(&old.uid_hash)
                        .await?;
                }
                let record = Interaction {
                    uid_hash: hash_handle(&uid),
                    request,
                    prompt,
                    fresh_login: interaction.as_ref().and_then(|i| i.fresh_login.clone()),
                    consent_given: false,
                    consented_by: None,
                    created_at: now,
                    expires_at: now + self.config.interaction_ttl,
                };
                self.stores.interactions.insert_interaction(&record).await?;
                let location = self.config.url(&paths::interaction(&uid));
                Ok(AuthorizeOutcome::Interact { uid, location })
            }
            Decision::IssueCode => {
                let Some(session) = session else {
                    return Err(EngineError::OAuth(OAuthError::bare(ErrorCode::ServerError)));
                };
                // A client restricted to some account kinds is refused to a person holding
                // none of them (one read, only for such a client).
                let eligible = client.account_kinds.is_empty()
                    || self
                        .claims
                        .person(&session.auth.identity_id)
                        .await?
                        .is_some_and(|p| p.may_use(client));
                if !eligible {
                    if let Some(i) = &interaction {
                        self.stores
                            .interactions
                            .delete_interaction(&i.uid_hash)
                            .await?;
                    }
                    // An error after the redirect URI is verified goes back to the client
                    // (OIDC Core §3.1.2.6).
                    let error = OAuthError::new(
                        ErrorCode::AccessDenied,
                        "the person holds no customer account this client serves",
                    );
                    // Interactive or not, the client is told at once: it knows its audience
                    // and says what to do in its own words.
                    return Ok(AuthorizeOutcome::Redirect(error_redirect(
                        &request.redirect_uri,
                        request.state.as_deref(),
                        &error,
                        &self.config.issuer_str(),
                    )));
                }
                if let Some(i) = &interaction {
                    self.stores
                        .interactions
                        .delete_interaction(&i.uid_hash)
                        .await?;
                    if i.consent_given && !client.first_party {
                        self.stores
                            .consents
                            .save_consent(
                                &session.auth.identity_id,
                                &client.id,
                                &request.consent_scopes(client),
                            )
                            .await?;
                    }
                }
                self.stores
                    .sessions
                    .touch_session(&session.id_hash, now)
                    .await?;
                let code = self.issue_code(&request, session, now).await?;
                Ok(AuthorizeOutcome::Redirect(success_redirect(
                    &request.redirect_uri,
                    &code,
                    request.state.as_deref(),
                    &issuer,
                )))
            }
        }
    }

    async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<String, EngineError> {
        let code = new_handle("gcc_");
        let record = AuthorizationCode {
            code_hash: hash_handle(&code),
            grant_id: new_handle("")[..22].to_string(),
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth: session.auth.clone(),
            sid: session.sid.clone(),
            claims: request.claims.clone(),
            expires_at: now + self.config.code_ttl,
            consumed_at: None,
        };
        self.stores.codes.insert_code(&record).await?;
        Ok(code)
    }

    /// What the UI shows for an interaction; `None` when it is unknown or expired.
    pub async fn interaction_view(
        &self,
        uid: &str,
    ) -> Result<Option<InteractionView>, EngineError> {
        let Some(i) = self.live_interaction(uid).await? else {
            return Ok(None);
        };
        let Some(client) = self
            .stores
            .clients
            .find_client(&i.request.client_id)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(InteractionView {
            uid: uid.to_string(),
            prompt: i.prompt,
            client_id: client.id.clone(),
            client_name: client.name.clone(),
            scopes: i
                .request
                .consent_scopes(&client)
                .iter()
                .map(str::to_string)
                .collect(),
            login_hint: i.request.login_hint.clone(),
            ui_locales: i.request.ui_locales.clone(),
        }))
    }

    /// The UI signed the person in during interaction `uid`: remember it so that `prompt=login`
    /// and `max_age` are satisfied on resume. Returns the resume URL.
    pub async fn login_finished(
        &self,
        uid: &str,
        session: &Session,
    ) -> Result<Option<String>, EngineError> {
        let Some(mut i) = self.live_interaction(uid).await? else {
            return Ok(None);
        };
        i.fresh_login = Some(session.id_hash.clone());
        self.stores.interactions.update_interaction(&i).await?;
        Ok(Some(self.config.url(&paths::authorize_resume(uid))))
    }

    /// The person answered the consent page. Deny sends `access_denied` to the client; allow
    /// resumes the request.
    pub async fn consent_finished(
        &self,
        uid: &str,
        session: &Session,
        allow: bool,
    ) -> Result<Option<String>, EngineError> {
        let Some(mut i) = self.live_interaction(uid).await? else {
            return Ok(None);
        };
        // A consent form is an answer to a consent page only: posted to an interaction that
        // asks for a sign-in, it would stand in for the password (design.md §6).
        if i.prompt != Prompt::Consent {
            return Ok(None);
        }
        if !allow {
            self.stores
                .interactions
                .delete_interaction(&i.uid_hash)
                .await?;
            let error = OAuthError::new(ErrorCode::AccessDenied, "the end-user denied the request");
            return Ok(Some(error_redirect(
                &i.request.redirect_uri,
                i.request.state.as_deref(),
                &error,
                &self.config.issuer_str(),
            )));
        }
        i.consent_given = true;
        i.consented_by = Some(session.id_hash.clone());
        self.stores.interactions.update_interaction(&i).await?;
        Ok(Some(self.config.url(&paths::authorize_resume(uid))))
    }
}
