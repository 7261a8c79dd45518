//! The subscriber's preferences: the portal's language and the time zone his times are shown
//! in, kept on his row so every login, in any browser, starts with them.

use super::{audit, Store};
use crate::i18n::Lang;

impl Store {
    /// Saves the language and the time zone (already parsed: a known language, an IANA zone)
    /// and records the change in the activity log, in one transaction. False when both were
    /// already so (nothing written, nothing logged).
    pub async fn set_preferences(
        &self,
        user_id: i64,
        language: Lang,
        time_zone: chrono_tz::Tz,
        address: &str,
    ) -> sqlx::Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE users SET language = $1, time_zone = $2
             WHERE id = $3 AND (language <> $1 OR time_zone <> $2)",
        )
        .bind(language.code())
        .bind(time_zone.name())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        audit::record(
            &mut tx,
            Some(user_id),
            "preferences_changed",
            &format!(
                "Language {}, time zone {}",
                language.code(),
                time_zone.name()
            ),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
