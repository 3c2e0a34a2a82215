//! Builds the application from settings: storage, keys, engines, pages and web state.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gan_accounts::password::{HashCost, Hasher};
use gan_accounts::policy::PasswordPolicy;
use gan_accounts::ports::{
    AccessCut, AccessStore, AccountsStoreError, MailError, Mailer, OutgoingMail,
};
use gan_accounts::{Accounts, AccountsPorts, JourneySettings};
use gan_admin::{Admin, AdminSettings};
use gan_audit::Auditor;
use gan_mail::{MailSealer, Postman, SmtpSettings, SmtpTls, Transport};
use gan_oidc::client_cache::CachedClients;
use gan_oidc::clock::Clock;
use gan_oidc::keys::KeySealer;
use gan_oidc::ports::Stores;
use gan_oidc::provider::Ports;
use gan_oidc::{Provider, ProviderConfig};
use gan_store::{Schema, Store, StoreOptions};
use gan_web::mail::WebMailer;
use gan_web::{AppState, Pages, Readiness, WebSettings};

use crate::settings::{MailTransport, Settings};

/// Connects to the configured database.
pub async fn connect_store(settings: &Settings) -> anyhow::Result<Store> {
    let options = StoreOptions {
        url: settings.database.url.clone(),
        max_connections: settings.database.max_connections,
        connect_timeout: Duration::from_secs(settings.database.connect_timeout_seconds),
    };
    Store::connect(&options).await.with_context(|| {
        format!(
            "cannot connect to the database {}",
            redact(&settings.database.url)
        )
    })
}

