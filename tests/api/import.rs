//! Operator data in, as an operator feeds it: the real binary against the test's database
//! (SQLite and PostgreSQL), a rate deck, call records written as Asterisk and FreeSWITCH write
//! them, re-rating and billing. Prices are computed by hand in the comments.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sqlx::Executor;

use crate::common::{spawn_app, text_of, Backend, TestApp};
use crate::on_both_databases;

fn command(app: &TestApp, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_selfcare"));
    c.args(args)
        .arg("--database-url")
        .arg(&app.database_url)
        .env("SELFCARE_DATA_DIR", &app.data_dir)
        .env_remove("SELFCARE_DATABASE_URL")
        .env_remove("SELFCARE_PBX_TIME_ZONE")
        .env_remove("SELFCARE_NATIONAL_PREFIX")
        .env_remove("SELFCARE_COUNTRY_CODE")
        .env_remove("SELFCARE_INTERNATIONAL_PREFIX")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs `selfcare ARGS` with `stdin`; (success, stdout + stderr).
pub(crate) fn selfcare(app: &TestApp, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = command(app, args).spawn().expect("run selfcare");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    output(child)
}

/// Runs `selfcare ARGS` (no input); (success, stdout + stderr).
pub(crate) fn selfcare_run(app: &TestApp, args: &[&str]) -> (bool, String) {
    selfcare(app, args, "")
}

fn output(child: std::process::Child) -> (bool, String) {
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub(crate) fn ok(app: &TestApp, args: &[&str]) -> String {
    let (ok, out) = selfcare(app, args, "");
    assert!(ok, "selfcare {args:?} failed:\n{out}");
    out
}

/// The number after `label` in a command's summary (`new calls     1,234` → 1234).
pub(crate) fn figure(out: &str, label: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in\n{out}"));
    let digits: String = line.trim_start()[label.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in {line:?}"))
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const DECK: &str = "\
prefix,destination,rate,connection fee,increment,minimum,effective date
44,United Kingdom,0.0100,,1,0,2024-01-01
4420,United Kingdom London,0.0080,,1,0,2024-01-01
447,United Kingdom Mobile,0.0500,0.0100,60,60,2024-01-01
33,France,0.0200,0,6,30,
";

/// Rates, two subscribers on them (alice with device SIP/101, bob with PJSIP/bob-desk, extension
/// 201), as an operator sets up a fresh database.
pub(crate) fn set_up_operator(app: &TestApp) -> PathBuf {
    let dir = app.data_dir.parent().unwrap().to_path_buf();
    let deck = write(&dir, "deck.csv", DECK);
    let out = ok(
        app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            "--currency",
            "USD",
            deck.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("Tariff Retail (USD, new): 4 deck rows"),
        "{out}"
    );
    for user in ["alice", "bob"] {
        let (ok, out) = selfcare(app, &["user", "add", user], &format!("{user} pw\n"));
        assert!(ok, "{out}");
        self::ok(app, &["user", "tariff", user, "Retail"]);
    }
    ok(app, &["device", "add", "alice", "SIP", "101"]);
    ok(
        app,
        &[
            "device",
            "add",
            "bob",
            "pjsip",
            "bob-desk",
            "--extension",
            "201",
        ],
    );
    dir
}

/// An Asterisk Master.csv record with loguniqueid and loguserfield on, quoted as cdr_csv quotes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn asterisk(
    accountcode: &str,
    src: &str,
    dst: &str,
    channel: &str,
    dstchannel: &str,
    start: &str,
    answer: &str,
    billsec: i64,
    disposition: &str,
    uniqueid: &str,
) -> String {
    let fields = [
        accountcode.to_string(),
        src.to_string(),
        dst.to_string(),
        "from-internal".to_string(),
        format!("\"{src}\" <{src}>"),
        channel.to_string(),
        dstchannel.to_string(),
        "Dial".to_string(),
        format!("SIP/trunk/{dst},60,tT"),
        start.to_string(),
        answer.to_string(),
        start.to_string(), // the end time is not read
        (billsec + 7).to_string(),
        billsec.to_string(),
        disposition.to_string(),
        "DOCUMENTATION".to_string(),
        uniqueid.to_string(),
        String::new(),
    ];
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect();
    quoted.join(",") + "\n"
}

/// March 2024, Europe/London (GMT in early March, so these local times are UTC too).
fn master_csv() -> String {
    let mut s = String::new();
    let t = |d: u32, h: u32| format!("2024-03-{d:02} {h:02}:00:00");
    let a = |d: u32, h: u32| format!("2024-03-{d:02} {h:02}:00:07");
    // 1. alice → London, 60 s at 0.008/min per second = 0.008
    s += &asterisk(
        "",
        "101",
        "00442079460000",
        "SIP/101-0000002a",
        "SIP/trunk-0000002b",
        &t(5, 10),
        &a(5, 10),
        60,
        "ANSWERED",
        "1709632800.1",
    );
    // 2. alice → UK mobile, 61 s: minimum 60 then 60 s steps = 120 s × 0.05 + 0.01 fee = 0.11
    s += &asterisk(
        "",
        "101",
        "+447700900123",
        "SIP/101-0000002c",
        "SIP/trunk-0000002d",
        &t(5, 11),
        &a(5, 11),
        61,
        "ANSWERED",
        "1709636400.2",
    );
    // 3. alice → France, 10 s: minimum 30 s × 0.02/min = 0.01
    s += &asterisk(
        "",
        "101",
        "0033123456789",
        "SIP/101-0000002e",
        "SIP/trunk-0000002f",
        &t(6, 9),
        &a(6, 9),
        10,
        "ANSWERED",
        "1709715600.3",
    );
    // 4. alice → UK fixed, not answered: matched, costs nothing
    s += &asterisk(
        "",
        "101",
        "00441610000000",
        "SIP/101-00000030",
        "SIP/trunk-00000031",
        &t(6, 10),
        "",
        0,
        "NO ANSWER",
        "1709719200.4",
    );
    // 5. alice → Germany: no prefix in the deck, flagged
    s += &asterisk(
        "",
        "101",
        "0049301234567",
        "SIP/101-00000032",
        "SIP/trunk-00000033",
        &t(7, 10),
        &a(7, 10),
        30,
        "ANSWERED",
        "1709805600.5",
    );
    // 6. a caller → alice, nobody answered: incoming, free, a missed call
    s += &asterisk(
        "",
        "442071234567",
        "s",
        "SIP/trunk-00000034",
        "SIP/101-00000035",
        &t(8, 10),
        "",
        0,
        "NO ANSWER",
        "1709892000.6",
    );
    // 7. bob by accountcode → UK mobile, 125 s: 180 s × 0.05 + 0.01 = 0.16
    s += &asterisk(
        "bob-desk",
        "201",
        "00447700900123",
        "PJSIP/bob-desk-0000000a",
        "SIP/trunk-0000000b",
        &t(9, 12),
        &a(9, 12),
        125,
        "ANSWERED",
        "1709985600.7",
    );
    // 8. trunk to trunk: nobody's call
    s += &asterisk(
        "",
        "5551234",
        "5559876",
        "SIP/trunk-0000000c",
        "SIP/trunk2-0000000d",
        &t(9, 13),
        &a(9, 13),
        40,
        "ANSWERED",
        "1709989200.8",
    );
    // 9. alice → bob's extension: internal, free
    s += &asterisk(
        "",
        "101",
        "201",
        "SIP/101-0000000e",
        "PJSIP/bob-desk-0000000f",
        &t(10, 9),
        &a(10, 9),
        20,
        "ANSWERED",
        "1710061200.9",
    );
    // 10. alice → UK mobile, busy
    s += &asterisk(
        "",
        "101",
        "00447700900999",
        "SIP/101-00000010",
        "",
        &t(11, 9),
        "",
        0,
        "BUSY",
        "1710147600.10",
    );
    s
}

pub(crate) async fn user_id(app: &TestApp, name: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
        .await
}

/// (user id, direction, disposition, billsec, price, rating status, destination prefix) of the
/// call imported from the record with this Asterisk uniqueid.
async fn call(
    app: &TestApp,
    uniqueid: &str,
) -> (
    i64,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
) {
    sqlx::query_as(
        "SELECT c.user_id, c.direction, c.disposition, c.billsec, c.price_micros, c.rating_status, d.prefix
         FROM calls c LEFT JOIN destinations d ON d.id = c.destination_id
         WHERE c.unique_id LIKE $1 AND c.unique_id NOT LIKE '%:%'",
    )
    .bind(format!("{uniqueid}/%"))
    .fetch_one(app.store.pool())
    .await
    .unwrap_or_else(|e| panic!("call {uniqueid}: {e}"))
}

async fn asterisk_cdrs_are_imported_matched_rated_and_billed_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    let (alice, bob) = (user_id(&app, "alice").await, user_id(&app, "bob").await);

    // The deck is what the rates page lists: rates per group and type of the user's tariff.
    let rates: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT g.name, r.rate_type, r.price_micros FROM rates r
         JOIN destination_groups g ON g.id = r.group_id JOIN users u ON u.tariff_id = r.tariff_id
         WHERE u.id = $1 ORDER BY g.name",
    )
    .bind(alice)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        rates,
        [
            ("France".to_string(), "FIX".to_string(), 20_000),
            ("United Kingdom".to_string(), "FIX".to_string(), 10_000),
            (
                "United Kingdom London".to_string(),
                "FIX".to_string(),
                8_000
            ),
            (
                "United Kingdom Mobile".to_string(),
                "MOB".to_string(),
                50_000
            ),
        ]
    );

    // The PBX has written five records; they are imported. Then the file grows to ten.
    let head: String = master_csv()
        .lines()
        .take(5)
        .map(|l| format!("{l}\n"))
        .collect();
    let master = write(&dir, "Master.csv", &head);
    let args = [
        "import",
        "cdrs",
        "--format",
        "asterisk",
        "--time-zone",
        "Europe/London",
        master.to_str().unwrap(),
    ];
    let out = ok(&app, &args);
    assert!(out.contains("Imported 5 records"), "{out}");
    assert!(
        out.contains("(rated 4, unmatched number 1, no rate 0)"),
        "{out}"
    );
    std::fs::write(&master, master_csv()).unwrap();
    let out = ok(&app, &args);
    assert!(out.contains("Imported 10 records"), "{out}");
    assert_eq!(figure(&out, "already imported"), 5, "{out}");
    assert_eq!(figure(&out, "no device"), 1, "{out}");
    // Only the five new records are counted: four of them calls, all rated (alice's call to bob
    // is also bob's incoming call: five rows); the trunk call is nobody's.
    assert!(
        out.contains("(rated 5, unmatched number 0, no rate 0)"),
        "{out}"
    );
    assert!(out.contains("\"trunk\" × 1"), "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 10);

    let out_call = |user, billsec, price: Option<i64>, status: &str, prefix: Option<&str>| {
        (
            user,
            "out".to_string(),
            "ANSWERED".to_string(),
            billsec,
            price,
            Some(status.to_string()),
            prefix.map(str::to_string),
        )
    };
    assert_eq!(
        call(&app, "1709632800.1").await,
        out_call(alice, 60, Some(8_000), "rated", Some("4420"))
    );
    assert_eq!(
        call(&app, "1709636400.2").await,
        out_call(alice, 61, Some(110_000), "rated", Some("447"))
    );
    assert_eq!(
        call(&app, "1709715600.3").await,
        out_call(alice, 10, Some(10_000), "rated", Some("33"))
    );
    let mut unanswered = out_call(alice, 0, Some(0), "rated", Some("44"));
    unanswered.2 = "NO ANSWER".to_string();
    assert_eq!(call(&app, "1709719200.4").await, unanswered);
    assert_eq!(
        call(&app, "1709805600.5").await,
        out_call(alice, 30, None, "unmatched", None)
    );
    let missed = call(&app, "1709892000.6").await;
    assert_eq!(
        missed,
        (
            alice,
            "in".to_string(),
            "NO ANSWER".to_string(),
            0,
            Some(0),
            Some("rated".to_string()),
            None
        )
    );
    assert_eq!(
        call(&app, "1709985600.7").await,
        out_call(bob, 125, Some(160_000), "rated", Some("447"))
    );
    assert_eq!(
        call(&app, "1710061200.9").await,
        out_call(alice, 20, Some(0), "rated", None)
    );
    // … and bob's incoming call, free, with a key of its own.
    let bobs: (i64, String, Option<i64>) = sqlx::query_as(
        "SELECT user_id, direction, price_micros FROM calls WHERE unique_id LIKE '1710061200.9/%:in'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(bobs, (bob, "in".to_string(), Some(0)));
    // What the call list shows: times in UTC, numbers, the device.
    let (started, src, dst, device, duration): (i64, String, String, String, i64) = sqlx::query_as(
        "SELECT c.started_at, c.src, c.dst, d.username, c.duration_s FROM calls c
         JOIN devices d ON d.id = c.device_id WHERE c.unique_id LIKE '1709636400.2/%'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(started, 1_709_636_400); // 2024-03-05 11:00:00 UTC
    assert_eq!((src.as_str(), dst.as_str()), ("101", "+447700900123"));
    assert_eq!((device.as_str(), duration), ("101", 68));

    // The owner sees the imported missed call on the portal.
    let (status, _) = app.legacy_login("alice", "alice pw").await;
    assert_eq!(status, 200);
    let (status, xml) = app.get_xml("/callc/main").await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(text_of(&xml, "missed_total"), "1");

    // The same file again adds nothing.
    let out = ok(&app, &args);
    assert_eq!(figure(&out, "already imported"), 10, "{out}");
    assert_eq!(figure(&out, "new calls"), 0, "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 10);

    // Billing does not wait for the call without a price: alice is billed without it, and told.
    app.store
        .pool()
        .execute("UPDATE users SET vat_percent_bp = 2000 WHERE username = 'alice'")
        .await
        .unwrap();
    let out = ok(&app, &["bill", "--period", "2024-03"]);
    assert!(
        out.contains("2 invoice(s) issued (INV-2024-000001 … INV-2024-000002)"),
        "{out}"
    );
    assert!(
        out.contains("Left out: alice: 1 call(s) without a price"),
        "{out}"
    );
    // The operator sees which call and why.
    let out = ok(&app, &["calls", "unmatched"]);
    assert!(
        out.contains("\t0049301234567\t30\tno destination matches\tyes"),
        "{out}"
    );
    assert!(out.contains("1 call(s) without a price"), "{out}");

    // Germany gets a rate; re-rating prices the call left out, and nothing else of the invoiced
    // month (alice's other calls, bob's call and his half of alice's call to him).
    let germany = write(&dir, "germany.csv", "49,Germany,0.0300,,1,0,2024-01-01\n");
    ok(
        &app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            germany.to_str().unwrap(),
        ],
    );
    let out = ok(
        &app,
        &["rate", "--from", "2024-03-01", "--to", "2024-03-31"],
    );
    assert!(out.contains("1 changed"), "{out}");
    assert!(out.contains("9 in invoiced periods"), "{out}");
    // 30 s × 0.03/min = 0.015
    assert_eq!(
        call(&app, "1709805600.5").await,
        out_call(alice, 30, Some(15_000), "rated", Some("49"))
    );
    let out = ok(&app, &["calls", "unmatched"]);
    assert!(out.contains("Every call has a price."), "{out}");

    let out = ok(&app, &["bill", "--period", "2024-03"]);
    assert!(
        out.contains("0 invoice(s) issued; 2 subscriber(s) already invoiced"),
        "{out}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 2);

    // alice's March: 0.008 + 0.11 + 0.01 + 0 + 0 (internal) + 0 (busy) = 0.128, VAT 20 % = 0.0256
    let (number, net, gross, vat): (String, i64, i64, i64) = sqlx::query_as(
        "SELECT number, price_micros, price_vat_micros, vat_percent_bp FROM invoices WHERE user_id = $1",
    )
    .bind(alice)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        (number.as_str(), net, gross, vat),
        ("INV-2024-000001", 128_000, 153_600, 2000)
    );
    // One line per destination, the largest first; the internal call has no destination.
    let lines: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT l.description, l.quantity, l.seconds, l.amount_micros FROM invoice_lines l
         JOIN invoices i ON i.id = l.invoice_id WHERE i.user_id = $1 AND l.kind = 'calls'
         ORDER BY i.id, l.position",
    )
    .bind(alice)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let line = |name: &str, calls, seconds, amount| (name.to_string(), calls, seconds, amount);
    assert_eq!(
        lines,
        [
            line("United Kingdom Mobile", 2, 61, 110_000), // answered and busy
            line("France", 1, 10, 10_000),
            line("United Kingdom London", 1, 60, 8_000),
            line("United Kingdom", 1, 0, 0),
            line("", 1, 20, 0),
        ]
    );
    // The lines add up to the old single line: 6 calls, 151 s, 0.128.
    let sum = lines
        .iter()
        .fold((0, 0, 0), |s, l| (s.0 + l.1, s.1 + l.2, s.2 + l.3));
    assert_eq!(sum, (6, 151, 128_000));

    // A March call of alice's that comes in after March's invoice: on her next invoice too.
    let late = write(
        &dir,
        "late.csv",
        &asterisk(
            "",
            "101",
            "00442079460000",
            "SIP/101-00000099",
            "SIP/trunk-00000098",
            "2024-03-20 10:00:00",
            "2024-03-20 10:00:05",
            60,
            "ANSWERED",
            "1710928800.99",
        ),
    );
    let out = ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--time-zone",
            "Europe/London",
            late.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("the next invoice of their subscriber takes them"),
        "{out}"
    );

    // The call left out, priced since, and the late one are on alice's next invoice, once.
    let out = ok(&app, &["bill", "--period", "2024-04"]);
    assert!(
        out.contains("1 invoice(s) issued (INV-2024-000003"),
        "{out}"
    );
    let april: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT l.description, l.quantity, l.seconds, l.amount_micros FROM invoice_lines l
         JOIN invoices i ON i.id = l.invoice_id WHERE i.number = 'INV-2024-000003'",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        april,
        [line(
            "Calls of earlier months, not on their invoice",
            2,
            90,
            23_000
        )]
    );
    let out = ok(&app, &["bill", "--period", "2024-05"]);
    assert!(out.contains("0 invoice(s) issued"), "{out}");
    let bob_total = app
        .scalar(&format!(
            "SELECT price_micros FROM invoices WHERE user_id = {bob}"
        ))
        .await;
    assert_eq!(bob_total, 160_000);

    // A month that has not ended is not billed.
    let this_month = chrono::Utc::now().format("%Y-%m").to_string();
    let (ok_, out) = selfcare(&app, &["bill", "--period", &this_month], "");
    assert!(!ok_ && out.contains("has not ended"), "{out}");
}
on_both_databases!(asterisk_cdrs_are_imported_matched_rated_and_billed_once);

