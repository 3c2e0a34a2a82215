//! Relying parties: register, change, rotate the secret, disable, delete.

use gan_audit::EventType;
use gan_oidc::model::{
    AccessTokenFormat, AuthMethod, Client, SigningAlg, GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN, GRANT_TYPES,
};
use gan_oidc::scope::{ADMIN_READ, ADMIN_WRITE};
use gan_oidc::secret::{hash_handle, new_handle};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{Admin, AdminError, AdminResult};

const DEFAULT_SCOPES: [&str; 5] = ["openid", "profile", "email", "offline_access", "accounts"];
const KINDS: [&str; 2] = ["personal", "professional"];

/// A relying party to register. Names follow OpenID Connect Dynamic Client Registration.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// 1 to 100 characters among letters, digits, `.`, `_`, `~` and `-`, starting with a letter
    /// or a digit (it stands in URL paths, where `/`, `?`, `#` or a `..` segment would point
    /// elsewhere); unique.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[A-Za-z0-9][A-Za-z0-9._~-]*$"
    )]
    pub client_id: String,
    /// The name shown on the consent and logout pages: 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub client_name: String,
    /// Exact redirect URIs (absolute, no fragment).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back (absolute, no fragment).
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed scopes; default `openid profile email offline_access accounts`.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Default: `authorization_code` and `refresh_token`, or `client_credentials` without
    /// redirect URIs.
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` or `none`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// The public JWK set, for `private_key_jwt`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// Account kinds this client sees (`personal`, `professional`); empty: all.
    #[serde(default)]
    pub account_kinds: Vec<String>,
    /// Browser origins (`https://app.example.fr`) allowed to call the token, userinfo and
    /// revocation endpoints (CORS) beyond those of the redirect URIs, which always are.
    #[serde(default)]
    pub web_origins: Vec<String>,
    /// `opaque` (default) or `jwt` (RFC 9068 access tokens, checkable offline with JWKS).
    #[serde(default)]
    pub access_token_format: Option<String>,
    /// Where the client is told, server to server, that a session it took part in ended
    /// (OpenID Connect Back-Channel Logout 1.0): https (http only on loopback).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs `sid` in logout tokens (it is always sent when known).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// First-party clients skip the consent page.
    #[serde(default)]
    pub first_party: bool,
    /// A secret of at least 32 characters; generated (and returned once) when absent.
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// Changes to a relying party: only the fields present change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    /// New display name (1 to 200 characters).
    pub client_name: Option<String>,
    /// New redirect URIs, replacing the old ones.
    pub redirect_uris: Option<Vec<String>>,
    /// New post-logout redirect URIs, replacing the old ones.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// New allowed scopes, replacing the old ones.
    pub scopes: Option<Vec<String>>,
    /// New grant types, replacing the old ones.
    pub grant_types: Option<Vec<String>>,
    /// New account kinds, replacing the old ones (empty: all).
    pub account_kinds: Option<Vec<String>>,
    /// New CORS origins beyond those of the redirect URIs, replacing the old ones.
    pub web_origins: Option<Vec<String>>,
    /// `opaque` or `jwt`: the form of the access tokens issued from now on.
    pub access_token_format: Option<String>,
    /// A new back-channel logout URI; an empty string removes it.
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs `sid` in logout tokens.
    pub backchannel_logout_session_required: Option<bool>,
    /// New ID token algorithm: `RS256`, `ES256` or `EdDSA`.
    pub id_token_signed_response_alg: Option<String>,
    /// Whether the client skips the consent page.
    pub first_party: Option<bool>,
    /// `false` disables the client and revokes its tokens; `true` enables it again.
    pub enabled: Option<bool>,
    /// A new public JWK set (it cannot be removed this way).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
}

