//! Destinations: the prefixes of one destination group of the user's tariff, the page a rate
//! links to. A group outside the user's tariff is 404, like one that does not exist.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::store::access::Resource;
use crate::store::Store;
use crate::web::openapi::ApiDoc;
use crate::web::values::Links;
use crate::web::{require, respond, Chrome, Ctx, CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/directions/dg_list_user_destinations/{dest_id}")
            .name("user_destinations")
            .route(web::get().to(show)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct DestinationsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    /// Not in the seed's XML.
    pub userid: i64,
    pub dest_id: i64,
    pub groupname: String,
    /// The flag's file name under `/static/flags/` (`au.svg`), as the rates page's `rateicon`.
    pub groupicon: String,
    /// The group's country (ISO code), for the names in the reader's language.
    #[serde(skip)]
    pub flag: String,
    pub directions: Vec<Direction>,
    /// Both `null`: one destination group's prefixes are a bounded list, given whole.
    pub links: Links,
}

#[derive(Serialize, ToSchema)]
pub struct Direction {
    pub details: String,
    pub prefix: String,
    pub dir_code: String,
}

#[derive(Template)]
#[template(path = "pages/money/destinations.html")]
struct DestinationsHtml<'a> {
    c: &'a Chrome,
    v: &'a DestinationsPage,
}

#[derive(Template)]
#[template(path = "xml/money/destinations.xml")]
struct DestinationsXml<'a> {
    v: &'a DestinationsPage,
}

impl Page for DestinationsPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        DestinationsHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        DestinationsXml { v: self }.render()
    }
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<DestinationsPage>(
        "Money",
        "/directions/dg_list_user_destinations/{dest_id}",
        &[],
    );
}

/// GET /directions/dg_list_user_destinations/{dest_id}
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let dest_id = path.into_inner();
    require(&store, user, Resource::DestinationGroup, dest_id).await?;
    let group = store
        .user_destination_group(user.id, dest_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let directions = store
        .user_destinations(user.id, dest_id)
        .await?
        .into_iter()
        .map(|d| Direction {
            details: d.details,
            prefix: d.prefix,
            dir_code: d.dir_code,
        })
        .collect();
    let page = DestinationsPage {
        pagename: "Destinations",
        language: ctx.lang.code(),
        userid: user.id,
        dest_id: group.id,
        groupname: group.name,
        groupicon: crate::pages::money::rates::flag_icon(&group.flag),
        flag: group.flag,
        directions,
        links: Links::whole(),
    };
    respond(&ctx, &page)
}
