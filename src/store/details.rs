//! A subscriber's personal and registration details. The subscriber may change the fields of
//! `DetailField`; everything else on the row (balance, credit, account type, agreement, VAT
//! percent, alias) is the operator's and has no way in through this module.

use sqlx::FromRow;

use super::audit;
use super::Store;

/// The details page's row: the editable fields and the operator's, with the currency's decimals.
#[derive(Clone, Debug, FromRow)]
pub struct PersonalDetails {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub personal_id: String,
    pub alias: String,
    pub agreement_number: String,
    pub agreement_date: Option<String>,
    pub taxation_country: String,
    pub vat_reg_number: String,
    pub vat_percent_bp: i64,
    pub reg_address: String,
    pub reg_postcode: String,
    pub reg_city: String,
    pub reg_country: String,
    pub reg_state: String,
    pub reg_direction: String,
    pub reg_phone: String,
    pub reg_mobile: String,
    pub reg_fax: String,
    pub reg_email: String,
    pub account_type: String,
    pub balance_micros: i64,
    pub credit_limit_micros: Option<i64>,
    pub currency: String,
    pub currency_decimals: i64,
    /// The preferences (`store::preferences`): a language code and an IANA time zone.
    pub language: String,
    pub time_zone: String,
}

/// A field the subscriber may change, named as the XML contract and the form name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DetailField {
    FirstName,
    LastName,
    PersonalId,
    TaxationCountry,
    VatRegNumber,
    RegAddress,
    RegPostcode,
    RegCity,
    RegCountry,
    RegState,
    RegDirection,
    RegPhone,
    RegMobile,
    RegFax,
    RegEmail,
}

impl DetailField {
    pub const ALL: [DetailField; 15] = [
        DetailField::FirstName,
        DetailField::LastName,
        DetailField::PersonalId,
        DetailField::TaxationCountry,
        DetailField::VatRegNumber,
        DetailField::RegAddress,
        DetailField::RegPostcode,
        DetailField::RegCity,
        DetailField::RegCountry,
        DetailField::RegState,
        DetailField::RegDirection,
        DetailField::RegPhone,
        DetailField::RegMobile,
        DetailField::RegFax,
        DetailField::RegEmail,
    ];

    /// The name in the XML page and in the form (the contract calls the first name `username`).
    pub fn key(self) -> &'static str {
        match self {
            DetailField::FirstName => "username",
            DetailField::LastName => "surname",
            DetailField::PersonalId => "personalid",
            DetailField::TaxationCountry => "taxation_country",
            DetailField::VatRegNumber => "vat_reg_number",
            DetailField::RegAddress => "reg_address",
            DetailField::RegPostcode => "reg_postcode",
            DetailField::RegCity => "reg_city",
            DetailField::RegCountry => "reg_country",
            DetailField::RegState => "reg_state",
            DetailField::RegDirection => "reg_direction",
            DetailField::RegPhone => "reg_phone",
            DetailField::RegMobile => "reg_mobile",
            DetailField::RegFax => "reg_fax",
            DetailField::RegEmail => "reg_email",
        }
    }

    fn column(self) -> &'static str {
        match self {
            DetailField::FirstName => "first_name",
            DetailField::LastName => "last_name",
            DetailField::PersonalId => "personal_id",
            other => other.key(),
        }
    }

    fn index(self) -> usize {
        DetailField::ALL
            .iter()
            .position(|f| *f == self)
            .unwrap_or_default()
    }

    /// This field's value on a row.
    pub fn of(self, d: &PersonalDetails) -> &str {
        match self {
            DetailField::FirstName => &d.first_name,
            DetailField::LastName => &d.last_name,
            DetailField::PersonalId => &d.personal_id,
            DetailField::TaxationCountry => &d.taxation_country,
            DetailField::VatRegNumber => &d.vat_reg_number,
            DetailField::RegAddress => &d.reg_address,
            DetailField::RegPostcode => &d.reg_postcode,
            DetailField::RegCity => &d.reg_city,
            DetailField::RegCountry => &d.reg_country,
            DetailField::RegState => &d.reg_state,
            DetailField::RegDirection => &d.reg_direction,
            DetailField::RegPhone => &d.reg_phone,
            DetailField::RegMobile => &d.reg_mobile,
            DetailField::RegFax => &d.reg_fax,
            DetailField::RegEmail => &d.reg_email,
        }
    }
}

