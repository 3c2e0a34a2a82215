//! Dev-only test harness: a Gan Connect server on SQLite (always) or PostgreSQL (when
//! `DATABASE_URL` is set), on a random port, with a clock the tests move, seeding helpers, and a
//! small cookie-keeping browser.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
pub mod faults;
pub mod flows;
pub mod staff;

use std::sync::Arc;

use gan_connect::settings::Settings;
use gan_connect::wiring;
use gan_oidc::clock::FixedClock;
use gan_oidc::model::{AuthMethod, Client, SigningAlg};
use gan_oidc::ports::ClientStore;
use gan_oidc::secret::hash_handle;
use gan_store::Store;
use gan_web::AppState;
use sea_orm::{ConnectionTrait, Database, Statement};

pub use browser::{Browser, Reply};

/// Where the test's database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

/// SQLite always; PostgreSQL too when `DATABASE_URL` points at one. `GAN_TEST_BACKENDS=sqlite`
/// or `=postgres` keeps only one of them.
pub fn backends() -> Vec<Backend> {
    let only = std::env::var("GAN_TEST_BACKENDS").unwrap_or_default();
    let mut v = Vec::new();
    if only != "postgres" {
        v.push(Backend::Sqlite);
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if url.starts_with("postgres") && only != "sqlite" {
            v.push(Backend::Postgres(url));
        }
    }
    assert!(
        !v.is_empty(),
        "GAN_TEST_BACKENDS=postgres needs DATABASE_URL=postgres://…"
    );
    v
}

/// 16 random hex digits, for names of test files and databases.
pub fn random_suffix() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

/// A database for one test: a fresh SQLite file, or a fresh PostgreSQL database.
pub struct TestDb {
    pub url: String,
    admin: Option<(String, String)>,
}

impl TestDb {
    pub async fn create(backend: &Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join("gan-connect-tests");
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join(format!("t-{}.db", random_suffix()));
                TestDb {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    admin: None,
                }
            }
            Backend::Postgres(admin_url) => {
                let name = format!("gc_t_{}", random_suffix());
                let admin = Database::connect(admin_url.as_str())
                    .await
                    .expect("DATABASE_URL reachable");
                admin
                    .execute(Statement::from_string(
                        admin.get_database_backend(),
                        format!("CREATE DATABASE {name}"),
                    ))
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(admin_url).expect("DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                TestDb {
                    url: url.to_string(),
                    admin: Some((admin_url.clone(), name)),
                }
            }
        }
    }

    /// Drops a PostgreSQL test database (SQLite files live in the temp dir).
    pub async fn drop_db(&self) {
        if let Some((admin_url, name)) = &self.admin {
            if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                let _ = admin
                    .execute(Statement::from_string(
                        admin.get_database_backend(),
                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    ))
                    .await;
            }
        }
    }
}

/// A running server.
pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub store: Store,
    pub clock: Arc<FixedClock>,
    /// Where the outbox transport writes messages.
    pub outbox: std::path::PathBuf,
    /// The server's mail queue (its own loop delivers every 200 ms; tests may drive it too).
    pub postman: Arc<gan_mail::Postman>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The first link of the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let at = self.text.find(prefix)?;
        let rest = &self.text[at..];
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        Some(rest[..end].to_string())
    }
}

