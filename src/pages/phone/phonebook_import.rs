//! Phonebook import from a CSV file, all or nothing, in two steps:
//!
//! 1. `POST /phonebooks/import/{userid}` (the file, `multipart/form-data` field `file`, or a
//!    `text/csv` body) reads the file and shows what importing it would do: the rows to add, the
//!    rows skipped (numbers already in the phonebook or earlier in the file) and the rows that
//!    are wrong, each by its line in the file. Nothing is written.
//! 2. `POST /phonebooks/import/{userid}/confirm` gets the file's text back (field `csv`, from
//!    the preview's form, or a `text/csv` body) and reads it again, trusting nothing the preview
//!    said. With any wrong row nothing is imported; with `digest` (the preview's fingerprint of
//!    the rows to add) that no longer matches, nothing either: the phonebook changed since, and
//!    the new preview is shown. Otherwise every row is added in one transaction.
//!
//! Browsers get pages and, on success, the list with a notice; XML and JSON clients the seed's
//! `<action>` with the count or the lines that are wrong.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::error::AppResult;
use crate::i18n::Lang;
use crate::input;
use crate::pages::notice;
use crate::pages::phone::phonebook::list_url;
use crate::phonebook_file::{self, FileError, Plan, MAX_ROWS};
use crate::store::phonebook::ImportEntries;
use crate::store::Store;
use crate::web::upload::{Part, FILE_LIMIT};
use crate::web::{respond_action, Chrome, Ctx, CurrentUser, Format, OwnUserId, Upload};

/// Lines listed in an XML or JSON answer; the rest are counted.
const LINES_IN_MESSAGE: usize = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/phonebooks/import/{userid}")
            .name("phonebook_import")
            .route(web::post().to(preview))
            .route(web::get().to(back_to_list)),
    )
    .service(
        web::resource("/phonebooks/import/{userid}/confirm")
            .name("phonebook_import_confirm")
            .route(web::post().to(confirm))
            .route(web::get().to(back_to_list)),
    );
}

/// The preview page.
pub struct ImportPage {
    pub userid: i64,
    pub file_name: String,
    /// The file could not be read at all.
    pub file_error: Option<String>,
    /// A confirmation came for a preview that no longer holds.
    pub changed: bool,
    pub rows: usize,
    pub add: Vec<RowView>,
    pub skipped: Vec<String>,
    pub problems: Vec<String>,
    /// What the confirm form carries back: the file's text and the plan's fingerprint.
    pub csv: String,
    pub digest: String,
}

pub struct RowView {
    pub line: u64,
    pub name: String,
    pub number: String,
}

#[derive(Template)]
#[template(path = "pages/phone/phonebook_import.html")]
struct ImportHtml<'a> {
    c: &'a Chrome,
    v: &'a ImportPage,
}

impl ImportPage {
    fn new(userid: i64, file_name: String) -> ImportPage {
        ImportPage {
            userid,
            file_name,
            file_error: None,
            changed: false,
            rows: 0,
            add: Vec::new(),
            skipped: Vec::new(),
            problems: Vec::new(),
            csv: String::new(),
            digest: String::new(),
        }
    }

    fn of_plan(userid: i64, file_name: String, text: &str, plan: &Plan, lang: Lang) -> Self {
        ImportPage {
            rows: plan.rows,
            add: plan
                .add
                .iter()
                .map(|e| RowView {
                    line: e.line,
                    name: e.name.clone(),
                    number: e.number.as_str().to_string(),
                })
                .collect(),
            skipped: plan.skipped.iter().map(|s| s.message(lang)).collect(),
            problems: plan.problems.iter().map(|p| p.message(lang)).collect(),
            csv: text.to_string(),
            digest: plan.digest(),
            ..ImportPage::new(userid, file_name)
        }
    }

    pub fn can_confirm(&self) -> bool {
        self.file_error.is_none() && self.problems.is_empty() && !self.add.is_empty()
    }

    /// "book.csv: 12 rows read: 10 to add, 1 skipped, 1 to fix."
    pub fn summary(&self, lang: &Lang) -> String {
        let name = if self.file_name.is_empty() {
            lang.t("phonebook.import.the_file")
        } else {
            &self.file_name
        };
        lang.fill(
            "phonebook.import.summary",
            &[
                ("file", &name),
                ("rows", &self.rows),
                ("add", &self.add.len()),
                ("skipped", &self.skipped.len()),
                ("problems", &self.problems.len()),
            ],
        )
    }

    pub fn confirm_label(&self, lang: &Lang) -> String {
        lang.fill("phonebook.import.confirm", &[("n", &self.add.len())])
    }

    pub fn heading(&self, key: &str, lang: &Lang, n: usize) -> String {
        format!("{} ({n})", lang.t(key))
    }

    pub fn help(&self, lang: &Lang) -> String {
        import_help(*lang)
    }
}

