//! The phonebook as a file: its CSV (and PDF) export is the page's entries row for row, formulas
//! neutralised; a CSV file comes back in through a preview that names every wrong line and writes
//! nothing, then a confirmation that imports all rows or none. Other users' ids answer 404,
//! oversized or unreadable files a clear 400, forms without the CSRF token 403.

use std::collections::HashMap;

use crate::common::{spawn_demo_app, spawn_demo_app_sorting_in, text_of, Backend, TestApp};
use crate::export::{assert_qpdf_ok, csv_rows, download, pdf_text, pdf_tools};
use crate::on_both_databases;

const MIB: usize = 1024 * 1024;
const BOUNDARY: &str = "selfcare-test-boundary-7d3f";

// ---------------------------------------------------------------------------------------------
// helpers

async fn user_id(app: &TestApp, name: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
        .await
}

async fn login(app: &TestApp, user: &str) {
    let r = app
        .submit_form("/callc/login", &[("username", user), ("password", user)])
        .await;
    assert_eq!(r.status().as_u16(), 303, "login of {user}");
}

async fn entries_of(app: &TestApp, user: i64) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM phonebook_entries WHERE user_id = {user}"
    ))
    .await
}

/// The user's phonebook, number → name.
async fn phonebook(app: &TestApp, user: i64) -> HashMap<String, String> {
    let rows: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT number, name FROM phonebook_entries WHERE user_id = {user}"
    ))
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    rows.into_iter().collect()
}