/// Parses the `.eml` files of an outbox folder, oldest first.
pub fn read_outbox(dir: &std::path::Path) -> Vec<Mail> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter_map(|p| {
            let raw = std::fs::read(p).ok()?;
            let msg = mail_parser::MessageParser::default().parse(&raw)?;
            let to = msg.to()?.first()?.address()?.to_string();
            Some(Mail {
                to,
                subject: msg.subject().unwrap_or_default().to_string(),
                text: msg.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
                html: msg.body_html(0).map(|t| t.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

/// Settings for a test server: cheap argon2, the given issuer and database.
pub fn test_settings(issuer: &str, db_url: &str, extra: &[(&str, &str)]) -> Settings {
    let key_file = std::env::temp_dir()
        .join("gan-connect-tests")
        .join("keys.secret");
    let mut env: Vec<(String, String)> = vec![
        ("GAN_CONNECT__SERVER__ISSUER".into(), issuer.into()),
        ("GAN_CONNECT__DATABASE__URL".into(), db_url.into()),
        ("GAN_CONNECT__DATABASE__MAX_CONNECTIONS".into(), "5".into()),
        (
            "GAN_CONNECT__PASSWORDS__ARGON2_MEMORY_KIB".into(),
            "1024".into(),
        ),
        (
            "GAN_CONNECT__PASSWORDS__ARGON2_ITERATIONS".into(),
            "1".into(),
        ),
        (
            "GAN_CONNECT__KEYS__ENCRYPTION_KEY".into(),
            "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=".into(),
        ),
        (
            "GAN_CONNECT__KEYS__ENCRYPTION_KEY_FILE".into(),
            key_file.display().to_string(),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::load(None, &env).expect("test settings")
}

impl TestServer {
    /// Starts a server over `db` (migrating it) on a random loopback port.
    pub async fn start(db: &TestDb, extra: &[(&str, &str)]) -> TestServer {
        Self::start_url(&db.url, extra).await
    }

    /// Starts a server over the database at `db_url` (migrating it).
    pub async fn start_url(db_url: &str, extra: &[(&str, &str)]) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let outbox = std::env::temp_dir()
            .join("gan-connect-tests")
            .join(format!("outbox-{}", random_suffix()));
        let outbox_str = outbox.display().to_string();
        let mut extra: Vec<(&str, &str)> = extra.to_vec();
        extra.push(("GAN_CONNECT__MAIL__OUTBOX_DIR", &outbox_str));
        let settings = test_settings(&base, db_url, &extra);
        let store = wiring::connect_store(&settings).await.unwrap();
        store.migrate().await.unwrap();
        let clock = Arc::new(FixedClock::new(time::OffsetDateTime::now_utc()));
        let key = wiring::encryption_key(&settings).unwrap();
        let built = wiring::build(&settings, store, clock.clone(), &key)
            .await
            .unwrap();
        built.state.admin.ensure_console_client().await.unwrap();
        let app = gan_web::app(built.state.clone());
        let server = tokio::spawn(async move {
            let _ = gan_web::serve::serve(listener, app, std::future::pending()).await;
        });
        let postman = tokio::spawn(
            built
                .postman
                .clone()
                .run(std::time::Duration::from_millis(200)),
        );
        TestServer {
            base,
            state: built.state,
            store: built.store,
            clock,
            outbox,
            postman: built.postman,
            tasks: vec![server, postman],
        }
    }

    /// Waits (polling, with a deadline) for the `n`-th message to `to`.
    pub async fn mail_to(&self, to: &str, n: usize) -> Mail {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let mails: Vec<Mail> = read_outbox(&self.outbox)
                .into_iter()
                .filter(|m| m.to == to)
                .collect();
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no message #{n} to {to} within 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Every message written so far.
    pub fn mails(&self) -> Vec<Mail> {
        read_outbox(&self.outbox)
    }

    /// Imports customers from CSV text.
    pub async fn import(&self, csv: &str) -> gan_accounts::import::Parsed {
        use gan_accounts::ports::CustomerStore;
        let parsed = gan_accounts::import::parse(csv.as_bytes(), self.clock.now_value()).unwrap();
        self.store
            .upsert_customers(&parsed.rows, self.clock.now_value())
            .await
            .unwrap();
        parsed
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Registers a client; returns its secret for confidential clients.
    pub async fn add_client(&self, spec: ClientSpec) -> Option<String> {
        let secret = (spec.auth_method != AuthMethod::None
            && spec.auth_method != AuthMethod::PrivateKeyJwt)
            .then(|| format!("secret-of-{}-0123456789abcdefghijklmnop", spec.id));
        let client = Client {
            secret_hash: secret.as_deref().map(hash_handle),
            redirect_uris: spec.redirect_uris.clone(),
            post_logout_redirect_uris: spec.post_logout_redirect_uris.clone(),
            scopes: spec.scopes.clone(),
            grant_types: spec.grant_types.clone(),
            auth_method: spec.auth_method,
            jwks: spec.jwks.clone(),
            id_token_alg: spec.alg,
            account_kinds: spec.account_kinds.clone(),
            web_origins: spec.web_origins.clone(),
            access_token_format: spec.access_token_format,
            backchannel_logout_uri: spec.backchannel_logout_uri.clone(),
            first_party: spec.first_party,
            created_at: time::OffsetDateTime::now_utc(),
            ..Client::bare(&spec.id, &format!("Client {}", spec.id))
        };
        self.store.save_client(&client).await.unwrap();
        secret
    }

    /// The audit events matching `filter` (at most 200), oldest first, once every event
    /// recorded so far is written.
    pub async fn audit_events(&self, filter: gan_audit::AuditFilter) -> Vec<gan_audit::AuditEvent> {
        self.state.provider.audit.flush().await;
        let filter = gan_audit::AuditFilter {
            limit: 200,
            ..filter
        };
        let mut events = self.state.admin.audit_events(&filter).await.unwrap().items;
        events.reverse();
        events
    }

    /// The types of the audit events matching `filter`, oldest first.
    pub async fn audit_types(&self, filter: gan_audit::AuditFilter) -> Vec<&'static str> {
        let events = self.audit_events(filter).await;
        events.iter().map(|e| e.event_type.as_str()).collect()
    }

    /// Creates an identity; returns its `sub`.
    pub async fn add_identity(&self, email: &str, password: &str) -> String {
        self.state
            .accounts
            .create_identity(email, password, self.clock.now_value())
            .await
            .unwrap()
            .id
    }
}

/// A client to register in a test.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub id: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub auth_method: AuthMethod,
    pub jwks: Option<serde_json::Value>,
    pub alg: SigningAlg,
    pub first_party: bool,
    /// Account kinds the client may see (empty: all).
    pub account_kinds: Vec<String>,
    /// CORS origins beyond those of the redirect URIs.
    pub web_origins: Vec<String>,
    /// Opaque (default) or JWT access tokens.
    pub access_token_format: gan_oidc::model::AccessTokenFormat,
    /// Back-channel logout URI.
    pub backchannel_logout_uri: Option<String>,
}

pub const REDIRECT: &str = "http://127.0.0.1:9/cb";
pub const POST_LOGOUT: &str = "http://127.0.0.1:9/bye";

impl ClientSpec {
    /// A confidential web portal: code + refresh, client_secret_basic, first party.
    pub fn portal(id: &str) -> Self {
        Self {
            id: id.into(),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![POST_LOGOUT.into()],
            scopes: ["openid", "profile", "email", "offline_access", "accounts"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            auth_method: AuthMethod::ClientSecretBasic,
            jwks: None,
            alg: SigningAlg::RS256,
            first_party: true,
            account_kinds: vec![],
            web_origins: vec![],
            access_token_format: Default::default(),
            backchannel_logout_uri: None,
        }
    }

    /// A partner app: client_credentials only.
    pub fn partner(id: &str) -> Self {
        Self {
            id: id.into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scopes: vec!["partner:read".into()],
            grant_types: vec!["client_credentials".into()],
            auth_method: AuthMethod::ClientSecretBasic,
            jwks: None,
            alg: SigningAlg::RS256,
            first_party: false,
            account_kinds: vec![],
            web_origins: vec![],
            access_token_format: Default::default(),
            backchannel_logout_uri: None,
        }
    }
}

/// A legacy hash in the import's salted SHA-256 format: `sha256$SALT$hex(sha256(SALT + password))`.
pub fn legacy_sha256(salt: &str, password: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{salt}{password}").as_bytes());
    format!(
        "sha256${salt}${}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Extension to read the fixed clock.
pub trait ClockExt {
    fn now_value(&self) -> time::OffsetDateTime;
}

impl ClockExt for FixedClock {
    fn now_value(&self) -> time::OffsetDateTime {
        gan_oidc::clock::Clock::now(self)
    }
}

/// Runs `body` once per backend, each on its own fresh database.
#[macro_export]
macro_rules! each_backend {
    (|$server:ident| $body:block) => {
        for backend in $crate::backends() {
            let db = $crate::TestDb::create(&backend).await;
            {
                let $server = $crate::TestServer::start(&db, &[]).await;
                eprintln!("backend: {:?}", backend);
                $body
            }
            db.drop_db().await;
        }
    };
}
