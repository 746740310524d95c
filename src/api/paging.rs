//! The collection envelope of Flows for APEX, paged with `?limit=&offset=`.

use poem::Request;
use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON};

pub use crate::services::paging::Paging;

#[derive(Object, Clone, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct Link {
    pub rel: String,
    pub href: String,
    pub action: Option<String>,
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
        let href = format!(
            "{public_url}{}",
            req.uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or("/")
        );
        Collection {
            items,
            has_more,
            limit: paging.limit,
            offset: paging.offset,
            count,
            links: vec![Link::new("self", href)],
        }
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
