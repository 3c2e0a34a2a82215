//! The accounts domain's mail port: render the theme's email templates, then queue.

use std::sync::Arc;

use async_trait::async_trait;
use gan_accounts::ports::{MailError, Mailer, OutgoingMail};
use gan_mail::{Message, Postman};

use crate::pages::{Lang, Pages};

pub struct WebMailer {
    pub pages: Arc<Pages>,
    pub postman: Arc<Postman>,
}

#[async_trait]
impl Mailer for WebMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let lang = Lang::parse(&mail.lang).unwrap_or(Lang::Fr);
        let (subject, text, html) = self
            .pages
            .render_mail(mail.template, lang, &mail.vars)
            .map_err(MailError::Unavailable)?;
        self.postman
            .post(
                Message {
                    to: mail.to,
                    subject,
                    text,
                    html,
                },
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(|e| MailError::Unavailable(e.to_string()))
    }
}