async fn add_entry(app: &TestApp, user: i64, name: &str, number: &str) {
    let r = app
        .submit_form(
            &format!("/phonebooks/add_new/{user}"),
            &[("name", name), ("number", number)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303, "add {name}");
}

/// A form part: (name, file name for a file field, content).
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body as a browser sends it.
fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file_name, data) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file_name {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Posts a form with a file as a browser would (no CSRF token unless among `parts`).
async fn post_multipart(app: &TestApp, path: &str, parts: &[Part<'_>]) -> (u16, String) {
    let r = app
        .client
        .post(app.url(path))
        .header("Accept", "text/html")
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(parts))
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r.text().await.expect("body");
    (status, location.unwrap_or(body))
}

/// Uploads `file` from the phonebook page's form (with the session's CSRF token).
async fn upload(app: &TestApp, user: i64, file_name: &str, file: &[u8]) -> (u16, String) {
    let token = app.csrf_token().await;
    post_multipart(
        app,
        &format!("/phonebooks/import/{user}"),
        &[
            ("csrf_token", None, token.as_bytes()),
            ("file", Some(file_name), file),
        ],
    )
    .await
}

/// Posts a CSV file as a program would: the file as the body (legacy session: XML answers).
async fn post_csv(app: &TestApp, path: &str, file: &[u8]) -> (u16, String) {
    let r = app
        .client
        .post(app.url(path))
        .header("Content-Type", "text/csv; charset=utf-8")
        .body(file.to_vec())
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// The value of a page's hidden field, as a browser would send it back.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in\n{html}"))
        + marker.len();
    let end = start + html[start..].find('"').expect("end of value");
    unescape(&html[start..end])
        // A browser sends a form's text with CR LF line ends.
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
}

/// Submits the preview page's confirm form as the browser would.
async fn confirm_from(app: &TestApp, user: i64, preview: &str) -> (u16, String) {
    let fields = ["csrf_token", "file_name", "digest", "csv"].map(|f| hidden(preview, f));
    assert!(
        preview.contains(&format!("action=\"/phonebooks/import/{user}/confirm\"")),
        "a confirm form"
    );
    post_multipart(
        app,
        &format!("/phonebooks/import/{user}/confirm"),
        &[
            ("csrf_token", None, fields[0].as_bytes()),
            ("file_name", None, fields[1].as_bytes()),
            ("digest", None, fields[2].as_bytes()),
            ("csv", None, fields[3].as_bytes()),
        ],
    )
    .await
}

/// Text with the entities askama writes turned back.
fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

fn status_message(xml: &str) -> String {
    text_of(xml, "status_message")
}

// ---------------------------------------------------------------------------------------------
// export

const FORMULA: &str = "=HYPERLINK(\"http://x\",\"y\")";

async fn the_csv_export_is_the_pages_entries_row_for_row(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    login(&app, "demo").await;
    add_entry(&app, demo, "Мария Иванова", "+7 495 123-45-67").await;
    add_entry(&app, demo, FORMULA, "+44 20 7946 0001").await;
    add_entry(&app, demo, "@SUM(A1)", "4420794600002").await;

    let page: serde_json::Value = app.json(&format!("/phonebooks/list/{demo}")).await;
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len() as i64, entries_of(&app, demo).await);

    let d = download(&app, &format!("/phonebooks/list/{demo}?format=csv")).await;
    assert_eq!(d.status, 200);
    assert!(d.content_type.starts_with("text/csv; charset=utf-8"));
    assert_eq!(d.disposition, "attachment; filename=\"phonebook-demo.csv\"");
    let (headers, rows) = csv_rows(&d.body);
    assert_eq!(headers, ["entry_name", "entry_number", "entry_added"]);
    assert_eq!(rows.len(), entries.len());
    for (row, e) in rows.iter().zip(entries) {
        let name = e["entry_name"].as_str().unwrap();
        let expected = if name.starts_with(['=', '+', '-', '@']) {
            format!("'{name}")
        } else {
            name.to_string()
        };
        assert_eq!(row["entry_name"], expected);
        assert_eq!(row["entry_number"], e["entry_number"].as_str().unwrap());
        // The same instant: RFC 3339 in JSON, the XML's local time in the file.
        let added = chrono::DateTime::parse_from_rfc3339(e["entry_added"].as_str().unwrap())
            .expect("RFC 3339");
        assert_eq!(
            row["entry_added"],
            added.format("%Y-%m-%d %H:%M:%S").to_string()
        );
    }
    let names: Vec<&str> = rows.iter().map(|r| r["entry_name"].as_str()).collect();
    assert!(names.contains(&"Мария Иванова"), "{names:?}");
    assert!(names.contains(&format!("'{FORMULA}").as_str()), "{names:?}");
    assert!(names.contains(&"'@SUM(A1)"), "{names:?}");
    assert!(
        rows.iter()
            .flat_map(|r| r.values())
            .all(|cell| !cell.starts_with(['=', '+', '-', '@'])),
        "no cell a spreadsheet would run"
    );

    // The page's search applies to its export.
    let d = download(&app, &format!("/phonebooks/list/{demo}?q=мария&format=csv")).await;
    let (_, rows) = csv_rows(&d.body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["entry_number"], "74951234567");

    // The page links to both downloads, its search kept.
    let html = app
        .get(&format!("/phonebooks/list/{demo}?q=Mum"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!(
        "href=\"/phonebooks/list/{demo}?format=csv&#38;q=Mum\">Download the entries found as CSV (spreadsheet)</a>"
    )), "{html}");
    let html = app
        .get(&format!("/phonebooks/list/{demo}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!(
        "href=\"/phonebooks/list/{demo}?format=csv\">Download the phonebook as CSV (spreadsheet)</a>"
    )));
    assert!(html.contains("accept=\".csv,text/csv\""), "the import form");
}
on_both_databases!(the_csv_export_is_the_pages_entries_row_for_row);

async fn the_pdf_export_lists_the_entries(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    login(&app, "demo").await;
    add_entry(&app, demo, "Мария Иванова", "+7 495 123-45-67").await;
    let d = download(&app, &format!("/phonebooks/list/{demo}?format=pdf")).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.content_type, "application/pdf");
    assert_eq!(d.disposition, "attachment; filename=\"phonebook-demo.pdf\"");
    if !pdf_tools() {
        return;
    }
    assert_qpdf_ok(&d.body);
    let text = pdf_text(&d.body);
    for (number, name) in phonebook(&app, demo).await {
        assert!(text.contains(&number), "{number} in\n{text}");
        assert!(text.contains(&name), "{name} in\n{text}");
    }
    assert!(text.contains("Phonebook"));
}
on_both_databases!(the_pdf_export_lists_the_entries);

