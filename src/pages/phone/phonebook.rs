//! The phonebook: the subscriber's numbers with names, searchable by either. The XML carries
//! each entry's id as an extra `<entry_id>` so a client can delete it (`/phonebooks/destroy/ID`).
//!
//! Exports: CSV and PDF of the entries the page lists (its search applied), from the view model.
//! A CSV file comes back in through the import (`phonebook_import`), which reads the export's
//! own header.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::export::{Column, Export, ExportRow, FileName, Owner};
use crate::i18n::Lang;
use crate::input::{self, FieldError, PhoneNumber};
use crate::pages::notice;
use crate::phonebook_file::NAME_MAX;
use crate::store::access::Resource;
use crate::store::keyset_page::{self, Cursor, Key};
use crate::store::phonebook::{AddEntry, PhonebookEntry};
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Links, Moment};
use crate::web::{
    require, respond, respond_action, Chrome, Ctx, CurrentUser, Format, OwnUserId, Page,
    StrictForm, StrictQuery,
};

const SEARCH_MAX: usize = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/phonebooks/list")
            .name("phonebook_own")
            .route(web::get().to(own_list)),
    )
    .service(
        web::resource("/phonebooks/list/{userid}")
            .name("phonebook")
            .route(web::get().to(show)),
    )
    .service(
        web::resource("/phonebooks/add_new/{userid}")
            .name("add_phonebook_entry")
            .route(web::post().to(add)),
    )
    .service(
        web::resource("/phonebooks/destroy/{entryid}")
            .name("delete_phonebook_entry")
            .route(web::post().to(destroy)),
    )
    .configure(crate::pages::phone::phonebook_import::routes);
}

pub(super) fn list_url(user_id: i64) -> String {
    format!("/phonebooks/list/{user_id}")
}

#[derive(Serialize, ToSchema)]
pub struct PhonebookPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// By name, `per_page` of them (every one in the CSV and PDF exports).
    pub entries: Vec<EntryView>,
    /// The search the entries are filtered by (`q`; empty: all).
    pub search: String,
    /// The neighbouring pages, alphabetically: `next` further on, `prev` back.
    pub links: Links,
    /// How many entries the phonebook has, whatever the search (HTML only).
    #[serde(skip)]
    pub total: i64,
    #[serde(skip)]
    pub notice: Option<String>,
    #[serde(skip)]
    pub form: AddForm,
    /// Whose phonebook: for the exports' title and file name.
    #[serde(skip)]
    pub owner: Owner,
}

#[derive(Serialize, ToSchema)]
pub struct EntryView {
    pub entry_number: String,
    pub entry_name: String,
    pub entry_added: Moment,
    /// Not in the contract's example: what `/phonebooks/destroy/{entryid}` needs.
    pub entry_id: i64,
}

#[derive(Default)]
pub struct AddForm {
    pub number: String,
    pub name: String,
    pub number_error: Option<String>,
    pub name_error: Option<String>,
}

impl AddForm {
    fn has_errors(&self) -> bool {
        self.number_error.is_some() || self.name_error.is_some()
    }
}

#[derive(Template)]
#[template(path = "pages/phone/phonebook.html")]
struct PhonebookHtml<'a> {
    c: &'a Chrome,
    v: &'a PhonebookPage,
}

#[derive(Template)]
#[template(path = "xml/phone/phonebook.xml")]
struct PhonebookXml<'a> {
    v: &'a PhonebookPage,
}

impl Page for PhonebookPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        PhonebookHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        PhonebookXml { v: self }.render()
    }
    fn export(&self, lang: Lang) -> Option<Export> {
        let mut e = Export::list(
            FileName::new("phonebook", &self.owner.username, ""),
            lang,
            lang.t("phonebook.title").to_string(),
            &self.entries,
        );
        e.subtitle.push(self.owner.label());
        if !self.search.is_empty() {
            e.subtitle
                .push(format!("{}: {}", lang.t("export.search"), self.search));
            e.empty = self.no_match(&lang);
        }
        e.totals.push((
            lang.t("export.count").to_string(),
            self.entries.len().to_string(),
        ));
        Some(e)
    }
}

impl ExportRow for EntryView {
    fn columns(lang: Lang) -> Vec<Column> {
        vec![
            Column::text("entry_name", lang.t("phonebook.name")),
            Column::text("entry_number", lang.t("phonebook.number")),
            Column::date_time("entry_added", lang.t("phonebook.added")),
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.entry_name.clone(),
            self.entry_number.clone(),
            self.entry_added.to_string(),
        ]
    }

