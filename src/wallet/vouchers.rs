//! Vouchers: prepaid codes the operator issues (`selfcare voucher create`) and a subscriber
//! redeems once. Codes are 16 letters and digits from an alphabet without look-alikes (80 bits),
//! printed once and stored as SHA-256 only. Wrong codes are throttled per account like
//! passwords: after [`FAILURES_ALLOWED`] in [`WINDOW_S`], further tries wait.

use crate::i18n::Said;
use rand::Rng;
use sqlx::AnyConnection;

use super::{Wallet, WalletError};
use crate::money::Money;
use crate::store::audit;
use crate::store::ledger::{EntryKind, Posting};
use crate::store::wallet::{self as rows, NewAttempt};

/// No 0/O, 1/I/L: a code read aloud or from paper is typed right.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 16;
pub const FAILURES_ALLOWED: i64 = 5;
pub const WINDOW_S: i64 = 15 * 60;

/// A new code, `ABCD-EFGH-JKMN-PQRS`.
pub fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..CODE_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as typed: case, spaces and dashes do not matter.
pub fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

pub fn code_hash(code: &str) -> String {
    crate::tokens::digest(&normalise(code))
}

/// Creates `count` vouchers; returns their codes (the only time they are seen).
pub async fn create(
    c: &mut AnyConnection,
    count: u32,
    amount: Money,
    currency: &str,
    expires_at: Option<i64>,
) -> sqlx::Result<Vec<String>> {
    let mut codes = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let code = new_code();
        rows::insert_voucher(c, &code_hash(&code), amount.micros(), currency, expires_at).await?;
        codes.push(code);
    }
    Ok(codes)
}

impl Wallet {
    /// Redeems a voucher onto the user's balance; returns the amount credited.
    pub async fn redeem_voucher(
        &self,
        user_id: i64,
        code: &str,
        address: &str,
    ) -> Result<Money, WalletError> {
        let now = crate::time::now();
        let failures = self
            .store
            .recent_events(user_id, "voucher_failed", now - WINDOW_S)
            .await?;
        if failures.len() as i64 >= FAILURES_ALLOWED {
            let oldest = failures.iter().min().copied().unwrap_or(now);
            return Err(WalletError::Throttled((oldest + WINDOW_S - now).max(1)));
        }
        let normal = normalise(code);
        if normal.is_empty() {
            return Err(WalletError::Refused(Said::new("wallet.voucher_missing")));
        }
        let hash = crate::tokens::digest(&normal);
        let mut tx = self.store.begin_write().await?;
        let who = rows::contact(&mut tx, user_id)
            .await?
            .ok_or(WalletError::Refused(Said::new("wallet.no_account")))?;
        let Some((voucher_id, amount, currency)) =
            rows::take_voucher(&mut tx, &hash, user_id, now).await?
        else {
            let why = Said::new(match rows::voucher_state(&mut tx, &hash).await? {
                Some((Some(_), _)) => "wallet.voucher_used",
                Some((None, Some(exp))) if exp <= now => "wallet.voucher_expired",
                _ => "wallet.voucher_unknown",
            });
            tx.rollback().await?;
            // The activity log keeps the English words.
            self.store
                .audit(Some(user_id), "voucher_failed", &why.to_string(), address)
                .await?;
            return Err(WalletError::Refused(why));
        };
        if currency != who.currency {
            tx.rollback().await?;
            return Err(WalletError::Refused(
                Said::new("wallet.voucher_currency")
                    .with("voucher", &currency)
                    .with("account", &who.currency),
            ));
        }
        let payment_id = rows::insert_completed(
            &mut tx,
            &NewAttempt {
                user_id,
                purpose: "voucher",
                payment_type: "Voucher",
                amount_micros: amount,
                currency: &currency,
                invoice_id: None,
                gateway: "",
                attempt_key: &format!("voucher:{voucher_id}"),
            },
        )
        .await?;
        super::ledger::post(
            &mut tx,
            self.rules(),
            &Posting {
                user_id,
                key: format!("voucher:{voucher_id}"),
                kind: EntryKind::Voucher,
                amount: Money(amount),
                reference: payment_id.to_string(),
                note: format!("Voucher #{voucher_id}"),
            },
        )
        .await?;
        let credited = Money(amount);
        audit::record(
            &mut tx,
            Some(user_id),
            "voucher_redeemed",
            &credited.with_currency(who.decimals as u32, &currency),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(credited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_typed_any_way() {
        let code = new_code();
        assert_eq!(code.len(), 19);
        assert!(normalise(&code).bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(new_code(), code);
        assert_eq!(
            code_hash(&code.to_lowercase().replace('-', " ")),
            code_hash(&code)
        );
    }
}
