//! Rate decks as carriers and billing systems write them: columns found by their header, in
//! any order, with semicolons and decimal commas, `X/Y` intervals and day-first dates; the
//! sample layouts of A2Billing, ASTPP and Freeside; a dry run; tariffs that own their prefixes.
//! Prices are computed by hand in the comments.

use std::path::Path;

use crate::common::{spawn_app, Backend, TestApp};
use crate::import::{asterisk, ok, selfcare, selfcare_run, set_up_operator, user_id, write};
use crate::on_both_databases;

fn import_rates(app: &TestApp, tariff: &str, deck: &Path, more: &[&str]) -> (bool, String) {
    let mut args = vec!["import", "rates", "--tariff", tariff];
    args.extend_from_slice(more);
    args.push(deck.to_str().unwrap());
    selfcare_run(app, &args)
}

/// The price of the call to `dst` that lasted `billsec`.
async fn price(app: &TestApp, dst: &str, billsec: i64) -> Option<i64> {
    let (p,): (Option<i64>,) =
        sqlx::query_as("SELECT price_micros FROM calls WHERE dst = $1 AND billsec = $2")
            .bind(dst)
            .bind(billsec)
            .fetch_one(app.store.pool())
            .await
            .unwrap_or_else(|e| panic!("call to {dst} of {billsec} s: {e}"));
    p
}

/// alice's calls (device SIP/101) to these numbers, one per (number, seconds), imported.
fn import_calls(app: &TestApp, dir: &Path, name: &str, calls: &[(&str, &str, i64)]) {
    let mut csv = String::new();
    for (n, (device, dst, billsec)) in calls.iter().enumerate() {
        let start = format!("2024-03-07 10:{:02}:00", n);
        csv += &asterisk(
            "",
            device,
            dst,
            &format!("SIP/{device}-0000{n:04}"),
            "SIP/trunk-00000001",
            &start,
            &start,
            *billsec,
            "ANSWERED",
            &format!("{name}.{n}"),
        );
    }
    let file = write(dir, &format!("{name}.csv"), &csv);
    ok(
        app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            file.to_str().unwrap(),
        ],
    );
}

async fn a_foreign_deck_with_semicolons_commas_and_intervals_prices_as_carriers_bill(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    // Columns in the carrier's order, semicolons, decimal commas, day-first dates, X/Y intervals.
    let deck = write(
        &dir,
        "carrier.csv",
        "Interval;Rate per min;Destination;Dial code;Setup fee;Valid from\n\
         60/60;0,1200;Germany;49;0,0100;01/02/2024\n\
         30/6;0,0600;Spain;34;0;01/02/2024\n\
         1/1;0,0300;Italy;39;;01/02/2024\n",
    );
    let rates_before = app.scalar("SELECT COUNT(*) FROM rates").await;
    // 01/02/2024 could be 1 February or January 2: refused without the order.
    let (done, out) = import_rates(&app, "Retail", &deck, &[]);
    assert!(!done, "{out}");
    assert!(
        out.contains("carrier.csv:2: effective date \"01/02/2024\"")
            && out.contains("--date-order"),
        "{out}"
    );
    assert!(out.contains("nothing was imported"), "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM rates").await, rates_before);

    let out = ok(
        &app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            "--date-order",
            "dmy",
            deck.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("3 deck rows") && out.contains("rates: 3 new"),
        "{out}"
    );
    let (fee, inc, min, from): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT r.connection_fee_micros, r.increment_s, r.min_time_s, r.effective_from
         FROM rates r JOIN destination_groups g ON g.id = r.group_id WHERE g.name = 'Germany'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    // 2024-02-01 00:00:00 UTC
    assert_eq!((fee, inc, min, from), (10_000, 60, 60, 1_706_745_600));

    import_calls(
        &app,
        &dir,
        "intervals",
        &[
            ("101", "0049301234567", 5),
            ("101", "0049301234567", 61),
            ("101", "0034911234567", 5),
            ("101", "0034911234567", 31),
            ("101", "0039061234567", 5),
            ("101", "0039061234567", 61),
        ],
    );
    // Germany 60/60 at 0.12/min + 0.01: 5 s bills 60 s = 0.12 + 0.01; 61 s bills 120 s = 0.24 + 0.01.
    assert_eq!(price(&app, "0049301234567", 5).await, Some(130_000));
    assert_eq!(price(&app, "0049301234567", 61).await, Some(250_000));
    // Spain 30/6 at 0.06/min: 5 s bills 30 s = 0.03; 31 s bills 30 + 6 = 36 s = 0.036.
    assert_eq!(price(&app, "0034911234567", 5).await, Some(30_000));
    assert_eq!(price(&app, "0034911234567", 31).await, Some(36_000));
    // Italy 1/1 at 0.03/min: 5 s = 0.0025; 61 s = 0.0305.
    assert_eq!(price(&app, "0039061234567", 5).await, Some(2_500));
    assert_eq!(price(&app, "0039061234567", 61).await, Some(30_500));
}
on_both_databases!(a_foreign_deck_with_semicolons_commas_and_intervals_prices_as_carriers_bill);

