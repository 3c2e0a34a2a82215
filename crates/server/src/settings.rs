//! Layered configuration: the embedded `config/default.toml`, then `--config FILE`, then
//! environment variables `GAN_CONNECT__SECTION__KEY` (and plain `DATABASE_URL`). Unknown keys
//! are errors.

use serde::Deserialize;

/// The embedded defaults (also the documentation of every key).
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: Server,
    pub database: DatabaseSettings,
    pub keys: Keys,
    pub tokens: Tokens,
    pub passwords: Passwords,
    pub accounts: AccountsSettings,
    pub mail: Mail,
    pub admin: AdminSettings,
    pub theme: Theme,
    pub log: Log,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub issuer: String,
    pub listen: String,
    pub migrate_on_start: bool,
    pub demo: bool,
    pub body_limit_bytes: usize,
    pub request_timeout_seconds: u64,
    pub client_cache_seconds: u64,
    /// CIDR ranges (or bare addresses) of the reverse proxies whose forwarding headers are
    /// believed; read with [`Settings::trusted_proxies`].
    pub trusted_proxies: Vec<String>,
    /// Lets `server.issuer` be plain `http://` on a host that is not loopback (cookies then
    /// lose `Secure` and `__Host-`): refused at start unless this is set, warned about at every
    /// start when it is.
    pub allow_insecure_http_issuer: bool,
    /// Address and port of a listener that serves only `/metrics`; empty: `/metrics` is on the
    /// main listener. When set, the main listener no longer serves it.
    pub metrics_listen: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    pub encryption_key: String,
    pub encryption_key_file: String,
    pub publish_delay_seconds: i64,
    pub reload_seconds: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    pub code_ttl_seconds: i64,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_seconds: i64,
    pub id_token_ttl_seconds: i64,
    pub interaction_ttl_seconds: i64,
    pub session_ttl_seconds: i64,
    pub require_pkce: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Passwords {
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub hash_workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsSettings {
    pub password_min_length: usize,
    pub link_ttl_hours: i64,
    pub upgrade_ttl_minutes: i64,
    pub mails_per_hour: u32,
    pub max_personal_accounts: usize,
    pub max_professional_accounts: usize,
    pub reauth_minutes: i64,
    pub throttle_window_minutes: i64,
    pub checks_per_hour: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    pub transport: MailTransport,
    pub outbox_dir: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `auto` (the default): no TLS to a loopback relay, implicit TLS on port 465, STARTTLS
    /// (required) otherwise.
    pub smtp_tls: SmtpTls,
    /// A PEM file of certificates trusted for the relay beyond the system's (a company CA);
    /// empty: none.
    pub smtp_ca_file: String,
    pub smtp_username: String,
    pub smtp_password: String,
    pub from: String,
    pub retry_seconds: u64,
    /// A message not delivered this many hours after it was queued is given up.
    pub give_up_hours: i64,
    /// Sent and given-up messages (bodies already dropped) are deleted this many days after
    /// they were queued.
    pub retention_days: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub secret_grace_hours: i64,
    pub audit_retention_days: i64,
    /// A console session unused this long ends.
    pub console_idle_minutes: i64,
    /// A console session ends this long after sign-in.
    pub console_session_hours: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    Auto,
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub dir: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// Loads the layers. `env` is the process environment (a parameter, for tests).
    pub fn load(file: Option<&std::path::Path>, env: &[(String, String)]) -> Result<Self, String> {
        use config::{Config, Environment, File, FileFormat, Map};
        let mut builder =
            Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            builder = builder.add_source(File::from_str(&text, FileFormat::Toml));
        }
        let explicit = env.iter().any(|(k, _)| k == "GAN_CONNECT__DATABASE__URL");
        if let Some((_, url)) = env.iter().find(|(k, _)| k == "DATABASE_URL" && !explicit) {
            builder = builder
                .set_override("database.url", url.clone())
                .map_err(|e| e.to_string())?;
        }
        let ours: Map<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("GAN_CONNECT__"))
            .cloned()
            .collect();
        builder = builder.add_source(
            Environment::with_prefix("GAN_CONNECT")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                // Lists are comma-separated in the environment; every other value stays whole.
                .list_separator(",")
                .with_list_parse_key("server.trusted_proxies")
                .source(Some(ours)),
        );
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| format!("configuration: {e}"))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), String> {
        let issuer =
            url::Url::parse(&self.server.issuer).map_err(|e| format!("server.issuer: {e}"))?;
        if !matches!(issuer.scheme(), "https" | "http")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
            || !issuer.username().is_empty()
            || issuer.password().is_some()
        {
            return Err(
                "server.issuer must be an http(s) URL without user name, password, query or \
                 fragment (OIDC Discovery §3)"
                    .into(),
            );
        }
        if self.insecure_http_issuer() && !self.server.allow_insecure_http_issuer {
            return Err(format!(
                "server.issuer {} is plain http on a host that is not loopback: browsers would \
                 send session cookies and tokens in clear. Use an https issuer (TLS at your \
                 reverse proxy), or, knowing that, set server.allow_insecure_http_issuer = true \
                 (GAN_CONNECT__SERVER__ALLOW_INSECURE_HTTP_ISSUER=true)",
                self.server.issuer
            ));
        }
        if !self.server.metrics_listen.is_empty()
            && self.server.metrics_listen == self.server.listen
        {
            return Err(
                "server.metrics_listen must differ from server.listen (leave it empty to serve \
                 /metrics on the main listener)"
                    .into(),
            );
        }
        let positive = [
            ("tokens.code_ttl_seconds", self.tokens.code_ttl_seconds),
            (
                "tokens.access_token_ttl_seconds",
                self.tokens.access_token_ttl_seconds,
            ),
            (
                "tokens.refresh_token_ttl_seconds",
                self.tokens.refresh_token_ttl_seconds,
            ),
            (
                "tokens.id_token_ttl_seconds",
                self.tokens.id_token_ttl_seconds,
            ),
            (
                "tokens.interaction_ttl_seconds",
                self.tokens.interaction_ttl_seconds,
            ),
            (
                "tokens.session_ttl_seconds",
                self.tokens.session_ttl_seconds,
            ),
            ("keys.reload_seconds", self.keys.reload_seconds),
            ("accounts.link_ttl_hours", self.accounts.link_ttl_hours),
            (
                "accounts.upgrade_ttl_minutes",
                self.accounts.upgrade_ttl_minutes,
            ),
            ("accounts.reauth_minutes", self.accounts.reauth_minutes),
            (
                "accounts.throttle_window_minutes",
                self.accounts.throttle_window_minutes,
            ),
            (
                "admin.console_idle_minutes",
                self.admin.console_idle_minutes,
            ),
            (
                "admin.console_session_hours",
                self.admin.console_session_hours,
            ),
        ];
        for (name, v) in positive {
            if v <= 0 {
                return Err(format!("{name} must be positive"));
            }
        }
        if self.keys.publish_delay_seconds < 0 {
            return Err("keys.publish_delay_seconds cannot be negative".into());
        }
        self.trusted_proxies()?;
        Ok(())
    }

    /// `server.trusted_proxies`, parsed; the error names the key and the entry at fault.
    pub fn trusted_proxies(&self) -> Result<gan_web::client_addr::TrustedProxies, String> {
        gan_web::client_addr::TrustedProxies::parse(&self.server.trusted_proxies)
            .map_err(|e| format!("server.trusted_proxies: {e}"))
    }

    /// The issuer as a URL.
    pub fn issuer(&self) -> Result<url::Url, String> {
        url::Url::parse(&self.server.issuer).map_err(|e| e.to_string())
    }

    /// Is the issuer plain `http://` on a host that is not loopback (allowed only with
    /// `server.allow_insecure_http_issuer`)?
    pub fn insecure_http_issuer(&self) -> bool {
        self.issuer()
            .is_ok_and(|u| u.scheme() == "http" && !is_loopback(&u))
    }
}