/// A relying party as admins see it (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    /// The client's identifier at the protocol endpoints (`client_id`).
    pub client_id: String,
    /// The name shown to people on the consent and logout pages.
    pub client_name: String,
    /// Redirect URIs accepted at the authorization endpoint, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back.
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes the client may obtain.
    pub scopes: Vec<String>,
    /// Grant types the token endpoint accepts from it.
    pub grant_types: Vec<String>,
    /// How it authenticates at the token, introspection and revocation endpoints:
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub token_endpoint_auth_method: String,
    /// Algorithm of its ID tokens: `RS256`, `ES256` or `EdDSA`.
    pub id_token_signed_response_alg: String,
    /// Account kinds served (`personal`, `professional`); empty: all.
    pub account_kinds: Vec<String>,
    /// CORS origins beyond those of the redirect URIs.
    pub web_origins: Vec<String>,
    /// `opaque` or `jwt` (RFC 9068).
    pub access_token_format: String,
    /// Where the client is told that a session ended (Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs `sid` in logout tokens.
    pub backchannel_logout_session_required: bool,
    /// Whether the client skips the consent page.
    pub first_party: bool,
    /// `false` once disabled: its authorization requests and client authentication fail.
    pub enabled: bool,
    /// Whether a JWK set is registered (the set itself is not shown).
    pub has_jwks: bool,
    /// When the client was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Until when the secret before the last rotation still works.
    #[serde(with = "time::serde::rfc3339::option")]
    pub previous_secret_expires_at: Option<OffsetDateTime>,
}

/// A client with its secret, shown once (at creation or rotation).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedClient {
    /// The client as registered.
    pub client: ClientView,
    /// The secret we generated (43 base64url characters), shown only in this answer; `None` when
    /// the caller chose it or the client uses none.
    pub client_secret: Option<String>,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.clone(),
            client_name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            scopes: c.scopes.clone(),
            grant_types: c.grant_types.clone(),
            token_endpoint_auth_method: c.auth_method.as_str().to_string(),
            id_token_signed_response_alg: c.id_token_alg.as_str().to_string(),
            account_kinds: c.account_kinds.clone(),
            web_origins: c.web_origins.clone(),
            access_token_format: c.access_token_format.as_str().to_string(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            first_party: c.first_party,
            enabled: c.enabled,
            has_jwks: c.jwks.is_some(),
            created_at: c.created_at,
            previous_secret_expires_at: c.previous_secret_expires_at,
        }
    }
}

fn check_uri(field: &str, uri: &str) -> AdminResult<()> {
    let url = url::Url::parse(uri)
        .map_err(|_| AdminError::invalid(field, format!("{uri} is not an absolute URI")))?;
    if url.fragment().is_some() {
        return Err(AdminError::invalid(field, format!("{uri} has a fragment")));
    }
    if !matches!(url.scheme(), "https" | "http") && !url.scheme().contains('.') {
        return Err(AdminError::invalid(
            field,
            format!("{uri}: use https (or a reverse-domain scheme for native apps)"),
        ));
    }
    if url.scheme() == "http"
        && !matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
    {
        tracing::warn!(
            uri,
            "http redirect URI outside loopback: use https in production"
        );
    }
    Ok(())
}

/// A back-channel logout URI (Back-Channel Logout 1.0 §2.2): absolute, no fragment, `https`
/// (`http` only on a loopback host: the logout token crosses the network).
fn check_backchannel_uri(uri: &str) -> AdminResult<()> {
    let field = "backchannel_logout_uri";
    let url = url::Url::parse(uri)
        .map_err(|_| AdminError::invalid(field, format!("{uri} is not an absolute URI")))?;
    if url.fragment().is_some() {
        return Err(AdminError::invalid(field, format!("{uri} has a fragment")));
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(AdminError::invalid(
            field,
            format!("{uri}: use https (http only on a loopback host)"),
        )),
    }
}

