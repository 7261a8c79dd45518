//! Who owns what: the one query per kind of record that decides whether an id belongs to a user.
//! `web::access` turns a "no" into 404, the same answer as for an id that does not exist.

use super::Store;

/// The kinds of record a subscriber can name by id in a URL or a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Device,
    Cli,
    PhonebookEntry,
    Payment,
    Invoice,
    Call,
    Fax,
    CallbackRequest,
    /// A live login session, by its handle (`user_sessions.handle`).
    Session,
    /// A destination group is the user's when the user's tariff has a rate for it.
    DestinationGroup,
}

impl Resource {
    fn sql(self) -> &'static str {
        match self {
            Resource::Device => "SELECT 1 FROM devices WHERE id = $1 AND user_id = $2",
            Resource::Cli => {
                "SELECT 1 FROM clis c JOIN devices d ON d.id = c.device_id WHERE c.id = $1 AND d.user_id = $2"
            }
            Resource::PhonebookEntry => "SELECT 1 FROM phonebook_entries WHERE id = $1 AND user_id = $2",
            Resource::Payment => "SELECT 1 FROM payments WHERE id = $1 AND user_id = $2",
            Resource::Invoice => "SELECT 1 FROM invoices WHERE id = $1 AND user_id = $2",
            Resource::Call => "SELECT 1 FROM calls WHERE id = $1 AND user_id = $2",
            Resource::Fax => "SELECT 1 FROM faxes WHERE id = $1 AND user_id = $2",
            Resource::CallbackRequest => "SELECT 1 FROM callback_requests WHERE id = $1 AND user_id = $2",
            Resource::Session => {
                "SELECT 1 FROM user_sessions WHERE handle = $1 AND user_id = $2 AND ended_at IS NULL"
            }
            Resource::DestinationGroup => {
                "SELECT 1 FROM rates r JOIN users u ON u.tariff_id = r.tariff_id
                 WHERE r.group_id = $1 AND u.id = $2 LIMIT 1"
            }
        }
    }
}

impl Store {
    /// True when record `id` of kind `what` exists and belongs to `user_id`.
    pub async fn owns(&self, user_id: i64, what: Resource, id: i64) -> sqlx::Result<bool> {
        let row: Option<(i32,)> = sqlx::query_as(what.sql())
            .bind(id)
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }
}