/// The database `serve --demo` uses when `database.url` is left at its default: demo data never
/// lands in the database a plain `serve` uses.
pub const DEMO_DATABASE_URL: &str = "sqlite://data/demo.db?mode=rwc";

/// Where demo mode keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoDatabase {
    /// Its own ([`DEMO_DATABASE_URL`]), `database.url` being left at its default.
    Own,
    /// The one the operator gave in `database.url`.
    Given,
}

impl Settings {
    /// The settings of demo mode, or why it cannot run with these: it publishes a password and
    /// shows every message at `/demo/mailbox`, so its issuer and its listener must be loopback;
    /// it uses [`DEMO_DATABASE_URL`] unless `database.url` was given.
    pub fn for_demo(mut self) -> Result<(Settings, DemoDatabase), String> {
        let issuer = self.issuer().map_err(|e| format!("server.issuer: {e}"))?;
        if !is_loopback(&issuer) {
            return Err(format!(
                "demo mode publishes a password and shows every message sent (reset links \
                 included) at /demo/mailbox, so it runs on a loopback issuer only (localhost, \
                 127.0.0.0/8, [::1]); server.issuer is {}. Leave out --demo (and server.demo) \
                 for a real deployment",
                self.server.issuer
            ));
        }
        if !is_loopback_listen(&self.server.listen) {
            return Err(format!(
                "demo mode listens on a loopback address only (localhost, 127.0.0.0/8, [::1]), \
                 so that nobody else reaches /demo/mailbox; server.listen is {}",
                self.server.listen
            ));
        }
        let default = Self::load(None, &[])?.database.url;
        if self.database.url != default {
            return Ok((self, DemoDatabase::Given));
        }
        self.database.url = DEMO_DATABASE_URL.to_string();
        Ok((self, DemoDatabase::Own))
    }
}