/// A scope token (RFC 6749 §3.3): printable ASCII without space, `"` or `\`.
fn check_scope(scope: &str) -> AdminResult<()> {
    let ok = !scope.is_empty()
        && scope.len() <= 100
        && scope
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
    if ok {
        Ok(())
    } else {
        Err(AdminError::invalid(
            "scopes",
            format!("{scope:?} is not a scope token"),
        ))
    }
}

fn check_jwks(jwks: &serde_json::Value) -> AdminResult<()> {
    if jwks.get("keys").is_some_and(|k| k.is_array()) {
        Ok(())
    } else {
        Err(AdminError::invalid(
            "jwks",
            "must be a JWK set ({\"keys\": [...]})",
        ))
    }
}

/// A web origin exactly as browsers send it in `Origin` (`https://app.example.fr`, a port only
/// when not the default): `https`, or `http` on a loopback host; never `*`, a path, a query or
/// credentials.
fn check_origin(origin: &str) -> AdminResult<()> {
    let invalid = |why: &str| AdminError::invalid("web_origins", format!("{origin:?}: {why}"));
    if origin.contains('*') {
        return Err(invalid("wildcards are not origins: name each origin"));
    }
    let canonical = gan_oidc::model::web_origin_of(origin)
        .ok_or_else(|| invalid("must be an http(s) origin such as https://app.example.fr"))?;
    if canonical != origin {
        return Err(invalid(&format!(
            "must be written as browsers send it: {canonical}"
        )));
    }
    let loopback = ["http://127.0.0.1", "http://[::1]", "http://localhost"]
        .iter()
        .any(|l| origin == *l || origin.starts_with(&format!("{l}:")));
    if !origin.starts_with("https://") && !loopback {
        return Err(invalid("must use https (http only on a loopback host)"));
    }
    Ok(())
}

fn parse_format(format: &str) -> AdminResult<AccessTokenFormat> {
    AccessTokenFormat::parse(format).ok_or_else(|| {
        AdminError::invalid(
            "access_token_format",
            format!("{format} is not one of opaque, jwt"),
        )
    })
}

fn parse_alg(alg: &str) -> AdminResult<SigningAlg> {
    SigningAlg::parse(alg).ok_or_else(|| {
        AdminError::invalid(
            "id_token_signed_response_alg",
            format!("{alg} is not one of RS256, ES256, EdDSA"),
        )
    })
}

/// Whether a new client id is safe in a URL path as it is: RFC 3986 unreserved characters only,
/// starting with a letter or a digit (so neither `.` nor `..`). Ids stored before this rule keep
/// working.
pub fn id_fits_paths(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.len() <= 100
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-'))
}

