//! Where messages go: `.eml` files in an outbox folder, or an SMTP server (lettre).

use std::path::{Path, PathBuf};

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::Message;

/// How the connection to the SMTP relay is protected (`mail.smtp_tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP.
    None,
    /// STARTTLS, required.
    Starttls,
    /// Implicit TLS from the first byte (SMTPS).
    Tls,
}

/// The SMTP relay.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Protection of the connection.
    pub tls: SmtpTls,
    /// Empty: no authentication.
    pub username: String,
    /// The password that goes with `username`.
    pub password: String,
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

    /// Sends through the relay `s`. Fails when `from` is not an address.
    pub fn smtp(s: &SmtpSettings, from: &str) -> Result<Self, String> {
        let from = from.parse().map_err(|e| format!("mail.from: {e}"))?;
        let tls = || TlsParameters::new(s.host.clone()).map_err(|e| format!("smtp tls: {e}"));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port)
            .timeout(Some(std::time::Duration::from_secs(10)));
        builder = match s.tls {
            SmtpTls::None => builder.tls(Tls::None),
            SmtpTls::Starttls => builder.tls(Tls::Required(tls()?)),
            SmtpTls::Tls => builder.tls(Tls::Wrapper(tls()?)),
        };
        if !s.username.is_empty() {
            builder = builder.credentials(Credentials::new(s.username.clone(), s.password.clone()));
        }
        Ok(Self::Smtp {
            mailer: builder.build(),
            from,
        })
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
                let cause = format!("smtp: {e}");
                if e.is_permanent() {
                    SendError::permanent(cause)
                } else {
                    SendError::transient(cause)
                }
            }),
        }
    }
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