async fn initial_and_subsequent_increment_columns_in_any_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    // The order that once imported a 60.00 connection fee: increment before the fee.
    let deck = write(
        &dir,
        "tabs.csv",
        "Code\tDescription\tPrice\tNext interval\tConnect charge\tFirst interval\tEffective date\n\
         49\tGermany\t0.1200\t6\t0.0100\t20\t2024-02-01\n",
    );
    let (done, out) = import_rates(&app, "Retail", &deck, &[]);
    assert!(done, "{out}");
    import_calls(
        &app,
        &dir,
        "initial",
        &[("101", "0049301234567", 5), ("101", "0049301234567", 25)],
    );
    // 20 s then 6 s at 0.12/min + 0.01: 5 s bills 20 s = 0.04 + 0.01; 25 s bills 26 s = 0.052 + 0.01.
    assert_eq!(price(&app, "0049301234567", 5).await, Some(50_000));
    assert_eq!(price(&app, "0049301234567", 25).await, Some(62_000));
}
on_both_databases!(initial_and_subsequent_increment_columns_in_any_order);

async fn a_header_we_cannot_map_is_refused_with_the_columns_we_recognise(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    let destinations = app.scalar("SELECT COUNT(*) FROM destinations").await;
    for (name, deck, want) in [
        (
            "status.csv",
            "Code,Destination,Rate,Status\n49,Germany,0.01,Closed\n",
            "status.csv:1: the header row: column 4 \"Status\" is not a column we know",
        ),
        (
            "norate.csv",
            "Code,Destination,Connection fee\n49,Germany,0.01\n",
            "norate.csv:1: the header row: no rate (per minute) column",
        ),
        (
            "foreign.csv",
            "49,Germany,0.01\n",
            "foreign.csv:1: the deck has no header row",
        ),
        (
            "bad.csv",
            "Code;Destination;Rate;Interval\n49;Germany;0,01;60/0\n4x;Nowhere;0,01;1/1\n",
            "bad.csv:2: interval \"60/0\"",
        ),
    ] {
        let file = write(&dir, name, deck);
        let (done, out) = import_rates(&app, "Retail", &file, &[]);
        assert!(!done, "{name}: {out}");
        assert!(out.contains(want), "{name}: {out}");
        assert!(out.contains("nothing was imported"), "{name}: {out}");
        if name != "bad.csv" {
            assert!(
                out.contains("Recognised columns") && out.contains("dial code"),
                "{name}: {out}"
            );
        } else {
            assert!(out.contains("bad.csv:3: prefix \"4x\""), "{out}");
        }
        assert!(!out.contains("panicked"), "{out}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM destinations").await,
        destinations
    );
}
on_both_databases!(a_header_we_cannot_map_is_refused_with_the_columns_we_recognise);

