//! Countries by telephone prefix, from the table the demo data is made of
//! (`src/demo/countries.csv`: name, ISO codes, calling code, mobile and fixed prefixes): which
//! country a rate deck's prefix is in, so an imported destination gets its ISO code (for the
//! flag, "international" and the calling plan) and its calling code.

use std::sync::OnceLock;

use crate::billing::prefix::PrefixTable;

/// A country as the table has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Country {
    pub name: String,
    /// ISO 3166 alpha-2, lower case (`gb`).
    pub iso2: String,
    /// `44`
    pub calling_code: String,
}

struct Table {
    countries: Vec<Country>,
    prefixes: PrefixTable<u32>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut countries = Vec::new();
        let mut codes = PrefixTable::new();
        let mut areas = Vec::new();
        for line in include_str!("demo/countries.csv").lines().skip(1) {
            let f: Vec<&str> = line.split(';').collect();
            if f.len() != 6 {
                continue;
            }
            let i = countries.len() as u32;
            countries.push(Country {
                name: f[0].to_string(),
                iso2: f[1].to_string(),
                calling_code: f[3].to_string(),
            });
            // A calling code shared by several countries (+1, +7, +44) stands for the first
            // listed; their own area and mobile prefixes tell them apart.
            if codes
                .longest_match(f[3])
                .is_none_or(|(_, len)| len < f[3].len())
            {
                codes.insert(f[3], i);
            }
            for p in f[4].split_whitespace() {
                areas.push((p.to_string(), i));
            }
            for e in f[5].split('|').filter(|s| !s.is_empty()) {
                let p = e.split_once('=').map_or(e, |(p, _)| p);
                areas.push((p.to_string(), i));
            }
        }
        for (p, i) in areas {
            codes.insert(&p, i);
        }
        Table {
            countries,
            prefixes: codes,
        }
    })
}

/// The country a prefix (digits, international form) is in.
pub fn of_prefix(prefix: &str) -> Option<&'static Country> {
    let t = table();
    let (i, _) = t.prefixes.longest_match(prefix)?;
    t.countries.get(i as usize)
}

/// Every country of the table, in its order.
pub fn all() -> &'static [Country] {
    &table().countries
}

/// The country with ISO 3166 alpha-2 code `iso2` (either case).
pub fn of_iso2(iso2: &str) -> Option<&'static Country> {
    table()
        .countries
        .iter()
        .find(|c| c.iso2.eq_ignore_ascii_case(iso2))
}

#[cfg(test)]
mod tests {
    use super::{of_iso2, of_prefix};

    #[test]
    fn codes_find_their_country() {
        assert_eq!(of_iso2("GB").map(|c| c.calling_code.as_str()), Some("44"));
        assert_eq!(of_iso2("zz"), None);
    }

    #[test]
    fn prefixes_find_their_country() {
        let iso = |p: &str| of_prefix(p).map(|c| c.iso2.as_str());
        assert_eq!(iso("4420"), Some("gb"));
        assert_eq!(iso("449"), Some("gb"));
        assert_eq!(iso("441534"), Some("je"));
        assert_eq!(iso("1416"), Some("ca"));
        assert_eq!(iso("1212"), Some("us"));
        assert_eq!(iso("7727"), Some("kz"));
        assert_eq!(iso("33"), Some("fr"));
        assert_eq!(of_prefix("33").unwrap().calling_code, "33");
        assert_eq!(iso("999999"), None);
    }
}
