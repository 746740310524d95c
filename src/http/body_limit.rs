//! Refuses bodies over the limit with 413, whether or not they announce their length.

use poem::http::header;
use poem::{Body, Endpoint, IntoResponse, Request, Response};

use crate::answers::framework;

/// Bodies up to this many times the limit are drained before the 413 answer.
const DRAIN_FACTOR: usize = 16;

pub struct BodyLimit<E> {
    inner: E,
    max: usize,
}

impl<E> BodyLimit<E> {
    pub fn new(inner: E, max: usize) -> Self {
        BodyLimit { inner, max }
    }
}

impl<E: Endpoint> Endpoint for BodyLimit<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        match announced {
            Some(length) if length > self.max => {
                // Read and drop a moderately large body so the client, still sending, gets the
                // answer instead of a reset connection (what nginx calls lingering close).
                if length <= self.max.saturating_mul(DRAIN_FACTOR) {
                    let mut body = req.take_body().into_async_read();
                    let _ = tokio::io::copy(&mut body, &mut tokio::io::sink()).await;
                }
                return Ok(framework::too_large());
            }
            Some(_) => {}
            None => {
                let body = req.take_body();
                match body.into_bytes_limit(self.max).await {
                    Ok(bytes) => req.set_body(Body::from_bytes(bytes)),
                    Err(_) => return Ok(framework::too_large()),
                }
            }
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}
