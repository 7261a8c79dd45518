//! The account pages: personal details, devices, caller IDs, phonebook. Each page in the seed's
//! XML (legacy session), in HTML (browser session, forms with the CSRF token) and JSON; every
//! action's ok and failed answers; other users' ids answer 404 and change nothing.

use chrono::TimeZone;

use crate::common::{spawn_demo_app, structure, text_of, Backend, TestApp};
use crate::on_both_databases;

/// (form fields, expected HTTP status, words the message must contain)
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

const ACTION: &str = "action\n  name\n  status\n  status_message\n";

/// The seed's personal details page, element by element.
const PERSONAL_DETAILS: &str = "\
page
  pagename
  language
  userid
  details
    main_details
      alias
      account
      balance
      credit
    other_details
      username
      surname
      personalid
      agreement_number
      agreement_date
      taxation_country
      vat_reg_number
      vat_percent
    registration
      reg_address
      reg_postcode
      reg_city
      reg_country
      reg_state
      reg_direction
      reg_phone
      reg_mobile
      reg_fax
      reg_email
";

const DEVICES_HEAD: &str = "page\n  pagename\n  language\n  userid\n  devices\n";
const DEVICE: &str = concat!(
    "    device\n",
    "      acc\n",
    "      description\n",
    "      type\n",
    "      extension\n",
    "      username\n",
    "      password\n",
    "      cid\n",
    "      last_time_registered\n",
);

const CLIS_HEAD: &str = "page\n  pagename\n  language\n  userid\n  aval_devices\n";
const AVAL_DEVICE: &str = "    device\n";
const CLI: &str = concat!(
    "    cli\n",
    "      cli_id\n",
    "      device\n",
    "      device_icon\n",
    "      cli_name\n",
    "      cli_desc\n",
    "      added_at\n",
);

const PHONEBOOK_HEAD: &str = "page\n  pagename\n  language\n  userid\n  entries\n";
/// The seed's entry plus `entry_id`, the id `/phonebooks/destroy/{entryid}` needs.
const ENTRY: &str = concat!(
    "    entry\n",
    "      entry_number\n",
    "      entry_name\n",
    "      entry_added\n",
    "      entry_id\n",
);

// ---------------------------------------------------------------------------------------------
// helpers

async fn text(app: &TestApp, sql: &str) -> String {
    let (s,): (String,) = sqlx::query_as(sql)
        .fetch_one(app.store.pool())
        .await
        .expect(sql);
    s
}

async fn user_id(app: &TestApp, name: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
        .await
}

/// Every column of a user's row that the details page touches, as one string.
async fn user_row(app: &TestApp, id: i64) -> String {
    text(
        app,
        &format!(
            "SELECT first_name || '|' || last_name || '|' || personal_id || '|' || alias || '|' ||
                    agreement_number || '|' || COALESCE(agreement_date, '') || '|' || taxation_country || '|' ||
                    vat_reg_number || '|' || CAST(vat_percent_bp AS TEXT) || '|' || reg_address || '|' ||
                    reg_postcode || '|' || reg_city || '|' || reg_country || '|' || reg_state || '|' ||
                    reg_direction || '|' || reg_phone || '|' || reg_mobile || '|' || reg_fax || '|' ||
                    reg_email || '|' || account_type || '|' || CAST(balance_micros AS TEXT) || '|' ||
                    COALESCE(CAST(credit_limit_micros AS TEXT), 'none')
             FROM users WHERE id = {id}"
        ),
    )
    .await
}

async fn browser_login(app: &TestApp, user: &str) {
    let r = app
        .submit_form("/callc/login", &[("username", user), ("password", user)])
        .await;
    assert_eq!(r.status().as_u16(), 303, "browser login as {user}");
}

async fn legacy(app: &TestApp, user: &str) {
    let (status, _) = app.legacy_login(user, user).await;
    assert_eq!(status, 200, "legacy login as {user}");
}

