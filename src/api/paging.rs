//! The collection envelope of Flows for APEX, paged with `?limit=&offset=`.

use std::io::Write;

use poem::Request;
use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use serde::Serialize;

pub use crate::services::paging::Paging;

// (Not a doc comment: poem-openapi would put it into the document.)
// `Serialize` writes what `ToJSON` writes (see the tests in `dto.rs`), without the
// `serde_json::Value` in between.
#[derive(Object, Clone, Debug, Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct Link {
    pub rel: String,
    pub href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
}

impl Link {
    pub fn new(rel: &str, href: String) -> Link {
        Link {
            rel: rel.to_owned(),
            href,
            action: None,
            types: None,
        }
    }
}

/// The `self` link of a collection: the request as made.
fn self_href(public_url: &str, req: &Request) -> String {
    format!(
        "{public_url}{}",
        req.uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/")
    )
}

/// `{"items", "hasMore", "limit", "offset", "count", "links"}`
#[derive(Object, Debug)]
pub struct Collection<T: ParseFromJSON + ToJSON + Send + Sync> {
    pub items: Vec<T>,
    #[oai(rename = "hasMore")]
    pub has_more: bool,
    pub limit: u64,
    pub offset: u64,
    pub count: u64,
    pub links: Vec<Link>,
}

impl<T: ParseFromJSON + ToJSON + Send + Sync> Collection<T> {
    /// One page out of `total` rows; `self` links to the request as made.
    pub fn page(
        items: Vec<T>,
        total: u64,
        paging: Paging,
        public_url: &str,
        req: &Request,
    ) -> Self {
        let more = paging.offset + (items.len() as u64) < total;
        Self::window(items, more, paging, public_url, req)
    }

    /// One page, knowing only whether more rows follow it.
    pub fn window(
        items: Vec<T>,
        has_more: bool,
        paging: Paging,
        public_url: &str,
        req: &Request,
    ) -> Self {
        let count = items.len() as u64;
        Collection {
            items,
            has_more,
            limit: paging.limit,
            offset: paging.offset,
            count,
            links: vec![Link::new("self", self_href(public_url, req))],
        }
    }

    /// [`Collection::one`] of an item already written as JSON: the bytes
    /// `Json(Collection::one(item, ..))` answers, without building them again.
    pub fn one_written(item: &[u8], public_url: &str, req: &Request) -> Vec<u8> {
        let href = serde_json::to_string(&self_href(public_url, req)).unwrap_or_default();
        let paging = Paging::default();
        let mut body = Vec::with_capacity(item.len() + href.len() + 96);
        body.extend_from_slice(br#"{"items":["#);
        body.extend_from_slice(item);
        // Writing to a Vec cannot fail.
        let _ = write!(
            body,
            r#"],"hasMore":false,"limit":{},"offset":{},"count":1,"links":[{{"rel":"self","href":{href}}}]}}"#,
            paging.limit, paging.offset
        );
        body
    }

    /// One page of a list held in memory.
    pub fn from_all(all: Vec<T>, paging: Paging, public_url: &str, req: &Request) -> Self {
        let (items, total) = paging.slice(all);
        Self::page(items, total, paging, public_url, req)
    }

    /// A single object as a collection of one.
    pub fn one(item: T, public_url: &str, req: &Request) -> Self {
        Self::maybe(Some(item), public_url, req)
    }

    /// A single-object GET as Flows answers it: a collection of one item, or of none when the
    /// object does not exist.
    pub fn maybe(item: Option<T>, public_url: &str, req: &Request) -> Self {
        let items: Vec<T> = item.into_iter().collect();
        let total = items.len() as u64;
        Self::page(items, total, Paging::default(), public_url, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::json::json_bytes;

    #[test]
    fn an_item_written_once_is_answered_as_json_would_answer_it() {
        let item = Link {
            rel: "process".into(),
            href: "https://gw.example/v1/processes/7 \"ü\"".into(),
            action: Some("GET".into()),
            types: None,
        };
        for uri in ["/v1/processes/7", "/v1/processes/7?x=%22a%22&y=%C3%A9", "/"] {
            let req = Request::builder().uri_str(uri).finish();
            let built = json_bytes(&Collection::one(item.clone(), "https://gw.example", &req));
            let written =
                Collection::<Link>::one_written(&json_bytes(&item), "https://gw.example", &req);
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(built).unwrap(),
                "{uri}"
            );
        }
    }
}
