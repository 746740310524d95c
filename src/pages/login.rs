//! `/login` and `/logout`. Failed sign-ins are slowed per username and per address; the page
//! says so in words, with `429` and `Retry-After`.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Body, Request, Response, handler};
use serde::Deserialize;

use super::{
    Nav, cookies, csrf_matches, csrf_token, field, form_fields, local_path, remote_ip, render,
    render_problem, see_other, set_cookie, signed_in,
};
use crate::Error;
use crate::answers::html;
use crate::oauth::secret;
use crate::services::{App, sessions};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: String,
    next: &'a str,
    username: &'a str,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    nav: Nav,
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// The sign-in form. A browser without a session gets a random cookie, from which the form's
/// CSRF token is derived (so a sign-in cannot be forged from another site either).
#[handler]
pub async fn page(req: &Request, app: Data<&Arc<App>>, query: Query<Next>) -> Response {
    let names = cookies(&app);
    let (anonymous, fresh) = match super::cookie(req, names.anonymous) {
        Some(value) => (value, false),
        None => (secret::random_token(), true),
    };
    let next = local_path(query.next.as_deref());
    let mut response = render(
        StatusCode::OK,
        &LoginPage {
            csrf: csrf_token(&anonymous),
            next,
            username: "",
            problem: None,
        },
    );
    if fresh {
        set_cookie(
            &mut response,
            names.anonymous,
            &anonymous,
            3600,
            names.secure,
        );
    }
    response
}

#[handler]
pub async fn submit(req: &Request, app: Data<&Arc<App>>, body: Body) -> Response {
    let names = cookies(&app);
    let Ok(bytes) = body.into_bytes_limit(16 * 1024).await else {
        return html::error_page(&Error::TooLarge);
    };
    let fields = form_fields(&bytes);
    let Some(anonymous) = super::cookie(req, names.anonymous) else {
        return html::error_page(&Error::invalid(
            "The sign-in form came without its cookie. Open the sign-in page again and retry.",
        ));
    };
    if !csrf_matches(&anonymous, field(&fields, "csrf")) {
        return html::error_page(&Error::Forbidden(
            "The sign-in form is stale or came from another site. Open the sign-in page again."
                .into(),
        ));
    }
    let username = field(&fields, "username").unwrap_or_default();
    let password = field(&fields, "password").unwrap_or_default();
    let next = local_path(field(&fields, "next")).to_owned();
    let again = |err: &Error, problem: String| {
        render_problem(
            err,
            &LoginPage {
                csrf: csrf_token(&anonymous),
                next: &next,
                username,
                problem: Some(problem),
            },
        )
    };
    match sessions::login(&app, username, password, remote_ip(req)).await {
        Ok(session) => {
            let mut response = see_other(&next);
            set_cookie(
                &mut response,
                names.session,
                &session.token,
                session.max_age,
                names.secure,
            );
            response
        }
        Err(err @ Error::Unauthenticated(_)) => {
            again(&err, "The username or password is not right.".into())
        }
        Err(err @ Error::RateLimited { retry_after }) => again(
            &err,
            format!(
                "Too many failed sign-ins for this account or from this address. Wait {} before \
                 trying again.",
                seconds_in_words(retry_after)
            ),
        ),
        Err(other) => html::error_page(&other),
    }
}

fn seconds_in_words(seconds: u64) -> String {
    match seconds {
        1 => "1 second".into(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

/// A page with the sign-out button (sign-out is a POST with a CSRF token).
#[handler]
pub async fn logout_page(req: &Request, app: Data<&Arc<App>>) -> Response {
    match signed_in(&app, req).await {
        Ok(Some((person, session))) => render(
            StatusCode::OK,
            &LogoutPage {
                nav: Nav::of(&person, &session),
            },
        ),
        Ok(None) => see_other("/login"),
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn logout(req: &Request, app: Data<&Arc<App>>, body: Body) -> Response {
    let names = cookies(&app);
    let bytes = body.into_bytes_limit(16 * 1024).await.unwrap_or_default();
    let fields = form_fields(&bytes);
    let Some(token) = super::cookie(req, names.session) else {
        return see_other("/login");
    };
    if !csrf_matches(&token, field(&fields, "csrf")) {
        return html::error_page(&Error::Forbidden(
            "The sign-out form is stale or came from another site.".into(),
        ));
    }
    if let Err(err) = sessions::logout(&app, &token).await {
        return html::error_page(&err);
    }
    let mut response = see_other("/login");
    set_cookie(&mut response, names.session, "", 0, names.secure);
    response
}