async fn a_malformed_file_imports_nothing_and_names_its_lines(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    let good = master_csv();
    let good: Vec<&str> = good.lines().collect();
    let bad_date = good[1].replace("2024-03-05 11:00:00", "2024-03-05T11:00");
    let text = format!(
        "{}\n{bad_date}\n{}\n\"\",\"101\",\"5551234\"\n{}\n",
        good[0], good[2], good[6]
    );
    let file = write(&dir, "bad.csv", &text);
    let path = file.to_str().unwrap();
    let (ok_, out) = selfcare(&app, &["import", "cdrs", "--format", "asterisk", path], "");
    assert!(!ok_, "{out}");
    assert!(
        out.contains("2 bad record(s); nothing was imported"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{path}:2: start \"2024-03-05T11:00\" is not a time"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("{path}:4: 3 fields")), "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 0);

    // With --skip-bad the good records go in and the bad ones into the reject file.
    let rejects = dir.join("rejects.csv");
    let out = ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--skip-bad",
            "--reject-file",
            rejects.to_str().unwrap(),
            path,
        ],
    );
    assert_eq!(figure(&out, "bad records"), 2, "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 3);
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(rejected, format!("{bad_date}\n\"\",\"101\",\"5551234\"\n"));
    let reasons = std::fs::read_to_string(dir.join("rejects.csv.errors")).unwrap();
    assert_eq!(reasons.lines().count(), 2, "{reasons}");
    assert!(
        reasons.contains(":2: start") && reasons.contains(":4: 3 fields"),
        "{reasons}"
    );

    // Fixed, the rejects import like any file; the good records are not imported twice.
    std::fs::write(&rejects, format!("{}\n", good[1])).unwrap();
    let out = ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            rejects.to_str().unwrap(),
        ],
    );
    assert_eq!(figure(&out, "new calls"), 1, "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 4);

    // A bad deck changes nothing either.
    let deck = write(
        &dir,
        "bad-deck.csv",
        "48,Poland,0.01,,1,0,\n4x,Nowhere,0.01,,1,0,\n",
    );
    let (ok_, out) = selfcare(
        &app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            deck.to_str().unwrap(),
        ],
        "",
    );
    assert!(
        !ok_ && out.contains("bad-deck.csv:2: prefix \"4x\""),
        "{out}"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM destinations WHERE prefix = '48'")
            .await,
        0
    );
}
on_both_databases!(a_malformed_file_imports_nothing_and_names_its_lines);

