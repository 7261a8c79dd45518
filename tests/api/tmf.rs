//! The TM Forum APIs for one's own record (TMF629 customer, TMF632 individual) end to end, on
//! both databases: shapes key by key, links that resolve, another subscriber's id not found,
//! every refusal in the TMF error shape, a merge patch that goes through the personal-details
//! form's validation and is all or nothing.

use serde_json::{json, Value};

use crate::common::{spawn_demo_app_with_settings, Backend, TestApp};
use crate::on_both_databases;

const CUSTOMER: &str = "/tmf-api/customerManagement/v4/customer";
const INDIVIDUAL: &str = "/tmf-api/partyManagement/v4/individual";
const MERGE_PATCH: &str = "application/merge-patch+json";

/// The demo portal, its public URL its real address (so the resources' links can be followed).
async fn app(backend: Backend) -> TestApp {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = free.local_addr().unwrap();
    drop(free);
    let app = spawn_demo_app_with_settings(backend, |s| {
        s.bind = addr;
        s.public_url = format!("http://{addr}/");
    })
    .await;
    assert_eq!(app.address, format!("http://{addr}"));
    app
}

async fn user_id(app: &TestApp, name: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
        .await
}

async fn login(app: &TestApp, user: &str) {
    let r = app
        .submit_form("/callc/login", &[("username", user), ("password", user)])
        .await;
    assert_eq!(r.status().as_u16(), 303, "browser login as {user}");
}

/// GET with the test client's cookies: (status, JSON body, the X-CSRF-Token header).
async fn get(app: &TestApp, url: &str) -> (u16, Value, Option<String>) {
    let r = app.client.get(url).send().await.expect("GET");
    let status = r.status().as_u16();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{url}: {:?}",
        r.headers()
    );
    let token = r
        .headers()
        .get("x-csrf-token")
        .map(|v| v.to_str().unwrap().to_string());
    (status, r.json().await.expect("JSON"), token)
}

/// PATCH `body` with a content type and, when given, the session's CSRF token.
async fn patch(
    app: &TestApp,
    id: i64,
    content_type: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut req = app
        .client
        .patch(app.url(&format!("{INDIVIDUAL}/{id}")))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(t) = token {
        req = req.header("x-csrf-token", t);
    }
    let r = req.send().await.expect("PATCH");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON"))
}

/// A TMF error: its status in the body as in the answer, and the message.
fn error_message(status: u16, body: &Value) -> String {
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort();
    assert_eq!(
        keys,
        ["@type", "code", "message", "reason", "status"],
        "{body}"
    );
    assert_eq!(body["status"], status.to_string(), "{body}");
    assert_eq!(body["code"], status.to_string(), "{body}");
    assert_eq!(body["@type"], "Error");
    assert!(!body["reason"].as_str().unwrap().is_empty());
    body["message"].as_str().unwrap().to_string()
}

/// Every column a patch could touch, and the operator's, as one string.
async fn row(app: &TestApp, id: i64) -> String {
    let (s,): (String,) = sqlx::query_as(&format!(
        "SELECT first_name || '|' || last_name || '|' || personal_id || '|' || taxation_country || '|' ||
                vat_reg_number || '|' || reg_address || '|' || reg_postcode || '|' || reg_city || '|' ||
                reg_country || '|' || reg_state || '|' || reg_direction || '|' || reg_phone || '|' ||
                reg_mobile || '|' || reg_fax || '|' || reg_email || '|' || alias || '|' || account_type || '|' ||
                CAST(balance_micros AS TEXT) || '|' || CAST(blocked AS TEXT) || '|' || username
         FROM users WHERE id = {id}"
    ))
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    s
}

