//! Single sign-on links: an identity at an OpenID provider (issuer, value of the linking claim)
//! names one subscriber. Only the operator makes them (`selfcare user link`).

use super::Store;

/// The subscriber an identity is linked to, as the login needs it.
#[derive(Debug, sqlx::FromRow)]
pub struct LinkedUser {
    pub id: i64,
    pub language: String,
    pub blocked: i64,
}

impl Store {
    /// Links (issuer, subject) to the user; false when that identity is linked already (to
    /// whomever: unlink it first).
    pub async fn link_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO oidc_links (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (issuer, subject) DO NOTHING",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user_id)
        .bind(crate::time::now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the link of (issuer, subject) to the user; false when there was none.
    pub async fn unlink_identity(
        &self,
        issuer: &str,
        subject: &str,
        user_id: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "DELETE FROM oidc_links WHERE issuer = $1 AND subject = $2 AND user_id = $3",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The subscriber linked to (issuer, subject), if any.
    pub async fn linked_user(
        &self,
        issuer: &str,
        subject: &str,
    ) -> sqlx::Result<Option<LinkedUser>> {
        sqlx::query_as(
            "SELECT u.id, u.language, u.blocked FROM oidc_links l JOIN users u ON u.id = l.user_id
             WHERE l.issuer = $1 AND l.subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(self.pool())
        .await
    }
}