async fn a_dry_run_prints_the_mapping_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = app.data_dir.parent().unwrap().to_path_buf();
    let before: Vec<i64> = counts(&app).await;
    let deck = write(
        &dir,
        "dry.csv",
        "Destination;Code;Price per minute;Connection;Interval;Valid from;Notes\n\
         Germany;49;0,1200;0,0100;60/60;2024-02-01;new\n\
         Germany Mobile;4915;0,2000;;30/6;;\n",
    );
    let out = ok(
        &app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            "--currency",
            "USD",
            "--dry-run",
            deck.to_str().unwrap(),
        ],
    );
    for want in [
        "Delimiter ';'",
        "1 \"Destination\" → destination",
        "2 \"Code\" → prefix",
        "3 \"Price per minute\" → rate per minute",
        "5 \"Interval\" → billing interval X/Y",
        "7 \"Notes\" → ignored",
        "line 2: prefix 49 → \"Germany\" (FIX): 0.120000 per minute, connection fee 0.010000, billed 60 s then every 60 s, from 2024-02-01 00:00:00",
        "line 3: prefix 4915 → \"Germany Mobile\" (MOB): 0.200000 per minute, connection fee 0.000000, billed 30 s then every 6 s, from always",
        "Dry run: nothing was written.",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    assert_eq!(counts(&app).await, before);
}
on_both_databases!(a_dry_run_prints_the_mapping_and_writes_nothing);

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut v = Vec::new();
    for t in [
        "currencies",
        "tariffs",
        "destination_groups",
        "destinations",
        "rates",
    ] {
        v.push(app.scalar(&format!("SELECT COUNT(*) FROM {t}")).await);
    }
    v
}