async fn freeswitch_cdrs_are_imported_and_decks_update_prices(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    let alice = user_id(&app, "alice").await;
    let fs = "\
\"Alice\",\"101\",\"00442079460000\",\"default\",\"2024-04-02 10:00:00\",\"2024-04-02 10:00:05\",\"2024-04-02 10:01:35\",\"95\",\"90\",\"NORMAL_CLEARING\",\"6a1c7e36-0000-4000-8000-000000000001\",\"\",\"\",\"PCMA\",\"PCMA\"
\"Caller\",\"442071234567\",\"101\",\"public\",\"2024-04-02 11:00:00\",\"\",\"2024-04-02 11:00:20\",\"20\",\"0\",\"ORIGINATOR_CANCEL\",\"6a1c7e36-0000-4000-8000-000000000002\",\"\",\"\",\"PCMA\",\"PCMA\"
";
    let file = write(&dir, "Master-fs.csv", fs);
    let args = [
        "import",
        "cdrs",
        "--format",
        "freeswitch",
        file.to_str().unwrap(),
    ];
    let out = ok(&app, &args);
    assert_eq!(figure(&out, "new calls"), 2, "{out}");
    let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT direction, disposition, price_micros FROM calls WHERE user_id = $1 ORDER BY started_at",
    )
    .bind(alice)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    // 90 s × 0.008/min = 0.012
    assert_eq!(
        rows,
        [
            ("out".to_string(), "ANSWERED".to_string(), Some(12_000)),
            ("in".to_string(), "NO ANSWER".to_string(), Some(0)),
        ]
    );
    ok(&app, &args);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 2);

    // Re-importing the deck with a new London price updates the rate in place; `rate` reprices.
    let deck = write(
        &dir,
        "deck2.csv",
        &DECK.replace(
            "4420,United Kingdom London,0.0080",
            "4420,United Kingdom London,0.0120",
        ),
    );
    let out = ok(
        &app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            deck.to_str().unwrap(),
        ],
    );
    assert!(out.contains("rates: 0 new, 1 updated"), "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM rates").await, 4);
    ok(&app, &["rate"]);
    // 90 s × 0.012/min = 0.018
    assert_eq!(
        app.scalar(&format!(
            "SELECT price_micros FROM calls WHERE user_id = {alice} AND direction = 'out'"
        ))
        .await,
        18_000
    );
    // A tariff keeps its currency.
    let (ok_, out) = selfcare(
        &app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            "--currency",
            "EUR",
            deck.to_str().unwrap(),
        ],
        "",
    );
    assert!(!ok_ && out.contains("keeps its currency"), "{out}");
}
on_both_databases!(freeswitch_cdrs_are_imported_and_decks_update_prices);

