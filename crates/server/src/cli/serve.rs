//! `gan-connect serve`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use gan_connect::settings::Settings;
use gan_connect::wiring;
use gan_oidc::model::{AuthMethod, Client};
use gan_oidc::secret::{hash_handle, new_handle};
use gan_web::AppState;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Demo mode: a demo relying party and a demo identity, printed at start.
    #[arg(long)]
    demo: bool,
    /// Do not apply migrations at start.
    #[arg(long)]
    no_migrate: bool,
}

pub const DEMO_CLIENT: &str = "demo-portal";
pub const DEMO_REDIRECT: &str = "http://127.0.0.1:9090/callback";
pub const DEMO_EMAIL: &str = "demo@example.fr";
pub const DEMO_PASSWORD: &str = "Demo-password-2026";

pub async fn run(settings: Settings, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let store = wiring::connect_store(&settings).await?;
    if settings.server.migrate_on_start && !args.no_migrate {
        store.migrate().await.context("migrations failed")?;
    }
    let sealer = wiring::sealer(&settings)?;
    let built = wiring::build(
        &settings,
        store,
        Arc::new(gan_oidc::clock::SystemClock),
        sealer,
    )
    .await?;
    let _ = gan_web::metrics::handle();
    let demo = args.demo || settings.server.demo;
    let mut built = built;
    let demo_secret = if demo {
        built.state.mailbox = Some(built.postman.clone());
        Some(seed_demo(&built.state, &built.store).await?)
    } else {
        None
    };

    let listener = tokio::net::TcpListener::bind(&settings.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(issuer = %settings.server.issuer, listen = %local, "gan-connect is ready");
    println!("Gan Connect is running.");
    println!("  issuer:    {}", settings.server.issuer);
    println!(
        "  discovery: {}/.well-known/openid-configuration",
        settings.server.issuer.trim_end_matches('/')
    );
    println!("  listening: {local}");
    if let Some(secret) = demo_secret {
        print_demo(&settings, &secret);
    }
    let retention = time::Duration::days(settings.admin.audit_retention_days.max(1));
    tokio::spawn(purge_loop(built.state.provider.clone(), retention));
    let audit = built.state.provider.audit.clone();
    tokio::spawn(built.postman.clone().run(std::time::Duration::from_secs(
        settings.mail.retry_seconds.max(1),
    )));
    gan_web::serve::serve(listener, gan_web::app(built.state), shutdown()).await?;
    audit.flush().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Every ten minutes, removes expired interactions, codes, sessions and tokens, and audit events
/// past their retention. Several processes may do it at once: the deletes are idempotent.
async fn purge_loop(provider: Arc<gan_oidc::Provider>, audit_retention: time::Duration) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        match provider.purge_expired().await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired records purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of expired records failed"),
        }
        match provider.audit.purge(provider.now() - audit_retention).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "audit events past retention purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of old audit events failed"),
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// The demo relying party (a fresh secret at every start) and the demo identity.
/// Demo customers: (client number, kind, label, legacy password).
pub const DEMO_CUSTOMERS: [(&str, &str, &str, &str); 3] = [
    ("90000001", "personal", "Claire Demo", "demo-ancien-1"),
    (
        "90000002",
        "professional",
        "Demo Boulangerie",
        "demo-ancien-2",
    ),
    ("90000003", "personal", "Luc Demo", "demo-ancien-3"),
];

async fn seed_demo(state: &AppState, store: &gan_store::Store) -> anyhow::Result<String> {
    use gan_accounts::ports::CustomerStore;
    let now = state.provider.now();
    let mut csv = String::from("client_number,kind,label,contact_email,legacy_hash\n");
    for (number, kind, label, password) in DEMO_CUSTOMERS {
        let hash = bcrypt::hash(password, 8).map_err(|e| anyhow::anyhow!("demo hash: {e}"))?;
        csv.push_str(&format!(
            "{number},{kind},{label},famille.demo@example.fr,{hash}\n"
        ));
    }
    let parsed = gan_accounts::import::parse(csv.as_bytes(), now).map_err(anyhow::Error::msg)?;
    // Existing demo customers (perhaps upgraded already) are left as they are.
    let mut fresh = Vec::new();
    for row in parsed.rows {
        if store.find_customer(&row.client_number).await?.is_none() {
            fresh.push(row);
        }
    }
    store.upsert_customers(&fresh, now).await?;
    tracing::warn!("DEMO MODE IS ON: a demo client and a demo identity with a published password exist. Never use demo mode in production.");
    let secret = new_handle("");
    let client = Client {
        secret_hash: Some(hash_handle(&secret)),
        redirect_uris: vec![DEMO_REDIRECT.into()],
        post_logout_redirect_uris: vec!["http://127.0.0.1:9090/".into()],
        scopes: ["openid", "profile", "email", "offline_access", "accounts"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: AuthMethod::ClientSecretBasic,
        first_party: true,
        created_at: time::OffsetDateTime::now_utc(),
        ..Client::bare(DEMO_CLIENT, "Portail de démonstration")
    };
    state.provider.save_client(&client).await?;
    match state
        .accounts
        .create_identity(DEMO_EMAIL, DEMO_PASSWORD, state.provider.now())
        .await
    {
        Ok(_) | Err(gan_accounts::CreateIdentityError::EmailTaken) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(secret)
}

fn print_demo(settings: &Settings, secret: &str) {
    let issuer = settings.server.issuer.trim_end_matches('/');
    // A fixed PKCE pair, so the URL below can be pasted as is (demo only).
    let verifier = "demo-verifier-demo-verifier-demo-verifier-0123";
    let challenge = gan_oidc::pkce::challenge_s256(verifier);
    println!();
    println!("DEMO MODE (never in production)");
    println!("  relying party: client_id={DEMO_CLIENT} client_secret={secret}");
    println!("                 redirect_uri={DEMO_REDIRECT} (client_secret_basic, PKCE S256)");
    println!("  identity:      {DEMO_EMAIL} / {DEMO_PASSWORD}");
    println!("  customers with a legacy login (client number / password), to try the upgrade:");
    for (number, kind, label, password) in DEMO_CUSTOMERS {
        println!("                 {number} / {password}   ({kind}, {label})");
    }
    println!("  messages sent: {issuer}/demo/mailbox");
    println!("  try it: open");
    println!("    {issuer}/authorize?response_type=code&client_id={DEMO_CLIENT}&redirect_uri={}&scope=openid%20email&state=demo&code_challenge={challenge}&code_challenge_method=S256", url_encode(DEMO_REDIRECT));
    println!("  sign in, copy `code` from the address bar, then:");
    println!("    curl -u {DEMO_CLIENT}:{secret} -d grant_type=authorization_code -d code=CODE --data-urlencode redirect_uri={DEMO_REDIRECT} -d code_verifier={verifier} {issuer}/token");
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