/// The rules every stored client follows, whoever wrote it.
pub fn validate(c: &Client) -> AdminResult<()> {
    if c.id.trim().is_empty()
        || c.id.chars().count() > 100
        || c.id
            .chars()
            .any(|ch| ch.is_whitespace() || crate::invisible(ch))
    {
        return Err(AdminError::invalid(
            "client_id",
            "must be 1 to 100 visible characters",
        ));
    }
    if c.name.trim().is_empty()
        || c.name.chars().count() > 200
        || c.name.chars().any(crate::invisible)
    {
        return Err(AdminError::invalid(
            "client_name",
            "must be 1 to 200 visible characters (no control, zero-width or bidirectional ones)",
        ));
    }
    let uris = c
        .redirect_uris
        .iter()
        .map(|u| ("redirect_uris", u))
        .chain(
            c.post_logout_redirect_uris
                .iter()
                .map(|u| ("post_logout_redirect_uris", u)),
        )
        .chain(c.web_origins.iter().map(|u| ("web_origins", u)))
        .chain(
            c.backchannel_logout_uri
                .iter()
                .map(|u| ("backchannel_logout_uri", u)),
        );
    for (field, uri) in uris {
        if uri
            .chars()
            .any(|ch| ch.is_whitespace() || crate::invisible(ch))
        {
            return Err(AdminError::invalid(
                field,
                format!("{uri:?} holds spaces or invisible characters"),
            ));
        }
    }
    for uri in &c.redirect_uris {
        check_uri("redirect_uris", uri)?;
    }
    for uri in &c.post_logout_redirect_uris {
        check_uri("post_logout_redirect_uris", uri)?;
    }
    for s in &c.scopes {
        check_scope(s)?;
    }
    if let Some(g) = c
        .grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(AdminError::invalid(
            "grant_types",
            format!("unknown grant type {g}"),
        ));
    }
    if c.grant_types.is_empty() {
        return Err(AdminError::invalid(
            "grant_types",
            "at least one grant type",
        ));
    }
    if c.allows_grant(GRANT_AUTHORIZATION_CODE) && c.redirect_uris.is_empty() {
        return Err(AdminError::invalid(
            "redirect_uris",
            "authorization_code needs at least one redirect URI",
        ));
    }
    if c.is_public() && c.allows_grant(GRANT_CLIENT_CREDENTIALS) {
        return Err(AdminError::invalid(
            "grant_types",
            "public clients cannot use client_credentials",
        ));
    }
    if let Some(k) = c
        .account_kinds
        .iter()
        .find(|k| !KINDS.contains(&k.as_str()))
    {
        return Err(AdminError::invalid(
            "account_kinds",
            format!("unknown account kind {k} (personal or professional)"),
        ));
    }
    for origin in &c.web_origins {
        check_origin(origin)?;
    }
    if let Some(uri) = &c.backchannel_logout_uri {
        check_backchannel_uri(uri)?;
    }
    if let Some(jwks) = &c.jwks {
        check_jwks(jwks)?;
    }
    if c.auth_method == AuthMethod::PrivateKeyJwt && c.jwks.is_none() {
        return Err(AdminError::invalid(
            "jwks",
            "private_key_jwt needs a JWK set",
        ));
    }
    Ok(())
}

/// A client from its registration, with the generated secret if one was made.
pub fn build(input: ClientInput, now: OffsetDateTime) -> AdminResult<(Client, Option<String>)> {
    let auth_method = match &input.token_endpoint_auth_method {
        Some(m) => AuthMethod::parse(m).ok_or_else(|| {
            AdminError::invalid("token_endpoint_auth_method", format!("unknown method {m}"))
        })?,
        None if input.jwks.is_some() => AuthMethod::PrivateKeyJwt,
        None => AuthMethod::ClientSecretBasic,
    };
    let uses_secret = matches!(
        auth_method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    );
    let (secret_hash, shown) = match (uses_secret, input.client_secret) {
        (false, Some(_)) => {
            return Err(AdminError::invalid(
                "client_secret",
                "only client_secret_basic and client_secret_post use a secret",
            ))
        }
        (false, None) => (None, None),
        (true, Some(s)) if s.chars().count() < 32 => {
            return Err(AdminError::invalid(
                "client_secret",
                "must have at least 32 characters",
            ))
        }
        (true, Some(s)) => (Some(hash_handle(&s)), None),
        (true, None) => {
            let s = new_handle("");
            (Some(hash_handle(&s)), Some(s))
        }
    };
    let grant_types = input.grant_types.unwrap_or_else(|| {
        let defaults: &[&str] = if input.redirect_uris.is_empty() {
            &[GRANT_CLIENT_CREDENTIALS]
        } else {
            &[GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN]
        };
        defaults.iter().map(|g| g.to_string()).collect()
    });
    let client = Client {
        secret_hash,
        redirect_uris: input.redirect_uris,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        scopes: input
            .scopes
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()),
        grant_types,
        auth_method,
        jwks: input.jwks,
        id_token_alg: parse_alg(
            input
                .id_token_signed_response_alg
                .as_deref()
                .unwrap_or("RS256"),
        )?,
        account_kinds: input.account_kinds,
        web_origins: input.web_origins,
        access_token_format: input
            .access_token_format
            .as_deref()
            .map(parse_format)
            .transpose()?
            .unwrap_or_default(),
        backchannel_logout_uri: input.backchannel_logout_uri,
        backchannel_logout_session_required: input.backchannel_logout_session_required,
        first_party: input.first_party,
        created_at: now,
        ..Client::bare(&input.client_id, &input.client_name)
    };
    validate(&client)?;
    Ok((client, shown))
}

