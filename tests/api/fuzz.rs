//! Bad input over HTTP: seeded random parameters (long, non-UTF-8, markup, huge numbers) sent to
//! every page as a logged-in user never answer 500.

use rand::{Rng, SeedableRng};

use crate::common::{spawn_demo_app, Backend};
use crate::on_both_databases;

/// (method, path) of the pages; parameters are added at random.
const PAGES: &[(&str, &str)] = &[
    ("GET", "/callc/main"),
    ("GET", "/stats/call_list"),
    ("GET", "/stats/call_list_to_csv/1"),
    ("GET", "/stats/call_list_to_pdf/1"),
    ("POST", "/stats/call_list"),
    ("GET", "/stats/new_calls_list"),
    ("GET", "/stats/missed_calls"),
    ("POST", "/stats/missed_calls"),
    ("GET", "/stats/user_stats"),
    ("POST", "/billing/stats/user_stats"),
    ("GET", "/users/personal_details"),
    ("POST", "/users/update_personal_details/1"),
    ("GET", "/devices/user_devices"),
    ("GET", "/devices/user_device_clis"),
    ("POST", "/devices/cli_add"),
    ("GET", "/tariffs/user_rates"),
    ("GET", "/directions/dg_list_user_destinations/1"),
    ("GET", "/payments/personal_payments"),
    ("GET", "/accounting/user_invoices"),
    ("GET", "/services/user_subscriptions"),
    ("GET", "/phonebooks/list/1"),
    ("POST", "/phonebooks/add_new/1"),
    ("POST", "/phonebooks/import/1"),
    ("POST", "/phonebooks/import/1/confirm"),
    ("GET", "/stats/faxes_list/1"),
    ("POST", "/functions/activate_callback"),
    ("GET", "/users/activity"),
    ("POST", "/users/change_password"),
    ("GET", "/dids"),
    ("GET", "/dids/available"),
    ("POST", "/dids/hold"),
    ("POST", "/dids/allocate"),
    ("POST", "/dids/+442079460500/destination"),
    ("POST", "/dids/+442079460500/release"),
    ("GET", "/users/pin"),
    ("POST", "/users/pin"),
    ("GET", "/users/two_factor"),
    ("POST", "/users/two_factor/enable"),
    ("POST", "/users/two_factor/disable"),
    ("GET", "/callc/login/code"),
    ("POST", "/callc/login/code"),
];

const NAMES: &[&str] = &[
    "currency",
    "q",
    "period_start",
    "period_end",
    "device",
    "device_id",
    "fax_status",
    "number",
    "name",
    "cli",
    "description",
    "src",
    "dst",
    "acc",
    "reg_email",
    "reg_phone",
    "surname",
    "show_secret",
    "format",
    "lang",
    "calltype",
    "per_page",
    "status",
    "date_till",
    "date_from",
    "call_type",
    "direction",
    "processed",
    "after",
    "before",
    "current_password",
    "new_password",
    "file",
    "csv",
    "digest",
    "did",
    "hold_key",
    "destination",
    "country",
    "region",
    "current_pin",
    "new_pin",
    "code",
];

fn random_value(rng: &mut impl Rng) -> String {
    match rng.gen_range(0..8) {
        0 => "9".repeat(rng.gen_range(1..5000)),
        1 => "%FF%FE%00%C3%28".to_string(),
        2 => "<script>&\"'</script>".to_string(),
        3 => "99999999999999999999999999".to_string(),
        4 => "-1".to_string(),
        5 => "2026-13-45 25:61:61".to_string(),
        6 => "Мария%20Иванова".to_string(),
        _ => (0..rng.gen_range(0..40))
            .map(|_| rng.gen_range(b' '..=b'~') as char)
            .collect::<String>()
            .replace(['&', '=', '#', '%', '+'], ""),
    }
}

async fn random_parameters_never_cause_a_500(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    assert_eq!(app.legacy_login("demo", "demo").await.0, 200);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    for round in 0..6 {
        for (method, path) in PAGES {
            let params: Vec<String> = (0..rng.gen_range(1..5))
                .map(|_| {
                    format!(
                        "{}={}",
                        NAMES[rng.gen_range(0..NAMES.len())],
                        random_value(&mut rng)
                    )
                })
                .collect();
            let query = params.join("&");
            let r = if *method == "GET" {
                app.client
                    .get(format!("{}?{query}", app.url(path)))
                    .send()
                    .await
                    .unwrap()
            } else {
                app.client
                    .post(app.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(query.clone())
                    .send()
                    .await
                    .unwrap()
            };
            assert!(
                r.status().as_u16() < 500,
                "round {round}: {method} {path}?{query} → {}",
                r.status()
            );
        }
    }
}
on_both_databases!(random_parameters_never_cause_a_500);