async fn concurrent_bill_runs_number_invoices_without_gaps(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    // Two more subscribers; each of the four makes one call in January and one in February.
    let mut csv = String::new();
    for (n, user) in ["carol", "dave"].iter().enumerate() {
        let (ok_, out) = selfcare(&app, &["user", "add", user], "pw\n");
        assert!(ok_, "{out}");
        ok(&app, &["user", "tariff", user, "Retail"]);
        ok(&app, &["device", "add", user, "SIP", &format!("30{n}")]);
    }
    for (k, device) in ["101", "bob-desk", "300", "301"].iter().enumerate() {
        for month in [1, 2] {
            let start = format!("2024-{month:02}-1{k} 10:00:00");
            csv += &asterisk(
                "",
                device,
                "0033123456789",
                &format!("SIP/{device}-0000{k}{month}"),
                "",
                &start,
                &start,
                60,
                "ANSWERED",
                &format!("17000000{k}{month}.1"),
            );
        }
    }
    let file = write(&dir, "Master.csv", &csv);
    ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            file.to_str().unwrap(),
        ],
    );

    let runs: Vec<std::process::Child> = ["2024-02", "2024-01", "2024-02", "2024-01", "2024-02"]
        .iter()
        .map(|p| command(&app, &["bill", "--period", p]).spawn().unwrap())
        .collect();
    for child in runs {
        let (ok_, out) = output(child);
        assert!(ok_, "{out}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 8);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM (SELECT DISTINCT user_id, period_start FROM invoices) x")
            .await,
        8
    );
    let numbers: Vec<(String,)> = sqlx::query_as("SELECT number FROM invoices ORDER BY number")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    let mut seq: Vec<i64> = numbers
        .iter()
        .map(|(n,)| n.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    seq.sort();
    assert_eq!(seq, (1..=8).collect::<Vec<i64>>(), "{numbers:?}");
    assert_eq!(
        app.scalar("SELECT value FROM counters WHERE name = 'invoice'")
            .await,
        8
    );
}
on_both_databases!(concurrent_bill_runs_number_invoices_without_gaps);