impl Admin {
    /// Every registered client, ordered by `client_id`.
    pub async fn list_clients(&self) -> AdminResult<Vec<ClientView>> {
        Ok(self
            .provider
            .clients()
            .await?
            .iter()
            .map(ClientView::from)
            .collect())
    }

    /// Refuses to cut off the admin client making the request.
    fn not_self(id: &str) -> AdminResult<()> {
        Self::not_console(id)?;
        if crate::acting_client().as_deref() == Some(id) {
            return Err(AdminError::Conflict(
                "an admin client cannot disable or delete itself".into(),
            ));
        }
        Ok(())
    }

    /// The console's own client is Gan Connect's: it is registered (and put back) at start,
    /// and changing it here would lock every staff member out.
    fn not_console(id: &str) -> AdminResult<()> {
        if id == crate::console::CONSOLE_CLIENT_ID {
            return Err(AdminError::Conflict(format!(
                "{id} is the support console's own client, managed by Gan Connect"
            )));
        }
        Ok(())
    }

    /// Refuses a change by which the admin client making the request would lock itself out:
    /// disabled, its `client_credentials` grant or one of the admin scopes it holds taken away.
    /// Another admin client (or the CLI) may do it.
    fn keeps_own_authority(before: &Client, after: &Client) -> AdminResult<()> {
        if crate::acting_client().as_deref() != Some(before.id.as_str()) {
            return Ok(());
        }
        let grant = GRANT_CLIENT_CREDENTIALS;
        let lost_grant = before.grant_types.iter().any(|g| g == grant)
            && !after.grant_types.iter().any(|g| g == grant);
        let lost_scope = [ADMIN_READ, ADMIN_WRITE]
            .into_iter()
            .find(|s| before.scopes.iter().any(|x| x == s) && !after.scopes.iter().any(|x| x == s));
        let why = if !after.enabled {
            Some("disable itself".to_string())
        } else if lost_grant {
            Some(format!("give up its {grant} grant"))
        } else {
            lost_scope.map(|s| format!("give up its {s} scope"))
        };
        match why {
            Some(what) => Err(AdminError::Conflict(format!(
                "an admin client cannot {what}: another admin client (or the CLI) can"
            ))),
            None => Ok(()),
        }
    }

    async fn client(&self, id: &str) -> AdminResult<Client> {
        let id = crate::named(id, "client")?;
        self.provider
            .client(id)
            .await?
            .ok_or(AdminError::NotFound("client"))
    }

    /// One client; `NotFound` when there is none by that id.
    pub async fn get_client(&self, id: &str) -> AdminResult<ClientView> {
        Ok(ClientView::from(&self.client(id).await?))
    }

    /// Registers a client, with the defaults [`ClientInput`] lists. `Invalid` names the field
    /// that breaks a rule, `Conflict` when the id is taken; the secret is returned when it was
    /// generated here.
    pub async fn create_client(&self, input: ClientInput) -> AdminResult<CreatedClient> {
        if !id_fits_paths(&input.client_id) {
            return Err(AdminError::invalid(
                "client_id",
                "1 to 100 letters, digits, '.', '_', '~' or '-', starting with a letter or a digit",
            ));
        }
        let (client, secret) = build(input, self.now())?;
        if self.provider.client(&client.id).await?.is_some() {
            return Err(AdminError::Conflict(format!(
                "a client with id {} already exists",
                client.id
            )));
        }
        self.provider.save_client(&client).await?;
        let event = self
            .event(EventType::ClientCreated)
            .client(&client.id)
            .with("auth_method", client.auth_method.as_str());
        self.record(event).await;
        Ok(CreatedClient {
            client: ClientView::from(&client),
            client_secret: secret,
        })
    }

