//! What administrators manage in the console: relying parties, signing keys and staff. The
//! gate lets only the `admin` role in; the admin service validates and audits, as for the API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gan_admin::{AdminError, ClientInput, ClientPatch, ClientView, StaffRole};
use minijinja::context;

use super::Console;
use super::ConsoleArg;
use crate::page::PostedForm;
use crate::AppState;

/// `GET /console/clients`: every relying party.
pub(super) async fn clients(State(state): State<AppState>, console: Console) -> Response {
    match state.admin.list_clients().await {
        Ok(clients) => console.render(
            &state,
            StatusCode::OK,
            "console_clients.html",
            context! { clients => clients },
        ),
        Err(e) => console.failed("console: list clients", e),
    }
}

/// The relying-party form as typed: lists one per line (URIs, origins) or separated by spaces
/// (scopes, grant types, account kinds).
#[derive(serde::Deserialize, Default, serde::Serialize, Clone)]
#[serde(default)]
pub(super) struct ClientForm {
    client_id: String,
    client_name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    scopes: String,
    grant_types: String,
    token_endpoint_auth_method: String,
    account_kinds: String,
    web_origins: String,
    access_token_format: String,
    backchannel_logout_uri: String,
    backchannel_logout_session_required: String,
    id_token_signed_response_alg: String,
    first_party: String,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// A checkbox's value as the form sends it.
fn checked(on: bool) -> String {
    if on {
        "on".into()
    } else {
        String::new()
    }
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

impl ClientForm {
    fn of(c: &ClientView) -> Self {
        Self {
            client_id: c.client_id.clone(),
            client_name: c.client_name.clone(),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            scopes: c.scopes.join(" "),
            grant_types: c.grant_types.join(" "),
            token_endpoint_auth_method: c.token_endpoint_auth_method.clone(),
            account_kinds: c.account_kinds.join(" "),
            web_origins: c.web_origins.join("\n"),
            access_token_format: c.access_token_format.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
            backchannel_logout_session_required: checked(c.backchannel_logout_session_required),
            id_token_signed_response_alg: c.id_token_signed_response_alg.clone(),
            first_party: if c.first_party {
                "on".into()
            } else {
                String::new()
            },
        }
    }

    fn input(&self) -> ClientInput {
        ClientInput {
            client_id: self.client_id.trim().to_string(),
            client_name: self.client_name.trim().to_string(),
            redirect_uris: lines(&self.redirect_uris),
            post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
            scopes: Some(words(&self.scopes)).filter(|s| !s.is_empty()),
            grant_types: Some(words(&self.grant_types)).filter(|g| !g.is_empty()),
            token_endpoint_auth_method: optional(&self.token_endpoint_auth_method),
            account_kinds: words(&self.account_kinds),
            web_origins: lines(&self.web_origins),
            access_token_format: optional(&self.access_token_format),
            backchannel_logout_uri: optional(&self.backchannel_logout_uri),
            backchannel_logout_session_required: self.backchannel_logout_session_required == "on",
            id_token_signed_response_alg: optional(&self.id_token_signed_response_alg),
            first_party: self.first_party == "on",
            ..Default::default()
        }
    }

    fn patch(&self) -> ClientPatch {
        ClientPatch {
            client_name: Some(self.client_name.trim().to_string()),
            redirect_uris: Some(lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(lines(&self.post_logout_redirect_uris)),
            scopes: Some(words(&self.scopes)),
            grant_types: Some(words(&self.grant_types)),
            account_kinds: Some(words(&self.account_kinds)),
            web_origins: Some(lines(&self.web_origins)),
            access_token_format: optional(&self.access_token_format),
            backchannel_logout_uri: Some(self.backchannel_logout_uri.trim().to_string()),
            backchannel_logout_session_required: Some(
                self.backchannel_logout_session_required == "on",
            ),
            id_token_signed_response_alg: optional(&self.id_token_signed_response_alg),
            first_party: Some(self.first_party == "on"),
            ..Default::default()
        }
    }
}

/// The form page of a relying party: a new one (`client` none) or an existing one, with the
/// message of the field at fault next to it.
fn form_page(
    state: &AppState,
    console: Console,
    status: StatusCode,
    form: ClientForm,
    client: Option<ClientView>,
    field_error: Option<(String, String)>,
) -> Response {
    let (field, message) = field_error.unzip();
    console.render(
        state,
        status,
        "console_client.html",
        context! {
            form => form,
            client => client,
            field => field,
            message => message,
        },
    )
}

/// `GET /console/clients/new`: the form of a new relying party.
pub(super) async fn new_client(State(state): State<AppState>, console: Console) -> Response {
    let form = ClientForm {
        scopes: "openid profile email accounts".into(),
        grant_types: "authorization_code refresh_token".into(),
        token_endpoint_auth_method: "client_secret_basic".into(),
        access_token_format: "opaque".into(),
        id_token_signed_response_alg: "RS256".into(),
        ..Default::default()
    };
    form_page(&state, console, StatusCode::OK, form, None, None)
}

/// The field a validation message is about, as the form names it (the engine names some by
/// their place in a list: `redirect_uris[0]`).
fn form_field(field: &str) -> String {
    field.split('[').next().unwrap_or(field).to_string()
}

/// `POST /console/clients`: registers a relying party; its secret (if it has one) is shown once.
pub(super) async fn create_client(
    State(state): State<AppState>,
    console: Console,
    PostedForm { form, .. }: PostedForm<ClientForm>,
) -> Response {
    match state.admin.create_client(form.input()).await {
        Ok(created) => secret_page(&state, console, created),
        Err(AdminError::Invalid { field, reason }) => form_page(
            &state,
            console,
            StatusCode::BAD_REQUEST,
            form,
            None,
            Some((form_field(&field), reason)),
        ),
        Err(AdminError::Conflict(m)) => form_page(
            &state,
            console,
            StatusCode::CONFLICT,
            form,
            None,
            Some(("client_id".into(), m)),
        ),
        Err(e) => console.failed("console: create a client", e),
    }
}

fn secret_page(state: &AppState, console: Console, created: gan_admin::CreatedClient) -> Response {
    console.render(
        state,
        StatusCode::OK,
        "console_client_secret.html",
        context! { client => created.client, secret => created.client_secret },
    )
}

/// `GET /console/clients/{id}`: a relying party and its form.
pub(super) async fn client(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Path(id)): ConsoleArg<Path<String>>,
) -> Response {
    match state.admin.get_client(&id).await {
        Ok(c) => form_page(
            &state,
            console,
            StatusCode::OK,
            ClientForm::of(&c),
            Some(c),
            None,
        ),
        Err(e) => console.failed("console: read a client", e),
    }
}

/// `POST /console/clients/{id}`: changes a relying party.
pub(super) async fn update_client(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Path(id)): ConsoleArg<Path<String>>,
    PostedForm { form, .. }: PostedForm<ClientForm>,
) -> Response {
    match state.admin.update_client(&id, form.patch()).await {
        Ok(_) => Redirect::to(&format!("/console/clients/{}", encode(&id))).into_response(),
        Err(AdminError::Invalid { field, reason }) => {
            let current = state.admin.get_client(&id).await.ok();
            let form = ClientForm {
                client_id: id.clone(),
                ..form
            };
            form_page(
                &state,
                console,
                StatusCode::BAD_REQUEST,
                form,
                current,
                Some((form_field(&field), reason)),
            )
        }
        Err(e) => console.failed("console: change a client", e),
    }
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The form of a relying party's actions (nothing but its CSRF token and, for a rotation,
/// whether the old secret stops at once).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct ClientActionForm {
    revoke_previous: String,
}

/// `POST /console/clients/{id}/{action}`: `secret` (rotate; the new one shown once), `disable`,
/// `delete`.
pub(super) async fn client_action(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Path((id, action))): ConsoleArg<Path<(String, String)>>,
    PostedForm { form, .. }: PostedForm<ClientActionForm>,
) -> Response {
    let admin = &state.admin;
    match action.as_str() {
        "secret" => match admin
            .rotate_client_secret(&id, form.revoke_previous == "on")
            .await
        {
            Ok(created) => secret_page(&state, console, created),
            Err(e) => console.failed("console: rotate a secret", e),
        },
        "disable" => match admin.disable_client(&id).await {
            Ok(_) => Redirect::to(&format!("/console/clients/{}", encode(&id))).into_response(),
            Err(e) => console.failed("console: disable a client", e),
        },
        "delete" => match admin.delete_client(&id).await {
            Ok(()) => Redirect::to("/console/clients").into_response(),
            Err(e) => console.failed("console: delete a client", e),
        },
        _ => console.failed("console: client action", AdminError::NotFound("action")),
    }
}

