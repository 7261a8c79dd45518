//! The mail outbox: messages are stored first and sent by `mail::Outbox`, retried until they go.

use sqlx::FromRow;

use super::Store;

#[derive(Debug, FromRow)]
pub struct QueuedMail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

impl Store {
    pub async fn queue_mail(&self, recipient: &str, subject: &str, body: &str) -> sqlx::Result<()> {
        let mut c = self.pool().acquire().await?;
        queue(&mut c, recipient, subject, body).await
    }

    /// Takes one due message for `lease_s` seconds, so two portal processes never send it twice
    /// at once; an unsent message comes back when the lease runs out.
    pub async fn claim_mail(&self, lease_s: i64) -> sqlx::Result<Option<QueuedMail>> {
        let now = crate::time::now();
        let due: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT 1",
        )
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some((id,)) = due else { return Ok(None) };
        sqlx::query_as(
            "UPDATE mail_outbox SET next_attempt_at = $1, attempts = attempts + 1
             WHERE id = $2 AND sent_at IS NULL AND next_attempt_at <= $3
             RETURNING id, recipient, subject, body, attempts",
        )
        .bind(now + lease_s)
        .bind(id)
        .bind(now)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn mail_sent(&self, id: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE mail_outbox SET sent_at = $1, last_error = '' WHERE id = $2")
            .bind(crate::time::now())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn mail_failed(&self, id: i64, error: &str, retry_at: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE mail_outbox SET last_error = $1, next_attempt_at = $2 WHERE id = $3")
            .bind(error)
            .bind(retry_at)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// Queues a mail inside the caller's transaction: it goes only if the change commits.
pub async fn queue(
    c: &mut sqlx::AnyConnection,
    recipient: &str,
    subject: &str,
    body: &str,
) -> sqlx::Result<()> {
    let now = crate::time::now();
    sqlx::query(
        "INSERT INTO mail_outbox (recipient, subject, body, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(recipient)
    .bind(subject)
    .bind(body)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}
