//! The call list on a phone (390×844), in English and Russian: a page of 50 calls is a compact
//! list to scan, not a tower of labelled cards. Each call is three short lines (when and the
//! price; from → to and how long; where and the result), so 50 of them take at most
//! `MAX_PER_CALL` pixels each: 3,600 px, about four screens, where a card with a labelled line
//! a field took ~9,700 px. Nothing scrolls sideways and each call still shows every figure.

use chrono::{Duration, Utc};

use crate::browser::Browser;
use crate::common::{spawn_demo_app, Backend};
use crate::with_tools;

/// Three short lines of ~19 px, the row's padding and its border.
const MAX_PER_CALL: f64 = 72.0;

with_tools!(fifty_calls_on_a_phone_take_a_few_screens, needs chromium);
async fn fifty_calls_on_a_phone_take_a_few_screens() {
    let app = spawn_demo_app(Backend::Sqlite).await;
    let b = Browser::start(390, 844).await.expect("Chromium");
    b.log_in(&app.address, "demo", "demo").await;
    for lang in ["en", "ru"] {
        // The last three months: more than a page of calls.
        let (from, till) = (Utc::now() - Duration::days(90), Utc::now());
        let (from, till) = (from.format("%Y-%m-%d"), till.format("%Y-%m-%d"));
        b.go(&app.url(&format!(
            "/stats/call_list?lang={lang}&per_page=50&period_start={from}&period_end={till}"
        )))
        .await;
        let at = format!("calls on a phone ({lang})");
        assert!(b.fits_sideways().await, "{at}: scrolls sideways");
        b.screenshot(&format!("calls-filters-phone-{lang}")).await;
        b.script("document.querySelector('table.calls').scrollIntoView(); return true;")
            .await;
        b.screenshot(&format!("calls-phone-{lang}")).await;
        let rows = b.all("table.calls tbody tr").await;
        assert_eq!(rows.len(), 50, "{at}: a page of 50 calls");
        let height = b
            .script("return document.querySelector('table.calls tbody').getBoundingClientRect().height;")
            .await
            .as_f64()
            .unwrap();
        eprintln!("{at}: 50 calls take {height} px");
        assert!(
            height <= 50.0 * MAX_PER_CALL,
            "{at}: 50 calls take {height} px (at most {} px)",
            50.0 * MAX_PER_CALL
        );
        // Every figure of a call is still on screen, none cut: the cells of the first row lie
        // inside the window and show their whole text.
        let hidden = b
            .script(
                "const row = document.querySelector('table.calls tbody tr');
                 return [...row.querySelectorAll('td')]
                   .filter(td => td.textContent.trim() !== '')
                   .filter(td => { const r = td.getBoundingClientRect();
                      return r.width === 0 || r.left < 0 || r.right > window.innerWidth
                          || td.scrollWidth > td.clientWidth + 1; })
                   .map(td => td.dataset.label).join(', ');",
            )
            .await;
        assert_eq!(hidden.as_str(), Some(""), "{at}: cut or hidden: {hidden}");
    }
    b.quit().await;
}
