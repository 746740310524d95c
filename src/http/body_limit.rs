//! Bodies: refused over the size limit (413, whether or not their length is announced), read
//! whole within the body timeout (408 for one dribbled in too slowly), and a JSON body with a
//! key twice in one object refused (400), before any handler sees them.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use poem::http::header;
use poem::{Body, Request, Response};
use tokio::io::AsyncReadExt;

use crate::answers::framework;

/// Bodies up to this many times the limit are drained before the 413 answer.
const DRAIN_FACTOR: usize = 16;

pub struct BodyLimit {
    max: usize,
    timeout: Duration,
}

impl BodyLimit {
    pub fn new(max: usize, timeout: Duration) -> Self {
        BodyLimit { max, timeout }
    }

    /// Reads the request's body whole, or answers why not.
    pub async fn admit(&self, req: &mut Request) -> Result<(), Response> {
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if let Some(length) = announced
            && length > self.max
        {
            // Read and drop a moderately large body so the client, still sending, gets the
            // answer instead of a reset connection (what nginx calls lingering close).
            if length <= self.max.saturating_mul(DRAIN_FACTOR) {
                let mut body = req.take_body().into_async_read();
                let mut sink = tokio::io::sink();
                let drain = tokio::io::copy(&mut body, &mut sink);
                let _ = tokio::time::timeout(self.timeout, drain).await;
            }
            return Err(framework::too_large());
        }
        let body = req.take_body();
        if body.is_empty() {
            // Known to be empty (no length or a length of 0 on HTTP/1.1, the end of the stream
            // with the headers on HTTP/2): nothing to read, so no 4 KiB buffer to zero for it,
            // which poem's reading does at every call (a sixteenth of a GET's instructions).
            req.set_body(body);
            return Ok(());
        }
        let bytes = match tokio::time::timeout(self.timeout, read(body, announced, self.max)).await
        {
            Ok(Ok(Some(bytes))) => bytes,
            Ok(Ok(None)) => return Err(framework::too_large()),
            // A body that broke off (its client is likely gone) is refused, as it was before.
            Ok(Err(_)) => return Err(framework::too_large()),
            Err(_) => return Err(framework::timed_out()),
        };
        let is_json = req.content_type().is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
        if is_json && let Some(key) = super::json_keys::first_duplicate_key(&bytes) {
            return Err(framework::duplicate_key(&key));
        }
        req.set_body(Body::from_bytes(bytes));
        Ok(())
    }
}

/// The most a body's buffer takes before its bytes arrive: a client may announce more than it
/// sends.
const FIRST_BUFFER: usize = 64 * 1024;

/// The whole body, or `None` once it is over `max` bytes. Read straight into the buffer that
/// keeps it, sized by the announced length when there is one: poem's `into_bytes_limit` zeroes
/// a 4 KiB buffer at each call and copies each read once more.
async fn read(body: Body, announced: Option<usize>, max: usize) -> std::io::Result<Option<Bytes>> {
    // One byte over the announced length: room to find the end without growing.
    let first = announced.map_or(8 * 1024, |n| n.saturating_add(1));
    let mut data = BytesMut::with_capacity(first.min(max.saturating_add(1)).min(FIRST_BUFFER));
    let mut reader = body.into_async_read();
    loop {
        if data.len() == data.capacity() {
            data.reserve(8 * 1024);
        }
        if reader.read_buf(&mut data).await? == 0 {
            return Ok(Some(data.freeze()));
        }
        if data.len() > max {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body comes whole, announced or not, however far its buffer must grow; one byte over
    /// the limit is refused.
    #[tokio::test]
    async fn a_body_is_read_whole_or_refused_over_the_limit() {
        let body = |size: usize| Body::from_vec(vec![b'x'; size]);
        let limit = 3 * FIRST_BUFFER;
        for (size, announced) in [
            (0, None),
            (10, Some(10)),
            (10, None),
            (limit, Some(limit)),
            (limit, None),
        ] {
            let whole = read(body(size), announced, limit).await.unwrap().unwrap();
            assert_eq!(whole.len(), size, "{size} bytes, announced {announced:?}");
        }
        assert!(read(body(limit + 1), None, limit).await.unwrap().is_none());
        assert!(read(body(11), Some(10), 10).await.unwrap().is_none());
        assert!(read(body(1), Some(1), usize::MAX).await.unwrap().is_some());
    }
}
