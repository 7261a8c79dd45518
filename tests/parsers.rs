//! Property tests: the parsers at the edge (dates, periods, numbers, e-mail, formats, languages)
//! take any input, however long or strange, without panicking, and what they accept is valid.

use chrono_tz::Tz;
use proptest::prelude::*;
use selfcare::fax_period::Period;
use selfcare::i18n::Lang;
use selfcare::input::{Email, PhoneNumber};
use selfcare::pbx::number::DialNumber;
use selfcare::web::Format;

fn default_period() -> Period {
    Period::last_days(1_790_000_000, Tz::UTC, 30)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn periods_never_panic_and_accepted_ones_are_ordered(start in ".{0,40}", end in ".{0,40}") {
        if let Ok(p) = Period::parse(Some(&start), Some(&end), Tz::Europe__Moscow, default_period()) {
            prop_assert!(p.start() < p.end());
        }
    }

    #[test]
    fn date_shaped_periods_parse(y in 2000_i32..2100, m in 1_u32..=12, d in 1_u32..=28, h in 0_u32..24) {
        let start = format!("{y:04}-{m:02}-{d:02}");
        let end = format!("{y:04}-{m:02}-{d:02} {h:02}:59:59");
        let p = Period::parse(Some(&start), Some(&end), Tz::UTC, default_period());
        prop_assert!(p.is_ok(), "{start} .. {end}");
    }

    #[test]
    fn phone_numbers_are_digits_when_accepted(raw in "\\PC{0,64}") {
        if let Ok(n) = PhoneNumber::parse(&raw) {
            prop_assert!(n.as_str().trim_start_matches('+').chars().all(|c| c.is_ascii_digit()));
        }
        if let Some(n) = DialNumber::parse(&raw) {
            let _ = n;
        }
    }

    #[test]
    fn emails_never_panic(raw in "\\PC{0,300}") {
        if let Ok(e) = Email::parse(&raw) {
            prop_assert!(e.as_str().contains('@'));
            prop_assert!(!e.as_str().chars().any(char::is_control));
        }
    }

    #[test]
    fn format_and_language_negotiation_never_panic(explicit in proptest::option::of(".{0,20}"), accept in ".{0,200}") {
        let _ = Format::negotiate(explicit.as_deref(), false, Some(&accept));
        let _ = Lang::from_accept_language(&accept);
    }

    #[test]
    fn long_inputs_are_handled(len in 0_usize..20_000) {
        let s = "9".repeat(len);
        let _ = PhoneNumber::parse(&s);
        let _ = Email::parse(&s);
        let _ = Period::parse(Some(&s), None, Tz::UTC, default_period());
    }
}
