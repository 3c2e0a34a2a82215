//! Where messages go: `.eml` files in an outbox folder, or an SMTP server (lettre, with
//! native-tls: OpenSSL on Linux, so the system's trusted roots plus `mail.smtp_ca_file`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::Message;

/// How the connection to the SMTP relay is protected (`mail.smtp_tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `none` for a loopback relay (`127.0.0.0/8`, `::1`, `localhost`), implicit TLS on port
    /// 465, STARTTLS otherwise: see [`SmtpSettings::effective_tls`].
    Auto,
    /// Plain SMTP: credentials and messages in clear on the wire.
    None,
    /// STARTTLS, required: a relay that does not offer it, or whose certificate is not
    /// trusted, gets nothing.
    Starttls,
    /// Implicit TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// The SMTP relay.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Host name or IP address; the certificate must name it.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Protection of the connection.
    pub tls: SmtpTls,
    /// PEM file of certificates (one or more) trusted beyond the system's roots: a company CA
    /// for an internal relay.
    pub ca_file: Option<PathBuf>,
    /// Empty: no authentication.
    pub username: String,
    /// The password that goes with `username`.
    pub password: String,
}

impl SmtpSettings {
    /// Is the relay on this machine (a loopback address or `localhost`)?
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        match host.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => host.eq_ignore_ascii_case("localhost"),
        }
    }

    /// What `Auto` means for this relay; any other setting is taken as it is.
    pub fn effective_tls(&self) -> SmtpTls {
        match self.tls {
            SmtpTls::Auto if self.port == 465 => SmtpTls::Tls,
            SmtpTls::Auto if self.is_loopback() => SmtpTls::None,
            SmtpTls::Auto => SmtpTls::Starttls,
            other => other,
        }
    }

    /// Why this relay is a risk, when it is one: credentials or messages in clear beyond this
    /// machine.
    pub fn in_clear(&self) -> Option<String> {
        if self.effective_tls() != SmtpTls::None || self.is_loopback() {
            return None;
        }
        let what = if self.username.is_empty() {
            "every message (reset and activation links, client numbers)"
        } else {
            "the SMTP credentials and every message (reset and activation links, client numbers)"
        };
        Some(format!(
            "mail.smtp_tls = none: {what} cross the network in clear to {}:{}; set mail.smtp_tls = starttls (or tls, or auto)",
            self.host, self.port
        ))
    }
}

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{cause}")]
pub struct SendError {
    /// Retrying cannot help (an address the relay refuses for good, a message that cannot be
    /// built): the message is given up at once.
    pub permanent: bool,
    /// What went wrong, as the relay or the system said it.
    pub cause: String,
}

impl SendError {
    /// A failure that may pass (relay down, refusing for now, folder not writable).
    pub fn transient(cause: impl Into<String>) -> Self {
        Self {
            permanent: false,
            cause: cause.into(),
        }
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(cause: impl Into<String>) -> Self {
        Self {
            permanent: true,
            cause: cause.into(),
        }
    }
}

/// Where messages are delivered.
pub enum Transport {
    /// One `.eml` file per message in a folder (0700, files 0600 on Unix).
    Outbox {
        /// The folder.
        dir: PathBuf,
        /// The `From` of every message.
        from: Mailbox,
    },
    /// An SMTP relay.
    Smtp {
        /// The client (a small connection pool).
        mailer: AsyncSmtpTransport<Tokio1Executor>,
        /// The `From` of every message.
        from: Mailbox,
        /// Set when credentials or messages go in clear beyond this machine.
        in_clear: Option<String>,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Outbox { dir, .. } => write!(f, "Outbox({})", dir.display()),
            Self::Smtp { .. } => f.write_str("Smtp"),
        }
    }
}

