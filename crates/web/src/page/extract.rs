//! What page handlers extract: the person's language with the theme ([`Ui`]), a posted form
//! ([`PostedForm`]), and the signed-in account ([`Account`], [`AccountForm`]). Every rejection is
//! a [`PageError`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum_extra::extract::cookie::CookieJar;
use gan_accounts::customer::client_number_fits;
use gan_accounts::{email, Identity};
use gan_oidc::model::Session;
use minijinja::{context, Value};
use serde::de::value::MapDeserializer;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::{Failure, OrUnavailable, PageError};
use crate::pages::{Lang, Page, Pages};
use crate::request::{form_fields, page_lang};
use crate::security::csrf_ok;
use crate::{cookies, AppState};

/// The person's language and the theme: everything needed to answer with a page.
#[derive(Clone)]
pub struct Ui {
    /// The page language.
    pub lang: Lang,
    pages: Arc<Pages>,
    /// A page of the support console: its error pages send back to the console, not to the
    /// relying party.
    console: bool,
}

impl Ui {
    /// Pages of `state`'s theme in `lang`.
    pub fn new(state: &AppState, lang: Lang) -> Self {
        Self {
            lang,
            pages: state.pages.clone(),
            console: false,
        }
    }

    /// The same, for a page of the support console.
    pub fn for_console(mut self) -> Self {
        self.console = true;
        self
    }

    /// A translated text of the theme.
    pub fn t(&self, key: &str) -> String {
        self.pages.text(self.lang, key)
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, status: StatusCode, name: &str, ctx: Value) -> Page {
        self.pages.render(status, name, self.lang, ctx)
    }

    /// The message page: a translated title and paragraphs.
    pub fn message(&self, status: StatusCode, title_key: &str, paragraphs: Vec<String>) -> Page {
        self.render(
            status,
            "message.html",
            context! { title => self.t(title_key), paragraphs => paragraphs },
        )
    }

    /// The error page with a detail.
    pub fn error(&self, status: StatusCode, detail: &str) -> Page {
        self.render(
            status,
            "error.html",
            context! { detail => detail, console => self.console },
        )
    }

    /// The error page with a translated detail.
    pub fn error_key(&self, status: StatusCode, key: &str) -> Page {
        self.error(status, &self.t(key))
    }

    /// A [`PageError`] rendered in this language.
    pub fn fail(&self, failure: Failure) -> PageError {
        PageError::new(self, failure)
    }
}

/// The language of an ordinary page: the switch cookie, then `Accept-Language`.
impl FromRequestParts<AppState> for Ui {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let lang = page_lang(&jar, &state.settings, &parts.headers, None);
        Ok(Self::new(state, lang))
    }
}

/// A field's text with the spaces around it removed (emails, identifiers, client numbers).
pub fn trimmed<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d).map(|s| s.trim().to_string())
}

/// Whether a typed identifier (sign-in, forgotten password) fits the columns it reaches: an email
/// (anything with `@`) within [`email::fits`], anything else within [`client_number_fits`]. Longer
/// text names no account; handlers refuse it before it reaches the engine.
pub fn identifier_fits(identifier: &str) -> bool {
    if identifier.contains('@') {
        email::fits(identifier)
    } else {
        client_number_fits(identifier)
    }
}

/// Reads a posted form into `T` after checking its CSRF token (403 otherwise): the first value of
/// each name wins, and a body that is not a form reads as no fields at all (so the check refuses
/// it). For extractors that must decide the language first (interactions).
pub fn read_form<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    ui: &Ui,
) -> Result<T, PageError> {
    let mut fields: HashMap<String, String> = form_fields(headers, body);
    let jar = CookieJar::from_headers(headers);
    if !csrf_ok(&jar, state, fields.remove("csrf_token").as_deref()) {
        return Err(ui.fail(Failure::Csrf));
    }
    let de = MapDeserializer::<_, serde::de::value::Error>::new(fields.into_iter());
    serde_path_to_error::deserialize(de).map_err(|e| {
        ui.fail(Failure::Field {
            field: e.path().to_string(),
            reason: e.inner().to_string(),
        })
    })
}

/// The common start of every posted form: the language, the body (a rejection becomes the page
/// error), then [`read_form`]; the request's parts stay for extractors that need more.
async fn posted<T: DeserializeOwned>(
    req: Request,
    state: &AppState,
) -> Result<(Parts, Ui, T), PageError> {
    let (mut parts, body) = req.into_parts();
    let Ok(ui) = Ui::from_request_parts(&mut parts, state).await;
    let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(|e| PageError::unreadable(&ui, e))?;
    let form = read_form(state, &parts.headers, &body, &ui)?;
    Ok((parts, ui, form))
}

/// A form posted from a page: the CSRF token checked (403 otherwise), the language resolved, the
/// fields read into `T` (declare `#[serde(default)]` to read a missing field as empty).
pub struct PostedForm<T> {
    /// The person's language.
    pub ui: Ui,
    /// The fields.
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for PostedForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (_, ui, form) = posted(req, state).await?;
        Ok(Self { ui, form })
    }
}

/// The signed-in person of an account page: a live session (401 otherwise), touched, and its
/// identity.
pub struct Account {
    /// The person's language.
    pub ui: Ui,
    /// Who is signed in.
    pub identity: Identity,
    /// The session of this browser.
    pub session: Session,
}

impl Account {
    /// This browser's account, if it is signed in.
    pub async fn find(
        state: &AppState,
        jar: &CookieJar,
        ui: &Ui,
    ) -> Result<Option<(Identity, Session)>, PageError> {
        let cookie = cookies::get(jar, &state.settings, cookies::SESSION);
        let Some(session) = state
            .provider
            .session(cookie.as_deref())
            .await
            .or_unavailable(ui, "account: find the session")?
        else {
            return Ok(None);
        };
        state
            .provider
            .touch_session(&session)
            .await
            .or_unavailable(ui, "account: touch the session")?;
        let identity = state
            .accounts
            .identity(&session.auth.identity_id)
            .await
            .or_unavailable(ui, "account: find the identity")?;
        Ok(identity.map(|i| (i, session)))
    }

    async fn signed_in(state: &AppState, parts: &Parts, ui: Ui) -> Result<Self, PageError> {
        let jar = CookieJar::from_headers(&parts.headers);
        match Self::find(state, &jar, &ui).await? {
            Some((identity, session)) => Ok(Self {
                ui,
                identity,
                session,
            }),
            None => Err(ui.fail(Failure::SignedOut)),
        }
    }
}

impl FromRequestParts<AppState> for Account {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(ui) = Ui::from_request_parts(parts, state).await;
        Self::signed_in(state, parts, ui).await
    }
}

/// A form posted from an account page: CSRF first (403), then the signed-in account (401), then
/// the fields read into `T`.
pub struct AccountForm<T> {
    /// The signed-in person.
    pub account: Account,
    /// The fields.
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AccountForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, ui, form) = posted(req, state).await?;
        let account = Account::signed_in(state, &parts, ui).await?;
        Ok(Self { account, form })
    }
}
