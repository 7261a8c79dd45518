//! Tariffs, destination groups and exchange rates as the rates and destinations pages read them.
//! A rate in force is the newest of its (tariff, group, type) whose `effective_from` has come;
//! an exchange rate in force is the newest of its currency whose `valid_from` has come.

use sqlx::FromRow;

use super::{json_rows, Store};

/// What the rates page needs to know about the user: their currency, VAT and tariff.
#[derive(Clone, Debug, FromRow)]
pub struct RateSettings {
    pub user_currency: String,
    pub vat_percent_bp: i64,
    /// `None` when the user has no tariff.
    pub tariff_currency: Option<String>,
}

/// A currency with the exchange rate in force (units per one base unit × 10^6).
#[derive(Clone, Debug, FromRow, serde::Deserialize)]
pub struct CurrencyRate {
    pub code: String,
    pub decimals: i64,
    pub is_base: i64,
    /// `None`: no rate in force (a base currency needs none).
    pub rate_micros: Option<i64>,
}

/// The rates page's figures, read together (`Store::rates_page`).
pub struct RatesOfUser {
    pub settings: RateSettings,
    pub currencies: Vec<CurrencyRate>,
    pub rates: Vec<UserRate>,
}

#[derive(FromRow)]
struct RatesRow {
    #[sqlx(flatten)]
    settings: RateSettings,
    /// Each list as `json_rows` hands it over.
    currencies: String,
    rates: String,
}

/// One rate of the user's tariff: a destination group and a type (FIX, MOB…), per minute, in
/// the tariff's currency. Read from a JSON array of its fields in this order (`rates_page`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct UserRate {
    pub group_id: i64,
    pub group_name: String,
    pub flag: String,
    pub rate_type: String,
    pub price_micros: i64,
}

/// A search of the rates page, already made into SQL patterns by `RateSearch::new`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateSearch {
    /// `%text%` for a case-insensitive match on the group's name, LIKE wildcards escaped;
    /// empty for no search.
    name_pattern: String,
    /// The digits of the query when it is a number (a prefix, or a whole dialled number whose
    /// group is wanted); empty otherwise.
    digits: String,
    /// `,de,at,` for the groups whose flag (ISO code) is one of these countries: the countries
    /// whose name in any language contains the query (`crate::locale::countries_named`), as
    /// SQL's `LOWER` folds only ASCII and the stored names are English. Empty: none.
    flags: String,
}

impl RateSearch {
    /// A search for `q` ("united", "4420", "+44 20 7946 0000"); blank means everything.
    pub fn new(q: &str) -> RateSearch {
        let q = q.trim();
        if q.is_empty() {
            return RateSearch::default();
        }
        let mut name_pattern = String::with_capacity(q.len() + 2);
        name_pattern.push('%');
        for ch in q.to_lowercase().chars() {
            if matches!(ch, '%' | '_' | '\\') {
                name_pattern.push('\\');
            }
            name_pattern.push(ch);
        }
        name_pattern.push('%');
        let number = q.strip_prefix('+').unwrap_or(q);
        let digits: String = number
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            digits
        } else {
            String::new()
        };
        RateSearch {
            name_pattern,
            digits,
            flags: String::new(),
        }
    }

    /// The same search also finding the groups of these countries (ISO codes, lower case).
    pub fn with_countries(mut self, iso2: &[&str]) -> RateSearch {
        let codes: Vec<&str> = iso2
            .iter()
            .copied()
            .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase()))
            .collect();
        self.flags = if codes.is_empty() {
            String::new()
        } else {
            format!(",{},", codes.join(","))
        };
        self
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct DestinationGroup {
    pub id: i64,
    pub name: String,
    pub flag: String,
}

#[derive(Clone, Debug, FromRow)]
pub struct Destination {
    pub prefix: String,
    pub details: String,
    pub dir_code: String,
}

