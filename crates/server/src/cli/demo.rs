//! Demo mode (`serve --demo`): a demo relying party, a demo identity and demo customers with
//! published passwords, in a database that says it is a demo database, on loopback only.

use anyhow::Context;
use gan_connect::settings::{DemoDatabase, Settings};
use gan_connect::wiring;
use gan_store::Store;
use gan_web::AppState;

pub const DEMO_CLIENT: &str = "demo-portal";
pub const DEMO_REDIRECT: &str = "http://127.0.0.1:9090/callback";
pub const DEMO_EMAIL: &str = "demo@example.fr";
pub const DEMO_PASSWORD: &str = "Demo-password-2026";

/// Makes the (migrated) database a demo database. Demo mode's own database always is one; a
/// database the operator gave becomes one only if it is new, or a demo database already: demo
/// data must not land beside a real deployment's.
pub async fn claim(
    store: &Store,
    settings: &Settings,
    database: DemoDatabase,
) -> anyhow::Result<()> {
    let url = wiring::redact(&settings.database.url);
    if database == DemoDatabase::Given
        && !store
            .is_demo()
            .await
            .context("cannot read the demo marker")?
        && store
            .holds_data()
            .await
            .context("cannot read the database")?
    {
        anyhow::bail!(
            "serve --demo would add a demo identity and demo customers whose passwords are \
             published to {url}, which holds relying parties, identities or customer accounts of \
             a real deployment. Leave database.url unset (demo mode then uses {}), or give it a \
             new database",
            gan_connect::settings::DEMO_DATABASE_URL
        );
    }
    store
        .mark_demo(time::OffsetDateTime::now_utc())
        .await
        .with_context(|| format!("cannot mark {url} as a demo database"))?;
    Ok(())
}

/// Refuses, for a start without `--demo`, a database that `serve --demo` set up.
pub async fn refuse_demo_database(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    if store
        .is_demo()
        .await
        .context("cannot read the demo marker")?
    {
        anyhow::bail!(
            "the database {} was set up by `serve --demo`: it holds a demo identity and demo \
             customers whose passwords are published. Start with --demo to keep using it as a \
             demo, or set database.url to another database for real use",
            wiring::redact(&settings.database.url)
        );
    }
    Ok(())
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
pub async fn seed(state: &AppState) -> anyhow::Result<String> {
    let context = gan_audit::Context {
        ip: None,
        correlation_id: Some(format!("demo-{}", std::process::id())),
        actor: Some(gan_audit::Actor::admin("serve --demo")),
        reason: None,
    };
    let secret = gan_audit::scope(context, seed_as_admin(state)).await?;
    state.admin.audit.flush().await;
    Ok(secret)
}

async fn seed_as_admin(state: &AppState) -> anyhow::Result<String> {
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
    match super::identity::create(&state.admin, DEMO_EMAIL, DEMO_PASSWORD).await {
        Ok(_) | Err(gan_accounts::CreateIdentityError::EmailTaken) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(secret)
}

pub fn print(settings: &Settings, secret: &str) {
    let issuer = settings.server.issuer.trim_end_matches('/');
    // A fixed PKCE pair, so the URL below can be pasted as is (demo only).
    let verifier = "demo-verifier-demo-verifier-demo-verifier-0123";
    let challenge = gan_oidc::pkce::challenge_s256(verifier);
    println!();
    println!("DEMO MODE (never in production)");
    println!(
        "  database:      {}",
        wiring::redact(&settings.database.url)
    );
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
