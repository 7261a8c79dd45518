//! The account tree: a subscriber's accounts and the subscriptions each is made of, on the page
//! (HTML, XML, JSON) and through `selfcare account`.

use serde_json::Value;

use crate::common::{spawn_demo_app, Backend, TestApp};
use crate::import::{ok, selfcare_run, user_id};
use crate::on_both_databases;

async fn tree(app: &TestApp) -> Vec<Value> {
    let r = app.get("/accounts/tree?format=json").await;
    assert_eq!(r.status().as_u16(), 200);
    let page: Value = r.json().await.unwrap();
    page["accounts"].as_array().unwrap().clone()
}

async fn the_account_tree_shows_accounts_and_their_subscriptions(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);

    // Every subscription of the subscriptions page is in the main account.
    let accounts = tree(&app).await;
    assert_eq!(accounts.len(), 1, "{accounts:#?}");
    let main = &accounts[0];
    assert_eq!(main["main"], true);
    assert_eq!(main["status"], "active");
    let subs = main["subscriptions"].as_array().unwrap();
    let on_page: Value = app
        .get("/services/user_subscriptions?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        subs.len(),
        on_page["subscriptions"].as_array().unwrap().len()
    );
    assert!(!subs.is_empty());
    // The demo number's fee is a number subscription with its number.
    let number = subs
        .iter()
        .find(|s| s["kind"] == "number")
        .expect("the demo number's subscription");
    assert_eq!(number["number"], "+442079460500");
    assert_eq!(number["status"], "active");
    assert!(number["end"].is_null(), "{number}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(number["start"].as_str().unwrap()).is_ok(),
        "{number}"
    );
    assert!(number["price"]["value"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .is_ok());
    assert_eq!(number["price"]["currency"].as_str().unwrap().len(), 3);
    let service = subs.iter().find(|s| s["kind"] == "service").unwrap();
    assert!(service["number"].is_null());
    assert!(
        chrono::NaiveDate::parse_from_str(main["created"].as_str().unwrap(), "%Y-%m-%d").is_ok()
    );

    // The operator opens an account and moves the number into it.
    let out = ok(&app, &["account", "create", "demo", "Office line"]);
    let office: i64 = app
        .scalar(&format!(
            "SELECT id FROM accounts WHERE user_id = {demo} AND name = 'Office line'"
        ))
        .await;
    assert!(out.contains(&format!("Account {office}")), "{out}");
    let sub = number["subscription_id"].as_i64().unwrap();
    ok(
        &app,
        &["account", "move", &sub.to_string(), &office.to_string()],
    );
    let accounts = tree(&app).await;
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[1]["name"], "Office line");
    assert_eq!(accounts[1]["main"], false);
    let moved = accounts[1]["subscriptions"].as_array().unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["subscription_id"], sub);
    assert_eq!(
        accounts[0]["subscriptions"].as_array().unwrap().len(),
        subs.len() - 1
    );

    // Refusals change nothing.
    let (done, out) = selfcare_run(&app, &["account", "create", "demo", "Office line"]);
    assert!(
        !done && out.contains("already has an account named"),
        "{out}"
    );
    let demo2_main: i64 = app
        .scalar("SELECT a.id FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.username = 'demo2'")
        .await;
    let (done, out) = selfcare_run(
        &app,
        &["account", "move", &sub.to_string(), &demo2_main.to_string()],
    );
    assert!(!done && out.contains("not the same subscriber's"), "{out}");
    let (done, out) = selfcare_run(&app, &["account", "close", &office.to_string()]);
    assert!(
        !done && out.contains("still has active subscriptions"),
        "{out}"
    );
    let main_id = accounts[0]["account_id"].as_i64().unwrap();
    let (done, out) = selfcare_run(&app, &["account", "close", &main_id.to_string()]);
    assert!(
        !done && out.contains("main account cannot be closed"),
        "{out}"
    );
    assert_eq!(tree(&app).await.len(), 2);

    // Moved back, the office account can be closed, and is shown closed.
    ok(
        &app,
        &["account", "move", &sub.to_string(), &main_id.to_string()],
    );
    ok(&app, &["account", "close", &office.to_string()]);
    let accounts = tree(&app).await;
    assert_eq!(accounts[1]["status"], "closed");
    let list = ok(&app, &["account", "list", "demo"]);
    assert!(list.contains("Office line\tclosed"), "{list}");

    // The XML page has the same tree; the HTML page names the main account.
    let (status, xml) = app.get_xml("/accounts/tree").await;
    assert_eq!(status, 200);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("account"))
            .count(),
        2
    );
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("subscription"))
            .count(),
        subs.len()
    );
    let html = app.get("/accounts/tree").await.text().await.unwrap();
    assert!(html.contains("Main account") && html.contains("+442079460500"));

    // A new subscriber starts with a main account of his own, empty.
    let demo2_tree = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM accounts WHERE user_id <> {demo} AND name = ''"
        ))
        .await;
    assert!(demo2_tree >= 1);
}
on_both_databases!(the_account_tree_shows_accounts_and_their_subscriptions);
