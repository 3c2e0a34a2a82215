//! Where messages go: `.eml` files in an outbox folder, or an SMTP server (lettre).

use std::path::PathBuf;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::QueuedMail;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: String,
    pub password: String,
}

pub enum Transport {
    Outbox {
        dir: PathBuf,
        from: Mailbox,
    },
    Smtp {
        mailer: AsyncSmtpTransport<Tokio1Executor>,
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
    pub fn outbox(dir: PathBuf, from: &str) -> Result<Self, String> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Self::Outbox {
            dir,
            from: from.parse().map_err(|e| format!("mail.from: {e}"))?,
        })
    }

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

    fn build(&self, mail: &QueuedMail) -> Result<lettre::Message, String> {
        let to: Mailbox = mail.to.parse().map_err(|e| format!("recipient: {e}"))?;
        lettre::Message::builder()
            .from(self.from().clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}@gan-connect>", mail.id)))
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
            .map_err(|e| format!("message: {e}"))
    }

    /// Sends one message.
    pub async fn send(&self, mail: &QueuedMail) -> Result<(), String> {
        let message = self.build(mail)?;
        match self {
            Self::Outbox { dir, .. } => {
                // Named by delivery time, so a folder listing is in sending order.
                let path = dir.join(format!(
                    "{}-{}.eml",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
                    mail.id
                ));
                let tmp = path.with_extension("tmp");
                tokio::fs::write(&tmp, message.formatted())
                    .await
                    .map_err(|e| format!("outbox: {e}"))?;
                tokio::fs::rename(&tmp, &path)
                    .await
                    .map_err(|e| format!("outbox: {e}"))?;
                tracing::info!(to = %mail.to, subject = %mail.subject, file = %path.display(), "mail written to the outbox");
                Ok(())
            }
            Self::Smtp { mailer, .. } => mailer
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| format!("smtp: {e}")),
        }
    }
}