/// What the upload form says a file may hold.
pub fn import_help(lang: Lang) -> String {
    lang.fill(
        "phonebook.import.help",
        &[("mib", &(FILE_LIMIT / (1024 * 1024))), ("max", &MAX_ROWS)],
    )
}

/// GET on an import URL (a reload, a language switch): the phonebook.
pub async fn back_to_list(OwnUserId(user): OwnUserId) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, list_url(user.id)))
        .finish()
}

/// POST /phonebooks/import/{userid}: the preview; writes nothing.
pub async fn preview(
    ctx: Ctx,
    OwnUserId(user): OwnUserId,
    store: web::Data<Store>,
    upload: Upload,
) -> AppResult<HttpResponse> {
    let file = upload.part("file");
    let file_name = file.map(shown_file_name).unwrap_or_default();
    let Some(data) = file
        .map(|f| &f.data)
        .filter(|d| !d.is_empty() || !file_name.is_empty())
    else {
        return Ok(refuse_file(&ctx, user, file_name, Refusal::NoFile));
    };
    let existing = store.phonebook_numbers(user.id).await?;
    let (text, plan) = match read(data, &existing) {
        Ok(read) => read,
        Err(e) => return Ok(refuse_file(&ctx, user, file_name, e.into())),
    };
    let format = ctx.error_format();
    if format == Format::Html {
        let page = ImportPage::of_plan(user.id, file_name, text, &plan, ctx.lang);
        let status = if plan.is_clean() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        return html(&ctx, status, &page);
    }
    if !plan.is_clean() {
        return Ok(refuse_rows(format, "phonebook_import", &plan));
    }
    let message = format!(
        "{} can be imported{}. Nothing is written until confirmed: POST the same file to /phonebooks/import/{}/confirm",
        entries(plan.add.len() as u64),
        skipped_note(&plan),
        user.id
    );
    Ok(respond_action(
        format,
        StatusCode::OK,
        "phonebook_import",
        &message,
    ))
}

/// POST /phonebooks/import/{userid}/confirm: reads the file again and imports all of it, or
/// nothing.
pub async fn confirm(
    ctx: Ctx,
    OwnUserId(user): OwnUserId,
    store: web::Data<Store>,
    upload: Upload,
) -> AppResult<HttpResponse> {
    let file_name = upload
        .text("file_name")
        .map(clean_file_name)
        .unwrap_or_default();
    let Some(data) = upload
        .part("csv")
        .or_else(|| upload.part("file"))
        .map(|p| &p.data)
    else {
        return Ok(refuse_file(&ctx, user, file_name, Refusal::NoFile));
    };
    let digest = upload.text("digest");
    let format = ctx.error_format();
    let existing = store.phonebook_numbers(user.id).await?;
    let (text, plan) = match read(data, &existing) {
        Ok(read) => read,
        Err(e) => return Ok(refuse_file(&ctx, user, file_name, e.into())),
    };
    if !plan.is_clean() {
        if format == Format::Html {
            let page = ImportPage::of_plan(user.id, file_name, text, &plan, ctx.lang);
            return html(&ctx, StatusCode::BAD_REQUEST, &page);
        }
        return Ok(refuse_rows(format, "phonebook_import_confirm", &plan));
    }
    if digest.is_some_and(|d| d != plan.digest()) {
        return changed(&ctx, user, file_name, text, &plan);
    }
    let rows: Vec<(&str, &str)> = plan
        .add
        .iter()
        .map(|e| (e.number.as_str(), e.name.as_str()))
        .collect();
    let added = if rows.is_empty() {
        0
    } else {
        let detail = if file_name.is_empty() {
            entries(rows.len() as u64)
        } else {
            format!("{} ({file_name})", entries(rows.len() as u64))
        };
        match store
            .import_phonebook_entries(user.id, &rows, &detail, &ctx.address)
            .await?
        {
            ImportEntries::Imported(n) => n,
            ImportEntries::Conflict => {
                // A number arrived between the check and the insert: show the file as it
                // stands now.
                let existing = store.phonebook_numbers(user.id).await?;
                let (text, plan) =
                    read(data, &existing).map_err(|e| Refusal::from(e).error(ctx.lang))?;
                return changed(&ctx, user, file_name, text, &plan);
            }
        }
    };
    Ok(match format {
        Format::Html => notice::redirect_count(&list_url(user.id), "imported", added),
        f => respond_action(
            f,
            StatusCode::OK,
            "phonebook_import_confirm",
            &format!("{} imported{}", entries(added), skipped_note(&plan)),
        ),
    })
}

/// The file's text and its plan.
fn read<'a>(
    data: &'a [u8],
    existing: &std::collections::HashMap<String, String>,
) -> Result<(&'a str, Plan), FileError> {
    let plan = Plan::read(data, existing)?;
    Ok((phonebook_file::text_of(data)?, plan))
}