async fn the_sample_layouts_of_a2billing_astpp_and_freeside_import(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    // ASTPP's origination-rate sample, iNextrix/ASTPP
    // web_interface/astpp/assets/Rates_File/originationrates_sample.csv: this header, rows
    // ending with a comma (our prices; the sample's are zeros).
    let astpp = write(
        &dir,
        "astpp-origination.csv",
        "Code,Destination,Connect Cost,Included Seconds,Per Minute Cost,Increment,Precedence\n\
         93,Afghanistan - Fixed,0,0,0.2500,60,0,\n\
         9370,Afghanistan - Mobile,0.05,0,0.3000,6,0,\n",
    );
    // ASTPP's termination-rate sample (terminationrates_sample.csv beside it): quoted header,
    // a Prepend column (routing, ignored).
    let astpp_term = write(
        &dir,
        "astpp-termination.csv",
        "\"Code\",\"Prepend\",\"Destination\",\"Connect Cost\",\"Included Seconds\",\"Per Minute Cost\",\"Increment\",\"Precedence\"\n\
         1,00,\"UNITED STATES\",0,0,0.0100,6,0,\n",
    );
    // A2Billing (Star2Billing/a2billing admin/Public/CC_ratecard_import_analyse.php): fields
    // dialprefix, destination, rateinitial, then the ones the operator picks (initblock,
    // billingblock, connectcharge, startdate, stopdate, buyrate…), split on ';' or ',', and
    // lines starting with '#' skipped, so the column list sits in a '#' line.
    let a2b = write(
        &dir,
        "a2billing.csv",
        "#dialprefix;destination;rateinitial;initblock;billingblock;connectcharge;startdate;stopdate;buyrate\n\
         4420;UK London;0.0150;30;6;0.0100;2024-01-01 00:00:00;2099-01-01 00:00:00;0.0050\n\
         # a comment line\n\
         4477;UK Mobile;0.0900;60;60;0;2024-01-01 00:00:00;;0.0400\n",
    );
    // Freeside (freeside/Freeside httemplate/misc/rate-import.html): destination name, country
    // code / prefix ("61", "52 33", "61 4,5": more prefixes after commas), rate per minute; its
    // file has no header, so the deck names the three columns as that page does.
    let freeside = write(
        &dir,
        "freeside.csv",
        "Destination name,Country code / Prefix,Rate (per minute)\n\
         Australia Mobile,\"61 4,5\",0.1200\n\
         Mexico Guadalajara,52 33,0.0300\n\
         Japan,+81,0.0400\n",
    );
    for (tariff, deck, rows) in [
        ("ASTPP", &astpp, 2),
        ("ASTPP termination", &astpp_term, 1),
        ("A2Billing", &a2b, 2),
        ("Freeside", &freeside, 4),
    ] {
        let (done, out) = import_rates(&app, tariff, deck, &[]);
        assert!(done, "{tariff}: {out}");
        assert!(
            out.contains(&format!("{rows} deck rows")),
            "{tariff}: {out}"
        );
    }
    assert!(import_rates(&app, "A2Billing", &a2b, &[])
        .1
        .contains("1 row(s) have an end date to come"),);
    let terms = |tariff: &str, prefix: &str| {
        let sql = format!(
            "SELECT d.details, r.price_micros, r.connection_fee_micros, r.min_time_s, r.increment_s
             FROM destinations d JOIN tariffs t ON t.id = d.tariff_id
             JOIN rates r ON r.tariff_id = t.id AND r.group_id = d.group_id AND r.rate_type = d.dir_code
             WHERE t.name = '{tariff}' AND d.prefix = '{prefix}'"
        );
        let pool = app.store.pool().clone();
        async move {
            sqlx::query_as::<_, (String, i64, i64, i64, i64)>(&sql)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    };
    assert_eq!(
        terms("ASTPP", "9370").await,
        ("Afghanistan - Mobile".into(), 300_000, 50_000, 0, 6)
    );
    assert_eq!(
        terms("ASTPP termination", "1").await,
        ("UNITED STATES".into(), 10_000, 0, 0, 6)
    );
    assert_eq!(
        terms("A2Billing", "4420").await,
        ("UK London".into(), 15_000, 10_000, 30, 6)
    );
    assert_eq!(
        terms("A2Billing", "4477").await,
        ("UK Mobile".into(), 90_000, 0, 60, 60)
    );
    assert_eq!(
        terms("Freeside", "615").await,
        ("Australia Mobile".into(), 120_000, 0, 0, 1)
    );
    assert_eq!(terms("Freeside", "5233").await.1, 30_000);
    assert_eq!(terms("Freeside", "81").await.1, 40_000);
    // Freeside's own file, without a header row: refused as it is, read with --columns.
    let headless = write(
        &dir,
        "freeside-own.csv",
        "Australia Mobile,\"61 4,5\",0.1300\nJapan,+81,0.0450\n",
    );
    let (done, out) = import_rates(&app, "Freeside own", &headless, &[]);
    assert!(
        !done && out.contains("name its columns with --columns"),
        "{out}"
    );
    let columns = "--columns=Destination name,Country code / Prefix,Rate (per minute)";
    let (done, out) = import_rates(&app, "Freeside own", &headless, &[columns]);
    assert!(done && out.contains("3 deck rows"), "{out}");
    assert_eq!(terms("Freeside own", "614").await.1, 130_000);
    assert_eq!(terms("Freeside own", "81").await.1, 45_000);
    let (done, out) = import_rates(
        &app,
        "Freeside own",
        &headless,
        &["--columns=prefix,colour"],
    );
    assert!(!done && out.contains("--columns"), "{out}");
    // ASTPP's included seconds are free seconds we cannot price: only 0 is read.
    let bad = write(
        &dir,
        "astpp-included.csv",
        "Code,Destination,Connect Cost,Included Seconds,Per Minute Cost,Increment,Precedence\n\
         93,Afghanistan - Fixed,0.10,30,0.2500,60,0,\n",
    );
    let (done, out) = import_rates(&app, "ASTPP", &bad, &[]);
    assert!(
        !done && out.contains("astpp-included.csv:2: included seconds \"30\""),
        "{out}"
    );
}
on_both_databases!(the_sample_layouts_of_a2billing_astpp_and_freeside_import);

async fn html_login(app: &TestApp, user: &str, password: &str) {
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", user), ("password", password)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303, "login of {user}");
}

/// (name, price) of each rate on the subscriber's rates page.
async fn rates_page(app: &TestApp, user: &str) -> Vec<(String, String)> {
    html_login(app, user, &format!("{user} pw")).await;
    let j: serde_json::Value = app.json("/tariffs/user_rates").await;
    app.submit_form("/callc/logout", &[]).await;
    j["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ratename"].as_str().unwrap().to_string(),
                r["ratecost"]["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn tariffs_own_their_prefixes(backend: Backend) {
    let app = spawn_app(backend).await;
    // Retail: 4420 is "United Kingdom London" at 0.0080 (the deck of import.rs).
    let dir = set_up_operator(&app);
    // Business names 4420 otherwise and prices it otherwise; it prices two prefixes of one
    // name ("Germany") differently.
    let deck = write(
        &dir,
        "business.csv",
        "Prefix,Destination,Rate\n\
         44,UK,0.0150\n\
         4420,London (City),0.0200\n\
         49,Germany,0.0200\n\
         4930,Germany,0.0500\n\
         4940,Germany,0.0200\n",
    );
    let (done, out) = import_rates(&app, "Business", &deck, &["--currency", "USD"]);
    assert!(done, "{out}");
    assert!(out.contains("prefixes: 5 new, 0 changed"), "{out}");
    let (added, out) = selfcare(&app, &["user", "add", "carol"], "carol pw\n");
    assert!(added, "{out}");
    ok(&app, &["user", "tariff", "carol", "Business"]);
    ok(&app, &["device", "add", "carol", "SIP", "301"]);

    // Retail's 4420 is as Retail's deck left it.
    let (details, group): (String, String) = sqlx::query_as(
        "SELECT d.details, g.name FROM destinations d
         JOIN tariffs t ON t.id = d.tariff_id JOIN destination_groups g ON g.id = d.group_id
         WHERE t.name = 'Retail' AND d.prefix = '4420'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        (details.as_str(), group.as_str()),
        ("United Kingdom London", "United Kingdom London")
    );

    let alice_rates = rates_page(&app, "alice").await;
    let carol_rates = rates_page(&app, "carol").await;
    let has = |rates: &[(String, String)], name: &str, price: &str| {
        rates.iter().any(|(n, p)| n == name && p == price)
    };
    assert!(
        has(&alice_rates, "United Kingdom London", "0.0080"),
        "{alice_rates:?}"
    );
    assert!(
        !alice_rates.iter().any(|(n, _)| n.starts_with("London")),
        "{alice_rates:?}"
    );
    assert!(
        has(&carol_rates, "London (City)", "0.0200"),
        "{carol_rates:?}"
    );
    assert!(has(&carol_rates, "Germany", "0.0200"), "{carol_rates:?}");
    assert!(
        has(&carol_rates, "Germany (4930)", "0.0500"),
        "{carol_rates:?}"
    );
    assert!(
        !carol_rates
            .iter()
            .any(|(n, _)| n.starts_with("United Kingdom")),
        "{carol_rates:?}"
    );

    import_calls(
        &app,
        &dir,
        "owners",
        &[
            ("101", "00442079460000", 60),
            ("301", "00442079460000", 61),
            ("301", "0049301234567", 60),
            ("301", "0049401234567", 60),
        ],
    );
    let alice = user_id(&app, "alice").await;
    // alice by Retail: 60 s × 0.008/min; carol by Business: 61 s × 0.02/min = 0.020333…
    assert_eq!(price(&app, "00442079460000", 60).await, Some(8_000));
    assert_eq!(price(&app, "00442079460000", 61).await, Some(20_333));
    // Germany's two prices: Berlin (4930) 0.05, Hamburg (4940) 0.02.
    assert_eq!(price(&app, "0049301234567", 60).await, Some(50_000));
    assert_eq!(price(&app, "0049401234567", 60).await, Some(20_000));
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {alice} AND price_micros IS NOT NULL"
        ))
        .await,
        1
    );

    // Re-importing Retail's deck leaves Business's prefixes alone.
    let retail = write(
        &dir,
        "retail.csv",
        "prefix,destination,rate\n4420,Londres,0.0090\n",
    );
    let (done, out) = import_rates(&app, "Retail", &retail, &[]);
    assert!(done && out.contains("prefixes: 0 new, 1 changed"), "{out}");
    let carol_rates = rates_page(&app, "carol").await;
    assert!(
        has(&carol_rates, "London (City)", "0.0200"),
        "{carol_rates:?}"
    );
}
on_both_databases!(tariffs_own_their_prefixes);