impl Transport {
    /// Writes messages to `dir`, created (0700 on Unix) when missing.
    pub fn outbox(dir: PathBuf, from: &str) -> Result<Self, String> {
        create_private_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Self::Outbox {
            dir,
            from: from.parse().map_err(|e| format!("mail.from: {e}"))?,
        })
    }

    /// Sends through the relay `s`. Fails when `from` is not an address, or the CA file cannot
    /// be read or holds no certificate.
    pub fn smtp(s: &SmtpSettings, from: &str) -> Result<Self, String> {
        let from = from.parse().map_err(|e| format!("mail.from: {e}"))?;
        let tls = s.effective_tls();
        let params = || -> Result<TlsParameters, String> {
            let mut builder = TlsParameters::builder(s.host.clone());
            if let Some(file) = &s.ca_file {
                for cert in read_ca_file(file)? {
                    builder = builder.add_root_certificate(cert);
                }
            }
            builder.build().map_err(|e| format!("smtp tls: {e}"))
        };
        if tls == SmtpTls::None && s.ca_file.is_some() {
            return Err(format!(
                "mail.smtp_ca_file is set but mail.smtp_tls means no TLS for {}:{}: set mail.smtp_tls = starttls or tls",
                s.host, s.port
            ));
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port)
            .timeout(Some(std::time::Duration::from_secs(10)));
        builder = match tls {
            SmtpTls::None | SmtpTls::Auto => builder.tls(Tls::None),
            SmtpTls::Starttls => builder.tls(Tls::Required(params()?)),
            SmtpTls::Tls => builder.tls(Tls::Wrapper(params()?)),
        };
        if !s.username.is_empty() {
            builder = builder.credentials(Credentials::new(s.username.clone(), s.password.clone()));
        }
        Ok(Self::Smtp {
            mailer: builder.build(),
            from,
            in_clear: s.in_clear(),
        })
    }

    /// Set when this transport sends credentials or messages in clear beyond this machine.
    pub fn in_clear(&self) -> Option<&str> {
        match self {
            Self::Smtp { in_clear, .. } => in_clear.as_deref(),
            Self::Outbox { .. } => None,
        }
    }

    fn from(&self) -> &Mailbox {
        match self {
            Self::Outbox { from, .. } | Self::Smtp { from, .. } => from,
        }
    }

    fn build(&self, id: &str, mail: &Message) -> Result<lettre::Message, SendError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| SendError::permanent(format!("recipient: {e}")))?;
        lettre::Message::builder()
            .from(self.from().clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{id}@gan-connect>")))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|e| SendError::permanent(format!("message: {e}")))
    }

    /// Sends one message; `id` makes its `Message-ID`.
    pub async fn send(&self, id: &str, mail: &Message) -> Result<(), SendError> {
        let message = self.build(id, mail)?;
        match self {
            Self::Outbox { dir, .. } => {
                // Named by delivery time, so a folder listing is in sending order.
                let path = dir.join(format!(
                    "{}-{id}.eml",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
                ));
                let tmp = path.with_extension("tmp");
                write_private(&tmp, message.formatted())
                    .await
                    .map_err(|e| SendError::transient(format!("outbox: {e}")))?;
                tokio::fs::rename(&tmp, &path)
                    .await
                    .map_err(|e| SendError::transient(format!("outbox: {e}")))?;
                tracing::info!(id, file = %path.display(), "mail written to the outbox");
                Ok(())
            }
            Self::Smtp { mailer, .. } => mailer.send(message).await.map(|_| ()).map_err(|e| {
                let cause = format!("smtp: {}", error_chain(&e));
                if e.is_permanent() {
                    SendError::permanent(cause)
                } else {
                    SendError::transient(cause)
                }
            }),
        }
    }
}

/// An error and those of its sources its message does not already include, `: `-separated: a
/// failed TLS handshake must say why (a certificate not trusted, a name that does not match).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The certificates of a PEM file, each one a trusted root.
fn read_ca_file(file: &Path) -> Result<Vec<Certificate>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("mail.smtp_ca_file {}: {e}", file.display()))?;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut certs = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let block = &rest[start..start + len + END.len()];
        certs.push(Certificate::from_pem(block.as_bytes()).map_err(|e| {
            format!(
                "mail.smtp_ca_file {}: certificate {}: {e}",
                file.display(),
                certs.len() + 1
            )
        })?);
        rest = &rest[start + len + END.len()..];
    }
    if certs.is_empty() {
        return Err(format!(
            "mail.smtp_ca_file {}: no PEM certificate in it",
            file.display()
        ));
    }
    Ok(certs)
}