/// The preview again, saying that it changed (409: nothing was imported).
fn changed(
    ctx: &Ctx,
    user: CurrentUser,
    file_name: String,
    text: &str,
    plan: &Plan,
) -> AppResult<HttpResponse> {
    let status = StatusCode::CONFLICT;
    match ctx.error_format() {
        Format::Html => {
            let mut page = ImportPage::of_plan(user.id, file_name, text, plan, ctx.lang);
            page.changed = true;
            html(ctx, status, &page)
        }
        f => Ok(respond_action(
            f,
            status,
            "phonebook_import_confirm",
            &format!(
                "Nothing imported: {} Now {} would be imported{}",
                Lang::En.t("phonebook.import.changed"),
                entries(plan.add.len() as u64),
                skipped_note(plan)
            ),
        )),
    }
}

fn html(ctx: &Ctx, status: StatusCode, page: &ImportPage) -> AppResult<HttpResponse> {
    let body = ImportHtml {
        c: &ctx.chrome(),
        v: page,
    }
    .render()?;
    Ok(HttpResponse::build(status)
        .content_type(Format::Html.content_type())
        .body(body))
}

/// Why a whole file is refused.
enum Refusal {
    NoFile,
    File(FileError),
}

impl From<FileError> for Refusal {
    fn from(e: FileError) -> Self {
        Refusal::File(e)
    }
}

impl Refusal {
    fn message(&self, lang: Lang) -> String {
        match self {
            Refusal::NoFile => lang.t("phonebook.import.no_file").to_string(),
            Refusal::File(e) => e.message(lang),
        }
    }

    fn error(self, lang: Lang) -> crate::error::AppError {
        crate::error::AppError::bad_input(self.message(lang))
    }
}

/// 400 for a file that cannot be read: the page with the message and the upload form, or the
/// failed action.
fn refuse_file(ctx: &Ctx, user: CurrentUser, file_name: String, why: Refusal) -> HttpResponse {
    let status = StatusCode::BAD_REQUEST;
    match ctx.error_format() {
        Format::Html => {
            let mut page = ImportPage::new(user.id, file_name);
            page.file_error = Some(why.message(ctx.lang));
            html(ctx, status, &page).unwrap_or_else(|e| {
                crate::web::context::error_response(ctx, Some("phonebook_import"), &e)
            })
        }
        f => respond_action(f, status, "phonebook_import", &why.message(Lang::En)),
    }
}

/// 400 naming the wrong lines, for XML and JSON.
fn refuse_rows(format: Format, action: &str, plan: &Plan) -> HttpResponse {
    let mut lines: Vec<String> = plan
        .problems
        .iter()
        .take(LINES_IN_MESSAGE)
        .map(|p| p.message(Lang::En))
        .collect();
    if plan.problems.len() > LINES_IN_MESSAGE {
        lines.push(format!(
            "and {} more lines",
            plan.problems.len() - LINES_IN_MESSAGE
        ));
    }
    respond_action(
        format,
        StatusCode::BAD_REQUEST,
        action,
        &format!(
            "Nothing imported: fix these lines and send the file again: {}",
            lines.join("; ")
        ),
    )
}

/// "; skipped: line 4: …" for the XML message, or nothing.
fn skipped_note(plan: &Plan) -> String {
    if plan.skipped.is_empty() {
        return String::new();
    }
    let mut lines: Vec<String> = plan
        .skipped
        .iter()
        .take(LINES_IN_MESSAGE)
        .map(|s| s.message(Lang::En))
        .collect();
    if plan.skipped.len() > LINES_IN_MESSAGE {
        lines.push(format!(
            "and {} more lines",
            plan.skipped.len() - LINES_IN_MESSAGE
        ));
    }
    format!("; {} skipped: {}", plan.skipped.len(), lines.join("; "))
}

/// "1 entry", "3 entries".
fn entries(n: u64) -> String {
    if n == 1 {
        "1 entry".to_string()
    } else {
        format!("{n} entries")
    }
}

/// The uploaded file's name as shown and logged: without a folder, one line, bounded.
fn shown_file_name(part: &Part) -> String {
    part.file_name
        .as_deref()
        .map(clean_file_name)
        .unwrap_or_default()
}

fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let one_line: String = base.chars().filter(|c| !c.is_control()).collect();
    input::text(&one_line.chars().take(100).collect::<String>(), 100).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_folders_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\me\\book.csv"), "book.csv");
        assert_eq!(clean_file_name("a/b/Мои контакты.csv"), "Мои контакты.csv");
        assert_eq!(clean_file_name("x\ny.csv"), "xy.csv");
        assert_eq!(clean_file_name(&"z".repeat(300)).chars().count(), 100);
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(entries(1), "1 entry");
        assert_eq!(entries(0), "0 entries");
        assert_eq!(entries(5000), "5000 entries");
    }
}