/// `GET /console/keys`: the signing keys.
pub(super) async fn keys(State(state): State<AppState>, console: Console) -> Response {
    let now = state.provider.now();
    match state.admin.keys().await {
        Ok(keys) => {
            // Where each key stands now: published but not signing yet, signing, or retired
            // (still published until it expires, for tokens it signed).
            let keys: Vec<minijinja::Value> = keys
                .into_iter()
                .map(|k| {
                    let status = if k.retired_at.is_some_and(|at| at <= now) {
                        "retired"
                    } else if k.active_from > now {
                        "pending"
                    } else {
                        "signing"
                    };
                    context! { status => status, ..minijinja::Value::from_serialize(&k) }
                })
                .collect();
            console.render(
                &state,
                StatusCode::OK,
                "console_keys.html",
                context! { keys => keys },
            )
        }
        Err(e) => console.failed("console: list keys", e),
    }
}

/// The rotation form (nothing but its CSRF token).
#[derive(serde::Deserialize, Default)]
pub(super) struct Nothing {}

/// `POST /console/keys/rotate`: a new signing key.
pub(super) async fn rotate_keys(
    State(state): State<AppState>,
    console: Console,
    _: PostedForm<Nothing>,
) -> Response {
    match state.admin.rotate_keys().await {
        Ok(_) => Redirect::to("/console/keys").into_response(),
        Err(e) => console.failed("console: rotate keys", e),
    }
}

