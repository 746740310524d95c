//! The pages people see in a browser: sign-in, the authorization endpoint with its consent page,
//! and the developer portal. Server-rendered (askama), no JavaScript; every form carries a CSRF
//! token; sessions are cookies (`HttpOnly`, `SameSite=Lax`, `Secure` behind https) whose
//! token the database knows only as a hash. Errors are HTML pages ([`crate::answers::html`]) or,
//! at the authorization endpoint, redirects back to the client ([`crate::answers::redirect`]).

mod authorize;
mod confirm;
mod console;
mod developer;
mod login;

use std::net::{IpAddr, Ipv4Addr};

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{IntoEndpoint, Request, Response, Route, RouteMethod};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::answers::html;
use crate::services::App;
use crate::services::sessions::{self, Person};
use crate::{Error, Result};

/// Adds the pages to the server's routes. Their handlers find the [`App`] in the request's
/// data (the server adds it). Also returns the methods each page path takes, for the `Allow`
/// header of a 405.
pub fn mount(route: Route) -> (Route, Vec<(String, Vec<Method>)>) {
    let pages = console::mount(Pages {
        route,
        methods: Vec::new(),
    })
    .get_post("/login", login::page, login::submit)
    .get_post("/logout", login::logout_page, login::logout)
    .get_post("/oauth/authorize", authorize::ask, authorize::decision)
    // Omniport's spelling.
    .get_post("/oauth/authorise", authorize::ask, authorize::decision)
    // Ungated by the gate (no Bearer token): people answer here in a browser.
    .get_post(
        "/v1/flow_requests/confirm/",
        confirm::page,
        confirm::decision,
    )
    .get("/developer", developer::home)
    .get("/developer/terms", developer::terms)
    .get_post("/developer/apps", developer::list, developer::register)
    .get("/developer/apps/new", developer::new_app)
    .get("/developer/apps/:client_id", developer::show)
    .post(
        "/developer/apps/:client_id/redirect_uris",
        developer::redirect_uris,
    )
    .post(
        "/developer/apps/:client_id/secret",
        developer::rotate_secret,
    );
    (pages.route, pages.methods)
}

/// Mounts pages and notes which methods each path takes, from the same call.
struct Pages {
    route: Route,
    methods: Vec<(String, Vec<Method>)>,
}

impl Pages {
    fn get<G>(self, path: &str, page: G) -> Self
    where
        G: IntoEndpoint,
        G::Endpoint: 'static,
    {
        self.mount(path, poem::get(page), &[Method::GET])
    }

    fn post<P>(self, path: &str, action: P) -> Self
    where
        P: IntoEndpoint,
        P::Endpoint: 'static,
    {
        self.mount(path, poem::post(action), &[Method::POST])
    }

    fn get_post<G, P>(self, path: &str, page: G, action: P) -> Self
    where
        G: IntoEndpoint,
        G::Endpoint: 'static,
        P: IntoEndpoint,
        P::Endpoint: 'static,
    {
        let methods = poem::get(page).post(action);
        self.mount(path, methods, &[Method::GET, Method::POST])
    }

    fn mount(mut self, path: &str, endpoint: RouteMethod, methods: &[Method]) -> Self {
        self.route = self.route.at(path, endpoint);
        self.methods.push((path.to_owned(), methods.to_vec()));
        self
    }
}

/// The cookie names: `__Host-` prefixed (no domain, path `/`, Secure) when served over https.
struct Cookies {
    session: &'static str,
    anonymous: &'static str,
    secure: bool,
}

fn cookies(app: &App) -> Cookies {
    let secure = app.public_url.starts_with("https://");
    if secure {
        Cookies {
            session: "__Host-fg_session",
            anonymous: "__Host-fg_csrf",
            secure,
        }
    } else {
        Cookies {
            session: "fg_session",
            anonymous: "fg_csrf",
            secure,
        }
    }
}

/// A cookie of the request.
fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 256)
}

/// Adds `Set-Cookie`; a `max_age` of 0 removes the cookie.
fn set_cookie(response: &mut Response, name: &str, value: &str, max_age: i64, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let line = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    if let Ok(value) = HeaderValue::from_str(&line) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The form token derived from a cookie's secret value: only a page we served holds it.
fn csrf_token(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("csrf:{secret}").as_bytes()))
}

fn csrf_matches(secret: &str, sent: Option<&str>) -> bool {
    let expected = csrf_token(secret);
    sent.is_some_and(|sent| sent.as_bytes().ct_eq(expected.as_bytes()).into())
}

/// The signed-in person of the request, with their session token.
async fn signed_in(app: &App, req: &Request) -> Result<Option<(Person, String)>> {
    let Some(token) = cookie(req, cookies(app).session) else {
        return Ok(None);
    };
    Ok(sessions::person(app, &token)
        .await?
        .map(|person| (person, token)))
}

/// Where to sign in first, coming back to this request afterwards.
fn to_login(req: &Request) -> Response {
    let here = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    see_other(&format!("/login?next={next}"))
}

/// `303 See Other` to a path of ours.
fn see_other(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

/// A rendered page with the page headers.
fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(text) => html::page(status, text),
        Err(err) => html::error_page(&Error::internal(err)),
    }
}

/// A form shown again with the problem `err` describes (its status and headers).
fn render_problem(err: &Error, template: &impl Template) -> Response {
    match template.render() {
        Ok(text) => html::problem_page(err, text),
        Err(render) => html::error_page(&Error::internal(render)),
    }
}

/// The form fields of a POST body (repeated names allowed: checkboxes).
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The address of the browser, for rate limits and the audit log.
fn remote_ip(req: &Request) -> IpAddr {
    req.remote_addr()
        .as_socket_addr()
        .map(|addr| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// A page of ours to go back to after signing in: a local path, never another site.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => "/developer/apps",
    }
}

/// The navigation of a signed-in person's pages.
struct Nav {
    username: String,
    csrf: String,
}

impl Nav {
    fn of(person: &Person, session: &str) -> Nav {
        Nav {
            username: person.username.clone(),
            csrf: csrf_token(session),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(
            local_path(Some("/oauth/authorize?x=1")),
            "/oauth/authorize?x=1"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
        ] {
            assert_eq!(local_path(Some(bad)), "/developer/apps", "{bad}");
        }
    }

    #[test]
    fn csrf_tokens_belong_to_their_secret() {
        let token = csrf_token("secret-a");
        assert!(csrf_matches("secret-a", Some(&token)));
        assert!(!csrf_matches("secret-b", Some(&token)));
        assert!(!csrf_matches("secret-a", None));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let req = Request::builder()
            .header("cookie", "a=1; fg_session=xyz; b=2")
            .finish();
        assert_eq!(cookie(&req, "fg_session").as_deref(), Some("xyz"));
        assert_eq!(cookie(&req, "missing"), None);
    }
}