    fn into_cells(self) -> Vec<String> {
        vec![
            self.entry_name,
            self.entry_number,
            self.entry_added.to_string(),
        ]
    }
}

/// Which entries a page shows.
enum Part {
    /// Every one (the exports).
    Whole,
    /// A page from a position.
    Page(Cursor<Key<String>>, u32),
}

impl PhonebookPage {
    async fn load(
        ctx: &Ctx,
        store: &Store,
        user: CurrentUser,
        search: String,
        part: Part,
        form: AddForm,
    ) -> AppResult<Self> {
        let account = store
            .account(user.id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let tz = time::zone(&account.time_zone);
        let (rows, links) = match part {
            Part::Whole => (
                store.phonebook(user.id, Some(&search)).await?,
                Links::whole(),
            ),
            Part::Page(cursor, size) => {
                let w = store
                    .phonebook_page(user.id, Some(&search), &cursor, size)
                    .await?;
                let links = ctx.page_links(w.next, w.prev);
                (w.rows, links)
            }
        };
        let view = |e: PhonebookEntry| EntryView {
            entry_number: e.number,
            entry_name: e.name,
            entry_added: Moment::new(e.added_at, tz),
            entry_id: e.id,
        };
        Ok(PhonebookPage {
            pagename: "Phonebook",
            language: ctx.lang.code(),
            userid: user.id,
            entries: rows.into_iter().map(view).collect(),
            search,
            links,
            // The count the page shows a person; clients and exports do without it.
            total: if ctx.format == Format::Html {
                store.phonebook_size(user.id).await?
            } else {
                0
            },
            notice: None,
            form,
            owner: Owner::of(&account),
        })
    }

    /// What the import form says a file may hold.
    pub fn help(&self, lang: &Lang) -> String {
        crate::pages::phone::phonebook_import::import_help(*lang)
    }

    /// This list (its search kept) as a download in `format` (`csv`, `pdf`).
    pub fn download_href(&self, format: &str) -> String {
        let mut query = vec![("format", format)];
        if !self.search.is_empty() {
            query.push(("q", &self.search));
        }
        format!(
            "{}?{}",
            list_url(self.userid),
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    }

    /// "No entries match …" for the page.
    pub fn no_match(&self, lang: &Lang) -> String {
        lang.fill("phonebook.no_match", &[("q", &self.search)])
    }

    pub fn count(&self, lang: &Lang) -> String {
        lang.fill(
            "phonebook.count",
            &[("n", &self.entries.len()), ("total", &self.total)],
        )
    }
}

/// GET /phonebooks/list: the logged-in user's own list, at its canonical URL, with the same
/// query (`format`, `q`, …).
pub async fn own_list(user: CurrentUser, req: actix_web::HttpRequest) -> HttpResponse {
    let query = req.query_string();
    let location = if query.is_empty() {
        list_url(user.id)
    } else {
        format!("{}?{query}", list_url(user.id))
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    done: Option<String>,
    /// With `done=imported`: how many.
    n: Option<String>,
    /// `NAME_ID` of an entry: the entries before it, alphabetically.
    before: Option<String>,
    /// `NAME_ID` of an entry: the entries after it.
    after: Option<String>,
    per_page: Option<String>,
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<PhonebookPage>(
        "Account",
        "/phonebooks/list/{userid}",
        &[
            ("q", "Search: a part of a name (any case) or of a number"),
            ("per_page", "Entries a page, 1 to 500 (50)"),
            (
                "after",
                "`NAME_ID` of an entry: the entries after it (`links.next`)",
            ),
            (
                "before",
                "`NAME_ID` of an entry: the entries before it (`links.prev`)",
            ),
        ],
    );
}

/// GET /phonebooks/list/{userid}[?q=…&per_page=&after=|before=]
pub async fn show(
    ctx: Ctx,
    OwnUserId(user): OwnUserId,
    store: web::Data<Store>,
    query: StrictQuery<ListQuery>,
) -> AppResult<HttpResponse> {
    let query = query.0;
    let search = input::text(&query.q, SEARCH_MAX).map_err(|e| {
        AppError::bad_input(
            ctx.lang
                .fill("phonebook.bad_search", &[("problem", &e.message(ctx.lang))]),
        )
    })?;
    let asks_a_page = query.per_page.is_some() || query.before.is_some() || query.after.is_some();
    let part = match ctx.format {
        // An export is the whole list (its search applied); paging keys do not apply.
        Format::Csv | Format::Pdf => Part::Whole,
        // The seed's XML was always the whole phonebook: a legacy client that does not ask for
        // a page still gets every entry (asking, it pages as JSON does, by the `Link` header).
        Format::Xml if !asks_a_page => Part::Whole,
        _ => Part::Page(
            Cursor::of(query.before.as_deref(), query.after.as_deref(), ctx.lang)
                .map_err(AppError::bad_input)?,
            keyset_page::page_size(query.per_page.as_deref(), ctx.lang)
                .map_err(AppError::bad_input)?,
        ),
    };
    let mut page =
        PhonebookPage::load(&ctx, &store, user, search, part, AddForm::default()).await?;
    page.notice = notice::text_count(
        ctx.lang,
        "phonebook",
        &["added", "deleted", "imported"],
        query.done.as_deref(),
        query.n.as_deref(),
    );
    crate::web::render::with_link_header(respond(&ctx, &page)?, &page.links)
}

#[derive(Deserialize)]
pub struct AddFields {
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
}

/// POST /phonebooks/add_new/{userid} (`number`, `name`)
pub async fn add(
    ctx: Ctx,
    OwnUserId(user): OwnUserId,
    store: web::Data<Store>,
    form: StrictForm<AddFields>,
) -> AppResult<HttpResponse> {
    let fields = form.into_inner();
    let mut form = AddForm {
        number: fields.number.clone(),
        name: fields.name.clone(),
        ..AddForm::default()
    };
    let mut problems: Vec<String> = Vec::new();
    let number = PhoneNumber::parse(&fields.number).inspect_err(|&e| {
        problems.push(format!("number: {e}"));
        form.number_error = Some(e.message(ctx.lang));
    });
    let name = input::required_text(&fields.name, NAME_MAX).inspect_err(|&e| {
        problems.push(format!("name: {e}"));
        form.name_error = Some(e.message(ctx.lang));
    });

    let summary = match (&number, &name) {
        (Ok(number), Ok(name)) => {
            match store
                .add_phonebook_entry(user.id, number.as_str(), name, &ctx.address)
                .await?
            {
                AddEntry::Added(_) => {
                    return Ok(match ctx.format {
                        Format::Html => notice::redirect(&list_url(user.id), "added"),
                        f => {
                            respond_action(f, StatusCode::OK, "add_phonebook_entry", "Record added")
                        }
                    });
                }
                AddEntry::Duplicate { name: existing } => {
                    form.number_error =
                        Some(ctx.lang.fill("phonebook.duplicate", &[("name", &existing)]));
                    format!(
                        "Record not added: {} is already in the phonebook as “{existing}”",
                        number.as_str()
                    )
                }
            }
        }
        // The contract's own message when a field is missing.
        (Err(FieldError::Required), _) | (_, Err(FieldError::Required)) => {
            format!("Please fill all fields. {}", problems.join("; "))
        }
        _ => format!("Record not added. {}", problems.join("; ")),
    };

    debug_assert!(form.has_errors());
    Ok(match ctx.format {
        Format::Html => {
            let first = Part::Page(Cursor::First, keyset_page::PAGE_SIZE);
            let mut page =
                PhonebookPage::load(&ctx, &store, user, String::new(), first, form).await?;
            // The links lead on from the list, not from the form's address.
            let list = list_url(user.id);
            let from_list = |u: String| u.replacen(&ctx.path, &list, 1);
            page.links.next = page.links.next.take().map(from_list);
            let mut resp = respond(&ctx, &page)?;
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            resp
        }
        f => respond_action(f, StatusCode::BAD_REQUEST, "add_phonebook_entry", &summary),
    })
}

/// POST /phonebooks/destroy/{entryid}
pub async fn destroy(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let entry_id = path.into_inner();
    require(&store, user, Resource::PhonebookEntry, entry_id).await?;
    if !store
        .delete_phonebook_entry(user.id, entry_id, &ctx.address)
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(match ctx.format {
        Format::Html => notice::redirect(&list_url(user.id), "deleted"),
        f => respond_action(
            f,
            StatusCode::OK,
            "delete_phonebook_entry",
            "Record deleted",
        ),
    })
}