/// `GET /console/staff`: the staff.
pub(super) async fn staff(State(state): State<AppState>, console: Console) -> Response {
    staff_page(&state, console, StatusCode::OK, StaffForm::default(), None).await
}

async fn staff_page(
    state: &AppState,
    console: Console,
    status: StatusCode,
    form: StaffForm,
    error: Option<(String, String)>,
) -> Response {
    let members = match state.admin.list_staff().await {
        Ok(members) => members,
        Err(e) => return console.failed("console: list staff", e),
    };
    let (field, message) = error.unzip();
    console.render(
        state,
        status,
        "console_staff.html",
        context! { members => members, form => form, field => field, message => message },
    )
}

/// The form adding a staff member.
#[derive(serde::Deserialize, serde::Serialize, Default)]
#[serde(default)]
pub(super) struct StaffForm {
    email: String,
    role: String,
}

/// `POST /console/staff`: adds a staff member (an invitation is mailed to a new identity).
pub(super) async fn add_staff(
    State(state): State<AppState>,
    console: Console,
    PostedForm { form, .. }: PostedForm<StaffForm>,
) -> Response {
    let Some(role) = StaffRole::parse(&form.role) else {
        let error = Some(("role".into(), console.ui.t("console_staff_role_needed")));
        return staff_page(&state, console, StatusCode::BAD_REQUEST, form, error).await;
    };
    match state.admin.add_staff(form.email.trim(), role).await {
        Ok(_) => Redirect::to("/console/staff").into_response(),
        Err(AdminError::Invalid { field, reason }) => {
            staff_page(
                &state,
                console,
                StatusCode::BAD_REQUEST,
                form,
                Some((field, reason)),
            )
            .await
        }
        Err(AdminError::Conflict(m)) => {
            staff_page(
                &state,
                console,
                StatusCode::CONFLICT,
                form,
                Some(("email".into(), m)),
            )
            .await
        }
        Err(e) => console.failed("console: add staff", e),
    }
}

/// `POST /console/staff/{id}/disable`: disables a staff member (not oneself).
pub(super) async fn disable_staff(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Path(id)): ConsoleArg<Path<String>>,
    _: PostedForm<Nothing>,
) -> Response {
    if id == console.staff.identity_id {
        let error = Some(("email".into(), console.ui.t("console_staff_not_self")));
        return staff_page(
            &state,
            console,
            StatusCode::CONFLICT,
            StaffForm::default(),
            error,
        )
        .await;
    }
    match state.admin.disable_staff(&id).await {
        Ok(_) => Redirect::to("/console/staff").into_response(),
        Err(e) => console.failed("console: disable staff", e),
    }
}