/// Refuses a database whose schema is missing or behind this build, saying to run `migrate`.
pub async fn require_current_schema(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    let url = redact(&settings.database.url);
    match store
        .schema()
        .await
        .with_context(|| format!("cannot read the schema of the database {url}"))?
    {
        Schema::Current => Ok(()),
        Schema::Missing => anyhow::bail!(
            "the database {url} has no Gan Connect schema: run `gan-connect migrate` first"
        ),
        Schema::Outdated(pending) => anyhow::bail!(
            "the database {url} is not migrated to this version of gan-connect (pending: {}): \
             run `gan-connect migrate`",
            pending.join(", ")
        ),
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The engine's settings from the configuration.
pub fn provider_config(settings: &Settings) -> anyhow::Result<ProviderConfig> {
    let issuer = settings.issuer().map_err(anyhow::Error::msg)?;
    let secs = time::Duration::seconds;
    let t = &settings.tokens;
    let mut c = ProviderConfig::new(issuer);
    c.code_ttl = secs(t.code_ttl_seconds);
    c.access_token_ttl = secs(t.access_token_ttl_seconds);
    c.refresh_token_ttl = secs(t.refresh_token_ttl_seconds);
    c.id_token_ttl = secs(t.id_token_ttl_seconds);
    c.interaction_ttl = secs(t.interaction_ttl_seconds);
    c.session_ttl = secs(t.session_ttl_seconds);
    c.require_pkce = t.require_pkce;
    c.key_publish_delay = secs(settings.keys.publish_delay_seconds);
    c.key_reload_interval = secs(settings.keys.reload_seconds);
    Ok(c)
}

/// The key-encryption key when there is one: from the configuration, else from the key file if
/// it exists. Never creates the file.
pub fn existing_encryption_key(settings: &Settings) -> anyhow::Result<Option<[u8; 32]>> {
    let decode = |text: &str, origin: &str| -> anyhow::Result<[u8; 32]> {
        let bytes = STANDARD
            .decode(text.trim())
            .with_context(|| format!("{origin} is not base64"))?;
        bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{origin} must be 32 bytes"))
    };
    if !settings.keys.encryption_key.is_empty() {
        return decode(&settings.keys.encryption_key, "keys.encryption_key").map(Some);
    }
    let path = PathBuf::from(&settings.keys.encryption_key_file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(decode(&text, &path.display().to_string())?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The sealer of private signing keys when the key-encryption key exists (for the commands that
/// only read: they never create the key file).
pub fn existing_sealer(settings: &Settings) -> anyhow::Result<Option<KeySealer>> {
    Ok(existing_encryption_key(settings)?.map(|key| KeySealer::new(&key)))
}

/// The key-encryption key, which seals private signing keys and queued mail and from which the
/// throttle keys' hash key is derived: from the configuration, else from the key file, which is
/// generated (mode 0600, in a folder created 0700) when missing.
pub fn encryption_key(settings: &Settings) -> anyhow::Result<[u8; 32]> {
    if let Some(key) = existing_encryption_key(settings)? {
        return Ok(key);
    }
    let path = PathBuf::from(&settings.keys.encryption_key_file);
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    write_secret(&path, &STANDARD.encode(key))
        .with_context(|| format!("cannot write {}", path.display()))?;
    tracing::warn!(file = %path.display(), "generated a new key-encryption key; back it up with the database");
    Ok(key)
}

/// The sealer of private signing keys, under [`encryption_key`].
pub fn sealer(settings: &Settings) -> anyhow::Result<KeySealer> {
    Ok(KeySealer::new(&encryption_key(settings)?))
}

fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        gan_store::create_private_dir(dir)?;
    }
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(text.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, text)
    }
}

/// The password hasher from the configuration.
pub fn hasher(settings: &Settings) -> anyhow::Result<Hasher> {
    let p = &settings.passwords;
    let workers = if p.hash_workers == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    } else {
        p.hash_workers
    };
    let cost = HashCost {
        memory_kib: p.argon2_memory_kib,
        iterations: p.argon2_iterations,
        parallelism: p.argon2_parallelism,
    };
    Hasher::new(cost, workers).map_err(|e| anyhow::anyhow!("passwords: {e}"))
}

/// The accounts engine's view of sessions and tokens: the provider's, so that a credential
/// change cuts off through the same rules as a logout.
struct ProviderAccess(Arc<Provider>);

#[async_trait::async_trait]
impl AccessStore for ProviderAccess {
    async fn cut_off(
        &self,
        identity_id: &str,
        keep_sid: Option<&str>,
    ) -> Result<AccessCut, AccountsStoreError> {
        let cut = self
            .0
            .cut_off(identity_id, keep_sid)
            .await
            .map_err(|e| AccountsStoreError::Unavailable(e.to_string()))?;
        Ok(AccessCut {
            sessions_ended: cut.sessions_ended,
            tokens_revoked: cut.tokens_revoked,
        })
    }
}

struct StoreReadiness(Store);

#[async_trait::async_trait]
impl Readiness for StoreReadiness {
    async fn ready(&self) -> bool {
        self.0.ping().await
    }
}

/// Everything built from the settings.
pub struct Built {
    pub state: AppState,
    pub store: Store,
    /// Delivers queued mail: run it (`Postman::run`) in the background.
    pub postman: Arc<Postman>,
}

/// Builds the application state over a connected (and migrated) store; `encryption_key` (from
/// [`encryption_key`]) seals private signing keys and queued mail.
pub async fn build(
    settings: &Settings,
    store: Store,
    clock: Arc<dyn Clock>,
    encryption_key: &[u8; 32],
) -> anyhow::Result<Built> {
    let sealer = KeySealer::new(encryption_key);
    let config = provider_config(settings)?;
    let web = WebSettings {
        body_limit: settings.server.body_limit_bytes,
        request_timeout: Duration::from_secs(settings.server.request_timeout_seconds),
        trusted_proxies: {
            let proxies = settings.trusted_proxies().map_err(anyhow::Error::msg)?;
            if proxies.trusts_everyone() {
                tracing::warn!(
                    "server.trusted_proxies covers every address: any caller can name its own \
                     address in X-Forwarded-For, for throttling and the audit trail alike"
                );
            }
            proxies
        },
        metrics_route: settings.server.metrics_listen.is_empty(),
        ..WebSettings::for_issuer(&config.issuer)
    };
    let shared = Arc::new(store.clone());
    let audit = Auditor::start(shared.clone());
    let ports = provider_ports(settings, &shared, clock, &audit);
    // Throttle keys are keyed hashes: a copy of the database cannot test guesses against them.
    let counter_hash = gan_secret::KeyedHash::new(sealer.derive("throttle-keys"));
    // Staff TOTP secrets are sealed under a key of their own.
    let totp_sealer = KeySealer::new(&sealer.derive("staff-totp"));
    let provider = Provider::start(config, ports, sealer)
        .await
        .context("cannot start the provider")?;
    let theme = (!settings.theme.dir.is_empty()).then(|| PathBuf::from(&settings.theme.dir));
    let pages = Arc::new(Pages::new(theme).map_err(|e| anyhow::anyhow!("theme: {e}"))?);
    let postman = Arc::new(
        Postman::new(
            shared.clone(),
            transport(settings)?,
            MailSealer::new(encryption_key),
        )
        .give_up_after(time::Duration::hours(settings.mail.give_up_hours.max(1))),
    );
    let mailer = Arc::new(WebMailer {
        pages: pages.clone(),
        postman: postman.clone(),
    });
    let provider = Arc::new(provider);
    let (accounts, admin) = engines(
        settings,
        &shared,
        &provider,
        mailer,
        audit,
        counter_hash,
        totp_sealer,
    )?;
    let state = AppState {
        provider,
        accounts: Arc::new(accounts),
        admin,
        pages,
        readiness: Arc::new(StoreReadiness(store.clone())),
        settings: Arc::new(web),
        mailbox: None,
    };
    Ok(Built {
        state,
        store,
        postman,
    })
}

/// The provider's ports, over one store.
fn provider_ports(
    settings: &Settings,
    shared: &Arc<Store>,
    clock: Arc<dyn Clock>,
    audit: &Arc<Auditor>,
) -> Ports {
    let clients = Arc::new(CachedClients::new(
        shared.clone(),
        Duration::from_secs(settings.server.client_cache_seconds),
    ));
    Ports {
        stores: Stores::from_one(shared.clone(), clients),
        claims: shared.clone(),
        clock,
        audit: audit.clone(),
    }
}

/// The accounts engine and the admin service, over one store and a provider.
fn engines(
    settings: &Settings,
    shared: &Arc<Store>,
    provider: &Arc<Provider>,
    mailer: Arc<dyn Mailer>,
    audit: Arc<Auditor>,
    counter_hash: gan_secret::KeyedHash,
    totp_sealer: KeySealer,
) -> anyhow::Result<(Accounts, Arc<Admin>)> {
    let ports = AccountsPorts {
        identities: shared.clone(),
        customers: shared.clone(),
        links: shared.clone(),
        counters: shared.clone(),
        mailer,
        audit,
        access: Arc::new(ProviderAccess(provider.clone())),
    };
    let a = &settings.accounts;
    let journeys = JourneySettings {
        policy: PasswordPolicy {
            min_length: a.password_min_length,
        },
        link_ttl: time::Duration::hours(a.link_ttl_hours),
        upgrade_ttl: time::Duration::minutes(a.upgrade_ttl_minutes),
        mails_per_hour: a.mails_per_hour,
        max_personal: a.max_personal_accounts,
        max_professional: a.max_professional_accounts,
        reauth_after: time::Duration::minutes(a.reauth_minutes),
        throttle_window: time::Duration::minutes(a.throttle_window_minutes),
        checks_per_hour: a.checks_per_hour,
        counter_hash,
    };
    let accounts = Accounts::new(ports, hasher(settings)?, journeys);
    let admin_settings = AdminSettings {
        secret_grace: time::Duration::hours(settings.admin.secret_grace_hours),
        base_url: provider.config.issuer_str(),
        console: gan_admin::console::ConsoleSettings {
            idle: time::Duration::minutes(settings.admin.console_idle_minutes),
            absolute: time::Duration::hours(settings.admin.console_session_hours),
        },
    };
    let admin = Arc::new(Admin::new(
        provider.clone(),
        accounts.clone(),
        shared.clone(),
        shared.clone(),
        totp_sealer,
        admin_settings,
    ));
    Ok((accounts, admin))
}

/// Connects for reading only ([`Store::connect_read_only`]: nothing is created, any write
/// fails) and checks that the schema is current: for the commands that only look.
pub async fn connect_reader(settings: &Settings) -> anyhow::Result<Store> {
    let options = StoreOptions {
        url: settings.database.url.clone(),
        max_connections: settings.database.max_connections.min(4),
        connect_timeout: Duration::from_secs(settings.database.connect_timeout_seconds),
    };
    let store = Store::connect_read_only(&options).await.with_context(|| {
        format!(
            "cannot open the database {} to read it (is database.url right? `gan-connect \
             migrate` creates and migrates it)",
            redact(&settings.database.url)
        )
    })?;
    require_current_schema(&store, settings).await?;
    Ok(store)
}

/// The admin service for commands that only read, over a [`connect_reader`] store: no key is
/// created or opened (`sealer` opens them only when the keys are listed), no mail can be sent,
/// and nothing is written to disk.
pub fn build_reader(
    settings: &Settings,
    store: Store,
    sealer: Option<KeySealer>,
) -> anyhow::Result<Arc<Admin>> {
    let config = provider_config(settings)?;
    let shared = Arc::new(store);
    let audit = Auditor::start(shared.clone());
    let ports = provider_ports(
        settings,
        &shared,
        Arc::new(gan_oidc::clock::SystemClock),
        &audit,
    );
    // Without a key-encryption key, a random one: the ring starts empty and nothing here asks
    // for the keys (listing them needs the real key, and says so).
    let sealer = sealer.unwrap_or_else(|| {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        KeySealer::new(&key)
    });
    // A reader counts nothing: any key will do for the throttle keys it never writes.
    let counter_hash = gan_secret::KeyedHash::new(sealer.derive("throttle-keys"));
    let totp_sealer = KeySealer::new(&sealer.derive("staff-totp"));
    let provider =
        Arc::new(Provider::reader(config, ports, sealer).context("cannot start the provider")?);
    let (_, admin) = engines(
        settings,
        &shared,
        &provider,
        Arc::new(NoMail),
        audit,
        counter_hash,
        totp_sealer,
    )?;
    Ok(admin)
}

/// The mail port of a reader: it sends nothing.
struct NoMail;

#[async_trait::async_trait]
impl Mailer for NoMail {
    async fn send(&self, _mail: OutgoingMail) -> Result<(), MailError> {
        Err(MailError::Unavailable(
            "a read-only command sends no mail".into(),
        ))
    }
}

/// The mail transport from the configuration.
pub fn transport(settings: &Settings) -> anyhow::Result<Transport> {
    let m = &settings.mail;
    match m.transport {
        MailTransport::Outbox => Transport::outbox(PathBuf::from(&m.outbox_dir), &m.from),
        MailTransport::Smtp => {
            let tls = match m.smtp_tls {
                crate::settings::SmtpTls::Auto => SmtpTls::Auto,
                crate::settings::SmtpTls::None => SmtpTls::None,
                crate::settings::SmtpTls::Starttls => SmtpTls::Starttls,
                crate::settings::SmtpTls::Tls => SmtpTls::Tls,
            };
            let smtp = SmtpSettings {
                host: m.smtp_host.clone(),
                port: m.smtp_port,
                tls,
                ca_file: (!m.smtp_ca_file.is_empty()).then(|| PathBuf::from(&m.smtp_ca_file)),
                username: m.smtp_username.clone(),
                password: m.smtp_password.clone(),
            };
            Transport::smtp(&smtp, &m.from)
        }
    }
    .map_err(anyhow::Error::msg)
}

/// Back-channel logout over HTTP (OpenID Connect Back-Channel Logout 1.0 §2.5): a form POST of
/// `logout_token`, no redirect followed, 10 seconds at most; a 2xx answer is a delivery.
pub struct HttpLogoutSender {
    http: reqwest::Client,
}

impl HttpLogoutSender {
    /// A sender with its own HTTP client.
    ///
    /// Errors: the HTTP client could not be built (TLS roots).
    pub fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent("gan-connect back-channel logout")
            .build()
            .context("cannot build the back-channel logout HTTP client")?;
        Ok(Self { http })
    }
}

#[async_trait::async_trait]
impl gan_oidc::backchannel::LogoutSender for HttpLogoutSender {
    async fn post(&self, uri: &str, logout_token: &str) -> Result<(), String> {
        let res = self
            .http
            .post(uri)
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", logout_token)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("the client answered {}", res.status()))
        }
    }
}