/// POSTs a form as a legacy client (no CSRF token); answers (status, body).
async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = app.post_form(path, form).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// POSTs raw bytes as a form body.
async fn post_raw(app: &TestApp, path: &str, body: Vec<u8>) -> (u16, String) {
    let r = app
        .client
        .post(app.url(path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// (name, status, status_message) of an `<action>` answer, after checking its structure.
fn action(xml: &str) -> (String, String, String) {
    assert_eq!(structure(xml), ACTION, "{xml}");
    (
        text_of(xml, "name"),
        text_of(xml, "status"),
        text_of(xml, "status_message"),
    )
}

async fn get_text(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.get(path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

fn local(at: i64, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    tz.timestamp_opt(at, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The text of every element `name` that is a child of an element `parent`.
fn all_texts(xml: &str, parent: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name(name) && n.parent().is_some_and(|p| p.has_tag_name(parent)))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// personal details

async fn personal_details_in_xml_html_and_json(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    legacy(&app, "demo").await;
    let (status, xml) = get_text(&app, "/users/personal_details").await;
    assert_eq!(status, 200);
    assert_eq!(structure(&xml), PERSONAL_DETAILS);
    assert_eq!(text_of(&xml, "pagename"), "Personal details");
    assert_eq!(text_of(&xml, "userid"), demo.to_string());
    assert_eq!(text_of(&xml, "username"), "John");
    assert_eq!(text_of(&xml, "surname"), "Smith");
    assert_eq!(
        text_of(&xml, "balance"),
        crate::common::balance_text(&app, "demo").await
    );
    assert_eq!(text_of(&xml, "credit"), "No Limit");
    assert_eq!(text_of(&xml, "account"), "Postpaid");
    assert_eq!(text_of(&xml, "vat_percent"), "20.0");
    for (element, column) in [
        ("alias", "alias"),
        ("personalid", "personal_id"),
        ("agreement_number", "agreement_number"),
        ("agreement_date", "agreement_date"),
        ("reg_city", "reg_city"),
        ("reg_phone", "reg_phone"),
        ("reg_email", "reg_email"),
    ] {
        let stored = text(
            &app,
            &format!("SELECT {column} FROM users WHERE id = {demo}"),
        )
        .await;
        assert!(!stored.is_empty(), "{column}");
        assert_eq!(text_of(&xml, element), stored, "{element}");
    }

    let json: serde_json::Value = app
        .get("/users/personal_details?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["details"]["other_details"]["surname"], "Smith");
    let balance = &json["details"]["main_details"]["balance"];
    assert_eq!(
        format!(
            "{} {}",
            balance["value"].as_str().unwrap(),
            balance["currency"].as_str().unwrap()
        ),
        crate::common::balance_text(&app, "demo").await
    );

    // demo2 reads it in Russian, in a browser.
    let other = spawn_demo_app(backend).await;
    browser_login(&other, "demo2").await;
    let (status, html) = get_text(&other, "/users/personal_details").await;
    assert_eq!(status, 200);
    let balance = crate::common::balance_shown(&other, "demo2", selfcare::i18n::Lang::Ru).await;
    for expected in [
        "Личные данные",
        "Иванова",
        "Москва",
        // Money as CLDR writes it in Russian.
        balance.as_str(),
        "10,00\u{a0}€",
        "demo2@example.com",
        "Сохранить",
        "aria-current=\"page\"",
    ] {
        assert!(html.contains(expected), "{expected} in\n{html}");
    }
}
on_both_databases!(personal_details_in_xml_html_and_json);

async fn a_partial_update_changes_only_the_given_fields(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    legacy(&app, "demo").await;
    let before = user_row(&app, demo).await;
    let audits = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal_details_changed'")
        .await;

    let (status, xml) = post(
        &app,
        &format!("/users/update_personal_details/{demo}"),
        &[
            ("surname", "  O'Brien <&\">  "),
            ("reg_phone", "+44 20 7946-0999"),
            // The operator's fields, posted anyway: ignored.
            ("balance", "1000000"),
            ("credit", "5"),
            ("account", "Prepaid"),
            ("alias", "999"),
            ("agreement_number", "FORGED"),
            ("agreement_date", "1999-01-01"),
            ("vat_percent", "0"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(
        action(&xml),
        (
            "edit_personal".into(),
            "ok".into(),
            "Personal details changed".into()
        )
    );

    let after = user_row(&app, demo).await;
    let (b, a): (Vec<&str>, Vec<&str>) = (before.split('|').collect(), after.split('|').collect());
    assert_eq!(a[1], "O'Brien <&\">", "trimmed, stored as typed");
    assert_eq!(a[15], "442079460999", "phone stored as digits");
    for i in (0..b.len()).filter(|i| *i != 1 && *i != 15) {
        assert_eq!(a[i], b[i], "column {i} must not change");
    }

    // One event, naming what changed.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal_details_changed'")
            .await,
        audits + 1
    );
    let detail = text(
        &app,
        "SELECT detail FROM audit_log WHERE action = 'personal_details_changed' ORDER BY id DESC LIMIT 1",
    )
    .await;
    assert_eq!(detail, "Changed: surname, reg_phone");

    // The name round-trips through the XML page, escaped on the way.
    let (_, xml) = get_text(&app, "/users/personal_details").await;
    assert!(xml.contains("O&#39;Brien &#60;&#38;&#34;&#62;"), "{xml}");
    assert_eq!(text_of(&xml, "surname"), "O'Brien <&\">");
    assert_eq!(
        text_of(&xml, "balance"),
        crate::common::balance_text(&app, "demo").await
    );
    assert_eq!(text_of(&xml, "alias"), b[3]);

    // An empty value clears a field; nothing given changes nothing and logs nothing.
    let (status, _) = post(
        &app,
        &format!("/users/update_personal_details/{demo}"),
        &[("reg_fax", ""), ("reg_state", "")],
    )
    .await;
    assert_eq!(status, 200);
    let (status, xml) = post(&app, &format!("/users/update_personal_details/{demo}"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(action(&xml).1, "ok");
    assert_eq!(user_row(&app, demo).await, after);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal_details_changed'")
            .await,
        audits + 1
    );
}
on_both_databases!(a_partial_update_changes_only_the_given_fields);

async fn bad_details_save_nothing_and_say_why(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    legacy(&app, "demo").await;
    let before = user_row(&app, demo).await;
    let url = format!("/users/update_personal_details/{demo}");
    let huge = "x".repeat(10_000);
    // (fields, a word the message must contain)
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("surname", "Good"), ("reg_email", "not-an-address")],
            "reg_email",
        ),
        (
            vec![("surname", "Good"), ("reg_phone", "call me")],
            "reg_phone",
        ),
        (
            vec![("surname", "Good"), ("reg_mobile", "12")],
            "reg_mobile",
        ),
        (
            vec![("surname", "Good"), ("reg_fax", "+1 (212) 555")],
            "reg_fax",
        ),
        (vec![("username", huge.as_str())], "At most 100 characters"),
        (
            vec![("reg_address", "line 1\nline 2")],
            "control characters",
        ),
        (vec![("reg_city", "Lon\u{0}don")], "control characters"),
        (
            vec![("reg_postcode", "123456789012345678901")],
            "At most 20",
        ),
        (vec![("surname", "a"), ("surname", "b")], "more than once"),
    ];
    for (fields, expected) in cases {
        let (status, xml) = post(&app, &url, &fields).await;
        assert_eq!(status, 400, "{fields:?}: {xml}");
        let (name, status, message) = action(&xml);
        assert_eq!(
            (name.as_str(), status.as_str()),
            ("edit_personal", "failed")
        );
        assert!(message.contains(expected), "{expected} in {message}");
    }
    // Not UTF-8, and far too large: refused in the page's format, never a 500.
    let (status, xml) = post_raw(&app, &url, b"surname=%FF%FE&reg_city=Paris".to_vec()).await;
    assert_eq!(status, 400);
    assert!(action(&xml).2.contains("UTF-8"), "{xml}");
    // Said in the reader's language.
    let (status, xml) = post_raw(
        &app,
        &format!("{url}?lang=ru"),
        b"surname=%FF%FE&reg_city=Paris".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        action(&xml).2,
        "Не удалось прочитать форму: поле surname содержит текст не в UTF-8."
    );
    let (status, xml) = post_raw(&app, &url, b"surname=\xc3\x28".to_vec()).await;
    assert_eq!(status, 400);
    assert_eq!(action(&xml).1, "failed");
    let mut big = b"surname=".to_vec();
    big.extend(std::iter::repeat_n(b'a', 100_000));
    let (status, xml) = post_raw(&app, &url, big).await;
    assert_eq!(status, 400);
    assert_eq!(action(&xml).0, "edit_personal");

    assert_eq!(user_row(&app, demo).await, before, "nothing was saved");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal_details_changed'")
            .await,
        0
    );
}
on_both_databases!(bad_details_save_nothing_and_say_why);

async fn the_details_form_keeps_what_was_typed(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    browser_login(&app, "demo").await;
    let before = user_row(&app, demo).await;
    let url = format!("/users/update_personal_details/{demo}");

    let r = app
        .submit_form(
            &url,
            &[
                ("surname", "Typed <b>Name</b>"),
                ("reg_email", "john@@example"),
                ("reg_phone", "12ab"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("value=\"Typed &#60;b&#62;Name&#60;/b&#62;\""),
        "{html}"
    );
    assert!(html.contains("value=\"john@@example\""));
    assert!(html.contains("value=\"12ab\""));
    assert!(html.contains("Not a valid e-mail address"));
    assert!(html.contains("Digits only"));
    assert_eq!(html.matches("class=\"field-error\"").count(), 2);
    assert!(html.contains("Nothing was saved"));
    assert_eq!(user_row(&app, demo).await, before);

    // Without the CSRF token the form is refused.
    let (status, _) = post(&app, &url, &[("surname", "Forged")]).await;
    assert_eq!(status, 403);
    assert_eq!(user_row(&app, demo).await, before);

    let r = app
        .submit_form(&url, &[("surname", "Jones"), ("reg_city", "Leeds")])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/users/personal_details?done=saved");
    let (_, html) = get_text(&app, &location).await;
    assert!(html.contains("Your details are saved."), "{html}");
    assert!(html.contains("value=\"Jones\"") && html.contains("value=\"Leeds\""));
    assert_eq!(
        text(
            &app,
            &format!("SELECT last_name FROM users WHERE id = {demo}")
        )
        .await,
        "Jones"
    );
}
on_both_databases!(the_details_form_keeps_what_was_typed);

async fn another_users_details_are_not_found(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo2 = user_id(&app, "demo2").await;
    let before = user_row(&app, demo2).await;

    legacy(&app, "demo").await;
    for path in [
        format!("/users/update_personal_details/{demo2}"),
        "/users/update_personal_details/999999".to_string(),
        "/users/update_personal_details/abc".to_string(),
    ] {
        let (status, xml) = post(&app, &path, &[("surname", "Hacked")]).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(action(&xml).1, "failed");
    }

    let browser = spawn_demo_app(backend).await;
    browser_login(&browser, "demo").await;
    let r = browser
        .submit_form(
            &format!("/users/update_personal_details/{demo2}"),
            &[("surname", "Hacked")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(user_row(&app, demo2).await, before);
    assert_eq!(user_row(&browser, demo2).await, before);
}
on_both_databases!(another_users_details_are_not_found);

// ---------------------------------------------------------------------------------------------
// devices

async fn devices_in_xml_with_their_secrets(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    legacy(&app, "demo").await;
    let (status, xml) = get_text(&app, "/devices/user_devices").await;
    assert_eq!(status, 200);
    let count = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM devices WHERE user_id = {demo}"
        ))
        .await;
    assert!(count >= 3);
    assert_eq!(
        structure(&xml),
        format!("{DEVICES_HEAD}{}", DEVICE.repeat(count as usize))
    );
    assert_eq!(text_of(&xml, "pagename"), "Devices");

    let rows: Vec<(i64, String, String, String, String, Option<i64>)> = sqlx::query_as(&format!(
        "SELECT id, device_type, username, secret, caller_id, last_registered_at
         FROM devices WHERE user_id = {demo} ORDER BY extension"
    ))
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let devices: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("device"))
        .collect();
    for (node, (id, kind, username, secret, cid, last)) in devices.iter().zip(&rows) {
        let field = |name: &str| {
            node.children()
                .find(|c| c.has_tag_name(name))
                .and_then(|c| c.text())
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(field("acc"), id.to_string());
        assert_eq!(field("type"), *kind);
        assert_eq!(field("username"), *username);
        assert_eq!(field("password"), *secret, "XML carries the secret");
        assert_eq!(
            field("cid"),
            *cid,
            "a caller ID with quotes and <> round-trips"
        );
        assert_eq!(
            field("last_time_registered"),
            local(last.unwrap(), "Europe/London"),
            "in the subscriber's zone"
        );
    }
    assert!(rows.iter().any(|r| r.4.contains('"') && r.4.contains('<')));

    let json: serde_json::Value = app
        .get("/devices/user_devices?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["devices"].as_array().unwrap().len(), count as usize);
    assert_eq!(json["devices"][0]["device_type"], rows[0].1.as_str());
    assert!(json["links"]["next"].is_null() && json["links"]["prev"].is_null());
}
on_both_databases!(devices_in_xml_with_their_secrets);

async fn the_devices_page_shows_a_secret_only_when_asked(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let demo2 = user_id(&app, "demo2").await;
    browser_login(&app, "demo").await;
    let (id, secret): (i64, String) = sqlx::query_as(&format!(
        "SELECT id, secret FROM devices WHERE user_id = {demo} ORDER BY id LIMIT 1"
    ))
    .fetch_one(app.store.pool())
    .await
    .unwrap();

    let r = app.get("/devices/user_devices").await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("Desk phone") && html.contains("Fax machine"));
    assert!(
        html.contains("&#34;John Smith&#34; &#60;101&#62;"),
        "{html}"
    );
    assert!(!html.contains(&secret), "the secret is hidden by default");
    assert!(html.contains(&format!("?show_secret={id}")));

    let (status, html) = get_text(&app, &format!("/devices/user_devices?show_secret={id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&secret));
    let others: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT secret FROM devices WHERE user_id = {demo} AND id <> {id}"
    ))
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert!(
        others.iter().all(|(s,)| !html.contains(s.as_str())),
        "only the one asked for"
    );

    // Another user's device (or none) is not found; nothing of it is shown.
    let (foreign, foreign_secret): (i64, String) = sqlx::query_as(&format!(
        "SELECT id, secret FROM devices WHERE user_id = {demo2} ORDER BY id LIMIT 1"
    ))
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    for path in [
        format!("/devices/user_devices?show_secret={foreign}"),
        "/devices/user_devices?show_secret=999999".to_string(),
        "/devices/user_devices?show_secret=x".to_string(),
    ] {
        let (status, html) = get_text(&app, &path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!html.contains(&foreign_secret));
    }

    // Russian, and the empty state of a user without devices.
    let (_, html) = get_text(&app, "/devices/user_devices?lang=ru").await;
    assert!(html.contains("Устройства") && html.contains("Показать"));
    sqlx::query(&format!(
        "DELETE FROM clis WHERE device_id IN (SELECT id FROM devices WHERE user_id = {demo})"
    ))
    .execute(app.store.pool())
    .await
    .unwrap();
    for table in ["calls", "faxes", "callback_requests"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = {demo}"))
            .execute(app.store.pool())
            .await
            .unwrap();
    }
    sqlx::query(&format!("DELETE FROM devices WHERE user_id = {demo}"))
        .execute(app.store.pool())
        .await
        .unwrap();
    let (_, html) = get_text(&app, "/devices/user_devices?lang=en").await;
    assert!(html.contains("No devices yet"), "{html}");
    let (_, html) = get_text(&app, "/devices/user_device_clis").await;
    assert!(html.contains("You have no devices") && html.contains("No caller IDs yet"));
}
on_both_databases!(the_devices_page_shows_a_secret_only_when_asked);

// ---------------------------------------------------------------------------------------------
// caller IDs

async fn caller_ids_in_the_seeds_xml(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    legacy(&app, "demo").await;
    let (status, xml) = get_text(&app, "/devices/user_device_clis").await;
    assert_eq!(status, 200);
    let devices = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM devices WHERE user_id = {demo}"
        ))
        .await as usize;
    let clis = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM clis c JOIN devices d ON d.id = c.device_id WHERE d.user_id = {demo}"
        ))
        .await as usize;
    assert!(clis >= 2);
    assert_eq!(
        structure(&xml),
        format!(
            "{CLIS_HEAD}{}  clis\n{}",
            AVAL_DEVICE.repeat(devices),
            CLI.repeat(clis)
        )
    );
    assert_eq!(text_of(&xml, "pagename"), "CallerIDs");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let first = doc
        .descendants()
        .find(|n| n.has_tag_name("device") && n.attribute("id").is_some())
        .unwrap();
    let (id, label): (i64, String) = sqlx::query_as(&format!(
        "SELECT id, device_type || '/' || username FROM devices WHERE user_id = {demo} ORDER BY extension LIMIT 1"
    ))
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(first.attribute("id"), Some(id.to_string().as_str()));
    assert_eq!(first.text(), Some(label.as_str()));

    let (cli, added): (String, i64) = sqlx::query_as(&format!(
        "SELECT c.cli, c.added_at FROM clis c JOIN devices d ON d.id = c.device_id
         WHERE d.user_id = {demo} ORDER BY d.extension, c.cli LIMIT 1"
    ))
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(text_of(&xml, "cli_name"), cli);
    assert_eq!(text_of(&xml, "device_icon"), "phone.png");
    assert_eq!(text_of(&xml, "added_at"), local(added, "Europe/London"));
}
on_both_databases!(caller_ids_in_the_seeds_xml);

async fn adding_and_deleting_caller_ids_in_xml(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let demo2 = user_id(&app, "demo2").await;
    legacy(&app, "demo").await;
    let device = app
        .scalar(&format!(
            "SELECT MIN(id) FROM devices WHERE user_id = {demo}"
        ))
        .await
        .to_string();
    let foreign_device = app
        .scalar(&format!(
            "SELECT MIN(id) FROM devices WHERE user_id = {demo2}"
        ))
        .await
        .to_string();
    let foreign_cli = text(
        &app,
        &format!("SELECT c.cli FROM clis c JOIN devices d ON d.id = c.device_id WHERE d.user_id = {demo2} LIMIT 1"),
    )
    .await;
    let total = || app.scalar("SELECT COUNT(*) FROM clis");
    let before = total().await;

    let (status, xml) = post(
        &app,
        "/devices/cli_add",
        &[
            ("device_id", &device),
            ("cli", "+44 161 555-0101"),
            ("description", "Line <&\">"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(
        action(&xml),
        ("add_cli".into(), "ok".into(), "CLI created".into())
    );
    assert_eq!(total().await, before + 1);
    assert_eq!(
        text(
            &app,
            "SELECT description FROM clis WHERE cli = '441615550101'"
        )
        .await,
        "Line <&\">",
        "stored without + and separators"
    );
    let (_, page) = get_text(&app, "/devices/user_device_clis").await;
    assert!(all_texts(&page, "cli", "cli_desc").contains(&"Line <&\">".to_string()));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'cli_added'")
            .await,
        1
    );

    let long_description = "d".repeat(101);
    // (fields, expected status, words of the message)
    let cases: Vec<Case> = vec![
        (
            vec![("device_id", &device), ("cli", "441615550101")],
            400,
            "already a caller ID of your device",
        ),
        (
            vec![("device_id", &device), ("cli", &foreign_cli)],
            400,
            "already registered",
        ),
        (
            vec![("device_id", &device), ("cli", "12")],
            400,
            "Digits only",
        ),
        (
            vec![("device_id", &device), ("cli", "44 abc")],
            400,
            "Digits only",
        ),
        (vec![("device_id", &device), ("cli", "")], 400, "Required"),
        (
            vec![("device_id", &device), ("cli", "123456789012345678901")],
            400,
            "20 digits",
        ),
        (
            vec![
                ("device_id", &device),
                ("cli", "4455501"),
                ("description", long_description.as_str()),
            ],
            400,
            "At most 100",
        ),
        (
            vec![("device_id", ""), ("cli", "4455502")],
            400,
            "choose one of your devices",
        ),
        (
            vec![("device_id", "one"), ("cli", "4455502")],
            400,
            "choose one of your devices",
        ),
        (
            vec![("device_id", &foreign_device), ("cli", "4455503")],
            404,
            "",
        ),
        (vec![("device_id", "999999"), ("cli", "4455504")], 404, ""),
    ];
    for (fields, expected, words) in cases {
        let (status, xml) = post(&app, "/devices/cli_add", &fields).await;
        assert_eq!(status, expected, "{fields:?}: {xml}");
        let (name, status, message) = action(&xml);
        assert_eq!((name.as_str(), status.as_str()), ("add_cli", "failed"));
        if expected == 400 {
            assert!(message.starts_with("CLI not created"), "{message}");
        }
        assert!(message.contains(words), "{words} in {message}");
    }
    let (status, xml) = post_raw(
        &app,
        "/devices/cli_add",
        format!("device_id={device}&cli=4455505&description=%FF").into_bytes(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(action(&xml).2.contains("UTF-8"));
    assert_eq!(
        total().await,
        before + 1,
        "no failed attempt wrote anything"
    );

    // Delete: another user's CLI is not found and stays; one's own goes.
    let foreign_id = app
        .scalar(&format!("SELECT id FROM clis WHERE cli = '{foreign_cli}'"))
        .await;
    let (status, xml) = post(&app, &format!("/devices/cli_delete/{foreign_id}"), &[]).await;
    assert_eq!(status, 404);
    assert_eq!(action(&xml).0, "delete_cli");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM clis WHERE id = {foreign_id}"
        ))
        .await,
        1
    );
    let own_id = app
        .scalar("SELECT id FROM clis WHERE cli = '441615550101'")
        .await;
    let (status, xml) = post(&app, &format!("/devices/cli_delete/{own_id}"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        action(&xml),
        ("delete_cli".into(), "ok".into(), "CLI deleted".into())
    );
    assert_eq!(total().await, before);
    let (status, _) = post(&app, &format!("/devices/cli_delete/{own_id}"), &[]).await;
    assert_eq!(status, 404, "already gone");
}
on_both_databases!(adding_and_deleting_caller_ids_in_xml);

async fn caller_ids_through_the_html_form(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let demo2 = user_id(&app, "demo2").await;
    browser_login(&app, "demo").await;
    let device = app
        .scalar(&format!(
            "SELECT MAX(id) FROM devices WHERE user_id = {demo}"
        ))
        .await
        .to_string();
    let before = app.scalar("SELECT COUNT(*) FROM clis").await;

    let (status, html) = get_text(&app, "/devices/user_device_clis").await;
    assert_eq!(status, 200);
    assert!(html.contains("442079460000") && html.contains("Desk phone line"));
    assert!(html.contains("name=\"csrf_token\""));

    // Refused: the form comes back with what was typed and the message at the field.
    let r = app
        .submit_form(
            "/devices/cli_add",
            &[
                ("device_id", &device),
                ("cli", "+44 x"),
                ("description", "Fax <line>"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("value=\"+44 x\""), "{html}");
    assert!(html.contains("value=\"Fax &#60;line&#62;\""));
    assert!(html.contains(&format!("<option value=\"{device}\" selected>")));
    assert!(html.contains("class=\"field-error\" id=\"err-cli\""));

    let r = app
        .submit_form(
            "/devices/cli_add",
            &[
                ("device_id", &device),
                ("cli", "+44 20 7946 0555"),
                ("description", "Fax line"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        "/devices/user_device_clis?done=added"
    );
    let (_, html) = get_text(&app, "/devices/user_device_clis?done=added").await;
    assert!(html.contains("The caller ID is added.") && html.contains("442079460555"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM clis").await, before + 1);

    // Another user's device and CLI: 404, nothing changes.
    let foreign_device = app
        .scalar(&format!(
            "SELECT MIN(id) FROM devices WHERE user_id = {demo2}"
        ))
        .await
        .to_string();
    let r = app
        .submit_form(
            "/devices/cli_add",
            &[("device_id", &foreign_device), ("cli", "4455599")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);
    let foreign_cli = app
        .scalar(&format!(
            "SELECT MIN(c.id) FROM clis c JOIN devices d ON d.id = c.device_id WHERE d.user_id = {demo2}"
        ))
        .await;
    let r = app
        .submit_form(&format!("/devices/cli_delete/{foreign_cli}"), &[])
        .await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM clis").await, before + 1);

    let own = app
        .scalar("SELECT id FROM clis WHERE cli = '442079460555'")
        .await;
    let r = app
        .submit_form(&format!("/devices/cli_delete/{own}"), &[])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        "/devices/user_device_clis?done=deleted"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM clis").await, before);
    let (_, html) = get_text(&app, "/devices/user_device_clis?done=deleted&lang=ru").await;
    assert!(html.contains("Номер удалён."));
}
on_both_databases!(caller_ids_through_the_html_form);

// ---------------------------------------------------------------------------------------------
// phonebook

async fn the_phonebook_in_xml(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let demo2 = user_id(&app, "demo2").await;
    legacy(&app, "demo").await;
    let (status, xml) = get_text(&app, &format!("/phonebooks/list/{demo}")).await;
    assert_eq!(status, 200);
    let count = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM phonebook_entries WHERE user_id = {demo}"
        ))
        .await;
    assert!(count >= 10);
    assert_eq!(
        structure(&xml),
        format!("{PHONEBOOK_HEAD}{}", ENTRY.repeat(count as usize))
    );
    assert_eq!(text_of(&xml, "pagename"), "Phonebook");
    let names = all_texts(&xml, "entry", "entry_name");
    assert!(
        names.contains(&"O'Brien & Sons <Sales>".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"Pizza \"Napoli\"".to_string()));
    let ids = all_texts(&xml, "entry", "entry_id");
    let (id, number, added): (i64, String, i64) = sqlx::query_as(&format!(
        "SELECT id, number, added_at FROM phonebook_entries WHERE user_id = {demo} AND name = 'Mum'"
    ))
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let at = ids.iter().position(|i| *i == id.to_string()).unwrap();
    assert_eq!(names[at], "Mum");
    assert_eq!(all_texts(&xml, "entry", "entry_number")[at], number);
    assert_eq!(
        all_texts(&xml, "entry", "entry_added")[at],
        local(added, "Europe/London")
    );

    // Another user's list, and a missing one, are not found.
    for path in [
        format!("/phonebooks/list/{demo2}"),
        "/phonebooks/list/999999".into(),
        "/phonebooks/list/x".into(),
    ] {
        let (status, xml) = get_text(&app, &path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(action(&xml).1, "failed");
    }
}
on_both_databases!(the_phonebook_in_xml);

async fn phonebook_actions_in_xml(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let demo2 = user_id(&app, "demo2").await;
    legacy(&app, "demo").await;
    let add = format!("/phonebooks/add_new/{demo}");
    let count = || app.scalar("SELECT COUNT(*) FROM phonebook_entries");
    let before = count().await;

    let (status, xml) = post(
        &app,
        &add,
        &[("number", "+1 212 555 0199"), ("name", "Ann <&\"> Lee")],
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(
        action(&xml),
        (
            "add_phonebook_entry".into(),
            "ok".into(),
            "Record added".into()
        )
    );
    assert_eq!(count().await, before + 1);
    let (_, page) = get_text(&app, &format!("/phonebooks/list/{demo}")).await;
    let names = all_texts(&page, "entry", "entry_name");
    let numbers = all_texts(&page, "entry", "entry_number");
    let at = names
        .iter()
        .position(|n| n == "Ann <&\"> Lee")
        .expect("round-trips");
    assert_eq!(numbers[at], "12125550199");

    let long_name = "n".repeat(5_000);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("number", ""), ("name", "")], "Please fill all fields"),
        (vec![("number", "12125550123")], "Please fill all fields"),
        (vec![("name", "Nobody")], "Please fill all fields"),
        (
            vec![("number", "12125550199"), ("name", "Twice")],
            "already in the phonebook as “Ann <&\"> Lee”",
        ),
        (
            vec![("number", "+1212555 0199"), ("name", "Twice")],
            "already in the phonebook",
        ),
        (
            vec![("number", "not a number"), ("name", "X")],
            "Digits only",
        ),
        (
            vec![("number", "12125550124"), ("name", long_name.as_str())],
            "At most 100",
        ),
        (
            vec![("number", "12125550125"), ("name", "tab\there")],
            "control characters",
        ),
        (
            vec![("number", "12125550125"), ("name", "nul\u{0}")],
            "control characters",
        ),
    ];
    for (fields, words) in cases {
        let (status, xml) = post(&app, &add, &fields).await;
        assert_eq!(status, 400, "{fields:?}");
        let (name, status, message) = action(&xml);
        assert_eq!(
            (name.as_str(), status.as_str()),
            ("add_phonebook_entry", "failed")
        );
        assert!(message.contains(words), "{words} in {message}");
    }
    let (status, xml) = post_raw(&app, &add, b"number=12125550126&name=%C0%AF".to_vec()).await;
    assert_eq!(status, 400);
    assert!(action(&xml).2.contains("UTF-8"));
    // Someone else's phonebook: not found, nothing added to it.
    let theirs = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM phonebook_entries WHERE user_id = {demo2}"
        ))
        .await;
    let (status, xml) = post(
        &app,
        &format!("/phonebooks/add_new/{demo2}"),
        &[("number", "12125550127"), ("name", "Spy")],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(action(&xml).0, "add_phonebook_entry");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM phonebook_entries WHERE user_id = {demo2}"
        ))
        .await,
        theirs
    );
    assert_eq!(count().await, before + 1);

    // The same number in another user's phonebook is fine.
    let demo2_number = text(
        &app,
        &format!("SELECT MIN(number) FROM phonebook_entries WHERE user_id = {demo2}"),
    )
    .await;
    let (status, _) = post(&app, &add, &[("number", &demo2_number), ("name", "Shared")]).await;
    assert_eq!(status, 200);

    // Delete: another user's entry is not found and stays.
    let foreign = app
        .scalar(&format!(
            "SELECT MIN(id) FROM phonebook_entries WHERE user_id = {demo2}"
        ))
        .await;
    let (status, xml) = post(&app, &format!("/phonebooks/destroy/{foreign}"), &[]).await;
    assert_eq!(status, 404);
    assert_eq!(action(&xml).0, "delete_phonebook_entry");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM phonebook_entries WHERE id = {foreign}"
        ))
        .await,
        1
    );
    let own = app
        .scalar("SELECT id FROM phonebook_entries WHERE number = '12125550199'")
        .await;
    let (status, xml) = post(&app, &format!("/phonebooks/destroy/{own}"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        action(&xml),
        (
            "delete_phonebook_entry".into(),
            "ok".into(),
            "Record deleted".into()
        )
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM phonebook_entries WHERE id = {own}"
        ))
        .await,
        0
    );
    let (status, _) = post(&app, "/phonebooks/destroy/abc", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'phonebook_entry_%'")
            .await,
        3,
        "two additions and a deletion"
    );
}
on_both_databases!(phonebook_actions_in_xml);

async fn the_phonebook_page_searches_adds_and_deletes(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let demo2 = user_id(&app, "demo2").await;
    browser_login(&app, "demo").await;
    let list = format!("/phonebooks/list/{demo}");

    // The nav link goes to one's own list.
    let r = app.get("/phonebooks/list").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"].to_str().unwrap(), list);

    let (status, html) = get_text(&app, &list).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("O&#39;Brien &#38; Sons &#60;Sales&#62;"),
        "escaped"
    );
    assert!(html.contains("Alice Brown") && html.contains("Mum"));

    // Search by name (any case, Cyrillic too) and by number, in SQL.
    let (_, html) = get_text(&app, &format!("{list}?q=ALICE")).await;
    assert!(html.contains("Alice Brown") && !html.contains("Bob Miller"));
    let (_, html) = get_text(&app, &format!("{list}?q=%D0%BF%D1%91%D1%82%D1%80")).await; // пётр
    assert!(
        html.contains("Пётр Смирнов") && !html.contains("Alice Brown"),
        "{html}"
    );
    let number = text(
        &app,
        &format!("SELECT number FROM phonebook_entries WHERE user_id = {demo} AND name = 'Mum'"),
    )
    .await;
    let (_, html) = get_text(&app, &format!("{list}?q=%2B{}", &number[..8])).await;
    assert!(html.contains("Mum"), "{html}");
    // Wildcards are taken literally.
    for q in ["%25", "_", "%5C"] {
        let (status, html) = get_text(&app, &format!("{list}?q={q}")).await;
        assert_eq!(status, 200);
        assert!(html.contains("No entries match"), "{q}: {html}");
    }
    let (status, _) = get_text(&app, &format!("{list}?q={}", "a".repeat(500))).await;
    assert_eq!(status, 400);
    let (status, _) = get_text(&app, &format!("{list}?q=%FF")).await;
    assert_eq!(status, 400);

    // Add: refused with the typed values kept; then accepted, redirected with a notice.
    let r = app
        .submit_form(
            &format!("/phonebooks/add_new/{demo}"),
            &[("number", "0x12"), ("name", "Zoë <Z>")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("value=\"0x12\"") && html.contains("value=\"Zoë &#60;Z&#62;\""),
        "{html}"
    );
    assert!(html.contains("id=\"err-number\""));
    let r = app
        .submit_form(
            &format!("/phonebooks/add_new/{demo}"),
            &[("number", "+44 7700 900123"), ("name", "Zoë <Z>")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("{list}?done=added"));
    let (_, html) = get_text(&app, &location).await;
    assert!(html.contains("The entry is added.") && html.contains("447700900123"));
    let r = app
        .submit_form(
            &format!("/phonebooks/add_new/{demo}"),
            &[("number", "447700900123"), ("name", "Again")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("already in your phonebook as “Zoë &#60;Z&#62;”"));

    // Another user's list and entries: 404, nothing changed.
    let theirs = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM phonebook_entries WHERE user_id = {demo2}"
        ))
        .await;
    let (status, _) = get_text(&app, &format!("/phonebooks/list/{demo2}")).await;
    assert_eq!(status, 404);
    let r = app
        .submit_form(
            &format!("/phonebooks/add_new/{demo2}"),
            &[("number", "447700900124"), ("name", "Spy")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);
    let foreign = app
        .scalar(&format!(
            "SELECT MIN(id) FROM phonebook_entries WHERE user_id = {demo2}"
        ))
        .await;
    let r = app
        .submit_form(&format!("/phonebooks/destroy/{foreign}"), &[])
        .await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM phonebook_entries WHERE user_id = {demo2}"
        ))
        .await,
        theirs
    );

    // Delete every entry: the empty state, in Russian.
    let ids: Vec<(i64,)> = sqlx::query_as(&format!(
        "SELECT id FROM phonebook_entries WHERE user_id = {demo}"
    ))
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    for (id,) in ids {
        let r = app
            .submit_form(&format!("/phonebooks/destroy/{id}"), &[])
            .await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(
            r.headers()["location"].to_str().unwrap(),
            format!("{list}?done=deleted")
        );
    }
    let (_, html) = get_text(&app, &format!("{list}?lang=ru")).await;
    assert!(html.contains("Записей пока нет"), "{html}");
}
on_both_databases!(the_phonebook_page_searches_adds_and_deletes);

async fn account_pages_need_a_session(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    for path in [
        "/users/personal_details",
        "/devices/user_devices",
        "/devices/user_device_clis",
        "/phonebooks/list/1",
        "/phonebooks/list",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/callc/login");
        let (status, xml) = app.get_xml(path).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(action(&xml).1, "failed");
    }
    for path in [
        "/devices/cli_add",
        "/phonebooks/add_new/1",
        "/phonebooks/destroy/1",
        "/devices/cli_delete/1",
        "/users/update_personal_details/1",
    ] {
        let r = app
            .client
            .post(app.url(path))
            .header("Accept", "application/xml")
            .form(&[("cli", "123")])
            .send()
            .await
            .unwrap();
        // Refused before anything is read: no token (403) or no session (401).
        assert!(matches!(r.status().as_u16(), 401 | 403), "{path}");
    }
}
on_both_databases!(account_pages_need_a_session);

async fn changing_the_email_asks_for_the_password(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    legacy(&app, "demo").await;
    let url = format!("/users/update_personal_details/{demo}");
    let query = format!("SELECT reg_email FROM users WHERE id = {demo}");
    let email = || text(&app, &query);
    let before = email().await;
    for form in [
        vec![("reg_email", "thief@example.com")],
        vec![
            ("reg_email", "thief@example.com"),
            ("current_password", "guess"),
        ],
    ] {
        let (status, xml) = post(&app, &url, &form).await;
        assert_eq!(status, 400, "{xml}");
        assert!(action(&xml).2.contains("current password"), "{xml}");
        assert_eq!(email().await, before);
    }
    let (status, xml) = post(
        &app,
        &url,
        &[
            ("reg_email", "john@example.org"),
            ("current_password", "demo"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(email().await, "john@example.org");
    // The same address again, or other fields: no password needed.
    let (status, _) = post(
        &app,
        &url,
        &[("reg_email", "john@example.org"), ("reg_city", "Leeds")],
    )
    .await;
    assert_eq!(status, 200);
}
on_both_databases!(changing_the_email_asks_for_the_password);

// ---------------------------------------------------------------------------------------------
// the activity log

/// The activity log, newest first, a page at a time: `next` leads to older events without an
/// overlap or a gap (events of the same second are told apart by id), `prev` back; an HTML
/// page links to both.
async fn the_activity_log_pages_lead_on_and_back(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    browser_login(&app, "demo").await;
    // Events in one second, and some older ones.
    let now = chrono::Utc::now().timestamp();
    for (i, at) in [
        now - 5,
        now - 5,
        now - 5,
        now - 3600,
        now - 7200,
        now - 7200,
    ]
    .iter()
    .enumerate()
    {
        sqlx::query(
            "INSERT INTO audit_log (user_id, at, action, detail, address) VALUES ($1, $2, 'login', $3, '127.0.0.1')",
        )
        .bind(demo)
        .bind(at)
        .bind(format!("event {i}"))
        .execute(app.store.pool())
        .await
        .unwrap();
    }
    let expected: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM audit_log WHERE user_id = $1 ORDER BY at DESC, id DESC")
            .bind(demo)
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    let expected: Vec<i64> = expected.into_iter().map(|r| r.0).collect();
    assert!(expected.len() >= 6);

    let get = |path: String| {
        let app = &app;
        async move {
            let r = app.get_as(&path, "application/json").await;
            assert_eq!(r.status().as_u16(), 200, "GET {path}");
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let ids = |page: &serde_json::Value| -> Vec<i64> {
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event_id"].as_i64().unwrap())
            .collect()
    };
    let first = get("/users/activity?per_page=2".into()).await;
    assert!(first["links"]["prev"].is_null(), "{first}");
    let date = first["events"][0]["date"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(date).is_ok(), "{date}");
    let mut seen = ids(&first);
    let mut pages = vec![first.clone()];
    while let Some(next) = pages.last().unwrap()["links"]["next"]
        .as_str()
        .map(str::to_string)
    {
        assert!(
            next.contains("before=") && next.contains("per_page=2"),
            "{next}"
        );
        let page = get(next).await;
        let got = ids(&page);
        assert!(
            !got.is_empty() && got.iter().all(|id| !seen.contains(id)),
            "{page}"
        );
        seen.extend(got);
        pages.push(page);
        assert!(pages.len() <= expected.len(), "the pages never end");
    }
    assert_eq!(seen, expected, "every event once, newest first");
    let back = pages[1]["links"]["prev"].as_str().expect("a prev link");
    assert!(back.contains("after="), "{back}");
    assert_eq!(ids(&get(back.to_string()).await), ids(&first));

    // The HTML page links on, and a bad position is refused.
    let html = app
        .get("/users/activity?per_page=2")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("rel=\"next\""), "{html}");
    assert!(!html.contains("rel=\"prev\""));
    let r = app
        .get("/users/activity?before=yesterday&format=json")
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let r = app.get("/users/activity?per_page=0&format=json").await;
    assert_eq!(r.status().as_u16(), 400);
}
on_both_databases!(the_activity_log_pages_lead_on_and_back);
