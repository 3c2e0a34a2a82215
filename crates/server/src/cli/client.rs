//! `gan-connect client …`: register and list relying parties.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use gan_connect::settings::Settings;
use gan_oidc::model::{AuthMethod, Client, SigningAlg, GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN};
use gan_oidc::ports::ClientStore;
use gan_oidc::secret::{hash_handle, new_handle};
use gan_store::Store;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a relying party; prints its id and, for a generated secret, the secret (once).
    Add(AddArgs),
    /// List relying parties.
    List {
        #[arg(long)]
        json: bool,
    },
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
}

/// A redirect URI must be absolute, without fragment; http only for loopback hosts.
fn check_uri(uri: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(uri).with_context(|| format!("{uri} is not an absolute URI"))?;
    if url.fragment().is_some() {
        bail!("{uri}: redirect URIs cannot have a fragment");
    }
    if url.scheme() == "http" && !matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) {
        tracing::warn!(uri, "http redirect URI outside loopback: use https in production");
    }
    Ok(())
}

fn build_client(a: AddArgs, secret_from_stdin: Option<String>) -> anyhow::Result<(Client, Option<String>)> {
    if a.id.trim().is_empty() || a.id.len() > 100 || a.id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("--id must be 1 to 100 visible characters");
    }
    for uri in a.redirect_uris.iter().chain(&a.post_logout_redirect_uris) {
        check_uri(uri)?;
    }
    let auth_method = match (&a.auth_method, a.public) {
        (Some(m), _) => AuthMethod::parse(m).with_context(|| format!("unknown --auth-method {m}"))?,
        (None, true) => AuthMethod::None,
        (None, false) if a.jwks.is_some() => AuthMethod::PrivateKeyJwt,
        (None, false) => AuthMethod::ClientSecretBasic,
    };
    if a.public && auth_method != AuthMethod::None {
        bail!("--public clients use --auth-method none");
    }
    let jwks = match &a.jwks {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text).context("--jwks is not JSON")?;
            if !v.get("keys").is_some_and(|k| k.is_array()) {
                bail!("--jwks must be a JWK set ({{\"keys\": [...]}})");
            }
            Some(v)
        }
        None => None,
    };
    if auth_method == AuthMethod::PrivateKeyJwt && jwks.is_none() {
        bail!("private_key_jwt needs --jwks FILE");
    }
    let needs_secret = matches!(auth_method, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost);
    let (secret_hash, printed) = match (needs_secret, secret_from_stdin) {
        (false, Some(_)) => bail!("--secret-stdin only applies to client_secret_basic and client_secret_post"),
        (false, None) => (None, None),
        (true, Some(s)) if s.chars().count() < 32 => bail!("the secret must have at least 32 characters"),
        (true, Some(s)) => (Some(hash_handle(&s)), None),
        (true, None) => {
            let s = new_handle("");
            (Some(hash_handle(&s)), Some(s))
        }
    };
    let grant_types = if !a.grant_types.is_empty() {
        for g in &a.grant_types {
            if ![GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_CLIENT_CREDENTIALS].contains(&g.as_str()) {
                bail!("unknown --grant-type {g}");
            }
        }
        a.grant_types.clone()
    } else if a.redirect_uris.is_empty() {
        vec![GRANT_CLIENT_CREDENTIALS.to_string()]
    } else {
        vec![GRANT_AUTHORIZATION_CODE.to_string(), GRANT_REFRESH_TOKEN.to_string()]
    };
    if grant_types.iter().any(|g| g == GRANT_AUTHORIZATION_CODE) && a.redirect_uris.is_empty() {
        bail!("authorization_code needs at least one --redirect-uri");
    }
    if auth_method == AuthMethod::None && grant_types.iter().any(|g| g == GRANT_CLIENT_CREDENTIALS) {
        bail!("public clients cannot use client_credentials");
    }
    for k in &a.account_kinds {
        if !["personal", "professional"].contains(&k.as_str()) {
            bail!("unknown --account-kind {k} (personal or professional)");
        }
    }
    let scopes = if a.scopes.is_empty() {
        ["openid", "profile", "email", "offline_access", "accounts"].iter().map(|s| s.to_string()).collect()
    } else {
        a.scopes.clone()
    };
    let id_token_alg = SigningAlg::parse(&a.id_token_alg).with_context(|| format!("unknown --id-token-alg {}", a.id_token_alg))?;
    let client = Client {
        id: a.id,
        name: a.name,
        secret_hash,
        redirect_uris: a.redirect_uris,
        post_logout_redirect_uris: a.post_logout_redirect_uris,
        scopes,
        grant_types,
        auth_method,
        jwks,
        id_token_alg,
        account_kinds: a.account_kinds,
        first_party: a.first_party,
        require_pkce: true,
        enabled: true,
        created_at: time::OffsetDateTime::now_utc(),
    };
    Ok((client, printed))
}

pub async fn run(settings: Settings, command: ClientCommand) -> anyhow::Result<ExitCode> {
    let store = gan_connect::wiring::connect_store(&settings).await?;
    store.migrate().await?;
    match command {
        ClientCommand::Add(a) => {
            let secret = if a.secret_stdin { Some(super::read_stdin_line()?) } else { None };
            let (client, printed) = build_client(a, secret)?;
            add(&store, &client).await?;
            println!("client_id: {}", client.id);
            if let Some(s) = printed {
                println!("client_secret: {s}");
                eprintln!("(the secret is shown once: store it now)");
            }
            Ok(ExitCode::SUCCESS)
        }
        ClientCommand::List { json } => {
            let clients = store.list_clients().await?;
            if json {
                let rows: Vec<serde_json::Value> = clients.iter().map(describe).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:<24} {:<28} {:<20} {:<8} REDIRECT URIS", "CLIENT ID", "NAME", "AUTH", "ENABLED");
                for c in &clients {
                    println!("{:<24} {:<28} {:<20} {:<8} {}", c.id, c.name, c.auth_method.as_str(), c.enabled, c.redirect_uris.join(" "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn add(store: &Store, client: &Client) -> anyhow::Result<()> {
    if store.find_client(&client.id).await?.is_some() {
        bail!("a client with id {} already exists", client.id);
    }
    store.save_client(client).await?;
    Ok(())
}

fn describe(c: &Client) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.id,
        "name": c.name,
        "auth_method": c.auth_method.as_str(),
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "scopes": c.scopes,
        "grant_types": c.grant_types,
        "account_kinds": c.account_kinds,
        "id_token_signed_response_alg": c.id_token_alg.as_str(),
        "first_party": c.first_party,
        "enabled": c.enabled,
    })
}