    /// Changes the fields present in `patch` and validates the result (`Invalid`); disabling
    /// revokes the client's tokens. `NotFound` when there is no such client; `Conflict` when the
    /// admin client making the request would disable itself.
    pub async fn update_client(&self, id: &str, patch: ClientPatch) -> AdminResult<ClientView> {
        Self::not_console(id)?;
        let mut c = self.client(id).await?;
        let before = c.clone();
        let mut changed: Vec<&str> = Vec::new();
        macro_rules! set {
            ($field:ident, $target:expr, $name:literal) => {
                if let Some(v) = patch.$field {
                    $target = v;
                    changed.push($name);
                }
            };
        }
        set!(client_name, c.name, "client_name");
        set!(redirect_uris, c.redirect_uris, "redirect_uris");
        set!(
            post_logout_redirect_uris,
            c.post_logout_redirect_uris,
            "post_logout_redirect_uris"
        );
        set!(scopes, c.scopes, "scopes");
        set!(grant_types, c.grant_types, "grant_types");
        set!(account_kinds, c.account_kinds, "account_kinds");
        set!(web_origins, c.web_origins, "web_origins");
        if let Some(uri) = patch.backchannel_logout_uri {
            c.backchannel_logout_uri = (!uri.is_empty()).then_some(uri);
            changed.push("backchannel_logout_uri");
        }
        set!(
            backchannel_logout_session_required,
            c.backchannel_logout_session_required,
            "backchannel_logout_session_required"
        );
        if let Some(format) = patch.access_token_format {
            c.access_token_format = parse_format(&format)?;
            changed.push("access_token_format");
        }
        set!(first_party, c.first_party, "first_party");
        set!(enabled, c.enabled, "enabled");
        if let Some(alg) = patch.id_token_signed_response_alg {
            c.id_token_alg = parse_alg(&alg)?;
            changed.push("id_token_signed_response_alg");
        }
        if let Some(jwks) = patch.jwks {
            c.jwks = Some(jwks);
            changed.push("jwks");
        }
        Self::keeps_own_authority(&before, &c)?;
        validate(&c)?;
        self.provider.save_client(&c).await?;
        if !c.enabled {
            self.store.revoke_client_tokens(&c.id, self.now()).await?;
        }
        self.record(
            self.event(EventType::ClientUpdated)
                .client(&c.id)
                .with("fields", changed),
        )
        .await;
        Ok(ClientView::from(&c))
    }

    /// A new secret. Unless `revoke_previous`, the old one keeps working for the configured
    /// grace period (the client's deployments switch over). With `revoke_previous` (a leaked
    /// secret) the old one stops at once and every token issued to the client is revoked: what
    /// the leaked secret may have obtained goes with it. `Conflict` for a client without a
    /// secret.
    pub async fn rotate_client_secret(
        &self,
        id: &str,
        revoke_previous: bool,
    ) -> AdminResult<CreatedClient> {
        let mut c = self.client(id).await?;
        if !matches!(
            c.auth_method,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        ) {
            return Err(AdminError::Conflict(format!(
                "client {id} does not authenticate with a secret"
            )));
        }
        let secret = new_handle("");
        let now = self.now();
        let until = if revoke_previous {
            now
        } else {
            now + self.settings.secret_grace
        };
        let previous = c.secret_hash.take();
        (c.previous_secret_hash, c.previous_secret_expires_at) = if revoke_previous {
            (None, None)
        } else {
            (previous, Some(until))
        };
        c.secret_hash = Some(hash_handle(&secret));
        self.provider.save_client(&c).await?;
        let revoked = if revoke_previous {
            self.store.revoke_client_tokens(&c.id, now).await?
        } else {
            0
        };
        self.record(
            self.event(EventType::ClientSecretRotated)
                .client(&c.id)
                .with("previous_valid_until", until.unix_timestamp())
                .with("tokens_revoked", revoked),
        )
        .await;
        Ok(CreatedClient {
            client: ClientView::from(&c),
            client_secret: Some(secret),
        })
    }

