//! Call records in every layout Asterisk's cdr_csv and FreeSWITCH's mod_cdr_csv write, written
//! here as those programs write them: Asterisk quotes text and not numbers and leaves an unset
//! time empty; FreeSWITCH expands its template and escapes nothing. A call is billed once
//! whatever legs are logged. Prices by hand: London (4420) is 0.008 a minute by the second.

use std::path::Path;

use selfcare::billing::cdr::freeswitch::TEMPLATES;

use crate::common::{spawn_app, Backend, TestApp};
use crate::import::{figure, selfcare_run, set_up_operator, user_id, write};
use crate::on_both_databases;

/// One call as the switch's variables describe it.
#[derive(Clone)]
struct Call {
    name: &'static str,
    cid: &'static str,
    dst: &'static str,
    start: &'static str,
    answer: &'static str,
    end: &'static str,
    duration: i64,
    billsec: i64,
    cause: &'static str,
    uuid: String,
    bleg: String,
    direction: &'static str,
}

/// alice (device 101) → London, answered: 90 s billed, 0.012.
fn london(uuid: &str) -> Call {
    Call {
        name: "Иван \"Ваня\", Петров",
        cid: "101",
        dst: "00442079460000",
        start: "2024-04-02 10:00:00",
        answer: "2024-04-02 10:00:05",
        end: "2024-04-02 10:01:35",
        duration: 95,
        billsec: 90,
        cause: "NORMAL_CLEARING",
        uuid: uuid.to_string(),
        bleg: String::new(),
        direction: "inbound",
    }
}

/// The line FreeSWITCH writes for `call` with `template`: each `${variable}` replaced by its
/// value as it is (unset ones by nothing), the rest of the template kept.
fn expand(template: &str, call: &Call) -> String {
    let values = [
        ("caller_id_name", call.name.to_string()),
        ("caller_id_number", call.cid.to_string()),
        ("ani", call.cid.to_string()),
        ("destination_number", call.dst.to_string()),
        ("context", "default".to_string()),
        ("start_stamp", call.start.to_string()),
        ("answer_stamp", call.answer.to_string()),
        ("end_stamp", call.end.to_string()),
        ("duration", call.duration.to_string()),
        ("billsec", call.billsec.to_string()),
        ("hangup_cause", call.cause.to_string()),
        ("uuid", call.uuid.clone()),
        ("bleg_uuid", call.bleg.clone()),
        ("direction", call.direction.to_string()),
        ("read_codec", "PCMA".to_string()),
        ("write_codec", "PCMA".to_string()),
        (
            "channel_name",
            format!("sofia/internal/{}@10.0.0.1", call.cid),
        ),
        ("sip_user_agent", "Yealink SIP-T46S".to_string()),
        ("last_app", "bridge".to_string()),
        ("network_addr", "10.0.0.1".to_string()),
        (
            "regex('${original_caller_id_name}'|^.)",
            call.name.chars().take(1).collect(),
        ),
    ];
    let mut out = template.to_string();
    for (var, value) in values {
        out = out.replace(&format!("${{{var}}}"), &value);
    }
    // Variables the channel does not have expand to nothing.
    while let Some(at) = out.find("${") {
        let end = at + out[at..].find('}').unwrap();
        out.replace_range(at..=end, "");
    }
    out + "\n"
}

fn template(name: &str) -> &'static str {
    TEMPLATES.iter().find(|(n, _)| *n == name).unwrap().1
}

fn import(app: &TestApp, files: &[&Path], extra: &[&str]) -> (bool, String) {
    let mut args = vec!["import", "cdrs", "--quiet"];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    selfcare_run(app, &args)
}

fn freeswitch(app: &TestApp, files: &[&Path], template: &str) -> String {
    let (ok_, out) = import(
        app,
        files,
        &["--format", "freeswitch", "--template", template],
    );
    assert!(ok_, "{out}");
    out
}

/// (direction, disposition, billsec, price) of alice's calls, oldest first.
async fn calls_of(app: &TestApp, user: &str) -> Vec<(String, String, i64, Option<i64>)> {
    let id = user_id(app, user).await;
    sqlx::query_as(
        "SELECT direction, disposition, billsec, price_micros FROM calls WHERE user_id = $1 \
         ORDER BY started_at, id",
    )
    .bind(id)
    .fetch_all(app.store.pool())
    .await
    .unwrap()
}

fn row(dir: &str, disp: &str, billsec: i64, price: i64) -> (String, String, i64, Option<i64>) {
    (dir.into(), disp.into(), billsec, Some(price))
}