/// Is the host of an `address:port` listen address loopback (`localhost`, 127.0.0.0/8,
/// `[::1]`)?
pub fn is_loopback_listen(listen: &str) -> bool {
    let host = listen.rsplit_once(':').map_or(listen, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Is the URL's host loopback: `localhost`, an address of 127.0.0.0/8, or `[::1]`?
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_issuer_with_credentials_query_or_fragment_is_refused() {
        for issuer in [
            "https://user@id.example.fr",
            "https://user:pw@id.example.fr",
            "https://id.example.fr/?x=1",
            "https://id.example.fr/#f",
            "ftp://id.example.fr",
        ] {
            let s = Settings::load(None, &env(&[("GAN_CONNECT__SERVER__ISSUER", issuer)]));
            assert!(s.is_err(), "{issuer}");
        }
    }

    #[test]
    fn defaults_load() {
        let s = Settings::load(None, &[]).map_err(|e| e.to_string());
        assert!(
            matches!(s, Ok(ref s) if s.server.listen == "127.0.0.1:8080" && s.tokens.code_ttl_seconds == 60)
        );
    }

    #[test]
    fn environment_overrides_and_database_url() {
        let s = Settings::load(
            None,
            &env(&[
                ("GAN_CONNECT__SERVER__ISSUER", "https://id.example.fr"),
                ("GAN_CONNECT__TOKENS__CODE_TTL_SECONDS", "30"),
                ("GAN_CONNECT__MAIL__SMTP_PORT", "2525"),
                ("DATABASE_URL", "postgres://root@127.0.0.1/test"),
            ]),
        );
        let Ok(s) = s else { unreachable!("{s:?}") };
        assert_eq!(s.server.issuer, "https://id.example.fr");
        assert_eq!(s.tokens.code_ttl_seconds, 30);
        assert_eq!(s.mail.smtp_port, 2525);
        assert_eq!(
            s.mail.smtp_tls,
            SmtpTls::Auto,
            "TLS unless the relay is local"
        );
        assert_eq!(s.mail.smtp_ca_file, "");
        assert_eq!(s.database.url, "postgres://root@127.0.0.1/test");
        let s = Settings::load(
            None,
            &env(&[
                ("DATABASE_URL", "postgres://a/b"),
                ("GAN_CONNECT__DATABASE__URL", "postgres://c/d"),
            ]),
        );
        assert_eq!(
            s.map(|s| s.database.url).ok().as_deref(),
            Some("postgres://c/d")
        );
    }

    #[test]
    fn trusted_proxies_from_files_and_the_environment() {
        let load = |value: &str| {
            Settings::load(
                None,
                &env(&[("GAN_CONNECT__SERVER__TRUSTED_PROXIES", value)]),
            )
            .and_then(|s| s.trusted_proxies())
        };
        let Ok(none) = Settings::load(None, &[]).and_then(|s| s.trusted_proxies()) else {
            unreachable!("the defaults load")
        };
        assert!(none.is_empty());
        let Ok(two) = load("10.0.0.0/8, 2001:db8::/32") else {
            unreachable!("two ranges")
        };
        for inside in ["10.1.2.3", "2001:db8::1"] {
            assert!(inside.parse().is_ok_and(|ip| two.contains(ip)), "{inside}");
        }
        assert!(matches!(load("192.0.2.10"), Ok(one) if !one.is_empty()));
        assert!(matches!(load(""), Ok(none) if none.is_empty()));
        let err = load("10.0.0.0/8,10.0.0.0/40").err().unwrap_or_default();
        assert!(
            err.contains("server.trusted_proxies") && err.contains("10.0.0.0/40"),
            "{err}"
        );
        // Another key with a comma stays one string.
        let s = Settings::load(
            None,
            &env(&[("GAN_CONNECT__MAIL__FROM", "Gan, Connect <a@b.fr>")]),
        );
        assert_eq!(
            s.map(|s| s.mail.from).ok().as_deref(),
            Some("Gan, Connect <a@b.fr>")
        );
        let dir = std::env::temp_dir().join(format!("gc-proxies-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("proxies.toml");
        let _ = std::fs::write(&file, "[server]\ntrusted_proxies = [\"::1\", \"bad\"]\n");
        let err = Settings::load(Some(&file), &[]).err().unwrap_or_default();
        assert!(
            err.contains("server.trusted_proxies") && err.contains("bad"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(Settings::load(None, &env(&[("GAN_CONNECT__SERVER__ISSUR", "x")])).is_err());
        assert!(Settings::load(None, &env(&[("GAN_CONNECT__NOPE__X", "x")])).is_err());
        let dir = std::env::temp_dir().join(format!("gc-settings-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("bad.toml");
        let _ = std::fs::write(&file, "[server]\nlisten = \"0.0.0.0:1\"\nbogus = 1\n");
        assert!(Settings::load(Some(&file), &[]).is_err());
        let _ = std::fs::write(&file, "[server]\nlisten = \"0.0.0.0:1\"\n");
        assert_eq!(
            Settings::load(Some(&file), &[])
                .map(|s| s.server.listen)
                .ok()
                .as_deref(),
            Some("0.0.0.0:1")
        );
        assert!(Settings::load(None, &env(&[("GAN_CONNECT__SERVER__ISSUER", "ftp://x")])).is_err());
    }

    #[test]
    fn a_plain_http_issuer_only_on_loopback_unless_allowed() {
        let load = |issuer: &str, allow: Option<&str>| {
            let mut pairs = vec![("GAN_CONNECT__SERVER__ISSUER", issuer)];
            if let Some(a) = allow {
                pairs.push(("GAN_CONNECT__SERVER__ALLOW_INSECURE_HTTP_ISSUER", a));
            }
            Settings::load(None, &env(&pairs))
        };
        for fine in [
            "http://127.0.0.1:8080",
            "http://127.8.9.10",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://[::1]:8080/base",
            "https://connect.example.fr",
            "https://10.0.0.1",
        ] {
            let s = load(fine, None);
            assert!(
                s.as_ref().is_ok_and(|s| !s.insecure_http_issuer()),
                "{fine}: {s:?}"
            );
        }
        for refused in [
            "http://connect.example.fr",
            "http://10.0.0.1:8080",
            "http://0.0.0.0:8080",
            "http://[::ffff:127.0.0.1]",
            "http://[2001:db8::1]",
            "http://localhost.example.fr",
        ] {
            let err = load(refused, None).err().unwrap_or_default();
            assert!(
                err.contains("server.allow_insecure_http_issuer") && err.contains(refused),
                "{refused}: {err}"
            );
            assert!(load(refused, Some("false")).is_err(), "{refused}");
            let allowed = load(refused, Some("true"));
            assert!(
                allowed.as_ref().is_ok_and(|s| s.insecure_http_issuer()),
                "{refused}: {allowed:?}"
            );
        }
    }

    #[test]
    fn demo_mode_runs_on_loopback_in_a_database_of_its_own_unless_given_one() {
        let demo =
            |pairs: &[(&str, &str)]| Settings::load(None, &env(pairs)).and_then(|s| s.for_demo());
        let Ok((own, DemoDatabase::Own)) = demo(&[]) else {
            unreachable!("the defaults run a demo")
        };
        assert_eq!(own.database.url, DEMO_DATABASE_URL);
        let Ok((given, DemoDatabase::Given)) =
            demo(&[("GAN_CONNECT__DATABASE__URL", "sqlite:///tmp/x.db?mode=rwc")])
        else {
            unreachable!("a given database")
        };
        assert_eq!(given.database.url, "sqlite:///tmp/x.db?mode=rwc");
        for (issuer, listen) in [
            ("http://localhost:8080", "localhost:8080"),
            ("http://127.0.0.2:8080", "127.0.0.2:8080"),
            ("http://[::1]:8080", "[::1]:8080"),
        ] {
            assert!(
                demo(&[
                    ("GAN_CONNECT__SERVER__ISSUER", issuer),
                    ("GAN_CONNECT__SERVER__LISTEN", listen)
                ])
                .is_ok(),
                "{issuer} {listen}"
            );
        }
        for issuer in [
            "https://connect.example.fr",
            "https://10.0.0.1",
            "https://[2001:db8::1]",
        ] {
            let err = demo(&[("GAN_CONNECT__SERVER__ISSUER", issuer)])
                .err()
                .unwrap_or_default();
            assert!(
                err.contains("loopback issuer") && err.contains(issuer),
                "{err}"
            );
        }
        for listen in [
            "0.0.0.0:8080",
            "[::]:8080",
            "192.0.2.1:8080",
            "example.fr:80",
        ] {
            let err = demo(&[("GAN_CONNECT__SERVER__LISTEN", listen)])
                .err()
                .unwrap_or_default();
            assert!(
                err.contains("server.listen is") && err.contains(listen),
                "{err}"
            );
        }
    }

    #[test]
    fn metrics_listen_is_off_by_default_and_not_the_main_listener() {
        assert!(Settings::load(None, &[]).is_ok_and(|s| s.server.metrics_listen.is_empty()));
        let s = Settings::load(
            None,
            &env(&[("GAN_CONNECT__SERVER__METRICS_LISTEN", "127.0.0.1:9100")]),
        );
        assert_eq!(
            s.map(|s| s.server.metrics_listen).ok().as_deref(),
            Some("127.0.0.1:9100")
        );
        let err = Settings::load(
            None,
            &env(&[("GAN_CONNECT__SERVER__METRICS_LISTEN", "127.0.0.1:8080")]),
        )
        .err()
        .unwrap_or_default();
        assert!(err.contains("server.metrics_listen"), "{err}");
    }
}
