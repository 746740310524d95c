//! `limit` and `offset` of a listing, bounded so that no input can overflow a query.

use crate::{Error, Result};

pub const DEFAULT_LIMIT: u64 = 100;
pub const MAX_LIMIT: u64 = 1000;
/// The largest offset a database accepts (a signed 64-bit integer).
pub const MAX_OFFSET: u64 = i64::MAX as u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub limit: u64,
    pub offset: u64,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

impl Paging {
    /// `limit` is clamped to 1..=1000 (100 when absent), as Flows' REST clients expect; an
    /// `offset` beyond what a database can take is refused.
    pub fn new(limit: Option<u64>, offset: Option<u64>) -> Result<Paging> {
        let offset = offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(Error::attribute(
                "offset",
                format!("offset must be between 0 and {MAX_OFFSET}"),
            ));
        }
        Ok(Paging {
            limit: clamp_limit(limit),
            offset,
        })
    }

    /// Every row: for the CLI.
    pub fn all() -> Paging {
        Paging {
            limit: MAX_OFFSET,
            offset: 0,
        }
    }

    /// This page of a list held in memory, and the list's length.
    pub fn slice<T>(self, all: Vec<T>) -> (Vec<T>, u64) {
        let total = all.len() as u64;
        let page = all
            .into_iter()
            .skip(usize::try_from(self.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(self.limit).unwrap_or(usize::MAX))
            .collect();
        (page, total)
    }
}

pub fn clamp_limit(limit: Option<u64>) -> u64 {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped_and_offsets_bounded() {
        assert_eq!(Paging::new(None, None).unwrap(), Paging::default());
        assert_eq!(Paging::new(Some(0), Some(3)).unwrap().limit, 1);
        assert_eq!(Paging::new(Some(100_000), None).unwrap().limit, 1000);
        assert!(Paging::new(None, Some(MAX_OFFSET)).is_ok());
        assert!(matches!(
            Paging::new(None, Some(MAX_OFFSET + 1)),
            Err(Error::Invalid { attribute: Some(a), .. }) if a == "offset"
        ));
        let (page, total) = Paging::new(Some(2), Some(1))
            .unwrap()
            .slice(vec![1, 2, 3, 4]);
        assert_eq!((page, total), (vec![2, 3], 4));
    }
}