/// An Asterisk record as cdr_csv's build_csv_record writes it: text quoted (quotes doubled),
/// duration, billsec and sequence bare, an unset answer time an empty bare field.
fn asterisk_line(dst: &str, start: &str, answered: bool, billsec: i64, disp: &str) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let answer = if answered {
        q(&start.replace(":00:00", ":00:05"))
    } else {
        String::new()
    };
    [
        q(""),
        q("101"),
        q(dst),
        q("from-internal"),
        q("\"Ана Łukasz\" <101>"),
        q("SIP/101-0000002a"),
        q("SIP/trunk-0000002b"),
        q("Dial"),
        q(&format!("SIP/trunk/{dst},60,tT")),
        q(start),
        answer,
        q(start),
        (billsec + 5).to_string(),
        billsec.to_string(),
        q(disp),
        q("DOCUMENTATION"),
    ]
    .join(",")
}

async fn asterisk_21_fields_and_every_disposition_import(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    let dispositions = [
        ("ANSWERED", "ANSWERED"),
        ("NO ANSWER", "NO ANSWER"),
        ("BUSY", "BUSY"),
        ("FAILED", "FAILED"),
        ("CONGESTION", "FAILED"),
        ("CANCEL", "NO ANSWER"),
        // A2Billing's terminate causes (Dial's statuses).
        ("ANSWER", "ANSWERED"),
        ("NOANSWER", "NO ANSWER"),
        ("CHANUNAVAIL", "FAILED"),
        ("DONTCALL", "NO ANSWER"),
        ("TORTURE", "NO ANSWER"),
        ("INVALIDARGS", "FAILED"),
    ];
    // newcdrcolumns, loguniqueid and loguserfield on: 21 fields; times in July, London local
    // time (BST, one hour ahead of UTC).
    let mut csv = String::new();
    for (i, (disp, _)) in dispositions.iter().enumerate() {
        let answered = disp.starts_with("ANSWER");
        let billsec = if answered { 60 } else { 0 };
        let start = format!("2024-07-01 {:02}:00:00", 8 + i);
        let line = asterisk_line("00442079460000", &start, answered, billsec, disp);
        csv += &format!("{line},\"1719820800.{i}\",\"\",\"\",\"1719820800.{i}\",{i}\n");
    }
    let file = write(&dir, "Master-21.csv", &csv);
    let (ok_, out) = import(
        &app,
        &[&file],
        &["--format", "asterisk", "--time-zone", "Europe/London"],
    );
    assert!(ok_, "{out}");
    assert_eq!(
        figure(&out, "new calls"),
        dispositions.len() as u64,
        "{out}"
    );
    let rows = calls_of(&app, "alice").await;
    let want: Vec<_> = dispositions
        .iter()
        .map(|(disp, ours)| {
            // 60 s × 0.008/min = 0.008
            let (billsec, price) = if disp.starts_with("ANSWER") {
                (60, 8_000)
            } else {
                (0, 0)
            };
            row("out", ours, billsec, price)
        })
        .collect();
    assert_eq!(rows, want);
    // 08:00 in London in July is 07:00 UTC.
    let first = app.scalar("SELECT MIN(started_at) FROM calls").await;
    assert_eq!(first, 1_719_817_200);

    // The other layouts: 16 fields, and the new columns with or without uniqueid/userfield.
    let base = |h: u32| {
        asterisk_line(
            "00442079460000",
            &format!("2024-07-02 {h:02}:00:00"),
            true,
            30,
            "ANSWERED",
        )
    };
    let new = r#""","1719907200.9",3"#;
    let csv = [
        base(8),
        format!("{},{new}", base(9)),
        format!("{},\"1719907200.10\",{new}", base(10)),
        format!("{},\"from the portal\",{new}", base(11)),
    ]
    .join("\n")
        + "\n";
    let file = write(&dir, "Master-mixed.csv", &csv);
    let (ok_, out) = import(&app, &[&file], &["--format", "asterisk"]);
    assert!(ok_, "{out}");
    assert_eq!(figure(&out, "new calls"), 4, "{out}");
    // 30 s × 0.008/min = 0.004 each; again: nothing new.
    assert_eq!(
        app.scalar("SELECT CAST(SUM(price_micros) AS BIGINT) FROM calls WHERE billsec = 30")
            .await,
        16_000
    );
    let (_, out) = import(&app, &[&file], &["--format", "asterisk"]);
    assert_eq!(figure(&out, "already imported"), 4, "{out}");

    // A disposition nobody writes names its line and imports nothing.
    let file = write(
        &dir,
        "Master-bad.csv",
        &(base(12) + "\n" + &base(13).replace("\"ANSWERED\"", "\"HUNG UP\"") + "\n"),
    );
    let (ok_, out) = import(&app, &[&file], &["--format", "asterisk"]);
    assert!(
        !ok_ && out.contains("Master-bad.csv:2: disposition \"HUNG UP\""),
        "{out}"
    );
}
on_both_databases!(asterisk_21_fields_and_every_disposition_import);