async fn operator_commands_refuse_bad_input_clearly(backend: Backend) {
    let app = spawn_app(backend).await;
    set_up_operator(&app);
    for (args, want) in [
        (
            &["device", "add", "nobody", "SIP", "999"][..],
            "no user \"nobody\"",
        ),
        (&["device", "add", "alice", "SIP", "101"], "already exists"),
        (
            &["device", "add", "alice", "SIP", "bob-desk"],
            "already exists",
        ),
        (&["device", "add", "alice", "S I P", "555"], "device type"),
        (&["user", "tariff", "alice", "Gold"], "no tariff \"Gold\""),
        (&["bill", "--period", "2024-13"], "not a month"),
        (&["rate", "--from", "yesterday"], "not a date"),
        (
            &["import", "cdrs", "--format", "asterisk", "/nonexistent.csv"],
            "not a readable file",
        ),
        (
            &[
                "import",
                "cdrs",
                "--format",
                "asterisk",
                "--time-zone",
                "Mars/Olympus",
                "x",
            ],
            "not a zone",
        ),
        (
            &[
                "import",
                "cdrs",
                "--format",
                "asterisk",
                "--national-prefix",
                "0",
                "x",
            ],
            "country code",
        ),
    ] {
        let (ok_, out) = selfcare(&app, args, "");
        assert!(!ok_ && out.contains(want), "{args:?}: {out}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM devices").await, 2);
}
on_both_databases!(operator_commands_refuse_bad_input_clearly);