/// New values for some fields (already validated); a field left out keeps its value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetailsChange {
    values: [Option<String>; 15],
}

impl DetailsChange {
    pub fn set(&mut self, field: DetailField, value: String) {
        self.values[field.index()] = Some(value);
    }

    pub fn get(&self, field: DetailField) -> Option<&str> {
        self.values[field.index()].as_deref()
    }
}

const DETAILS_COLUMNS: &str =
    "u.id, u.first_name, u.last_name, u.personal_id, u.alias, u.agreement_number,
    u.agreement_date, u.taxation_country, u.vat_reg_number, u.vat_percent_bp, u.reg_address,
    u.reg_postcode, u.reg_city, u.reg_country, u.reg_state, u.reg_direction, u.reg_phone,
    u.reg_mobile, u.reg_fax, u.reg_email, u.account_type, u.balance_micros, u.credit_limit_micros,
    u.currency, c.decimals AS currency_decimals, u.language, u.time_zone";

impl Store {
    pub async fn personal_details(&self, user_id: i64) -> sqlx::Result<Option<PersonalDetails>> {
        sqlx::query_as(&format!(
            "SELECT {DETAILS_COLUMNS} FROM users u JOIN currencies c ON c.code = u.currency WHERE u.id = $1"
        ))
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
    }

    /// Applies `change` to the user's editable fields and records which ones changed in the
    /// activity log, in one transaction. Returns the fields whose value changed (none: nothing
    /// written, nothing logged).
    pub async fn update_personal_details(
        &self,
        user_id: i64,
        change: &DetailsChange,
        address: &str,
    ) -> sqlx::Result<Vec<DetailField>> {
        // Read before the transaction: on SQLite a transaction that reads and then writes can
        // fail to take the write lock under concurrent writers; one that writes first waits.
        let Some(current) = self.personal_details(user_id).await? else {
            return Ok(Vec::new());
        };
        let changed: Vec<DetailField> = DetailField::ALL
            .into_iter()
            .filter(|f| change.get(*f).is_some_and(|v| v != f.of(&current)))
            .collect();
        if changed.is_empty() {
            return Ok(changed);
        }
        // Column names come from `DetailField`, never from input; a field left out is NULL and
        // COALESCE keeps the stored value.
        let sets: Vec<String> = DetailField::ALL
            .iter()
            .enumerate()
            .map(|(i, f)| format!("{c} = COALESCE(${n}, {c})", c = f.column(), n = i + 1))
            .collect();
        let sql = format!(
            "UPDATE users SET {} WHERE id = ${}",
            sets.join(", "),
            DetailField::ALL.len() + 1
        );
        let mut tx = self.pool().begin().await?;
        let mut q = sqlx::query(&sql);
        for f in DetailField::ALL {
            q = q.bind(change.get(f).map(str::to_string));
        }
        q.bind(user_id).execute(&mut *tx).await?;
        let names: Vec<&str> = changed.iter().map(|f| f.key()).collect();
        audit::record(
            &mut tx,
            Some(user_id),
            "personal_details_changed",
            &format!("Changed: {}", names.join(", ")),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_its_own_key_and_column() {
        let mut keys: Vec<_> = DetailField::ALL.iter().map(|f| f.key()).collect();
        let mut columns: Vec<_> = DetailField::ALL.iter().map(|f| f.column()).collect();
        keys.sort();
        keys.dedup();
        columns.sort();
        columns.dedup();
        assert_eq!(keys.len(), DetailField::ALL.len());
        assert_eq!(columns.len(), DetailField::ALL.len());
        for (i, f) in DetailField::ALL.iter().enumerate() {
            assert_eq!(f.index(), i);
        }
        // None of the operator's columns can be named.
        for owned in [
            "alias",
            "balance_micros",
            "credit_limit_micros",
            "account_type",
            "agreement_number",
            "agreement_date",
            "vat_percent_bp",
        ] {
            assert!(!columns.contains(&owned), "{owned}");
        }
    }
}
