//! Access control, table-driven: every route that takes an id, tried by `demo` with the ids of
//! `demo2`, answers 404 (as for an id that does not exist) and changes nothing.

use crate::common::{spawn_demo_app, Backend, TestApp};
use crate::on_both_databases;

/// (method, path, form fields) with `{user}`, `{device}`, `{fax_device}`, `{cli}`, `{entry}`,
/// `{invoice}`, `{fax}`, `{call}` standing for demo2's ids.
/// (method, path, form fields)
type Route = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const ROUTES: &[Route] = &[
    ("GET", "/phonebooks/list/{user}", &[]),
    (
        "POST",
        "/phonebooks/add_new/{user}",
        &[("number", "4420555000"), ("name", "Intruder")],
    ),
    ("POST", "/phonebooks/destroy/{entry}", &[]),
    ("GET", "/phonebooks/list/{user}?format=csv", &[]),
    ("GET", "/phonebooks/list/{user}?format=pdf", &[]),
    ("GET", "/phonebooks/import/{user}", &[]),
    (
        "POST",
        "/phonebooks/import/{user}",
        &[("file", "Intruder,4420555000")],
    ),
    ("GET", "/phonebooks/import/{user}/confirm", &[]),
    (
        "POST",
        "/phonebooks/import/{user}/confirm",
        &[("csv", "Intruder,4420555000")],
    ),
    (
        "POST",
        "/users/update_personal_details/{user}",
        &[("surname", "Hacked")],
    ),
    (
        "GET",
        "/devices/user_devices?show_secret={device}&format=html",
        &[],
    ),
    (
        "POST",
        "/devices/cli_add",
        &[
            ("device_id", "{device}"),
            ("cli", "4420555111"),
            ("description", "x"),
        ],
    ),
    ("POST", "/devices/cli_delete/{cli}", &[]),
    ("GET", "/accounting/user_invoices/{invoice}", &[]),
    ("GET", "/tariffs/generate_personal_rates_pdf/{user}", &[]),
    ("GET", "/tariffs/generate_personal_rates_csv/{user}", &[]),
    ("GET", "/stats/call_list_to_csv/{user}", &[]),
    ("GET", "/stats/call_list_to_pdf/{user}", &[]),
    ("GET", "/stats/call_list_to_csv/1?device={device}", &[]),
    ("GET", "/stats/call_list?device={device}", &[]),
    ("GET", "/stats/faxes_list/{user}", &[]),
    ("POST", "/stats/faxes_list/{user}", &[]),
    ("GET", "/stats/faxes_list/1?device_id={fax_device}", &[]),
    ("GET", "/stats/fax_file/{fax}", &[]),
    (
        "POST",
        "/functions/activate_callback?src=4420555222&dst=4420555333&acc={device}",
        &[],
    ),
];

struct Ids {
    user: i64,
    device: i64,
    fax_device: i64,
    cli: i64,
    entry: i64,
    invoice: i64,
    fax: i64,
    call: i64,
}

async fn first(app: &TestApp, sql: &str) -> i64 {
    app.scalar(sql).await
}

async fn demo2_ids(app: &TestApp) -> Ids {
    let user = first(app, "SELECT id FROM users WHERE username = 'demo2'").await;
    Ids {
        user,
        device: first(app, &format!("SELECT MIN(id) FROM devices WHERE user_id = {user} AND device_type <> 'FAX'")).await,
        fax_device: first(app, &format!("SELECT MIN(id) FROM devices WHERE user_id = {user} AND device_type = 'FAX'")).await,
        cli: first(app, &format!("SELECT MIN(c.id) FROM clis c JOIN devices d ON d.id = c.device_id WHERE d.user_id = {user}")).await,
        entry: first(app, &format!("SELECT MIN(id) FROM phonebook_entries WHERE user_id = {user}")).await,
        invoice: first(app, &format!("SELECT MIN(id) FROM invoices WHERE user_id = {user}")).await,
        fax: first(app, &format!("SELECT MIN(id) FROM faxes WHERE user_id = {user}")).await,
        call: first(
            app,
            &format!("SELECT MIN(id) FROM calls WHERE user_id = {user} AND direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0"),
        )
        .await,
    }
}

fn fill(template: &str, ids: &Ids) -> String {
    template
        .replace("{user}", &ids.user.to_string())
        .replace("{fax_device}", &ids.fax_device.to_string())
        .replace("{device}", &ids.device.to_string())
        .replace("{cli}", &ids.cli.to_string())
        .replace("{entry}", &ids.entry.to_string())
        .replace("{invoice}", &ids.invoice.to_string())
        .replace("{fax}", &ids.fax.to_string())
        .replace("{call}", &ids.call.to_string())
}

/// Everything a forged request could change, in one comparable value.
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM phonebook_entries",
        "SELECT COUNT(*) FROM clis",
        "SELECT COUNT(*) FROM callback_requests",
        "SELECT COUNT(*) FROM calls WHERE processed = 1",
        "SELECT COUNT(*) FROM calls WHERE seen = 1",
        "SELECT COUNT(*) FROM users WHERE last_name = 'Hacked'",
    ] {
        out.push(app.scalar(sql).await);
    }
    out
}

async fn another_users_ids_answer_404_and_change_nothing(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let ids = demo2_ids(&app).await;
    // A legacy session: the requests need no CSRF token, so only access control can stop them.
    assert_eq!(app.legacy_login("demo", "demo").await.0, 200);
    let before = fingerprint(&app).await;
    for (method, path, form) in ROUTES {
        let path = fill(path, &ids);
        let fields: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), fill(v, &ids)))
            .collect();
        let r = match *method {
            "GET" => app.get(&path).await,
            _ => app
                .client
                .post(app.url(&path))
                .form(&fields)
                .send()
                .await
                .unwrap(),
        };
        assert_eq!(r.status().as_u16(), 404, "{method} {path}");
        assert_eq!(
            fingerprint(&app).await,
            before,
            "{method} {path} changed something"
        );
    }
    // The same routes with demo's own ids work (the table is not 404 for everyone).
    let own = app.get("/phonebooks/list/1").await;
    assert_eq!(own.status().as_u16(), 200);
}
on_both_databases!(another_users_ids_answer_404_and_change_nothing);