#[test]
fn the_new_commands_have_help() {
    for args in [
        &["import", "cdrs", "--help"][..],
        &["import", "rates", "--help"],
        &["rate", "--help"],
        &["bill", "--help"],
        &["device", "add", "--help"],
        &["user", "tariff", "--help"],
        &["bench", "import", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_selfcare"))
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Usage"),
            "{args:?}: {text}"
        );
    }
}

/// The benchmark runs end to end (tiny, untimed: this checks it works, not how fast).
#[test]
fn the_benchmark_runs_on_a_small_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_selfcare"))
        .args([
            "bench",
            "import",
            "--records",
            "500",
            "--users",
            "3",
            "--work-dir",
        ])
        .arg(dir.path())
        .env_remove("SELFCARE_DATABASE_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for phase in [
        "IMPORT: 500 records",
        "RE-RATE",
        "RATING in memory",
        "peak memory",
    ] {
        assert!(text.contains(phase), "{phase}: {text}");
    }
    assert!(!dir.path().join("bench-Master.csv").exists());
}

async fn billing_numbers_on_after_the_demo_invoices(backend: Backend) {
    let app = crate::common::spawn_demo_app(backend).await;
    let before = app.scalar("SELECT COUNT(*) FROM invoices").await;
    assert!(before > 0);
    // Four months ago: before the demo's invoiced months, with the demo's monthly subscriptions.
    let month = chrono::Utc::now().date_naive() - chrono::Months::new(4);
    let period = month.format("%Y-%m").to_string();
    let out = ok(&app, &["bill", "--period", &period]);
    let issued = app.scalar("SELECT COUNT(*) FROM invoices").await - before;
    assert!(issued > 0, "{out}");
    let first = format!("INV-{}-{:06}", &period[..4], before + 1);
    assert!(out.contains(&first), "{out}");
    assert_eq!(
        app.scalar("SELECT value FROM counters WHERE name = 'invoice'")
            .await,
        before + issued
    );
}
on_both_databases!(billing_numbers_on_after_the_demo_invoices);