async fn each_freeswitch_template_imports_by_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    for (n, (name, text)) in TEMPLATES.iter().enumerate() {
        let call = london(&format!("6a1c7e36-0000-4000-8000-0000000000{n:02}"));
        let file = write(&dir, &format!("Master-{name}.csv"), &expand(text, &call));
        let out = freeswitch(&app, &[&file], name);
        assert_eq!(figure(&out, "new calls"), 1, "{name}: {out}");
    }
    let rows = calls_of(&app, "alice").await;
    // 90 s × 0.008/min = 0.012, each template's call once.
    assert_eq!(
        rows,
        vec![row("out", "ANSWERED", 90, 12_000); TEMPLATES.len()]
    );

    // Without --template the records are the shipped configuration's `example`; a file of the
    // compiled-in template is refused with the hint.
    let call = london("6a1c7e36-0000-4000-8000-0000000000ff");
    let file = write(&dir, "Master-13.csv", &expand(template("default"), &call));
    let (ok_, out) = import(&app, &[&file], &["--format", "freeswitch"]);
    assert!(
        !ok_ && out.contains("Master-13.csv:1: only 12 of the 15 fields of template example")
            && out.contains("--template default"),
        "{out}"
    );
    // An unknown name lists the known ones; --template is FreeSWITCH's only.
    let (ok_, out) = import(
        &app,
        &[&file],
        &["--format", "freeswitch", "--template", "cisco"],
    );
    assert!(!ok_ && out.contains("default, example, snom"), "{out}");
    let (ok_, out) = import(
        &app,
        &[&file],
        &["--format", "asterisk", "--template", "default"],
    );
    assert!(!ok_ && out.contains("--template is FreeSWITCH's"), "{out}");
}
on_both_databases!(each_freeswitch_template_imports_by_name);

async fn a_template_given_on_the_command_line_imports(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    // A site's own layout: semicolons, nothing quoted, epochs.
    let t = "${caller_id_number};${destination_number};${start_epoch};${answer_epoch};${billsec};${hangup_cause};${uuid};${caller_id_name}";
    let file = write(
        &dir,
        "site.csv",
        "101;00442079460000;1712052000;1712052005;90;NORMAL_CLEARING;u-1;Zoë, Smith\n\
         \n\
         101;201;1712052100;0;0;USER_BUSY;u-2;Zoë\n",
    );
    let out = freeswitch(&app, &[&file], t);
    assert_eq!(figure(&out, "new calls"), 3, "{out}"); // the call to bob is his too
    assert_eq!(
        calls_of(&app, "alice").await,
        [row("out", "ANSWERED", 90, 12_000), row("out", "BUSY", 0, 0)]
    );
    assert_eq!(calls_of(&app, "bob").await, [row("in", "BUSY", 0, 0)]);

    // A template without what a call needs is refused, naming it, before any file is read.
    let (ok_, out) = import(
        &app,
        &[&file],
        &[
            "--format",
            "freeswitch",
            "--template",
            "${caller_id_number};${start_epoch};${billsec}",
        ],
    );
    assert!(
        !ok_ && out.contains("lacks what a call needs: the number dialled (${destination_number})"),
        "{out}"
    );

    // --skip-bad sets a bad line aside as it was written, so the same template reads it again.
    let bad = "101;00442079460000;yesterday;0;0;NO_ANSWER;u-3;Zoë\n";
    let file = write(
        &dir,
        "site2.csv",
        &format!("{bad}101;201;1712052200;0;0;NO_ANSWER;u-4;Zoë\n"),
    );
    let (ok_, out) = import(
        &app,
        &[&file],
        &["--format", "freeswitch", "--template", t, "--skip-bad"],
    );
    assert!(ok_ && figure(&out, "bad records") == 1, "{out}");
    assert!(
        out.contains("site2.csv:1: start_epoch \"yesterday\" is not a number"),
        "{out}"
    );
    let rejected = std::fs::read_to_string(dir.join("site2.csv.rejected")).unwrap();
    assert_eq!(rejected, bad);
}
on_both_databases!(a_template_given_on_the_command_line_imports);

