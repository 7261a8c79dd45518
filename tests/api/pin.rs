//! The calling-card PIN end to end, on both databases: the subscriber sets, changes and resets it
//! on `/users/pin`; the PBX checks it on `/pbx/pin` with the operator token; five wrong PINs
//! lock it; the PIN never shows in any answer.

use std::collections::HashMap;

use selfcare::config::Secret;

use crate::common::{spawn_demo_app_with_settings, text_of, Backend, TestApp};
use crate::on_both_databases;

const TOKEN: &str = "pbx-token-for-the-pin-tests-01";
const FIRST: &str = "4821";
const SECOND: &str = "730194";

async fn app_with_pbx(backend: Backend) -> TestApp {
    spawn_demo_app_with_settings(backend, |s| {
        s.pbx.token = Some(Secret::new(TOKEN));
    })
    .await
}

/// The PBX's question, read as the `key=value` lines it gets.
async fn pbx(app: &TestApp, account: &str, pin: &str) -> (u16, HashMap<String, String>) {
    let r = reqwest::Client::new()
        .get(app.url("/pbx/pin"))
        .bearer_auth(TOKEN)
        .query(&[("account", account), ("pin", pin)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let lines = r
        .text()
        .await
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (status, lines)
}

/// `valid` and `reason` of the PBX's answer (the question itself must be fine).
async fn verify(app: &TestApp, account: &str, pin: &str) -> (String, String) {
    let (status, a) = pbx(app, account, pin).await;
    assert_eq!(status, 200, "{a:?}");
    (a["valid"].clone(), a["reason"].clone())
}

fn yes() -> (String, String) {
    ("1".into(), String::new())
}

fn no(reason: &str) -> (String, String) {
    ("0".into(), reason.into())
}

/// POST /users/pin from the legacy (XML) session: the status and the `<action>` answer.
async fn set_pin(app: &TestApp, fields: &[(&str, &str)]) -> (u16, String) {
    let r = app.post_form("/users/pin", fields).await;
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// The stored row of demo's PIN: (hash, failures, locked_until).
async fn pin_row(app: &TestApp) -> Option<(String, i64, Option<i64>)> {
    sqlx::query_as(
        "SELECT p.pin_hash, p.failures, p.locked_until FROM calling_card_pins p
         JOIN users u ON u.id = p.user_id WHERE u.username = 'demo'",
    )
    .fetch_optional(app.store.pool())
    .await
    .unwrap()
}

async fn failures(app: &TestApp) -> i64 {
    pin_row(app).await.expect("a PIN").1
}

async fn events(app: &TestApp, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'
         AND user_id = (SELECT id FROM users WHERE username = 'demo')"
    ))
    .await
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(app.store.pool()).await.expect(sql);
}

on_both_databases!(a_subscriber_sets_and_changes_the_pin_and_the_pbx_checks_it);
async fn a_subscriber_sets_and_changes_the_pin_and_the_pbx_checks_it(backend: Backend) {
    let app = app_with_pbx(backend).await;
    app.legacy_login("demo", "demo").await;
    let (_, xml) = app.get_xml("/users/pin").await;
    assert_eq!(text_of(&xml, "set"), "0");
    assert_eq!(verify(&app, "demo", FIRST).await, no("no_pin"));

    // Trivial PINs are refused, each with its reason, and nothing is stored.
    let refused: &[(&str, &str)] = &[
        ("", "Enter the new PIN"),
        ("12a4", "digits 0 to 9 only"),
        ("123", "4 to 8 digits"),
        ("123456789", "4 to 8 digits"),
        ("0000", "one digit repeated"),
        ("1234", "digits in a row"),
        ("98765", "digits in a row"),
        ("0123", "digits in a row"),
        ("1212", "short group repeated"),
        ("2000", "looks like a year"),
        ("2580", "most common"),
    ];
    for (typed, why) in refused {
        let (status, xml) = set_pin(&app, &[("new_pin", typed)]).await;
        assert_eq!(status, 400, "{typed}: {xml}");
        assert_eq!(text_of(&xml, "name"), "pin");
        assert_eq!(text_of(&xml, "status"), "failed");
        assert!(
            text_of(&xml, "status_message").contains(why),
            "{typed}: {xml}"
        );
        assert!(pin_row(&app).await.is_none(), "{typed} was stored");
    }
    let (status, xml) = set_pin(&app, &[("new_pin", FIRST), ("confirm_pin", "4822")]).await;
    assert_eq!(status, 400);
    assert!(text_of(&xml, "status_message").contains("not the same"));
    assert!(pin_row(&app).await.is_none());

    // The first PIN needs no current one; it is stored as an argon2id hash only.
    let (status, xml) = set_pin(&app, &[("new_pin", FIRST), ("confirm_pin", FIRST)]).await;
    assert_eq!(
        (status, text_of(&xml, "status").as_str()),
        (200, "ok"),
        "{xml}"
    );
    let (hash, fails, locked) = pin_row(&app).await.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(FIRST));
    assert_eq!((fails, locked), (0, None));
    assert_eq!(events(&app, "pin_set").await, 1);

    // The PBX: right and wrong, by user name and by caller ID.
    assert_eq!(verify(&app, "demo", FIRST).await, yes());
    assert_eq!(verify(&app, "demo", "4822").await, no("wrong_pin"));
    assert_eq!(failures(&app).await, 1);
    exec(
        &app,
        "INSERT INTO clis (device_id, cli, description, added_at)
         SELECT MIN(d.id), '447700900123', 'Mobile', 0 FROM devices d
         JOIN users u ON u.id = d.user_id WHERE u.username = 'demo' AND d.device_type = 'SIP'",
    )
    .await;
    assert_eq!(verify(&app, "+447700900123", FIRST).await, yes());
    assert_eq!(verify(&app, "00447700900123", FIRST).await, yes());
    // … or by his number (demo's DID in the demo data), as authenticateCallingCard does.
    assert_eq!(verify(&app, "+442079460500", FIRST).await, yes());
    assert_eq!(
        verify(&app, "+447700900999", FIRST).await,
        no("unknown_account")
    );
    assert_eq!(verify(&app, "nobody", FIRST).await, no("unknown_account"));
    assert_eq!(verify(&app, "demo2", FIRST).await, no("no_pin"));
    assert_eq!(failures(&app).await, 0, "a right PIN clears the count");

    // Changing needs the current PIN; a wrong one changes nothing and counts a failure.
    let (status, xml) = set_pin(&app, &[("new_pin", SECOND)]).await;
    assert_eq!(status, 400);
    assert!(
        text_of(&xml, "status_message").contains("current PIN"),
        "{xml}"
    );
    assert_eq!(failures(&app).await, 0, "a missing current PIN is no try");
    let (status, xml) = set_pin(&app, &[("current_pin", "9731"), ("new_pin", SECOND)]).await;
    assert_eq!(status, 400);
    assert!(
        text_of(&xml, "status_message").contains("not right"),
        "{xml}"
    );
    assert_eq!(pin_row(&app).await.unwrap().0, hash, "nothing changed");
    assert_eq!(failures(&app).await, 1, "a wrong current PIN is a failure");
    assert_eq!(events(&app, "pin_changed").await, 0);

    let (status, xml) = set_pin(&app, &[("current_pin", FIRST), ("new_pin", SECOND)]).await;
    assert_eq!(
        (status, text_of(&xml, "status").as_str()),
        (200, "ok"),
        "{xml}"
    );
    assert_eq!(failures(&app).await, 0);
    assert_eq!(events(&app, "pin_changed").await, 1);
    assert_eq!(verify(&app, "demo", FIRST).await, no("wrong_pin"));
    assert_eq!(verify(&app, "demo", SECOND).await, yes());

    // The activity log tells what happened, never the PIN.
    let details: Vec<(String,)> = sqlx::query_as("SELECT detail FROM audit_log")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(details
        .iter()
        .all(|(d,)| !d.contains(FIRST) && !d.contains(SECOND)));

    // Removing it needs the current PIN too; a wrong one is a failure and removes nothing.
    let delete = |pin: &'static str| {
        let app = &app;
        async move {
            let r = app
                .post_form("/users/pin/delete", &[("current_pin", pin)])
                .await;
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    let (status, xml) = delete("9731").await;
    assert_eq!(status, 400, "{xml}");
    assert_eq!(failures(&app).await, 1);
    let (status, xml) = delete(SECOND).await;
    assert_eq!(
        (status, text_of(&xml, "status").as_str()),
        (200, "ok"),
        "{xml}"
    );
    assert!(pin_row(&app).await.is_none());
    assert_eq!(events(&app, "pin_deleted").await, 1);
    assert_eq!(verify(&app, "demo", SECOND).await, no("no_pin"));
    let (status, xml) = delete(SECOND).await;
    assert_eq!(status, 400);
    assert!(text_of(&xml, "status_message").contains("no PIN"), "{xml}");
}

on_both_databases!(five_wrong_pins_lock_it_even_against_the_right_one);
async fn five_wrong_pins_lock_it_even_against_the_right_one(backend: Backend) {
    let app = app_with_pbx(backend).await;
    app.legacy_login("demo", "demo").await;
    set_pin(&app, &[("new_pin", FIRST)]).await;
    for n in 1..=4 {
        let (_, a) = pbx(&app, "demo", "5555").await;
        assert_eq!(
            (a["reason"].as_str(), a["locked_until"].as_str()),
            ("wrong_pin", ""),
            "try {n}"
        );
    }
    let (_, fifth) = pbx(&app, "demo", "5555").await;
    assert_eq!(fifth["reason"], "wrong_pin");
    let until: i64 = fifth["locked_until"]
        .parse()
        .expect("locked_until on the fifth");
    let now = selfcare::time::now();
    assert!(
        (now + 14 * 60..=now + 16 * 60).contains(&until),
        "{until} vs {now}"
    );

    // Locked: the right PIN is refused, by the PBX and as the current PIN on the page.
    let (_, a) = pbx(&app, "demo", FIRST).await;
    assert_eq!(a["valid"], "0");
    assert_eq!(a["reason"], "locked");
    assert_eq!(a["locked_until"], until.to_string());
    let (status, xml) = set_pin(&app, &[("current_pin", FIRST), ("new_pin", SECOND)]).await;
    assert_eq!(status, 400);
    assert!(
        text_of(&xml, "status_message").contains("locked until"),
        "{xml}"
    );
    let (_, page) = app.get_xml("/users/pin").await;
    assert_eq!(text_of(&page, "locked"), "1");
    assert!(!text_of(&page, "locked_until").is_empty());
    assert_eq!(
        failures(&app).await,
        5,
        "tries while locked are not counted"
    );
    assert_eq!(events(&app, "pin_locked").await, 1);

    // Once the lock has run out, the right PIN works and clears the count.
    exec(
        &app,
        &format!("UPDATE calling_card_pins SET locked_until = {}", now - 1),
    )
    .await;
    assert_eq!(verify(&app, "demo", FIRST).await, yes());
    assert_eq!(failures(&app).await, 0);
    assert_eq!(pin_row(&app).await.unwrap().2, None);
}

on_both_databases!(wrong_pins_sent_at_once_get_five_tries_at_most);
async fn wrong_pins_sent_at_once_get_five_tries_at_most(backend: Backend) {
    let app = app_with_pbx(backend).await;
    app.legacy_login("demo", "demo").await;
    set_pin(&app, &[("new_pin", FIRST)]).await;
    let guesses = (0..10).map(|i| {
        let url = app.url("/pbx/pin");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(TOKEN)
                .query(&[("account", "demo"), ("pin", &format!("{}", 5170 + i))])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|a| a.contains("reason=wrong_pin"))
        .count();
    let locked = answers
        .iter()
        .filter(|a| a.contains("reason=locked"))
        .count();
    assert_eq!((checked, locked), (5, 5), "{answers:?}");
    assert_eq!(failures(&app).await, 5);
    assert_eq!(verify(&app, "demo", FIRST).await, no("locked"));
}

on_both_databases!(a_forgotten_pin_is_replaced_by_one_sent_by_mail);
async fn a_forgotten_pin_is_replaced_by_one_sent_by_mail(backend: Backend) {
    let app = app_with_pbx(backend).await;
    app.legacy_login("demo", "demo").await;
    set_pin(&app, &[("new_pin", FIRST)]).await;
    for _ in 0..5 {
        pbx(&app, "demo", "5555").await;
    }
    assert_eq!(verify(&app, "demo", FIRST).await, no("locked"));

    let r = app.post_form("/users/pin/reset", &[]).await;
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    assert_eq!(text_of(&xml, "name"), "pin_reset");
    assert!(
        text_of(&xml, "status_message").contains("d***@e***.com"),
        "{xml}"
    );
    let (to, body): (String, String) =
        sqlx::query_as("SELECT recipient, body FROM mail_outbox ORDER BY id DESC LIMIT 1")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(to, "demo@example.com");
    let mailed: String = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no 6-digit PIN in {body}"))
        .to_string();
    assert!(!xml.contains(&mailed), "the answer tells the PIN");
    assert_eq!(
        verify(&app, "demo", FIRST).await,
        no("wrong_pin"),
        "the old PIN is gone"
    );
    assert_eq!(verify(&app, "demo", &mailed).await, yes());
    assert_eq!(events(&app, "pin_reset").await, 1);

    // Without a registered address there is nowhere to send it: refused, nothing changed.
    exec(
        &app,
        "UPDATE users SET reg_email = '' WHERE username = 'demo'",
    )
    .await;
    let mails = app.scalar("SELECT COUNT(*) FROM mail_outbox").await;
    let r = app.post_form("/users/pin/reset", &[]).await;
    assert_eq!(r.status().as_u16(), 400);
    let xml = r.text().await.unwrap();
    assert!(text_of(&xml, "status_message").contains("e-mail"), "{xml}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM mail_outbox").await, mails);
    assert_eq!(verify(&app, "demo", &mailed).await, yes());
}

on_both_databases!(the_pin_page_never_shows_the_pin_in_any_format);
async fn the_pin_page_never_shows_the_pin_in_any_format(backend: Backend) {
    let app = app_with_pbx(backend).await;
    app.legacy_login("demo", "demo").await;
    set_pin(&app, &[("new_pin", SECOND)]).await;

    let (status, xml) = app.get_xml("/users/pin").await;
    assert_eq!(status, 200);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let field = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(field("pagename"), "PIN");
    assert_eq!(field("set"), "1");
    assert_eq!(field("set_at").len(), 19, "YYYY-MM-DD HH:MM:SS");
    assert_eq!(field("locked"), "0");
    assert_eq!(field("reset_email"), "d***@e***.com");
    assert!(!xml.contains(SECOND) && !xml.contains("argon2"), "{xml}");

    let r = app.get("/users/pin?format=json").await;
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(json["pin_set"], true);
    assert_eq!(json["locked"], false);
    assert_eq!(json["reset_email"], "d***@e***.com");
    assert!(json["locked_until"].is_null(), "{json}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(json["set_at"].as_str().unwrap()).is_ok(),
        "{json}"
    );
    assert!(!text.contains(SECOND) && !text.contains("argon2"), "{text}");

    // JSON clients get JSON refusals and answers.
    let r = app
        .client
        .post(app.url("/users/pin?format=json"))
        .form(&[("current_pin", SECOND), ("new_pin", "1111")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().await.unwrap();
    let refusal: serde_json::Value = serde_json::from_str(&text).expect("a JSON refusal");
    assert_eq!(refusal["error"]["code"], "invalid_input", "{refusal}");
    assert!(!text.contains(SECOND));
}

on_both_databases!(a_browser_sets_the_pin_through_the_form);
async fn a_browser_sets_the_pin_through_the_form(backend: Backend) {
    let app = app_with_pbx(backend).await;
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let html = app.get("/users/pin").await.text().await.unwrap();
    assert!(html.contains("name=\"new_pin\""), "{html}");
    assert!(
        !html.contains("name=\"current_pin\""),
        "no PIN yet: no current PIN asked"
    );
    assert!(html.contains("href=\"/users/pin\""), "in the menu");

    let r = app
        .submit_form(
            "/users/pin",
            &[("new_pin", "1234"), ("confirm_pin", "1234")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("role=\"alert\"") && html.contains("digits in a row"),
        "{html}"
    );
    assert!(pin_row(&app).await.is_none());

    let r = app
        .submit_form("/users/pin", &[("new_pin", FIRST), ("confirm_pin", FIRST)])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/users/pin?done=set");
    let html = app.get("/users/pin?done=set").await.text().await.unwrap();
    assert!(html.contains("Your PIN has been set"));
    assert!(html.contains("name=\"current_pin\""));
    assert!(!html.contains(FIRST));

    let r = app.submit_form("/users/pin/reset", &[]).await;
    assert_eq!(r.headers()["location"], "/users/pin?done=sent");
    let html = app.get("/users/pin?done=sent").await.text().await.unwrap();
    assert!(html.contains("d***@e***.com"), "{html}");
}

on_both_databases!(the_pbx_needs_the_operator_token_to_check_a_pin);
async fn the_pbx_needs_the_operator_token_to_check_a_pin(backend: Backend) {
    let app = app_with_pbx(backend).await;
    app.legacy_login("demo", "demo").await;
    set_pin(&app, &[("new_pin", FIRST)]).await;
    let url = app.url("/pbx/pin");
    let q = [("account", "demo"), ("pin", "5555")];
    let plain = reqwest::Client::new();
    let r = plain.get(&url).query(&q).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains("reason=error"));
    let r = plain
        .get(&url)
        .bearer_auth("pbx-token-for-the-pin-tests-02")
        .query(&q)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // The subscriber's own session is no token either.
    let r = app.client.get(&url).query(&q).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        failures(&app).await,
        0,
        "unauthorised questions count nothing"
    );

    // A question without a PIN or an account is malformed.
    let (status, a) = pbx(&app, "demo", "").await;
    assert_eq!((status, a["reason"].as_str()), (400, "error"));
    let (status, _) = pbx(&app, "", FIRST).await;
    assert_eq!(status, 400);

    // The same answer on one line, and as JSON.
    let r = plain
        .get(&url)
        .basic_auth("pbx", Some(TOKEN))
        .query(&[("account", "demo"), ("pin", FIRST), ("format", "hash")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "valid=1&reason=&locked_until=");
    let r = plain
        .get(&url)
        .bearer_auth(TOKEN)
        .header("Accept", "application/json")
        .query(&[("account", "demo"), ("pin", "5555")])
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["reason"], "wrong_pin");
    assert!(json["locked_until"].is_null());
}