/// Sets the migration's gauges at `/metrics` every minute, for as long as the server runs:
/// `customer_accounts{status="legacy"|"activation_pending"|"upgraded"}` and
/// `customers_stuck_in_activation` (newest link sent more than 7 days ago). The funnel's steps
/// are counted as they happen by `audit_events_total{type, outcome}`.
pub async fn migration_gauges(admin: Arc<gan_admin::Admin>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        every.tick().await;
        match admin.migration(1, 7).await {
            Ok(r) => {
                for (status, n) in [
                    ("legacy", r.accounts.legacy),
                    ("activation_pending", r.accounts.activation_pending),
                    ("upgraded", r.accounts.upgraded),
                ] {
                    metrics::gauge!("customer_accounts", "status" => status).set(n as f64);
                }
                metrics::gauge!("customers_stuck_in_activation").set(r.stuck.count as f64);
            }
            Err(e) => tracing::warn!(error = %e, "the migration's figures could not be read"),
        }
    }
}

/// Delivers back-channel logout notices every two seconds, for as long as the server runs
/// (every process does: each notice is claimed by one at a time).
pub async fn deliver_logouts(provider: Arc<Provider>) {
    let sender = match HttpLogoutSender::new() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout disabled");
            return;
        }
    };
    let mut every = tokio::time::interval(Duration::from_secs(2));
    loop {
        every.tick().await;
        if let Err(e) = provider.deliver_logouts(&sender).await {
            tracing::warn!(error = %e, "back-channel logout round failed; next round in 2 s");
        }
    }
}
