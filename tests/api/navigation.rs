//! The menu in headless Chromium, as a subscriber meets it on a desktop (1366×900) and a phone
//! (390×844), in English and Russian: every page of every section opens, nothing scrolls
//! sideways, no control is cut off, the current section and page are marked and on screen, a
//! skip link leads to the content, and no text, label or choice is an untranslated key.

use crate::with_tools;
use selfcare::i18n::Lang;
use selfcare::web::menu::SECTIONS;
use serde_json::Value;

use crate::browser::Browser;
use crate::common::{spawn_demo_app, Backend};

/// Where an element is: true when the first match of `css` lies wholly inside the window.
fn on_screen(css: &str) -> String {
    format!(
        "const e = document.querySelector({css:?}); if (!e) return false;
         const r = e.getBoundingClientRect();
         return r.width > 0 && r.left >= 0 && r.top >= 0
             && r.right <= window.innerWidth && r.bottom <= window.innerHeight;"
    )
}

/// The controls whose label does not fit in them: a drop-down list any of whose choices is
/// wider than the room its box leaves beside the arrow (the list shows the chosen one cut), a
/// button whose text overflows, or a control reaching past the window's edge (also inside a box
/// that scrolls sideways: one has to find it). Text is measured with the control's own font.
const CUT_OFF_CONTROLS: &str = "
    const ctx = document.createElement('canvas').getContext('2d');
    const arrow = 20;
    const room = e => { const s = getComputedStyle(e);
        ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
        return e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight); };
    const outside = e => { const r = e.getBoundingClientRect();
        return r.left < -1 || r.right > window.innerWidth + 1; };
    const cut = e => outside(e) ? `past the edge: ${e.textContent.trim()}`
        : e.tagName === 'SELECT'
        ? [...e.options].find(o => ctx.measureText(o.text).width > room(e) - arrow)?.text
        : (e.scrollWidth > e.clientWidth + 1 ? e.textContent.trim() : undefined);
    return [...document.querySelectorAll('select, button, input[type=submit], a.button')]
        .filter(e => e.getBoundingClientRect().width > 0)
        .map(e => [e, cut(e)]).filter(([e, text]) => text !== undefined)
        .map(([e, text]) => `${e.tagName} ${e.name}: ${text}`)
        .slice(0, 5).join(', ');";

with_tools!(every_page_of_the_menu_on_a_desktop_and_a_phone_in_both_languages, needs chromium);
async fn every_page_of_the_menu_on_a_desktop_and_a_phone_in_both_languages() {
    let app = spawn_demo_app(Backend::Sqlite).await;
    for (width, height, size) in [(1366, 900, "desktop"), (390, 844, "phone")] {
        let Some(b) = Browser::start(width, height).await else {
            return;
        };
        b.log_in(&app.address, "demo", "demo").await;
        for lang in ["en", "ru"] {
            b.go(&format!("{}/callc/main?lang={lang}", app.address))
                .await;
            for (s, section) in SECTIONS.iter().enumerate() {
                for page in section.pages {
                    let at = format!("{} ({size}, {lang})", page.href);
                    b.go(&format!("{}{}", app.address, page.href)).await;
                    assert!(b.fits_sideways().await, "{at} scrolls sideways");
                    // Nor does any visible element stick out to the right of the window (an
                    // overflow the page's own scroll width may not show), unless a box of its
                    // own scrolls or clips it (a wide table in its scroll box).
                    let out = b
                        .script(
                            "const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement)
                                   if (getComputedStyle(a).overflowX !== 'visible') return true;
                                 return false; };
                             return [...document.querySelectorAll('body *')]
                                 .filter(e => { const r = e.getBoundingClientRect();
                                    return r.width > 0 && r.right > window.innerWidth + 1 && !clipped(e); })
                                 .map(e => e.tagName + '.' + e.className).slice(0, 5).join(', ');",
                        )
                        .await;
                    assert_eq!(out.as_str(), Some(""), "{at}: sticks out: {out}");
                    let cut = b.script(CUT_OFF_CONTROLS).await;
                    assert_eq!(cut.as_str(), Some(""), "{at}: cut off: {cut}");
                    let sections = b.all("nav.sections a").await;
                    assert_eq!(sections.len(), SECTIONS.len(), "{at}");
                    let current = b.find("nav.sections a[aria-current]").await;
                    assert_eq!(
                        b.attribute(&current, "href").await,
                        section.pages[0].href,
                        "{at}: section {s} is current"
                    );
                    let here = b.find("nav.pages a[aria-current='page']").await;
                    assert_eq!(b.attribute(&here, "href").await, page.href, "{at}");
                    for css in [
                        "nav.sections a[aria-current]",
                        "nav.pages a[aria-current='page']",
                    ] {
                        assert_eq!(
                            b.script(&on_screen(css)).await,
                            Value::Bool(true),
                            "{at}: {css} is off screen"
                        );
                    }
                    let labels = b
                        .script(
                            "return [...document.querySelectorAll('nav a')]
                                 .map(a => a.textContent.trim()).join('|');",
                        )
                        .await;
                    let labels = labels.as_str().unwrap();
                    assert!(!labels.contains("nav."), "{at}: untranslated {labels}");
                    // No text, label, hint or choice on the page is a raw locale key.
                    let text = b
                        .script(
                            "return document.body.innerText + ' ' +
                                 [...document.querySelectorAll('[title], [placeholder], [aria-label], option')]
                                 .map(e => [e.title, e.placeholder, e.ariaLabel, e.textContent].join(' '))
                                 .join(' ');",
                        )
                        .await;
                    let keys: Vec<&str> = text
                        .as_str()
                        .unwrap()
                        .split(|c: char| c.is_whitespace() || ",;:()\"«»".contains(c))
                        .filter(|w| Lang::En.lookup(w.trim_end_matches('.')).is_some())
                        .collect();
                    assert!(keys.is_empty(), "{at}: untranslated {keys:?}");
                    if lang == "ru" {
                        assert!(labels.contains("Деньги"), "{at}: {labels}");
                    }
                    let skip = b.find("a.skip").await;
                    assert_eq!(b.attribute(&skip, "href").await, "#content");
                    assert_eq!(b.all("main#content").await.len(), 1, "{at}");
                }
            }
            b.go(&format!("{}/stats/missed_calls", app.address)).await;
            b.screenshot(&format!("menu-{size}-{lang}")).await;
            b.go(&format!("{}/callc/main", app.address)).await;
            b.screenshot(&format!("main-{size}-{lang}")).await;
            b.go(&format!("{}/help/api", app.address)).await;
            b.screenshot(&format!("api-help-{size}-{lang}")).await;
        }
        b.quit().await;
    }
}