// ---------------------------------------------------------------------------------------------
// import

async fn the_preview_names_bad_lines_and_writes_nothing(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let book = phonebook(&app, demo).await;
    let mum = book.iter().find(|(_, n)| *n == "Mum").unwrap().0.clone();
    let long = "x".repeat(101);
    let file = format!(
        "name,number\nAnn Lee,+44 20 7946 1000\nBad Number,12a\nMum again,{mum}\n{long},4420794610001\nAnn twice,442079461000\n"
    );
    login(&app, "demo").await;
    let (status, html) = upload(&app, demo, "book.csv", file.as_bytes()).await;
    assert_eq!(status, 400, "{html}");
    let html = unescape(&html);
    for said in [
        "book.csv: 5 rows read: 1 to add, 2 skipped, 2 to fix.",
        "line 3: number: Digits",
        "line 5: name: At most 100 characters",
        &format!("line 4: {mum} is already in your phonebook as “Mum”: skipped"),
        "line 6: 442079461000 is already on line 2: skipped",
        "Nothing will be imported until every line below is fixed",
    ] {
        assert!(html.contains(said), "{said} in\n{html}");
    }
    assert!(!html.contains("/confirm\""), "no confirm form");
    // Every text template was filled in (a heading once showed `line {line}: {text}`).
    assert!(
        !html.contains("{line}") && !html.contains("{text}"),
        "{html}"
    );
    assert!(html.contains("<th scope=\"col\">Line</th>"), "{html}");
    assert_eq!(phonebook(&app, demo).await, book, "nothing written");

    // A program gets the same lines in the failed action.
    assert_eq!(app.legacy_login("demo", "demo").await.0, 200);
    let (status, xml) =
        post_csv(&app, &format!("/phonebooks/import/{demo}"), file.as_bytes()).await;
    assert_eq!(status, 400);
    assert_eq!(text_of(&xml, "name"), "phonebook_import");
    assert_eq!(text_of(&xml, "status"), "failed");
    let message = status_message(&xml);
    assert!(message.contains("line 3: number:"), "{message}");
    assert!(message.contains("line 5: name:"), "{message}");
    assert_eq!(phonebook(&app, demo).await, book, "nothing written");
}
on_both_databases!(the_preview_names_bad_lines_and_writes_nothing);

async fn a_confirmed_preview_imports_every_row_in_one_go(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let before = phonebook(&app, demo).await;
    let mum = before.iter().find(|(_, n)| *n == "Mum").unwrap().0.clone();
    // Excel in a Russian locale: a BOM, semicolons, CR LF, the page's own headings.
    let file = format!(
        "\u{feff}Номер;Имя\r\n+7 495 000-00-01;Пётр Первый\r\n4420794610002;=1+1\r\n{mum};Mum again\r\n;;\r\n4420794610005;\"O'Brien & \"\"Sons\"\" <x>\"\r\n"
    );
    login(&app, "demo").await;
    let (status, preview) = upload(&app, demo, "контакты.csv", file.as_bytes()).await;
    assert_eq!(status, 200, "{preview}");
    assert!(preview.contains("контакты.csv: 4 rows read: 3 to add, 1 skipped, 0 to fix."));
    assert!(preview.contains("Import 3 entries"));
    assert_eq!(
        phonebook(&app, demo).await,
        before,
        "a preview writes nothing"
    );

    let (status, location) = confirm_from(&app, demo, &preview).await;
    assert_eq!(status, 303, "{location}");
    assert_eq!(
        location,
        format!("/phonebooks/list/{demo}?done=imported&n=3")
    );
    let list = app.get(&location).await.text().await.unwrap();
    assert!(list.contains("Entries imported: 3."), "{list}");

    let after = phonebook(&app, demo).await;
    assert_eq!(after.len(), before.len() + 3);
    assert_eq!(after["4420794610005"], "O'Brien & \"Sons\" <x>");
    assert_eq!(after["74950000001"], "Пётр Первый");
    assert_eq!(after["4420794610002"], "=1+1");
    assert_eq!(after[&mum], "Mum", "an existing entry is left as it is");
    let detail: (String,) = sqlx::query_as(&format!(
        "SELECT detail FROM audit_log WHERE user_id = {demo} AND action = 'phonebook_imported'"
    ))
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(detail.0, "3 entries (контакты.csv)");
    let activity = app.get("/users/activity").await.text().await.unwrap();
    assert!(activity.contains("Phonebook entries imported"));

    // The same confirmation again adds nothing: the preview no longer holds.
    let (status, page) = confirm_from(&app, demo, &preview).await;
    assert_eq!(status, 409);
    assert!(page.contains("Your phonebook has changed since the preview"));
    assert!(page.contains("Nothing to import"));
    assert_eq!(phonebook(&app, demo).await, after);
}
on_both_databases!(a_confirmed_preview_imports_every_row_in_one_go);

