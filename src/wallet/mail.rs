//! The wallet's mail to a subscriber, in the account's language.

use crate::money::Money;
use crate::store::wallet::Contact;

/// The balance fell below the operator's low-balance threshold.
pub fn low_balance(who: &Contact, balance: Money) -> (&'static str, String) {
    let b = balance.with_currency(who.decimals as u32, &who.currency);
    let user = &who.username;
    if who.language == "ru" {
        (
            "Баланс на исходе",
            format!(
                "Здравствуйте!\n\nНа счёте «{user}» осталось {b}. Чтобы звонки не прервались, пополните \
                 баланс на портале (Платежи → Пополнить) или включите автопополнение.\n"
            ),
        )
    } else {
        (
            "Your balance is running low",
            format!(
                "Hello,\n\nthe account \"{user}\" has {b} left. To keep your calls going, top up on the \
                 portal (Payments → Top up) or switch on automatic top-up.\n"
            ),
        )
    }
}

/// An automatic top-up was declined, so it was switched off.
pub fn auto_topup_declined(who: &Contact, reason: &str) -> (&'static str, String) {
    let user = &who.username;
    if who.language == "ru" {
        (
            "Автопополнение отключено",
            format!(
                "Здравствуйте!\n\nАвтопополнение счёта «{user}» не прошло: банк отклонил оплату ({reason}). \
                 Мы отключили автопополнение, чтобы не пытаться снова. Проверьте карту на портале \
                 (Платежи → Карта) и включите его заново.\n"
            ),
        )
    } else {
        (
            "Automatic top-up switched off",
            format!(
                "Hello,\n\nthe automatic top-up of the account \"{user}\" did not go through: the card \
                 was declined ({reason}). We switched automatic top-up off so it is not tried again. \
                 Check your card on the portal (Payments → Card) and switch it back on.\n"
            ),
        )
    }
}