async fn legs_ab_bills_each_call_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    let example = template("example");
    // alice → London: the a-leg names its b-leg; FreeSWITCH wrote the b-leg first.
    let mut a = london("aaaaaaaa-0000-4000-8000-000000000001");
    a.bleg = "bbbbbbbb-0000-4000-8000-000000000001".into();
    let mut b = london("bbbbbbbb-0000-4000-8000-000000000001");
    b.start = "2024-04-02 10:00:01";
    b.duration = 94;
    // alice → bob (extension 201), answered: the b-leg rings bob's phone.
    let mut a2 = london("aaaaaaaa-0000-4000-8000-000000000002");
    a2.dst = "201";
    a2.start = "2024-04-02 11:00:00";
    a2.bleg = "bbbbbbbb-0000-4000-8000-000000000002".into();
    let mut b2 = a2.clone();
    b2.uuid = "bbbbbbbb-0000-4000-8000-000000000002".into();
    b2.bleg = String::new();
    let master = write(
        &dir,
        "Master.csv",
        &(expand(example, &b) + &expand(example, &a) + &expand(example, &a2)),
    );
    // The last b-leg went to the next file (rotate-on-hup), given first.
    let rotated = write(&dir, "Master.csv.1", &expand(example, &b2));
    let out = freeswitch(&app, &[&rotated, &master], "example");
    assert_eq!(figure(&out, "b-legs"), 2, "{out}");
    assert_eq!(figure(&out, "new calls"), 3, "{out}"); // London, 201, and bob's incoming
    assert_eq!(
        calls_of(&app, "alice").await,
        [
            row("out", "ANSWERED", 90, 12_000),
            row("out", "ANSWERED", 90, 0)
        ]
    );
    assert_eq!(calls_of(&app, "bob").await, [row("in", "ANSWERED", 90, 0)]);
    // Importing again adds nothing and skips the b-legs again.
    let out = freeswitch(&app, &[&master, &rotated], "example");
    assert_eq!(figure(&out, "new calls"), 0, "{out}");
    assert_eq!(figure(&out, "b-legs"), 2, "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 3);

    // A template with the direction tells each leg by itself, even in separate imports.
    let t = r#""${uuid}","${direction}","${caller_id_number}","${destination_number}","${start_stamp}","${answer_stamp}","${billsec}","${hangup_cause}""#;
    let mut a3 = london("aaaaaaaa-0000-4000-8000-000000000003");
    a3.start = "2024-04-02 12:00:00";
    let mut b3 = a3.clone();
    b3.uuid = "bbbbbbbb-0000-4000-8000-000000000003".into();
    b3.direction = "outbound";
    let one = write(&dir, "one.csv", &expand(t, &a3));
    let two = write(&dir, "two.csv", &expand(t, &b3));
    let out = freeswitch(&app, &[&one], t);
    assert_eq!(figure(&out, "new calls"), 1, "{out}");
    let out = freeswitch(&app, &[&two], t);
    assert_eq!(
        (figure(&out, "new calls"), figure(&out, "b-legs")),
        (0, 1),
        "{out}"
    );
    let id = user_id(&app, "alice").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(SUM(price_micros) AS BIGINT) FROM calls WHERE user_id = {id}"
        ))
        .await,
        24_000
    );

    // The example template (no direction): the legs of a call imported in two runs, either
    // order. The b-leg first: billed as a call, then removed when its a-leg comes.
    let mut a4 = london("aaaaaaaa-0000-4000-8000-000000000004");
    a4.start = "2024-04-02 13:00:00";
    a4.bleg = "bbbbbbbb-0000-4000-8000-000000000004".into();
    let mut b4 = a4.clone();
    b4.uuid = "bbbbbbbb-0000-4000-8000-000000000004".into();
    b4.bleg = String::new();
    let before = app.scalar("SELECT COUNT(*) FROM calls").await;
    let out = freeswitch(
        &app,
        &[&write(&dir, "b4.csv", &expand(example, &b4))],
        "example",
    );
    assert_eq!(figure(&out, "new calls"), 1, "{out}");
    let out = freeswitch(
        &app,
        &[&write(&dir, "a4.csv", &expand(example, &a4))],
        "example",
    );
    assert_eq!(figure(&out, "b-legs removed"), 1, "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, before + 1);
    // The a-leg first: its b-leg, imported later, is removed as it comes.
    let mut a5 = london("aaaaaaaa-0000-4000-8000-000000000005");
    a5.start = "2024-04-02 14:00:00";
    a5.bleg = "bbbbbbbb-0000-4000-8000-000000000005".into();
    let mut b5 = a5.clone();
    b5.uuid = "bbbbbbbb-0000-4000-8000-000000000005".into();
    b5.bleg = String::new();
    freeswitch(
        &app,
        &[&write(&dir, "a5.csv", &expand(example, &a5))],
        "example",
    );
    let out = freeswitch(
        &app,
        &[&write(&dir, "b5.csv", &expand(example, &b5))],
        "example",
    );
    assert_eq!(figure(&out, "b-legs removed"), 1, "{out}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, before + 2);
    // Each call once: 0.12 for each of the four London calls.
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(SUM(price_micros) AS BIGINT) FROM calls WHERE user_id = {id}"
        ))
        .await,
        48_000
    );
}
on_both_databases!(legs_ab_bills_each_call_once);
