//! `gan-connect client …`: relying parties (the same operations as the admin API).

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use gan_admin::{Admin, ClientInput, ClientPatch, ClientView};
use gan_connect::settings::Settings;

use super::output;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a relying party; prints its id and, for a generated secret, the secret (once).
    Add(AddArgs),
    /// List relying parties.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one relying party.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a relying party: each option given replaces that setting.
    Update(UpdateArgs),
    /// Make a new secret (printed once); the old one works for admin.secret_grace_hours more.
    RotateSecret {
        id: String,
        /// The old secret leaked: it stops working now and the client's tokens are revoked.
        #[arg(long)]
        revoke_previous: bool,
        #[arg(long)]
        json: bool,
    },
    /// Disable a relying party and revoke its tokens.
    Disable { id: String },
    /// Delete a relying party with its tokens and consents.
    Delete { id: String },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[arg(long)]
    id: String,
    #[arg(long)]
    name: String,
    /// Exact redirect URI (repeat for several).
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// Exact post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required; auth method none).
    #[arg(long)]
    public: bool,
    /// Read the secret from standard input (up to the first newline; at least 32 characters).
    #[arg(long)]
    secret_stdin: bool,
    /// Allowed scope (repeat); default: openid profile email offline_access accounts.
    #[arg(long = "scope", value_name = "S")]
    scopes: Vec<String>,
    /// Account kinds this client may see (repeat): personal, professional. Default: both.
    #[arg(long = "account-kind", value_name = "KIND")]
    account_kinds: Vec<String>,
    /// Browser origin allowed to call /token, /userinfo and /revoke (CORS), beyond those of the
    /// redirect URIs (repeat): https://app.example.fr.
    #[arg(long = "web-origin", value_name = "ORIGIN")]
    web_origins: Vec<String>,
    /// Access tokens: opaque (default) or jwt (RFC 9068, checkable offline with JWKS).
    #[arg(long = "access-token-format", value_name = "FORMAT")]
    access_token_format: Option<String>,
    /// Where the client is told, server to server, that a session ended (Back-Channel Logout).
    #[arg(long = "backchannel-logout-uri", value_name = "URI")]
    backchannel_logout_uri: Option<String>,
    /// The client needs sid in logout tokens (always sent when known).
    #[arg(long = "backchannel-logout-session-required")]
    backchannel_logout_session_required: bool,
    /// Allowed grant type (repeat); default: authorization_code and refresh_token, or
    /// client_credentials for a client without redirect URIs.
    #[arg(long = "grant-type", value_name = "G")]
    grant_types: Vec<String>,
    /// client_secret_basic (default), client_secret_post, private_key_jwt or none.
    #[arg(long = "auth-method", value_name = "M")]
    auth_method: Option<String>,
    /// Public JWK set file, for private_key_jwt.
    #[arg(long, value_name = "FILE")]
    jwks: Option<std::path::PathBuf>,
    /// ID-token signing algorithm: RS256 (default), ES256 or EdDSA.
    #[arg(long = "id-token-alg", default_value = "RS256")]
    id_token_alg: String,
    /// A first-party client: no consent page.
    #[arg(long)]
    first_party: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    id: String,
    #[arg(long)]
    name: Option<String>,
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Option<Vec<String>>,
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    post_logout_redirect_uris: Option<Vec<String>>,
    #[arg(long = "scope", value_name = "S")]
    scopes: Option<Vec<String>>,
    #[arg(long = "account-kind", value_name = "KIND")]
    account_kinds: Option<Vec<String>>,
    #[arg(long = "web-origin", value_name = "ORIGIN")]
    web_origins: Option<Vec<String>>,
    /// opaque or jwt: the form of the access tokens issued from now on.
    #[arg(long = "access-token-format", value_name = "FORMAT")]
    access_token_format: Option<String>,
    /// A new back-channel logout URI ("" removes it).
    #[arg(long = "backchannel-logout-uri", value_name = "URI")]
    backchannel_logout_uri: Option<String>,
    /// true or false.
    #[arg(long = "backchannel-logout-session-required", value_name = "BOOL")]
    backchannel_logout_session_required: Option<bool>,
    #[arg(long = "grant-type", value_name = "G")]
    grant_types: Option<Vec<String>>,
    #[arg(long = "id-token-alg")]
    id_token_alg: Option<String>,
    /// true or false.
    #[arg(long = "first-party", value_name = "BOOL")]
    first_party: Option<bool>,
    /// true (enable) or false (disable, revoking the client's tokens).
    #[arg(long, value_name = "BOOL")]
    enabled: Option<bool>,
    #[arg(long, value_name = "FILE")]
    jwks: Option<std::path::PathBuf>,
    #[arg(long)]
    json: bool,
}

fn read_jwks(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).context("--jwks is not JSON")
}

fn input(a: AddArgs, secret: Option<String>) -> anyhow::Result<ClientInput> {
    let auth_method = match (a.auth_method, a.public) {
        (Some(m), true) if m != "none" => anyhow::bail!("--public clients use --auth-method none"),
        (_, true) => Some("none".to_string()),
        (m, false) => m,
    };
    Ok(ClientInput {
        client_id: a.id,
        client_name: a.name,
        redirect_uris: a.redirect_uris,
        post_logout_redirect_uris: a.post_logout_redirect_uris,
        scopes: (!a.scopes.is_empty()).then_some(a.scopes),
        grant_types: (!a.grant_types.is_empty()).then_some(a.grant_types),
        token_endpoint_auth_method: auth_method,
        jwks: a.jwks.as_deref().map(read_jwks).transpose()?,
        id_token_signed_response_alg: Some(a.id_token_alg),
        account_kinds: a.account_kinds,
        web_origins: a.web_origins,
        access_token_format: a.access_token_format,
        backchannel_logout_uri: a.backchannel_logout_uri,
        backchannel_logout_session_required: a.backchannel_logout_session_required,
        first_party: a.first_party,
        client_secret: secret,
    })
}

