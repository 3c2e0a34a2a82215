//! `gan-connect serve`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use gan_connect::settings::Settings;
use gan_connect::wiring;
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
    let key = wiring::encryption_key(&settings)?;
    let built = wiring::build(
        &settings,
        store,
        Arc::new(gan_oidc::clock::SystemClock),
        &key,
    )
    .await?;
    let _ = gan_web::metrics::handle();
    let demo = args.demo || settings.server.demo;
    let mut built = built;
    let demo_secret = if demo {
        // The demo mailbox shows what this process delivers, from its memory only.
        built.postman.keep_delivered(50);
        built.state.mailbox = Some(built.postman.clone());
        Some(seed_demo(&built.state).await?)
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
    let mail_retention = time::Duration::days(settings.mail.retention_days.max(0));
    tokio::spawn(purge_loop(
        built.state.provider.clone(),
        built.state.accounts.clone(),
        retention,
        (built.postman.clone(), mail_retention),
    ));
    let audit = built.state.provider.audit.clone();
    tokio::spawn(built.postman.clone().run(std::time::Duration::from_secs(
        settings.mail.retry_seconds.max(1),
    )));
    gan_web::serve::serve(listener, gan_web::app(built.state), shutdown()).await?;
    audit.flush().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Every ten minutes, removes expired interactions, codes, sessions and tokens, throttle
/// counters and one-time links, audit events past their retention, and sent or given-up mail
/// past `mail.retention_days`. Several processes may do it at once: the deletes are idempotent.
async fn purge_loop(
    provider: Arc<gan_oidc::Provider>,
    accounts: Arc<gan_accounts::Accounts>,
    audit_retention: time::Duration,
    (postman, mail_retention): (Arc<gan_mail::Postman>, time::Duration),
) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        match provider.purge_expired().await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired records purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of expired records failed"),
        }
        match accounts.purge_expired(provider.now()).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired counters and links purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of expired counters and links failed"),
        }
        match provider.audit.purge(provider.now() - audit_retention).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "audit events past retention purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of old audit events failed"),
        }
        match postman.purge(provider.now() - mail_retention).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "sent and given-up mail purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of sent and given-up mail failed"),
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

/// Seeds the demo through the engines, as an administrator would (audited, actor
/// `admin:serve --demo`): the demo customers that do not exist yet (existing ones, perhaps
/// upgraded already, are left as they are), the demo relying party (registered afresh at every
/// start, with a new secret, whatever was done to it since) and the demo identity. Returns the
/// relying party's secret.
async fn seed_demo(state: &AppState) -> anyhow::Result<String> {
    let context = gan_audit::Context {
        ip: None,
        correlation_id: Some(format!("demo-{}", std::process::id())),
        actor: Some(gan_audit::Actor::admin("serve --demo")),
    };
    let secret = gan_audit::scope(context, seed_demo_as_admin(state)).await?;
    state.admin.audit.flush().await;
    Ok(secret)
}

async fn seed_demo_as_admin(state: &AppState) -> anyhow::Result<String> {
    let now = state.provider.now();
    let mut csv = String::from("client_number,kind,label,contact_email,legacy_hash\n");
    let mut fresh = 0;
    for (number, kind, label, password) in DEMO_CUSTOMERS {
        if state.accounts.customer(number).await?.is_some() {
            continue;
        }
        let hash = bcrypt::hash(password, 8).map_err(|e| anyhow::anyhow!("demo hash: {e}"))?;
        csv.push_str(&format!(
            "{number},{kind},{label},famille.demo@example.fr,{hash}\n"
        ));
        fresh += 1;
    }
    if fresh > 0 {
        state.accounts.import_customers(csv.as_bytes(), now).await?;
    }
    tracing::warn!("DEMO MODE IS ON: a demo client and a demo identity with a published password exist. Never use demo mode in production.");
    if state.provider.client(DEMO_CLIENT).await?.is_some() {
        state.admin.delete_client(DEMO_CLIENT).await?;
    }
    let input = gan_admin::ClientInput {
        client_id: DEMO_CLIENT.into(),
        client_name: "Portail de démonstration".into(),
        redirect_uris: vec![DEMO_REDIRECT.into()],
        post_logout_redirect_uris: vec!["http://127.0.0.1:9090/".into()],
        scopes: Some(
            ["openid", "profile", "email", "offline_access", "accounts"]
                .map(String::from)
                .to_vec(),
        ),
        token_endpoint_auth_method: Some("client_secret_basic".into()),
        first_party: true,
        ..Default::default()
    };
    let created = state.admin.create_client(input).await?;
    let secret = created
        .client_secret
        .ok_or_else(|| anyhow::anyhow!("the demo client was registered without a secret"))?;
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