async fn an_export_imports_back_unchanged(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let demo2 = user_id(&app, "demo2").await;
    login(&app, "demo").await;
    add_entry(&app, demo, "Мария Иванова", "+7 495 123-45-67").await;
    add_entry(&app, demo, FORMULA, "+44 20 7946 0001").await;
    let export = download(&app, &format!("/phonebooks/list/{demo}?format=csv")).await;

    // Back into its own phonebook: every number is there already.
    let (status, page) = upload(&app, demo, "phonebook-demo.csv", &export.body).await;
    assert_eq!(status, 200);
    assert!(page.contains("Nothing to import"), "{page}");
    assert!(!page.contains("/confirm\""));

    // Into another account, by a program: the names come back as they were.
    let mine = phonebook(&app, demo).await;
    let theirs = phonebook(&app, demo2).await;
    let new: Vec<&String> = mine.keys().filter(|n| !theirs.contains_key(*n)).collect();
    assert!(new.len() >= 2);
    assert_eq!(app.legacy_login("demo2", "demo2").await.0, 200);
    let (status, xml) = post_csv(&app, &format!("/phonebooks/import/{demo2}"), &export.body).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(text_of(&xml, "status"), "ok");
    assert!(
        status_message(&xml).starts_with(&format!("{} entries can be imported", new.len())),
        "{xml}"
    );
    assert_eq!(
        phonebook(&app, demo2).await,
        theirs,
        "a preview writes nothing"
    );
    let (status, xml) = post_csv(
        &app,
        &format!("/phonebooks/import/{demo2}/confirm"),
        &export.body,
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(text_of(&xml, "name"), "phonebook_import_confirm");
    assert!(
        status_message(&xml).starts_with(&format!("{} entries imported", new.len())),
        "{xml}"
    );
    let after = phonebook(&app, demo2).await;
    for number in new {
        assert_eq!(after[number], mine[number]);
    }
    assert_eq!(after["442079460001"], FORMULA);
    assert_eq!(after["74951234567"], "Мария Иванова");
}
on_both_databases!(an_export_imports_back_unchanged);

async fn a_file_with_one_bad_row_imports_nothing_even_when_confirmed(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let before = phonebook(&app, demo).await;
    let bad = b"Ann,4420794610003\nBob,12a\nCarl,4420794610004\n";
    login(&app, "demo").await;
    let token = app.csrf_token().await;
    let confirm = format!("/phonebooks/import/{demo}/confirm");
    // A crafted confirmation, with and without a fingerprint.
    for digest in [None, Some("0".repeat(64))] {
        let mut parts: Vec<Part> = vec![("csrf_token", None, token.as_bytes()), ("csv", None, bad)];
        if let Some(d) = &digest {
            parts.push(("digest", None, d.as_bytes()));
        }
        let (status, html) = post_multipart(&app, &confirm, &parts).await;
        assert_eq!(status, 400, "{html}");
        assert!(html.contains("line 2: number:"), "{html}");
        assert_eq!(phonebook(&app, demo).await, before);
    }
    // A good file whose fingerprint is not the one of its preview: nothing either.
    let good = b"Ann,4420794610003\nCarl,4420794610004\n";
    let (status, html) = post_multipart(
        &app,
        &confirm,
        &[
            ("csrf_token", None, token.as_bytes()),
            ("csv", None, good),
            ("digest", None, "f".repeat(64).as_bytes()),
        ],
    )
    .await;
    assert_eq!(status, 409, "{html}");
    assert_eq!(phonebook(&app, demo).await, before);
    // The preview's own form, after the phonebook changed under it.
    let (_, preview) = upload(&app, demo, "good.csv", good).await;
    add_entry(&app, demo, "Carl", "4420794610004").await;
    let with_carl = phonebook(&app, demo).await;
    let (status, html) = confirm_from(&app, demo, &preview).await;
    assert_eq!(status, 409);
    assert!(html.contains("4420794610004 is already in your phonebook as “Carl”: skipped"));
    assert!(
        html.contains("Import 1 entries"),
        "the new preview can be confirmed"
    );
    assert_eq!(phonebook(&app, demo).await, with_carl);

    // A program confirming the bad file directly.
    assert_eq!(app.legacy_login("demo", "demo").await.0, 200);
    let (status, xml) = post_csv(&app, &confirm, bad).await;
    assert_eq!(status, 400);
    assert_eq!(text_of(&xml, "status"), "failed");
    assert!(status_message(&xml).contains("line 2: number:"), "{xml}");
    assert_eq!(phonebook(&app, demo).await, with_carl);
}
on_both_databases!(a_file_with_one_bad_row_imports_nothing_even_when_confirmed);

async fn another_users_phonebook_cannot_be_imported_into(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo2 = user_id(&app, "demo2").await;
    let before = phonebook(&app, demo2).await;
    let file = b"Intruder,4420555000\n";
    login(&app, "demo").await;
    let token = app.csrf_token().await;
    for path in [
        format!("/phonebooks/import/{demo2}"),
        format!("/phonebooks/import/{demo2}/confirm"),
        "/phonebooks/import/999999".to_string(),
    ] {
        for field in ["file", "csv"] {
            let (status, _) = post_multipart(
                &app,
                &path,
                &[
                    ("csrf_token", None, token.as_bytes()),
                    (field, Some("x.csv"), file),
                ],
            )
            .await;
            assert_eq!(status, 404, "POST {path}");
        }
        assert_eq!(app.get(&path).await.status().as_u16(), 404, "GET {path}");
    }
    assert_eq!(app.legacy_login("demo", "demo").await.0, 200);
    for path in [
        format!("/phonebooks/import/{demo2}"),
        format!("/phonebooks/import/{demo2}/confirm"),
    ] {
        let (status, xml) = post_csv(&app, &path, file).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(text_of(&xml, "status"), "failed");
    }
    assert_eq!(phonebook(&app, demo2).await, before);
}
on_both_databases!(another_users_phonebook_cannot_be_imported_into);

async fn files_that_cannot_be_imported_get_a_clear_400(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let before = phonebook(&app, demo).await;
    let too_large = "The file is too large: at most 1 MiB can be uploaded";
    let just_over: Vec<u8> = "Ann,4420794610003\n".repeat(MIB / 18 + 1).into_bytes();
    assert!(just_over.len() > MIB && just_over.len() < MIB + 100);
    let huge = vec![b'a'; 3 * MIB];
    let many: String = (0..5_001)
        .map(|i| format!("n{i},{}\n", 4_420_000_000u64 + i))
        .collect();
    login(&app, "demo").await;
    for (file, said) in [
        (just_over.as_slice(), too_large),
        (huge.as_slice(), too_large),
        (
            many.as_bytes(),
            "The file has more than 5000 entries: import it in parts of 5000 at most.",
        ),
        (
            b"Ann,4420794610003\nB\xF6b,4420794610004\n".as_slice(),
            "The file is not UTF-8 text (line 2).",
        ),
        (
            b"\xFF\xFEA\x00,\x001\x00".as_slice(),
            "The file is UTF-16 text.",
        ),
        (b"".as_slice(), "The file has no entries."),
        (
            b"name,number\r\n;;\r\n".as_slice(),
            "The file has no entries.",
        ),
    ] {
        let (status, html) = upload(&app, demo, "x.csv", file).await;
        assert_eq!(status, 400, "{said}");
        assert!(html.contains(said), "{said} in\n{html}");
    }
    // No file chosen: the browser sends an empty part without a name.
    let token = app.csrf_token().await;
    let (status, html) = post_multipart(
        &app,
        &format!("/phonebooks/import/{demo}"),
        &[
            ("csrf_token", None, token.as_bytes()),
            ("file", Some(""), b""),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("Choose a CSV file to import."), "{html}");
    // Not a file upload at all.
    let r = app
        .submit_form(
            &format!("/phonebooks/import/{demo}"),
            &[("file", "Ann,123")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("multipart/form-data"));

    // The same for a program, whose body is not read past the limit.
    assert_eq!(app.legacy_login("demo", "demo").await.0, 200);
    for file in [just_over.as_slice(), huge.as_slice()] {
        let (status, xml) = post_csv(&app, &format!("/phonebooks/import/{demo}"), file).await;
        assert_eq!(status, 400);
        assert_eq!(status_message(&xml), too_large);
    }
    assert_eq!(phonebook(&app, demo).await, before);
}
on_both_databases!(files_that_cannot_be_imported_get_a_clear_400);

async fn an_upload_without_the_csrf_token_is_refused(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let before = phonebook(&app, demo).await;
    login(&app, "demo").await;
    let file = b"Ann,4420794610003\n";
    let wrong = "0".repeat(64);
    for path in [
        format!("/phonebooks/import/{demo}"),
        format!("/phonebooks/import/{demo}/confirm"),
    ] {
        for parts in [
            vec![
                ("file", Some("x.csv"), file.as_slice()),
                ("csv", None, file.as_slice()),
            ],
            vec![
                ("csrf_token", None, wrong.as_bytes()),
                ("file", Some("x.csv"), file.as_slice()),
                ("csv", None, file.as_slice()),
            ],
        ] {
            let (status, html) = post_multipart(&app, &path, &parts).await;
            assert_eq!(status, 403, "{path}");
            assert!(html.contains("did not come from this site"), "{html}");
        }
        // A file sent alone, as a program would, from a browser's session: no token, no import.
        let (status, _) = post_csv(&app, &path, file).await;
        assert_eq!(status, 403, "{path}");
    }
    assert_eq!(phonebook(&app, demo).await, before);
}
on_both_databases!(an_upload_without_the_csrf_token_is_refused);

async fn an_import_that_fails_part_way_writes_nothing(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    let before = phonebook(&app, demo).await;
    let taken = before.keys().next().unwrap().clone();
    let audit = "SELECT COUNT(*) FROM audit_log WHERE action = 'phonebook_imported'";
    // More rows than one statement holds, the last one a number the phonebook has: as if it
    // had arrived between the preview's check and the insert.
    let numbers: Vec<String> = (0..1_200)
        .map(|i| format!("44207946{i:05}"))
        .chain([taken])
        .collect();
    let rows: Vec<(&str, &str)> = numbers.iter().map(|n| (n.as_str(), "Someone")).collect();
    let outcome = app
        .store
        .import_phonebook_entries(demo, &rows, "1201 entries", "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(outcome, selfcare::store::phonebook::ImportEntries::Conflict);
    assert_eq!(
        phonebook(&app, demo).await,
        before,
        "the first batches rolled back"
    );
    assert_eq!(app.scalar(audit).await, 0);

    let outcome = app
        .store
        .import_phonebook_entries(demo, &rows[..1_200], "1200 entries", "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(
        outcome,
        selfcare::store::phonebook::ImportEntries::Imported(1_200)
    );
    assert_eq!(phonebook(&app, demo).await.len(), before.len() + 1_200);
    assert_eq!(app.scalar(audit).await, 1);
}
on_both_databases!(an_import_that_fails_part_way_writes_nothing);

// ---------------------------------------------------------------------------------------------
// paging

fn entry_ids(page: &serde_json::Value) -> Vec<i64> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry_id"].as_i64().unwrap())
        .collect()
}

/// The phonebook by name, a page at a time: `next` leads on without an overlap or a gap,
/// `prev` back to the same entries, a search is kept in the links, and the exports stay whole.
async fn the_phonebook_pages_lead_on_and_back(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let demo = user_id(&app, "demo").await;
    login(&app, "demo").await;
    // Two of the same name: the id breaks the tie.
    for (i, name) in ["Zoe", "adam", "Qoo_q", "Qoo_q", "Carl", "dora", "Eve"]
        .iter()
        .enumerate()
    {
        add_entry(&app, demo, name, &format!("44207946{:04}", 7100 + i)).await;
    }
    let total = entries_of(&app, demo).await as usize;
    assert!(total >= 7);

    let first = app
        .json(&format!("/phonebooks/list/{demo}?per_page=3"))
        .await;
    assert!(first["links"]["prev"].is_null(), "{first}");
    let mut seen = entry_ids(&first);
    let mut pages = vec![first.clone()];
    let mut page = first.clone();
    while let Some(next) = page["links"]["next"].as_str().map(str::to_string) {
        assert!(
            next.contains("per_page=3") && next.contains("after="),
            "{next}"
        );
        page = app.json(&next).await;
        let ids = entry_ids(&page);
        assert!(ids.len() <= 3 && !ids.is_empty(), "{page}");
        assert!(
            ids.iter().all(|id| !seen.contains(id)),
            "an overlap: {page}"
        );
        seen.extend(ids);
        pages.push(page.clone());
        assert!(pages.len() <= total, "the pages never end");
    }
    assert_eq!(seen.len(), total, "every entry once");
    // In the order of the whole list on one page (by name, any case, in the database's order).
    let whole = app
        .json(&format!("/phonebooks/list/{demo}?per_page=500"))
        .await;
    assert_eq!(seen, entry_ids(&whole));
    assert!(whole["links"]["next"].is_null() && whole["links"]["prev"].is_null());

    // `prev` of the second page is the first again.
    let back = pages[1]["links"]["prev"].as_str().expect("a prev link");
    let again = app.json(back).await;
    assert_eq!(entry_ids(&again), entry_ids(&first));
    assert!(again["links"]["prev"].is_null());

    // A search pages too, and its links keep it.
    let found = app
        .json(&format!("/phonebooks/list/{demo}?q=QOO_Q&per_page=1"))
        .await;
    assert_eq!(entry_ids(&found).len(), 1);
    let next = found["links"]["next"].as_str().expect("the second Qoo_q");
    assert!(next.contains("q=QOO_Q"), "{next}");
    let second = app.json(next).await;
    assert_eq!(second["entries"][0]["entry_name"], "Qoo_q");
    assert_ne!(entry_ids(&second), entry_ids(&found));
    assert!(second["links"]["next"].is_null());

    // `format=json` in the request is kept in the links; XML pages the same way.
    let r = app
        .get(&format!("/phonebooks/list/{demo}?format=json&per_page=2"))
        .await;
    let page: serde_json::Value = r.json().await.unwrap();
    assert!(page["links"]["next"]
        .as_str()
        .unwrap()
        .contains("format=json"));
    let r = app
        .get_as(
            &format!("/phonebooks/list/{demo}?per_page=2"),
            "application/xml",
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    // The XML's elements are fixed: its links are in the `Link` header.
    let link = r.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.starts_with(&format!("</phonebooks/list/{demo}?per_page=2&after="))
            && link.ends_with("; rel=\"next\""),
        "{link}"
    );
    let xml = r.text().await.unwrap();
    assert_eq!(xml.matches("<entry>").count(), 2);
    // Not asking for a page, a legacy XML client gets the whole phonebook, as it always did,
    // also past a JSON page's 50.
    for i in 0..50 {
        sqlx::query(
            "INSERT INTO phonebook_entries (user_id, number, name, name_key, added_at)
             VALUES ($1, $2, $3, $3, 0)",
        )
        .bind(demo)
        .bind(format!("4420794680{i:02}"))
        .bind(format!("zz contact {i:02}"))
        .execute(app.store.pool())
        .await
        .unwrap();
    }
    let total = total + 50;
    let (status, xml) = app.get_xml(&format!("/phonebooks/list/{demo}")).await;
    assert_eq!(status, 200);
    assert_eq!(xml.matches("<entry>").count(), total);
    let first = app.json(&format!("/phonebooks/list/{demo}")).await;
    assert_eq!(entry_ids(&first).len(), 50);

    // The exports are the whole list, whatever the page asked.
    let d = download(
        &app,
        &format!("/phonebooks/list/{demo}?format=csv&per_page=2"),
    )
    .await;
    assert_eq!(d.status, 200);
    assert_eq!(csv_rows(&d.body).1.len(), total);

    // A position that is not one is refused, in the one error shape.
    let r = app
        .get_as(
            &format!("/phonebooks/list/{demo}?after=nonsense"),
            "application/json",
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let err: serde_json::Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_input", "{err}");
    let r = app
        .get(&format!("/phonebooks/list/{demo}?per_page=501&format=json"))
        .await;
    assert_eq!(r.status().as_u16(), 400);
}
on_both_databases!(the_phonebook_pages_lead_on_and_back);

/// Whether the database puts `a` before `b` (or level with it) in its own collation.
async fn sorts_before(app: &TestApp, a: &str, b: &str) -> bool {
    let (before,): (bool,) = sqlx::query_as("SELECT CAST($1 AS TEXT) <= CAST($2 AS TEXT)")
        .bind(a)
        .bind(b)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    before
}

/// On a server whose text sorts as a language does (not by bytes), the phonebook's pages and
/// the rates page come in the database's order: "Åsa" among the A's, "Côte d'Ivoire" among the
/// C's, where bytes would put them after every plain letter; and the pages still lead on with
/// no entry skipped or repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(selfcare_test_postgres),
    ignore = "SELFCARE_TEST_POSTGRES is not set"
)]
async fn lists_sort_as_the_database_s_language_does() {
    let app = spawn_demo_app_sorting_in("en").await;
    assert!(sorts_before(&app, "Åsa", "Bob").await, "an ICU database");
    let demo = user_id(&app, "demo").await;
    login(&app, "demo").await;
    for (i, name) in ["Zoe", "Åsa", "Émile", "adam", "Bob", "Ezra"]
        .iter()
        .enumerate()
    {
        add_entry(&app, demo, name, &format!("44207946{:04}", 7200 + i)).await;
    }
    let total = entries_of(&app, demo).await as usize;

    let mut names = Vec::new();
    let mut page = app
        .json(&format!("/phonebooks/list/{demo}?per_page=2"))
        .await;
    loop {
        names.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["entry_name"].as_str().unwrap().to_lowercase()),
        );
        assert!(names.len() <= total, "the pages never end: {names:?}");
        match page["links"]["next"].as_str() {
            Some(next) => page = app.json(next).await,
            None => break,
        }
    }
    assert_eq!(names.len(), total, "every entry once: {names:?}");
    for pair in names.windows(2) {
        assert!(sorts_before(&app, &pair[0], &pair[1]).await, "{names:?}");
    }
    let at = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(at("adam") < at("åsa") && at("åsa") < at("bob"), "{names:?}");
    assert!(
        at("émile") < at("ezra") && at("ezra") < at("zoe"),
        "{names:?}"
    );

    let rates = app.json("/tariffs/user_rates").await;
    let rates: Vec<&str> = rates["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ratename"].as_str().unwrap())
        .collect();
    for pair in rates.windows(2) {
        assert!(sorts_before(&app, pair[0], pair[1]).await, "{pair:?}");
    }
    let at = |n: &str| rates.iter().position(|x| *x == n).unwrap();
    assert!(at("Costa Rica") < at("Côte d'Ivoire") && at("Côte d'Ivoire") < at("Croatia"));
    assert!(at("Réunion") < at("Romania"), "{rates:?}");
}
