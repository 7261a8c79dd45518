//! `/api/openapi.json`: the JSON API described as OpenAPI 3.1, built from the view models' own
//! types (`utoipa::ToSchema`), so the description is what the pages serialize.
//!
//! Each page module lists its JSON pages in an `api(doc)` function next to its `routes`; this
//! file only gathers them. Every object schema is closed (`additionalProperties: false`): a key a
//! page sends is a key the document names.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use serde_json::Value;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Type};
use utoipa::openapi::{InfoBuilder, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::values::ErrorBody;
use crate::i18n::Lang;
use crate::pages;

/// The document being gathered.
pub struct ApiDoc {
    paths: PathsBuilder,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl ApiDoc {
    /// A page read with GET whose JSON is `T`. `path` as routed (`/stats/fax_file/{fax_id}`);
    /// `tag` is its menu section; `query` names the query parameters it reads besides `format`.
    /// Its one-line summary is the English text of `summary_key(path)`, which the API help page
    /// shows in the reader's language.
    pub fn page<T: ToSchema>(&mut self, tag: &str, path: &str, query: &[(&str, &str)]) {
        let key = summary_key(path);
        let summary = Lang::En.t(&key);
        T::schemas(&mut self.schemas);
        self.schemas.push((T::name().into_owned(), T::schema()));
        let mut op = OperationBuilder::new()
            .tag(tag)
            .summary(Some(summary))
            .operation_id(Some(operation_id(path)))
            .parameter(
                ParameterBuilder::new()
                    .name("format")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(
                        "`json` (or the header `Accept: application/json`); the same page is \
                         also HTML, XML and, where it has an export, CSV and PDF",
                    ))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(["json"])),
                    )),
            );
        for name in path_parameters(path) {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        for (name, description) in query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(*description))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        let op = op.responses(
            ResponsesBuilder::new()
                .response("200", json_response("The page", &T::name()))
                .response(
                    "default",
                    json_response("An error, in the one error shape", "ErrorBody"),
                ),
        );
        let paths = std::mem::take(&mut self.paths);
        self.paths = paths.path(path, PathItem::new(HttpMethod::Get, op));
    }
}

fn json_response(description: &str, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
}

/// The text key of a page's one-line summary: `api.page.stats_call_list`.
pub fn summary_key(path: &str) -> String {
    let operation = operation_id(path);
    format!("api.page.{operation}")
}

/// `{fax_id}` and the like, in order.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// `/stats/fax_file/{fax_id}` → `stats_fax_file_fax_id`.
fn operation_id(path: &str) -> String {
    path.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Gathers every page module's JSON pages.
fn gather() -> ApiDoc {
    let mut doc = ApiDoc {
        paths: PathsBuilder::new(),
        schemas: Vec::new(),
    };
    // Home and account.
    pages::home::main_page::api(&mut doc);
    pages::account::account_tree::api(&mut doc);
    pages::home::activity::api(&mut doc);
    pages::account::personal_details::api(&mut doc);
    pages::account::password::api(&mut doc);
    pages::account::sessions::api(&mut doc);
    pages::account::two_factor::api(&mut doc);
    pages::phone::pin::api(&mut doc);
    pages::phone::devices::api(&mut doc);
    pages::phone::clis::api(&mut doc);
    pages::phone::phonebook::api(&mut doc);
    pages::account::login::api(&mut doc);
    pages::account::login_code::api(&mut doc);

    // Calls.
    pages::calls::call_list::api(&mut doc);
    pages::calls::missed_calls::api(&mut doc);
    pages::calls::user_stats::api(&mut doc);
    pages::calls::faxes::api(&mut doc);
    pages::calls::callback::api(&mut doc);

    // Money.
    pages::money::payments::api(&mut doc);
    pages::money::invoices::api(&mut doc);
    pages::money::wallet::api(&mut doc);
    pages::money::subscriptions::api(&mut doc);
    pages::money::rates::api(&mut doc);
    pages::money::destinations::api(&mut doc);
    pages::money::controls::api(&mut doc);
    pages::money::calling_plan::api(&mut doc);
    pages::phone::numbers::api(&mut doc);

    doc
}

/// The document as JSON, built once.
pub fn document() -> &'static Value {
    static DOC: LazyLock<Value> = LazyLock::new(|| {
        let doc = gather();
        let mut schemas = doc.schemas;
        ErrorBody::schemas(&mut schemas);
        schemas.push((
            ErrorBody::name().into_owned(),
            <ErrorBody as PartialSchema>::schema(),
        ));
        let mut components = ComponentsBuilder::new();
        for (name, schema) in schemas {
            components = components.schema(name, schema);
        }
        let api = OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("selfcare JSON API")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "Every page of the portal as JSON: log in (a session cookie, or \
                         `/api/login?u=&p=`), then ask a page with `?format=json`. Money is \
                         `{value, currency}` with a decimal string, booleans are booleans, \
                         instants are RFC 3339 with the subscriber's offset, lists carry \
                         `links.next`/`links.prev`, errors are `{error: {code, message}}`.",
                    ))
                    .build(),
            )
            .paths(doc.paths.build())
            .components(Some(components.build()))
            .build();
        let mut value = serde_json::to_value(&api).unwrap_or(Value::Null);
        if let Some(schemas) = value.pointer_mut("/components/schemas") {
            close_objects(schemas);
        }
        value
    });
    &DOC
}

/// `additionalProperties: false` on every object schema that lists its properties.
fn close_objects(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_from_their_paths() {
        assert_eq!(
            operation_id("/stats/fax_file/{fax_id}"),
            "stats_fax_file_fax_id"
        );
        assert_eq!(
            path_parameters("/a/{x}/b/{y}").collect::<Vec<_>>(),
            ["x", "y"]
        );
    }

    #[test]
    fn every_page_is_summed_up_in_every_language() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() > 30);
        for path in paths.keys() {
            for lang in [Lang::En, Lang::Ru] {
                let summary = lang.lookup(&summary_key(path));
                assert!(summary.is_some(), "{path} has no summary in {lang:?}");
            }
            assert_eq!(
                doc["paths"][path]["get"]["summary"],
                Lang::En.t(&summary_key(path)),
                "{path}"
            );
        }
    }

    #[test]
    fn every_reference_resolves_and_objects_are_closed() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let text = doc.to_string();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &piece[..piece.find('"').unwrap()];
            assert!(
                doc.pointer(&format!("/components/schemas/{name}"))
                    .is_some(),
                "{name} is referenced but not described"
            );
        }
        assert_eq!(
            doc.pointer("/components/schemas/Amount/additionalProperties"),
            Some(&Value::Bool(false))
        );
    }
}