/// The planner's estimate of the rows of `calls` (SQLite's `sqlite_stat1`, PostgreSQL's
/// `pg_class.reltuples`); 0 when it has no statistics.
async fn planner_rows_of_calls(app: &TestApp, backend: Backend) -> i64 {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT CAST(COALESCE(MAX(CAST(stat AS INTEGER)), 0) AS INTEGER) FROM sqlite_stat1 WHERE tbl = 'calls'"
        }
        Backend::Postgres => {
            "SELECT CAST(GREATEST(reltuples, 0) AS BIGINT) FROM pg_class WHERE relname = 'calls'"
        }
    };
    app.scalar(sql).await
}

async fn an_import_leaves_the_planner_its_statistics(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    assert_eq!(planner_rows_of_calls(&app, backend).await, 0);
    let master = write(&dir, "Master.csv", &master_csv());
    ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--time-zone",
            "Europe/London",
            master.to_str().unwrap(),
        ],
    );
    if backend == Backend::Sqlite {
        // The write-ahead log is emptied, not left as large as the import wrote.
        let file = app.data_dir.join("selfcare.db-wal");
        let wal = std::fs::metadata(&file).map_or(0, |m| m.len());
        assert_eq!(wal, 0, "{}", file.display());
    }
    let stored = app.scalar("SELECT COUNT(*) FROM calls").await;
    assert!(stored > 0);
    assert_eq!(planner_rows_of_calls(&app, backend).await, stored);

    // Re-rating rewrites calls and their roll-ups: it tidies up after itself the same way.
    let vacuums = "SELECT CAST(COALESCE(SUM(vacuum_count), 0) AS BIGINT) FROM pg_stat_user_tables
                    WHERE relname = 'call_hours' AND schemaname = current_schema()";
    let vacuumed = match backend {
        Backend::Postgres => app.scalar(vacuums).await,
        Backend::Sqlite => 0,
    };
    let germany = write(&dir, "germany.csv", "49,Germany,0.0300,,1,0,2024-01-01\n");
    let deck = germany.to_str().unwrap();
    ok(&app, &["import", "rates", "--tariff", "Retail", deck]);
    let out = ok(&app, &["rate"]);
    assert!(out.contains("1 changed"), "{out}");
    match backend {
        Backend::Sqlite => {
            let file = app.data_dir.join("selfcare.db-wal");
            let wal = std::fs::metadata(&file).map_or(0, |m| m.len());
            assert_eq!(wal, 0, "{}", file.display());
        }
        Backend::Postgres => assert!(app.scalar(vacuums).await > vacuumed),
    }
}
on_both_databases!(an_import_leaves_the_planner_its_statistics);