async fn changes_logged(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'personal_details_changed'")
        .await
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

async fn customer_and_individual_with_a_session(backend: Backend) {
    let app = app(backend).await;
    let demo = user_id(&app, "demo").await;
    login(&app, "demo").await;

    let (status, c, token) = get(&app, &app.url(&format!("{CUSTOMER}/{demo}"))).await;
    assert_eq!(status, 200, "{c}");
    assert!(
        token.is_some_and(|t| t.len() == 64),
        "a session gets its CSRF token"
    );
    assert_eq!(
        keys(&c),
        [
            "@baseType",
            "@type",
            "account",
            "contactMedium",
            "engagedParty",
            "href",
            "id",
            "name",
            "status",
            "validFor"
        ]
    );
    let customer_href = format!("{}{CUSTOMER}/{demo}", app.address);
    let individual_href = format!("{}{INDIVIDUAL}/{demo}", app.address);
    assert_eq!(c["id"], demo.to_string());
    assert_eq!(c["href"], customer_href.as_str());
    assert_eq!(c["@type"], "Customer");
    assert_eq!(c["@baseType"], "PartyRole");
    assert_eq!(c["name"], "John Smith");
    assert_eq!(c["status"], "active");
    assert_eq!(
        c["engagedParty"],
        json!({
            "id": demo.to_string(),
            "href": individual_href,
            "name": "John Smith",
            "@referredType": "Individual",
        })
    );
    let created: i64 = app
        .scalar(&format!("SELECT created_at FROM users WHERE id = {demo}"))
        .await;
    let start = chrono::DateTime::from_timestamp(created, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(c["validFor"], json!({ "startDateTime": start }));
    let main_account: i64 = app
        .scalar(&format!(
            "SELECT id FROM accounts WHERE user_id = {demo} AND name = ''"
        ))
        .await;
    assert_eq!(
        c["account"],
        json!([{ "id": main_account.to_string(), "name": "Main account", "@referredType": "PartyAccount" }])
    );

    let (status, i, _) = get(&app, &individual_href).await;
    assert_eq!(status, 200, "{i}");
    assert_eq!(
        keys(&i),
        [
            "@baseType",
            "@type",
            "contactMedium",
            "familyName",
            "givenName",
            "href",
            "id",
            "individualIdentification",
            "partyCharacteristic"
        ]
    );
    assert_eq!(i["id"], demo.to_string());
    assert_eq!(i["href"], individual_href.as_str());
    assert_eq!(i["@type"], "Individual");
    assert_eq!(i["@baseType"], "Party");
    assert_eq!(i["givenName"], "John");
    assert_eq!(i["familyName"], "Smith");
    assert_eq!(c["contactMedium"], i["contactMedium"]);

    // Every contact medium is the stored field it says.
    let stored = |column: &'static str| {
        let app = &app;
        async move {
            let (v,): (String,) =
                sqlx::query_as(&format!("SELECT {column} FROM users WHERE id = {demo}"))
                    .fetch_one(app.store.pool())
                    .await
                    .unwrap();
            v
        }
    };
    let media = i["contactMedium"].as_array().unwrap();
    let medium = |kind: &str, contact_type: Option<&str>| {
        media
            .iter()
            .find(|m| {
                m["mediumType"] == kind
                    && m["characteristic"]["contactType"].as_str() == contact_type
            })
            .map(|m| m["characteristic"].clone())
    };
    let email = medium("email", None).expect("an e-mail medium");
    assert_eq!(email, json!({ "emailAddress": stored("reg_email").await }));
    let phone = medium("phone", Some("fixed")).expect("a phone medium");
    assert_eq!(phone["phoneNumber"], stored("reg_phone").await.as_str());
    let address = medium("postalAddress", None).expect("a postal address");
    for (key, column) in [
        ("street1", "reg_address"),
        ("postCode", "reg_postcode"),
        ("city", "reg_city"),
        ("country", "reg_country"),
    ] {
        let value = stored(column).await;
        assert!(!value.is_empty(), "{column}");
        assert_eq!(address[key], value.as_str(), "{key}");
    }
    assert_eq!(
        i["individualIdentification"],
        json!([{ "identificationType": "personalId", "identificationId": stored("personal_id").await }])
    );

    // The links resolve to the same resources.
    let (status, again, _) = get(&app, c["href"].as_str().unwrap()).await;
    assert_eq!((status, &again), (200, &c));
    let (status, party, _) = get(&app, c["engagedParty"]["href"].as_str().unwrap()).await;
    assert_eq!((status, &party), (200, &i));
}
on_both_databases!(customer_and_individual_with_a_session);

async fn only_ones_own_record_and_every_refusal_in_tmf_shape(backend: Backend) {
    let app = app(backend).await;
    let demo = user_id(&app, "demo").await;
    let demo2 = user_id(&app, "demo2").await;

    // No credentials: 401, in the TMF shape (not the login page), naming both ways in.
    let anonymous = reqwest::Client::new();
    for path in [format!("{CUSTOMER}/{demo}"), format!("{INDIVIDUAL}/{demo}")] {
        let r = anonymous.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        assert!(r.headers().contains_key("www-authenticate"));
        assert!(
            !r.headers().contains_key("set-cookie"),
            "an API call starts no session"
        );
        let body: Value = r.json().await.unwrap();
        assert!(error_message(401, &body).contains("Bearer"), "{body}");
    }
    // A Bearer token while single sign-on is not configured: 401 that says so.
    let r = anonymous
        .get(app.url(&format!("{INDIVIDUAL}/{demo}")))
        .bearer_auth("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(!r.headers().contains_key("set-cookie"));
    let body: Value = r.json().await.unwrap();
    assert!(
        error_message(401, &body).contains("single sign-on"),
        "{body}"
    );

    login(&app, "demo").await;
    let before = row(&app, demo2).await;
    let token = get(&app, &app.url(&format!("{INDIVIDUAL}/{demo}")))
        .await
        .2
        .unwrap();
    for id in [demo2.to_string(), "999999".into(), "abc".into()] {
        for base in [CUSTOMER, INDIVIDUAL] {
            let (status, body, _) = get(&app, &app.url(&format!("{base}/{id}"))).await;
            assert_eq!(status, 404, "{base}/{id}");
            error_message(404, &body);
        }
        let (status, body) = patch(
            &app,
            id.parse().unwrap_or(0),
            MERGE_PATCH,
            Some(&token),
            &json!({ "givenName": "Hacked" }),
        )
        .await;
        assert_eq!(status, 404, "PATCH {id}: {body}");
        error_message(404, &body);
    }
    assert_eq!(
        row(&app, demo2).await,
        before,
        "another's record is untouched"
    );

    // A path the API does not have, a method it does not take: in the same shape.
    let (status, body, _) = get(&app, &app.url("/tmf-api/partyManagement/v4/organization/1")).await;
    assert_eq!(status, 404);
    error_message(404, &body);
    let r = app
        .client
        .delete(app.url(&format!("{INDIVIDUAL}/{demo}")))
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    error_message(405, &r.json().await.unwrap());
}
on_both_databases!(only_ones_own_record_and_every_refusal_in_tmf_shape);

async fn a_merge_patch_changes_the_details_page(backend: Backend) {
    let app = app(backend).await;
    let demo = user_id(&app, "demo").await;
    login(&app, "demo").await;
    let (_, before, token) = get(&app, &app.url(&format!("{INDIVIDUAL}/{demo}"))).await;
    let token = token.unwrap();
    let logged = changes_logged(&app).await;
    let stored = row(&app, demo).await;

    // The contact media are replaced as a whole (RFC 7386): send them all, the phone changed.
    let mut media = before["contactMedium"].clone();
    for m in media.as_array_mut().unwrap() {
        if m["mediumType"] == "phone" && m["characteristic"]["contactType"] == "fixed" {
            m["characteristic"]["phoneNumber"] = json!("+44 20 7946-0999");
        }
    }
    let body = json!({ "givenName": "Jonathan", "contactMedium": media });

    // A session's PATCH without the CSRF token is refused, and changes nothing.
    let (status, refused) = patch(&app, demo, MERGE_PATCH, None, &body).await;
    assert_eq!(status, 403, "{refused}");
    error_message(403, &refused);
    assert_eq!(row(&app, demo).await, stored);

    let (status, after) = patch(&app, demo, MERGE_PATCH, Some(&token), &body).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["givenName"], "Jonathan");
    assert_eq!(after["familyName"], before["familyName"]);
    let phone = after["contactMedium"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mediumType"] == "phone")
        .unwrap();
    assert_eq!(
        phone["characteristic"]["phoneNumber"], "442079460999",
        "stored as digits"
    );
    // The answer is what a GET now answers.
    let (_, fetched, _) = get(&app, &app.url(&format!("{INDIVIDUAL}/{demo}"))).await;
    assert_eq!(fetched, after);

    // The personal-details page shows it, and the change is logged as the page logs it.
    let page: Value = app
        .get("/users/personal_details?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["details"]["other_details"]["username"], "Jonathan");
    assert_eq!(page["details"]["registration"]["reg_phone"], "442079460999");
    assert_eq!(changes_logged(&app).await, logged + 1);
    let (detail,): (String,) = sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'personal_details_changed' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(detail, "Changed: username, reg_phone");

    // application/json is read as a merge patch too; null removes (clears) a member.
    let (status, cleared) = patch(
        &app,
        demo,
        "application/json; charset=utf-8",
        Some(&token),
        &json!({ "familyName": null }),
    )
    .await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["familyName"], "");
    assert_eq!(cleared["givenName"], "Jonathan");
}
on_both_databases!(a_merge_patch_changes_the_details_page);

async fn a_bad_patch_changes_nothing_and_says_why(backend: Backend) {
    let app = app(backend).await;
    let demo = user_id(&app, "demo").await;
    login(&app, "demo").await;
    let (_, current, token) = get(&app, &app.url(&format!("{INDIVIDUAL}/{demo}"))).await;
    let token = token.unwrap();
    let stored = row(&app, demo).await;
    let logged = changes_logged(&app).await;
    let with_email = |address: &str| {
        json!({ "givenName": "Changed", "contactMedium": [
            { "mediumType": "email", "characteristic": { "emailAddress": address } }
        ]})
    };
    let with_phone = |number: &str| {
        let mut media = current["contactMedium"].clone();
        for m in media.as_array_mut().unwrap() {
            if m["mediumType"] == "phone" {
                m["characteristic"]["phoneNumber"] = json!(number);
            }
        }
        json!({ "givenName": "Changed", "contactMedium": media })
    };

    // (content type, body, status, words the message must contain)
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            MERGE_PATCH,
            with_email("not-an-address"),
            400,
            "contactMedium email emailAddress",
        ),
        (
            MERGE_PATCH,
            with_phone("call me"),
            400,
            "contactMedium phone (fixed) phoneNumber",
        ),
        (
            MERGE_PATCH,
            json!({ "givenName": "x".repeat(101) }),
            400,
            "givenName: At most 100",
        ),
        (
            MERGE_PATCH,
            json!({ "familyName": "a\nb" }),
            400,
            "familyName",
        ),
        (
            MERGE_PATCH,
            json!({ "id": "1" }),
            400,
            "id cannot be patched",
        ),
        (
            MERGE_PATCH,
            json!({ "href": "http://elsewhere/" }),
            400,
            "href cannot be patched",
        ),
        (
            MERGE_PATCH,
            json!({ "@type": "Organization" }),
            400,
            "@type cannot be patched",
        ),
        (
            MERGE_PATCH,
            json!({ "status": "validated", "givenName": "X" }),
            400,
            "status cannot be patched",
        ),
        (
            MERGE_PATCH,
            json!({ "balance": "1000" }),
            400,
            "balance cannot be patched",
        ),
        (
            MERGE_PATCH,
            json!({ "givenName": 7 }),
            400,
            "givenName must be a string",
        ),
        (MERGE_PATCH, json!(["givenName"]), 400, "JSON object"),
        // A new e-mail address needs the current password on the page: not through the API.
        (
            MERGE_PATCH,
            with_email("new@example.com"),
            403,
            "/users/personal_details",
        ),
        (
            "text/plain",
            json!({ "givenName": "X" }),
            415,
            "merge-patch+json",
        ),
        (
            "application/json-patch+json",
            json!([{ "op": "replace" }]),
            415,
            "merge-patch+json",
        ),
        (
            "application/x-www-form-urlencoded",
            json!({ "givenName": "X" }),
            415,
            "merge-patch+json",
        ),
    ];
    for (content_type, body, expected, words) in cases {
        let (status, answer) = patch(&app, demo, content_type, Some(&token), &body).await;
        assert_eq!(status, expected, "{content_type} {body}: {answer}");
        let message = error_message(status, &answer);
        assert!(message.contains(words), "{words:?} in {message:?}");
    }
    // Not JSON at all.
    let r = app
        .client
        .patch(app.url(&format!("{INDIVIDUAL}/{demo}")))
        .header("content-type", MERGE_PATCH)
        .header("x-csrf-token", &token)
        .body("{\"givenName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(error_message(400, &r.json().await.unwrap()).contains("not JSON"));

    assert_eq!(row(&app, demo).await, stored, "nothing was written");
    assert_eq!(changes_logged(&app).await, logged, "nothing was logged");
}
on_both_databases!(a_bad_patch_changes_nothing_and_says_why);

async fn a_token_is_never_helped_by_the_session(backend: Backend) {
    let app = app(backend).await;
    let demo = user_id(&app, "demo").await;
    login(&app, "demo").await;
    let stored = row(&app, demo).await;
    // With an Authorization header the session cookie counts for nothing (so no CSRF token is
    // asked): without single sign-on the token is refused, and nothing changes.
    let r = app
        .client
        .patch(app.url(&format!("{INDIVIDUAL}/{demo}")))
        .header("content-type", MERGE_PATCH)
        .bearer_auth("not-a-token")
        .body(json!({ "givenName": "Token" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(error_message(401, &r.json().await.unwrap()).contains("single sign-on"));
    let r = app
        .client
        .get(app.url(&format!("{CUSTOMER}/{demo}")))
        .header("authorization", "Basic ZGVtbzpkZW1v")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(error_message(401, &r.json().await.unwrap()).contains("Bearer"));
    assert_eq!(row(&app, demo).await, stored);
}
on_both_databases!(a_token_is_never_helped_by_the_session);
