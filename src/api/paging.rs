//! `?limit=&offset=` paging and the collection envelope of Flows for APEX.

use poem::Request;
use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON};

pub const DEFAULT_LIMIT: u64 = 100;
pub const MAX_LIMIT: u64 = 1000;

/// The `limit` of a raw query string, as the gate needs it for its empty answers.
pub fn limit_from_query(query: Option<&str>) -> u64 {
    let asked = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("limit="))
        .and_then(|v| v.parse::<u64>().ok());
    clamp_limit(asked)
}

fn clamp_limit(limit: Option<u64>) -> u64 {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

#[derive(Clone, Copy, Debug)]
pub struct Paging {
    pub limit: u64,
    pub offset: u64,
}

impl Paging {
    pub fn new(limit: Option<u64>, offset: Option<u64>) -> Paging {
        Paging {
            limit: clamp_limit(limit),
            offset: offset.unwrap_or(0),
        }
    }
}

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
            has_more: paging.offset + count < total,
            limit: paging.limit,
            offset: paging.offset,
            count,
            links: vec![Link::new("self", href)],
        }
    }

    /// One page of a list held in memory.
    pub fn from_all(all: Vec<T>, paging: Paging, public_url: &str, req: &Request) -> Self {
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(paging.offset as usize)
            .take(paging.limit as usize)
            .collect();
        Self::page(items, total, paging, public_url, req)
    }

    /// A single object as a collection of one (single-object GETs).
    pub fn one(item: T, public_url: &str, req: &Request) -> Self {
        Self::page(vec![item], 1, Paging::new(None, None), public_url, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped() {
        assert_eq!(limit_from_query(None), 100);
        assert_eq!(limit_from_query(Some("offset=3&limit=7")), 7);
        assert_eq!(limit_from_query(Some("limit=100000")), 1000);
        assert_eq!(limit_from_query(Some("limit=0")), 1);
        assert_eq!(limit_from_query(Some("limit=x")), 100);
    }
}