/// Creates `dir` and its missing parents, readable only by this user on Unix (0700). An
/// existing folder keeps its mode: the files written in it are 0600 anyway.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes a new file readable only by this user on Unix (0600).
async fn write_private(path: &Path, bytes: Vec<u8>) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(&bytes).await?;
    file.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(host: &str, port: u16, tls: SmtpTls) -> SmtpSettings {
        SmtpSettings {
            host: host.into(),
            port,
            tls,
            ca_file: None,
            username: String::new(),
            password: String::new(),
        }
    }

    #[test]
    fn auto_is_clear_only_on_this_machine() {
        use SmtpTls::*;
        for (host, port, tls, effective, warned) in [
            ("127.0.0.1", 25, Auto, None, false),
            ("127.0.0.2", 2525, Auto, None, false),
            ("::1", 25, Auto, None, false),
            ("[::1]", 25, Auto, None, false),
            ("localhost", 25, Auto, None, false),
            ("LocalHost", 25, Auto, None, false),
            ("smtp.example.fr", 25, Auto, Starttls, false),
            ("smtp.example.fr", 587, Auto, Starttls, false),
            ("10.0.0.5", 25, Auto, Starttls, false),
            ("localhost.example.fr", 25, Auto, Starttls, false),
            ("smtp.example.fr", 465, Auto, Tls, false),
            ("127.0.0.1", 465, Auto, Tls, false),
            ("smtp.example.fr", 25, None, None, true),
            ("127.0.0.1", 25, None, None, false),
            ("127.0.0.1", 25, Starttls, Starttls, false),
            ("smtp.example.fr", 587, Tls, Tls, false),
        ] {
            let s = relay(host, port, tls);
            assert_eq!(s.effective_tls(), effective, "{host}:{port} {tls:?}");
            assert_eq!(s.in_clear().is_some(), warned, "{host}:{port} {tls:?}");
        }
        let mut s = relay("smtp.example.fr", 25, None);
        assert!(s
            .in_clear()
            .is_some_and(|w| !w.contains("credentials") && w.contains("smtp.example.fr:25")));
        s.username = "gan".into();
        assert!(s.in_clear().is_some_and(|w| w.contains("credentials")));
    }

    #[test]
    fn a_ca_file_needs_tls_and_a_certificate() {
        let dir = std::env::temp_dir().join(format!("gan-mail-ca-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let empty = dir.join("empty.pem");
        let _ = std::fs::write(&empty, "not a certificate\n");
        let mut s = relay("smtp.example.fr", 587, SmtpTls::Starttls);
        s.ca_file = Some(empty.clone());
        let err = Transport::smtp(&s, "a@b.fr").err().unwrap_or_default();
        assert!(err.contains("no PEM certificate"), "{err}");
        s.ca_file = Some(dir.join("missing.pem"));
        let err = Transport::smtp(&s, "a@b.fr").err().unwrap_or_default();
        assert!(err.contains("missing.pem"), "{err}");
        let mut clear = relay("127.0.0.1", 25, SmtpTls::Auto);
        clear.ca_file = Some(empty);
        let err = Transport::smtp(&clear, "a@b.fr").err().unwrap_or_default();
        assert!(err.contains("mail.smtp_ca_file is set"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_outbox_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("gan-mail-outbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("data").join("outbox");
        let outbox = Transport::outbox(dir.clone(), "Gan <no-reply@example.fr>");
        let Ok(outbox) = outbox else {
            unreachable!("{outbox:?}")
        };
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(&dir).ok(), Some(0o700));
        assert_eq!(mode(&root.join("data")).ok(), Some(0o700));
        let message = Message {
            to: "jean@example.fr".into(),
            subject: "Objet".into(),
            text: "texte".into(),
            html: "<p>html</p>".into(),
        };
        assert_eq!(outbox.send("m1", &message).await, Ok(()));
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        assert_eq!(files.len(), 1);
        assert!(files[0].extension().is_some_and(|e| e == "eml"));
        assert_eq!(mode(&files[0]).ok(), Some(0o600));
        let _ = std::fs::remove_dir_all(&root);
    }
}
