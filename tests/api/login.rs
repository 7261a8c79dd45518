use crate::common::{spawn_demo_app, structure, text_of, Backend};
use crate::on_both_databases;

/// The seed's login answer, element by element.
const ACTION: &str = "action\n  name\n  status\n  status_message\n";

async fn legacy_login_answers_the_seed_action(backend: Backend) {
    let app = spawn_demo_app(backend).await;

    let (status, ok) = app.legacy_login("demo", "demo").await;
    assert_eq!(status, 200);
    // MOR's login answer names the user (a trailing element).
    assert_eq!(structure(&ok), format!("{ACTION}  user_id\n"));
    let demo_id = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    assert_eq!(text_of(&ok, "user_id"), demo_id.to_string());
    assert_eq!(text_of(&ok, "name"), "login");
    assert_eq!(text_of(&ok, "status"), "ok");

    // A failure is HTTP 200 (MOR's clients throw on 400 and above before reading the XML).
    let (status, wrong) = app.legacy_login("demo", "not the password").await;
    assert_eq!(status, 200);
    assert_eq!(structure(&wrong), ACTION);
    assert_eq!(text_of(&wrong, "status"), "failed");

    // An unknown user looks exactly like a wrong password.
    let (status, unknown) = app.legacy_login("nobody", "demo").await;
    assert_eq!(status, 200);
    assert_eq!(unknown, wrong);

    // POST with a form body works too.
    let r = app
        .post_form("/api/login", &[("u", "demo2"), ("p", "demo2")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(text_of(&r.text().await.unwrap(), "status"), "ok");
}
on_both_databases!(legacy_login_answers_the_seed_action);

async fn login_page_is_the_seed_page_in_xml(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let (status, xml) = app.get_xml("/callc/login").await;
    assert_eq!(status, 200);
    assert_eq!(
        structure(&xml),
        "page\n  pagename\n  language\n  error_msg\n  aval_languages\n    language\n    language\n"
    );
    assert_eq!(text_of(&xml, "pagename"), "Login page");
}
on_both_databases!(login_page_is_the_seed_page_in_xml);

async fn browser_login_renews_the_session_and_logout_ends_it(backend: Backend) {
    let app = spawn_demo_app(backend).await;

    // A session exists before login (the language choice is kept in it).
    let before = app.get("/callc/login?lang=ru").await;
    let cookie_before = session_cookie(&before).expect("a session cookie before login");
    assert!(before.text().await.unwrap().contains("Войти"));

    let wrong = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status().as_u16(), 401);
    let page = wrong.text().await.unwrap();
    assert!(
        page.contains("Неверное имя пользователя или пароль"),
        "{page}"
    );
    assert!(
        page.contains("value=\"demo\""),
        "the form keeps the user name"
    );

    let ok = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(ok.status().as_u16(), 303);
    assert_eq!(ok.headers()["location"], "/callc/main");
    let cookie_after = session_cookie(&ok).expect("a new session cookie at login");
    assert_ne!(cookie_before, cookie_after);
    let cookie_header = ok.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        cookie_header.contains("httponly") && cookie_header.contains("samesite=lax"),
        "{cookie_header}"
    );

    let main = app.get("/callc/main").await;
    assert_eq!(main.status().as_u16(), 200);
    let html = main.text().await.unwrap();
    assert!(
        html.contains("John Smith")
            && html.contains(
                // The language chosen before login.
                &crate::common::balance_shown(&app, "demo", selfcare::i18n::Lang::Ru).await
            ),
        "{html}"
    );
    assert!(
        html.contains("Без ограничений"),
        "the language chosen before login stays"
    );

    let out = app.submit_form("/callc/logout", &[]).await;
    assert_eq!(out.status().as_u16(), 303);
    let after = app.get("/callc/main").await;
    assert_eq!(after.status().as_u16(), 303);
    assert_eq!(after.headers()["location"], "/callc/login");
}
on_both_databases!(browser_login_renews_the_session_and_logout_ends_it);

async fn without_a_session_pages_redirect_or_answer_401(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let html = app.get("/callc/main").await;
    assert_eq!(html.status().as_u16(), 303);
    assert_eq!(html.headers()["location"], "/callc/login");

    let (status, xml) = app.get_xml("/callc/main").await;
    assert_eq!(status, 401);
    assert_eq!(structure(&xml), ACTION);
    assert_eq!(text_of(&xml, "status"), "failed");

    let json = app.get("/callc/main?format=json").await;
    assert_eq!(json.status().as_u16(), 401);
    let body: serde_json::Value = json.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_logged_in", "{body}");
}
on_both_databases!(without_a_session_pages_redirect_or_answer_401);

