//! The spending limit's mail: at 80 % and at 100 % of the month's limit, once each a month,
//! for subscribers who asked for it. Checked in the transaction that adds calls (an import), so
//! the spend it reads is the one just written.

use sqlx::AnyConnection;

use crate::money::Money;
use crate::store::controls as rows;
use crate::store::wallet::{self as contacts, Contact};

/// Sends what is due to each of `users` (whose calls were just added) at `now`.
pub async fn after_calls(c: &mut AnyConnection, users: &[i64], now: i64) -> sqlx::Result<()> {
    // One query for who asked for the mail; the few of them who spent are then looked at.
    let asked: std::collections::HashSet<i64> =
        rows::limit_mail_users(c).await?.into_iter().collect();
    for &user in users.iter().filter(|u| asked.contains(u)) {
        let mut controls = rows::user_controls(c, user).await?;
        let Some(limit) = controls
            .spending_limit_micros
            .filter(|_| controls.limit_mail)
        else {
            continue;
        };
        let Some(who) = contacts::contact(c, user).await? else {
            continue;
        };
        let tz = crate::time::zone(&who.time_zone);
        let (_, month_start) = crate::time::day_and_month_start(now, tz);
        let month = chrono::DateTime::from_timestamp(month_start, 0)
            .map(|t| t.with_timezone(&tz).format("%Y-%m").to_string())
            .unwrap_or_default();
        let spent = rows::spend_since(c, user, month_start).await?;
        let due = if spent >= limit && controls.limit_mail_100_month != month {
            controls.limit_mail_100_month = month.clone();
            // Reaching the limit also stands for the 80 % mail of the month.
            controls.limit_mail_80_month = month;
            Some(100)
        } else if spent * 5 >= limit * 4 && spent < limit && controls.limit_mail_80_month != month {
            controls.limit_mail_80_month = month;
            Some(80)
        } else {
            None
        };
        let Some(percent) = due else { continue };
        rows::save_user_controls(c, user, &controls).await?;
        if !who.reg_email.is_empty() {
            let (subject, body) = message(&who, percent, Money(spent), Money(limit));
            crate::store::mail::queue(c, &who.reg_email, subject, &body).await?;
        }
    }
    Ok(())
}

fn message(who: &Contact, percent: u8, spent: Money, limit: Money) -> (&'static str, String) {
    let d = who.decimals as u32;
    let (s, l) = (
        spent.with_currency(d, &who.currency),
        limit.with_currency(d, &who.currency),
    );
    let user = &who.username;
    match (who.language.as_str(), percent) {
        ("ru", 100) => (
            "Лимит расходов исчерпан",
            format!(
                "Здравствуйте!\n\nРасходы счёта «{user}» в этом месяце достигли лимита: {s} из {l}. \
                 Платные звонки до начала следующего месяца не соединяются. Лимит можно изменить \
                 на портале (Услуги → Лимит расходов).\n"
            ),
        ),
        ("ru", _) => (
            "Израсходовано 80 % лимита",
            format!(
                "Здравствуйте!\n\nРасходы счёта «{user}» в этом месяце — {s} из лимита {l}. \
                 Когда лимит будет исчерпан, платные звонки соединяться не будут.\n"
            ),
        ),
        (_, 100) => (
            "Your spending limit is reached",
            format!(
                "Hello,\n\nthe account \"{user}\" has spent {s} this month, its limit of {l}. Paid calls \
                 will not connect until the month ends. You can change the limit on the portal \
                 (Services → Spending limit).\n"
            ),
        ),
        _ => (
            "80 % of your spending limit is used",
            format!(
                "Hello,\n\nthe account \"{user}\" has spent {s} this month, of its limit of {l}. Once the \
                 limit is reached, paid calls will not connect.\n"
            ),
        ),
    }
}