fn show(c: &ClientView) {
    output::record(&[
        ("client_id", c.client_id.clone()),
        ("name", c.client_name.clone()),
        ("enabled", c.enabled.to_string()),
        ("auth method", c.token_endpoint_auth_method.clone()),
        ("redirect URIs", c.redirect_uris.join(" ")),
        ("post-logout URIs", c.post_logout_redirect_uris.join(" ")),
        ("scopes", c.scopes.join(" ")),
        ("grant types", c.grant_types.join(" ")),
        (
            "account kinds",
            if c.account_kinds.is_empty() {
                "all".into()
            } else {
                c.account_kinds.join(" ")
            },
        ),
        ("web origins", c.web_origins.join(" ")),
        ("access tokens", c.access_token_format.clone()),
        (
            "back-channel logout",
            c.backchannel_logout_uri.clone().unwrap_or_default(),
        ),
        ("ID token alg", c.id_token_signed_response_alg.clone()),
        ("first party", c.first_party.to_string()),
        ("created", output::time(Some(c.created_at))),
        (
            "old secret until",
            output::time(c.previous_secret_expires_at),
        ),
    ]);
}

fn print_secret(id: &str, secret: Option<&str>) {
    println!("client_id: {}", output::clean(id));
    if let Some(s) = secret {
        println!("client_secret: {}", output::clean(s));
        eprintln!("(the secret is shown once: store it now)");
    }
}

impl ClientCommand {
    /// Whether the command only reads (it then opens the database read-only).
    fn reads_only(&self) -> bool {
        matches!(self, Self::List { .. } | Self::Show { .. })
    }
}

pub async fn run(settings: Settings, command: ClientCommand) -> anyhow::Result<ExitCode> {
    if command.reads_only() {
        return super::with_reader(
            &settings,
            |admin| async move { exec(&admin, command).await },
        )
        .await;
    }
    super::with_admin(
        &settings,
        |admin| async move { exec(&admin, command).await },
    )
    .await
}

async fn exec(admin: &Admin, command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Add(a) => {
            let secret = if a.secret_stdin {
                Some(super::read_stdin_line()?)
            } else {
                None
            };
            let json = a.json;
            let created = admin.create_client(input(a, secret)?).await?;
            if json {
                output::json(&created)?;
            } else {
                print_secret(&created.client.client_id, created.client_secret.as_deref());
            }
        }
        ClientCommand::List { json } => {
            let clients = admin.list_clients().await?;
            if json {
                output::json(&clients)?;
            } else {
                let rows = clients.iter().map(|c| {
                    vec![
                        c.client_id.clone(),
                        c.client_name.clone(),
                        c.token_endpoint_auth_method.clone(),
                        c.enabled.to_string(),
                        c.redirect_uris.join(" "),
                    ]
                });
                output::table(
                    &["CLIENT ID", "NAME", "AUTH", "ENABLED", "REDIRECT URIS"],
                    rows,
                );
            }
        }
        ClientCommand::Show { id, json } => {
            let c = admin.get_client(&id).await?;
            if json {
                output::json(&c)?
            } else {
                show(&c)
            }
        }
        ClientCommand::Update(u) => {
            let patch = ClientPatch {
                client_name: u.name,
                redirect_uris: u.redirect_uris,
                post_logout_redirect_uris: u.post_logout_redirect_uris,
                scopes: u.scopes,
                grant_types: u.grant_types,
                account_kinds: u.account_kinds,
                web_origins: u.web_origins,
                access_token_format: u.access_token_format,
                backchannel_logout_uri: u.backchannel_logout_uri,
                backchannel_logout_session_required: u.backchannel_logout_session_required,
                id_token_signed_response_alg: u.id_token_alg,
                first_party: u.first_party,
                enabled: u.enabled,
                jwks: u.jwks.as_deref().map(read_jwks).transpose()?,
            };
            let c = admin.update_client(&u.id, patch).await?;
            if u.json {
                output::json(&c)?
            } else {
                show(&c)
            }
        }
        ClientCommand::RotateSecret {
            id,
            revoke_previous,
            json,
        } => {
            let rotated = admin.rotate_client_secret(&id, revoke_previous).await?;
            if json {
                output::json(&rotated)?;
            } else {
                print_secret(&id, rotated.client_secret.as_deref());
                if revoke_previous {
                    println!(
                        "the previous secret no longer works; the client's tokens are revoked"
                    );
                } else {
                    println!(
                        "the previous secret works until {}",
                        output::time(rotated.client.previous_secret_expires_at)
                    );
                }
            }
        }
        ClientCommand::Disable { id } => {
            admin.disable_client(&id).await?;
            println!(
                "client {} disabled; its tokens are revoked",
                output::clean(&id)
            );
        }
        ClientCommand::Delete { id } => {
            admin.delete_client(&id).await?;
            println!("client {} deleted", output::clean(&id));
        }
    }
    Ok(ExitCode::SUCCESS)
}