async fn exchange_rates_are_set_and_convert_prices(backend: Backend) {
    let app = spawn_app(backend).await;
    // A subscriber in a currency the database does not know: said plainly, nothing created.
    let (done, out) = selfcare(
        &app,
        &["user", "add", "zed", "--currency", "GBP"],
        "zed pw\n",
    );
    assert!(
        !done && out.contains("no currency GBP in this database"),
        "{out}"
    );
    // Before any rate deck there is no base currency to be relative to.
    let (done, out) = selfcare(&app, &["currency", "set", "EUR", "0.9"], "");
    assert!(!done && out.contains("no base currency yet"), "{out}");
    let dir = set_up_operator(&app); // a USD deck: USD is the base
    let out = ok(&app, &["currency", "set", "EUR", "0.9"]);
    assert!(
        out.contains("EUR (new currency): 0.900000 per USD"),
        "{out}"
    );
    for (args, says) in [
        (&["currency", "set", "USD", "2"][..], "base currency"),
        (&["currency", "set", "EUR", "abc"], "RATE"),
        (&["currency", "set", "EUR", "0"], "more than zero"),
        (
            &["currency", "set", "EUR", "1", "--date", "2026-13-01"],
            "not a date",
        ),
        (&["currency", "set", "EURO", "1"], "three-letter code"),
    ] {
        let (done, out) = selfcare(&app, args, "");
        assert!(!done && out.contains(says), "{args:?}: {out}");
    }
    let list = ok(&app, &["currency", "list"]);
    assert!(list.contains("USD  base currency"), "{list}");
    assert!(list.contains("EUR  0.900000 per base unit"), "{list}");
    // The ECB's daily file: per euro, so against the dollar through the euro; a currency of
    // ours it lacks is named.
    ok(&app, &["currency", "set", "CHF", "0.88"]);
    let ecb = write(
        &dir,
        "eurofxref.csv",
        "Date, USD, JPY, GBP, \n04 December 2026, 1.0500, 160.00, 0.8400, \n",
    );
    let out = ok(&app, &["currency", "import", ecb.to_str().unwrap()]);
    assert!(
        out.contains("1 exchange rate(s) set from 1 day(s)"),
        "{out}"
    );
    assert!(
        out.contains("Not in the file (or not on every day): CHF."),
        "{out}"
    );
    let list = ok(&app, &["currency", "list"]);
    assert!(
        list.contains("EUR  0.952381 per base unit since 2026-12-04"),
        "{list}"
    );
    let bad = write(&dir, "bad.csv", "Code,USD\nx,1\n");
    let (done, out) = selfcare(&app, &["currency", "import", bad.to_str().unwrap()], "");
    assert!(!done && out.contains("not the ECB's layout"), "{out}");

    // A EUR subscriber on the USD tariff: 600 s to France at 0.02 USD a minute = 0.20 USD = 0.18 EUR.
    let (done, out) = selfcare(
        &app,
        &["user", "add", "eve", "--currency", "EUR"],
        "eve pw\n",
    );
    assert!(done, "{out}");
    ok(&app, &["user", "tariff", "eve", "Retail"]);
    ok(&app, &["device", "add", "eve", "SIP", "301"]);
    let cdr = asterisk(
        "",
        "301",
        "0033123456789",
        "SIP/301-1",
        "SIP/trunk-1",
        "2024-03-05 10:00:00",
        "2024-03-05 10:00:07",
        600,
        "ANSWERED",
        "eve.1",
    );
    let file = write(&dir, "eve.csv", &cdr);
    ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--time-zone",
            "UTC",
            file.to_str().unwrap(),
        ],
    );
    let (price, status): (Option<i64>, String) = sqlx::query_as(
        "SELECT c.price_micros, c.rating_status FROM calls c JOIN users u ON u.id = c.user_id
         WHERE u.username = 'eve'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!((price, status.as_str()), (Some(180_000), "rated"));
}
on_both_databases!(exchange_rates_are_set_and_convert_prices);