async fn bad_input_is_a_clear_answer_never_a_500(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let cases: &[(&str, &str, u16)] = &[
        ("GET", "/callc/main?format=exe", 400),
        ("GET", "/no/such/page", 404),
        ("GET", "/callc/logout", 405),
        ("POST", "/callc/login", 403),
        ("GET", "/api/login", 200),
        ("GET", "/api/login?u=%00%ff&p=", 200),
    ];
    for (method, path, expected) in cases {
        let r = match *method {
            "GET" => app.get(path).await,
            _ => app
                .client
                .post(app.url(path))
                .body("garbage=%%%")
                .header("content-type", "application/x-www-form-urlencoded")
                .send()
                .await
                .unwrap(),
        };
        assert_eq!(r.status().as_u16(), *expected, "{method} {path}");
    }
    let too_long = "x".repeat(5000);
    let (status, xml) = app.legacy_login(&too_long, &too_long).await;
    assert_eq!(status, 200);
    assert_eq!(text_of(&xml, "status"), "failed");
}
on_both_databases!(bad_input_is_a_clear_answer_never_a_500);

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.cookies()
        .find(|c| c.name() == "selfcare_session")
        .map(|c| c.value().to_string())
}

async fn forged_posts_without_the_token_change_nothing(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    // A cross-site form cannot know the token: login and logout without it are refused.
    let forged = app
        .post_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    assert!(forged.text().await.unwrap().contains("reload the page"));
    assert_eq!(
        app.get("/callc/main").await.status().as_u16(),
        303,
        "still logged out"
    );

    let ok = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(ok.status().as_u16(), 303);
    let wrong_token = app
        .post_form("/callc/logout", &[("csrf_token", &"0".repeat(64))])
        .await;
    assert_eq!(wrong_token.status().as_u16(), 403);
    let no_token = app.post_form("/callc/logout", &[]).await;
    assert_eq!(no_token.status().as_u16(), 403);
    assert_eq!(
        app.get("/callc/main").await.status().as_u16(),
        200,
        "still logged in"
    );

    // The token in a header works as well (for pages that post with scripts).
    let token = app.csrf_token().await;
    let out = app
        .client
        .post(app.url("/callc/logout"))
        .header("X-CSRF-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(app.get("/callc/main").await.status().as_u16(), 303);

    // Legacy XML sessions post without tokens.
    let (status, _) = app.legacy_login("demo", "demo").await;
    assert_eq!(status, 200);
    let r = app.post_form("/callc/logout", &[]).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        crate::common::text_of(&r.text().await.unwrap(), "status"),
        "ok"
    );
}
on_both_databases!(forged_posts_without_the_token_change_nothing);

async fn failed_logins_slow_down_then_lock_and_the_lock_lifts(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    // Five wrong passwords for demo from this address lock demo here (the first ones are slowed).
    for _ in 0..5 {
        let (status, xml) = app.legacy_login("demo", "wrong").await;
        assert_eq!(
            (status, text_of(&xml, "status")),
            (200, "failed".to_string())
        );
    }
    let (status, xml) = app.legacy_login("demo", "demo").await;
    assert_eq!(status, 429, "locked even with the right password");
    assert_eq!(text_of(&xml, "status"), "failed");
    assert!(text_of(&xml, "status_message").contains("Too many failed attempts"));

    // The browser form says so too, with a Retry-After header.
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().await.unwrap().contains("Too many failed attempts"));

    // The counters are in the database: age them past the window and the lock lifts.
    sqlx::query("UPDATE login_attempts SET at = at - 3600")
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, _) = app.legacy_login("demo", "demo").await;
    assert_eq!(status, 200);
    let failed = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed'")
        .await;
    assert_eq!(failed, 5, "failed logins are in the activity log");
}
on_both_databases!(failed_logins_slow_down_then_lock_and_the_lock_lifts);

async fn a_copied_session_cookie_is_dead_after_logout(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    let cookie = session_cookie(&r).unwrap();
    // A second client (an attacker with a copy of the cookie) is logged in too…
    let thief = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let steal = || {
        thief
            .get(app.url("/callc/main"))
            .header("cookie", format!("selfcare_session={cookie}"))
            .send()
    };
    assert_eq!(steal().await.unwrap().status().as_u16(), 200);
    // …until the owner logs out: the session ends in the database, for every copy.
    app.submit_form("/callc/logout", &[]).await;
    assert_eq!(steal().await.unwrap().status().as_u16(), 303);
}
on_both_databases!(a_copied_session_cookie_is_dead_after_logout);