    /// Disables a client and revokes its tokens.
    pub async fn disable_client(&self, id: &str) -> AdminResult<ClientView> {
        Self::not_self(id)?;
        let mut c = self.client(id).await?;
        c.enabled = false;
        self.provider.save_client(&c).await?;
        let revoked = self.store.revoke_client_tokens(&c.id, self.now()).await?;
        self.record(
            self.event(EventType::ClientDisabled)
                .client(&c.id)
                .with("tokens_revoked", revoked),
        )
        .await;
        Ok(ClientView::from(&c))
    }

    /// Deletes a client with its tokens and consents. `NotFound` when there is none; `Conflict`
    /// for the admin client making the request.
    pub async fn delete_client(&self, id: &str) -> AdminResult<()> {
        let id = crate::named(id, "client")?;
        Self::not_self(id)?;
        if !self.store.delete_client(id).await? {
            return Err(AdminError::NotFound("client"));
        }
        self.provider.forget_client(id);
        self.record(self.event(EventType::ClientDeleted).client(id))
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input() -> ClientInput {
        ClientInput {
            client_id: "portal".into(),
            client_name: "Portal".into(),
            redirect_uris: vec!["https://rp.example/cb".into()],
            ..Default::default()
        }
    }

    #[test]
    fn defaults_and_generated_secret() {
        let (c, secret) = build(input(), OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(c.grant_types, vec!["authorization_code", "refresh_token"]);
        assert!(c.secret_matches(&hash_handle(&secret.unwrap()), OffsetDateTime::UNIX_EPOCH));
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases: Vec<(ClientInput, &str)> = vec![
            (
                ClientInput {
                    client_id: "a b".into(),
                    ..input()
                },
                "client_id",
            ),
            (
                ClientInput {
                    client_name: " ".into(),
                    ..input()
                },
                "client_name",
            ),
            (
                ClientInput {
                    redirect_uris: vec!["/relative".into()],
                    ..input()
                },
                "redirect_uris",
            ),
            (
                ClientInput {
                    redirect_uris: vec!["https://rp.example/cb#x".into()],
                    ..input()
                },
                "redirect_uris",
            ),
            (
                ClientInput {
                    redirect_uris: vec![],
                    grant_types: Some(vec!["authorization_code".into()]),
                    ..input()
                },
                "redirect_uris",
            ),
            (
                ClientInput {
                    grant_types: Some(vec!["password".into()]),
                    ..input()
                },
                "grant_types",
            ),
            (
                ClientInput {
                    token_endpoint_auth_method: Some("none".into()),
                    grant_types: Some(vec!["client_credentials".into()]),
                    ..input()
                },
                "grant_types",
            ),
            (
                ClientInput {
                    token_endpoint_auth_method: Some("private_key_jwt".into()),
                    ..input()
                },
                "jwks",
            ),
            (
                ClientInput {
                    client_secret: Some("short".into()),
                    ..input()
                },
                "client_secret",
            ),
            (
                ClientInput {
                    account_kinds: vec!["vip".into()],
                    ..input()
                },
                "account_kinds",
            ),
            (
                ClientInput {
                    scopes: Some(vec!["a b".into()]),
                    ..input()
                },
                "scopes",
            ),
            (
                ClientInput {
                    id_token_signed_response_alg: Some("HS256".into()),
                    ..input()
                },
                "id_token_signed_response_alg",
            ),
        ];
        for (case, field) in cases {
            match build(case, OffsetDateTime::UNIX_EPOCH) {
                Err(AdminError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected an error on {field}, got {other:?}"),
            }
        }
    }
}
