//! Errors as HTML pages, for the pages people see in a browser (login, consent, confirmations,
//! the console), with the security headers every page carries.

use askama::Template;
use poem::Response;
use poem::http::{HeaderValue, StatusCode, header};

use crate::Error;

/// Headers of every HTML page: no framing, no sniffing, no referrer, no script, nothing loaded
/// but our own stylesheet. (No `form-action`: browsers apply it to the redirects after a form,
/// and the consent form's answer must go on to the app.)
pub const PAGE_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; \
         base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
];

/// An HTML page with its status and the page headers.
pub fn page(status: StatusCode, html: String) -> Response {
    let mut response = Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(html);
    let headers = response.headers_mut();
    for (name, value) in PAGE_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    response
}

/// A page shown again because of a problem with what was sent (a form with its message): the
/// status and headers of the error's kind.
pub fn problem_page(err: &Error, html: String) -> Response {
    let mut response = page(super::status(err), html);
    super::add_headers(err, &mut response);
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// The error as a page: a title for its kind and what may be said of it.
pub fn error_page(err: &Error) -> Response {
    let status = super::status(err);
    let title = match err {
        Error::NotFound(_) => "Not found",
        Error::Invalid { .. } => "This request cannot be handled",
        Error::Conflict(_) | Error::Unprocessable(_) => "This cannot be done now",
        Error::Unauthenticated(_) => "Please sign in",
        Error::Forbidden(_) => "Not allowed",
        Error::RateLimited { .. } => "Too many attempts",
        Error::Unavailable(_) | Error::Internal(_) => "Something went wrong on our side",
        Error::UnsupportedMediaType { .. } | Error::TooLarge | Error::TimedOut => {
            "This request cannot be handled"
        }
    };
    let message = super::public_message(err);
    let html = ErrorPage {
        title,
        message: &message,
    }
    .render()
    .unwrap_or_else(|_| format!("<!doctype html><title>{}</title>", status.as_u16()));
    let mut response = page(status, html);
    if let Error::RateLimited { retry_after } = err {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_escape_what_they_show_and_carry_the_headers() {
        let response = error_page(&Error::invalid("<script>alert(1)</script>"));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(
            response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        let body = response.into_body().into_string().await.unwrap();
        assert!(
            body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"),
            "{body}"
        );
        assert!(!body.contains("<script>"));
    }

    #[tokio::test]
    async fn internal_errors_show_nothing_of_their_cause() {
        let body = error_page(&Error::internal("secret table name"))
            .into_body()
            .into_string()
            .await
            .unwrap();
        assert!(!body.contains("secret table name"));
        assert!(body.contains("Internal error"));
    }
}