impl Store {
    /// What the rates page shows, in one statement: the user's currency, VAT and tariff
    /// currency, every currency with its exchange rate in force at `at` (the base currency
    /// first), and the rates of the user's tariff in force at `at` by group name and type,
    /// filtered by `search` (a group's name, one of its prefixes, or a number one of its
    /// prefixes begins). `None` for no such user.
    ///
    /// A deck is hundreds of rows: the lists come as one value each (`json_rows`).
    pub async fn rates_page(
        &self,
        user_id: i64,
        at: i64,
        search: &RateSearch,
    ) -> sqlx::Result<Option<RatesOfUser>> {
        let currencies = json_rows::Listing::new(
            self.backend(),
            "code, decimals, is_base, rate_micros",
            "is_base DESC, code",
        );
        let rates = json_rows::Listing::new(
            self.backend(),
            "group_id, group_name, flag, rate_type, price_micros",
            "group_name, group_id, rate_type",
        );
        let sql = format!(
            "SELECT u.currency AS user_currency, u.vat_percent_bp, t.currency AS tariff_currency,
                    ({}) AS currencies, ({}) AS rates
               FROM users u LEFT JOIN tariffs t ON t.id = u.tariff_id
              WHERE u.id = $1",
            currencies.sql(
                "SELECT c.code, c.decimals, c.is_base,
                        (SELECT e.rate_micros FROM exchange_rates e
                          WHERE e.currency = c.code AND e.valid_from <= $2
                          ORDER BY e.valid_from DESC LIMIT 1) AS rate_micros
                   FROM currencies c"
            ),
            rates.sql(
                "SELECT g.id AS group_id, g.name AS group_name, g.flag, r.rate_type, r.price_micros
                   FROM users u
                   JOIN rates r ON r.tariff_id = u.tariff_id
                   JOIN destination_groups g ON g.id = r.group_id
                  WHERE u.id = $1 AND r.effective_from <= $2
                    AND NOT EXISTS (
                        SELECT 1 FROM rates n
                        WHERE n.tariff_id = r.tariff_id AND n.group_id = r.group_id
                          AND n.rate_type = r.rate_type
                          AND n.effective_from > r.effective_from AND n.effective_from <= $2)
                    AND ($3 = ''
                         OR LOWER(g.name) LIKE $3 ESCAPE '\\'
                         OR ($5 <> '' AND g.flag <> '' AND $5 LIKE ('%,' || g.flag || ',%'))
                         OR ($4 <> '' AND EXISTS (
                             SELECT 1 FROM destinations d
                             WHERE d.group_id = g.id
                               AND (d.tariff_id IS NULL OR d.tariff_id = u.tariff_id)
                               AND (d.prefix LIKE ($4 || '%') OR $4 LIKE (d.prefix || '%')))))"
            ),
        );
        let row: Option<RatesRow> = sqlx::query_as(&sql)
            .bind(user_id)
            .bind(at)
            .bind(search.name_pattern.as_str())
            .bind(search.digits.as_str())
            .bind(search.flags.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| {
            Ok(RatesOfUser {
                settings: row.settings,
                currencies: currencies.read(&row.currencies)?,
                rates: rates.read(&row.rates)?,
            })
        })
        .transpose()
    }

    /// A destination group of the user's tariff (`None` for any other group).
    pub async fn user_destination_group(
        &self,
        user_id: i64,
        group_id: i64,
    ) -> sqlx::Result<Option<DestinationGroup>> {
        sqlx::query_as(
            "SELECT g.id, g.name, g.flag FROM destination_groups g
             WHERE g.id = $1 AND EXISTS (
                 SELECT 1 FROM rates r JOIN users u ON u.tariff_id = r.tariff_id
                 WHERE r.group_id = g.id AND u.id = $2)",
        )
        .bind(group_id)
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
    }

    /// The prefixes of a group of the user's tariff (its own and the shared ones), by type and
    /// prefix.
    pub async fn user_destinations(
        &self,
        user_id: i64,
        group_id: i64,
    ) -> sqlx::Result<Vec<Destination>> {
        sqlx::query_as(
            "SELECT d.prefix, d.details, d.dir_code FROM destinations d
             WHERE d.group_id = $1 AND EXISTS (
                 SELECT 1 FROM rates r JOIN users u ON u.tariff_id = r.tariff_id
                 WHERE r.group_id = d.group_id AND u.id = $2
                   AND (d.tariff_id IS NULL OR d.tariff_id = u.tariff_id))
             ORDER BY d.dir_code, d.prefix",
        )
        .bind(group_id)
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::RateSearch;

    #[test]
    fn searches_become_patterns() {
        assert_eq!(RateSearch::new("  "), RateSearch::default());
        let s = RateSearch::new("United");
        assert_eq!(s.name_pattern, "%united%");
        assert_eq!(s.digits, "");
        let s = RateSearch::new("+44 (20) 7946-0000");
        assert_eq!(s.digits, "442079460000");
        // Wildcards are searched for as themselves.
        assert_eq!(RateSearch::new("50%_\\").name_pattern, "%50\\%\\_\\\\%");
        assert_eq!(RateSearch::new("50%").digits, "");
        let s = RateSearch::new("Герм").with_countries(&["de", "", "X%"]);
        assert_eq!(s.flags, ",de,");
        assert_eq!(RateSearch::new("x").with_countries(&[]).flags, "");
    }
}