on_both_databases!(another_sites_page_cannot_log_a_browser_in);
async fn another_sites_page_cannot_log_a_browser_in(backend: Backend) {
    let app = crate::common::spawn_demo_app(backend).await;
    let login = |headers: &'static [(&'static str, &'static str)]| {
        let mut r = app
            .client
            .post(app.url("/api/login"))
            .form(&[("u", "demo"), ("p", "demo")]);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send()
    };
    // A form on another site posted by the victim's browser.
    for headers in [
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "https://evil.example"),
        ][..],
        &[("Sec-Fetch-Site", "same-site")][..],
        &[("Origin", "https://evil.example")][..],
    ] {
        let r = login(headers).await.unwrap();
        assert_eq!(r.status(), 403, "{headers:?}");
        let xml = r.text().await.unwrap();
        assert_eq!(crate::common::text_of(&xml, "status"), "failed");
        assert_eq!(app.get("/callc/main?format=json").await.status(), 401);
    }
    // The portal's own pages, and programs (no such headers), log in as before.
    let own = app.address.trim_start_matches("http://").to_string();
    let r = app
        .client
        .post(app.url("/api/login"))
        .header("Origin", format!("http://{own}"))
        .form(&[("u", "demo"), ("p", "demo")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = login(&[("Sec-Fetch-Site", "same-origin")]).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = login(&[]).await.unwrap();
    assert_eq!(r.status(), 200);
}

on_both_databases!(guesses_sent_all_at_once_are_not_all_checked);
async fn guesses_sent_all_at_once_are_not_all_checked(backend: Backend) {
    let app = crate::common::spawn_demo_app(backend).await;
    // 40 wrong guesses for one user from one address, all at once, then the right password.
    let guesses = (0..40).map(|i| {
        let client = app.client.clone();
        let url = app.url("/api/login");
        async move {
            client
                .post(url)
                .form(&[("u", "demo".to_string()), ("p", format!("wrong{i}"))])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    // A checked wrong guess is a failed action with HTTP 200 (MOR's rule); refused: 429.
    let checked = answers.iter().filter(|s| **s == 200).count();
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 40, "{answers:?}");
    // The policy locks one name from one address after 5 failures: however they arrive, no
    // more than 5 guesses are checked (those refused unchecked do not count as failures).
    assert!(checked <= 5, "{checked} guesses were checked: {answers:?}");
    let mut more = 0;
    while app.legacy_login("demo", "still wrong").await.0 == 200 {
        more += 1;
        assert!(more <= 5, "checked past the limit");
    }
    assert_eq!(checked + more, 5, "{answers:?}");
    let (status, _) = app.legacy_login("demo", "demo").await;
    assert_eq!(
        status, 429,
        "the right password after the limit is refused too"
    );
}

on_both_databases!(guessing_one_account_from_many_addresses_slows_strangers_not_its_owner);
async fn guessing_one_account_from_many_addresses_slows_strangers_not_its_owner(backend: Backend) {
    let app = crate::common::spawn_demo_app(backend).await;
    // demo has logged in from here before: this is one of its known addresses.
    assert_eq!(app.legacy_login("demo", "demo").await.0, 200);
    // Then 30 failed guesses for demo and for demo2 from 30 other addresses, in the last minute
    // (as a botnet would spread them; one address each, so no address is locked).
    let now = selfcare::time::now();
    for i in 0..30 {
        for name in ["demo", "demo2"] {
            sqlx::query(
                "INSERT INTO login_attempts (username, address, at, ok) VALUES ($1, $2, $3, 0)",
            )
            .bind(name)
            .bind(format!("198.51.100.{i}"))
            .bind(now - 60 + i)
            .execute(app.store.pool())
            .await
            .unwrap();
        }
    }
    // demo's owner, from a known address, logs in as usual.
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = other
        .get(app.url("/api/login?u=demo&p=demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // demo2 never logged in from here: the account makes a stranger wait, with the time to
    // wait (never more than 15 minutes), and the right password is not even checked.
    let r = other
        .get(app.url("/api/login?u=demo2&p=demo2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let wait: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // Once the wait is over (the newest failure is old enough), it is checked again (after the
    // login gate's hold: this address was just told to wait).
    sqlx::query("UPDATE login_attempts SET at = at - 900 WHERE username = 'demo2'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let r = other
        .get(app.url("/api/login?u=demo2&p=demo2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

on_both_databases!(behind_a_trusted_proxy_the_limits_see_the_client_address);
async fn behind_a_trusted_proxy_the_limits_see_the_client_address(backend: Backend) {
    let attempt_from = |app: &crate::common::TestApp, forwarded: &'static str| {
        let client = app.client.clone();
        let url = app.url("/api/login");
        async move {
            client
                .post(url)
                .header("X-Forwarded-For", forwarded)
                .form(&[("u", "demo"), ("p", "wrong")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Not configured: the header is anybody's words, and ignored.
    let app = spawn_demo_app(backend).await;
    assert_eq!(attempt_from(&app, "198.51.100.9").await, 200);
    let (address,): (String,) = sqlx::query_as("SELECT address FROM login_attempts")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(address, "127.0.0.1");
    // The portal behind a proxy on 127.0.0.1: what the proxy saw, not what the client claimed.
    let app = crate::common::spawn_demo_app_with_settings(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_eq!(attempt_from(&app, "203.0.113.5, 198.51.100.9").await, 200);
    let (address,): (String,) = sqlx::query_as("SELECT address FROM login_attempts")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(address, "198.51.100.9");
}
