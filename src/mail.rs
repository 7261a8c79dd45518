//! Outgoing mail. Messages are written to the `mail_outbox` table first; the outbox worker sends
//! them with lettre and retries with growing pauses until they go, so a mail server that is down
//! loses nothing. Without an SMTP host, "sending" writes each message as an `.eml` file into a
//! folder, so the portal needs no mail server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::store::mail::QueuedMail;
use crate::store::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsMode {
    /// Plain SMTP (only for a relay on the same host or a test server).
    None,
    /// SMTP, upgraded with STARTTLS (port 587).
    Starttls,
    /// SMTP over TLS from the start (port 465).
    Tls,
}

#[derive(Clone, Debug)]
pub enum Transport {
    /// Write each message as an `.eml` file into this folder.
    Folder(PathBuf),
    Smtp {
        host: String,
        port: u16,
        tls: TlsMode,
        credentials: Option<(String, String)>,
    },
}

#[derive(Clone, Debug)]
pub struct MailSettings {
    pub transport: Transport,
    pub from: String,
    /// How often the outbox looks for due mail when nothing wakes it.
    pub poll: Duration,
}

/// Sends what the outbox holds; `wake` makes it look at once.
#[derive(Clone)]
pub struct Outbox {
    notify: Arc<Notify>,
}

impl Outbox {
    /// Starts the worker on the current Tokio runtime.
    pub fn spawn(store: Store, settings: MailSettings) -> Outbox {
        let notify = Arc::new(Notify::new());
        let wake = notify.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = send_due(&store, &settings).await {
                    tracing::warn!(error = %e, "mail outbox: database unavailable, will retry");
                }
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(settings.poll) => {}
                }
            }
        });
        Outbox { notify }
    }

    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

const LEASE_S: i64 = 120;

async fn send_due(store: &Store, settings: &MailSettings) -> sqlx::Result<()> {
    while let Some(mail) = store.claim_mail(LEASE_S).await? {
        match send(settings, &mail).await {
            Ok(()) => {
                store.mail_sent(mail.id).await?;
                tracing::info!(mail_id = mail.id, "mail sent");
            }
            Err(e) => {
                // 1, 2, 4 … minutes, at most an hour between attempts; never dropped.
                let pause = (60_i64 << (mail.attempts - 1).clamp(0, 6)).min(3600);
                tracing::warn!(mail_id = mail.id, attempts = mail.attempts, error = %e, "mail not sent, will retry");
                store
                    .mail_failed(mail.id, &e, crate::time::now() + pause)
                    .await?;
            }
        }
    }
    Ok(())
}

async fn send(settings: &MailSettings, mail: &QueuedMail) -> Result<(), String> {
    let message = Message::builder()
        .from(
            settings
                .from
                .parse()
                .map_err(|e| format!("sender address: {e}"))?,
        )
        .to(mail
            .recipient
            .parse()
            .map_err(|e| format!("recipient address: {e}"))?)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| e.to_string())?;
    match &settings.transport {
        Transport::Folder(dir) => {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        Transport::Smtp {
            host,
            port,
            tls,
            credentials,
        } => {
            let builder = match tls {
                TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                    .map_err(|e| e.to_string())?,
                TlsMode::Tls => {
                    AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| e.to_string())?
                }
            };
            let mut builder = builder.port(*port).timeout(Some(Duration::from_secs(20)));
            if let Some((user, password)) = credentials {
                builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            }
            builder
                .build()
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    }
}
