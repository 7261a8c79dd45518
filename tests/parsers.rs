//! Property tests: the parsers at the edge (dates, periods, numbers, e-mail, formats, languages)
//! take any input, however long or strange, without panicking, and what they accept is valid.

use chrono_tz::Tz;
use proptest::prelude::*;
use selfcare::i18n::Lang;
use selfcare::input::{Email, PhoneNumber};
use selfcare::pbx::number::DialNumber;
use selfcare::period::{Period, Span};
use selfcare::web::Format;

const NOW: i64 = 1_790_000_000;

/// The faxes' span: the one whose defaults reach furthest back from an end.
const SPAN: Span = Span::Days(30);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn periods_never_panic_and_accepted_ones_are_ordered(start in ".{0,40}", end in ".{0,40}") {
        for span in [Span::Month, SPAN] {
            if let Ok(p) = Period::parse(Some(&start), Some(&end), Tz::Europe__Moscow, NOW, span) {
                prop_assert!(p.from() < p.until());
            }
        }
    }

    /// On a day the clocks skip an hour, a later local time is never an earlier instant, so
    /// no period typed in order ends before it starts.
    #[test]
    fn periods_around_a_dst_gap_are_ordered(a in 0_u32..4 * 3600, b in 0_u32..4 * 3600) {
        let (a, b) = (a.min(b), a.max(b));
        // Four hours around the gap: an hour at 01:00, an hour at midnight, half an hour at 02:00.
        for (tz, day, hour) in [
            (Tz::Europe__London, "2024-03-31", 0),
            (Tz::America__Havana, "2024-03-10", 0),
            (Tz::Australia__Lord_Howe, "2024-10-06", 1),
        ] {
            let at = |s: u32| {
                let s = s + hour * 3600;
                format!("{day} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
            };
            let p = Period::parse(Some(&at(a)), Some(&at(b)), tz, NOW, SPAN);
            let p = p.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert!(p.from() < p.until(), "{} .. {} in {tz}", at(a), at(b));
            let q = Period::parse(Some(&at(b)), None, tz, NOW, SPAN).unwrap();
            prop_assert!(p.from() <= q.from(), "{} then {} in {tz}", at(a), at(b));
        }
    }

    #[test]
    fn date_shaped_periods_parse(y in 2000_i32..2100, m in 1_u32..=12, d in 1_u32..=28, h in 0_u32..24) {
        let start = format!("{y:04}-{m:02}-{d:02}");
        let end = format!("{y:04}-{m:02}-{d:02} {h:02}:59:59");
        let p = Period::parse(Some(&start), Some(&end), Tz::UTC, NOW, SPAN);
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
        let _ = Period::parse(Some(&s), None, Tz::UTC, NOW, SPAN);
        let _ = Period::parse(None, Some(&s), Tz::UTC, NOW, Span::Month);
    }
}
