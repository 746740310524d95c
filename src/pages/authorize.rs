//! The authorization endpoint (`GET /oauth/authorize`, also spelt `authorise`) and the consent
//! form it shows. A request from an unknown client or to an unregistered redirect URI gets a
//! page, never a redirect; other problems go back to the client with `error` and `state`. A
//! person who is not signed in signs in first.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::{Nav, csrf_matches, field, form_fields, render, signed_in, to_login};
use crate::Error;
use crate::answers::{html, redirect};
use crate::oauth::authorize::{AuthorizationRequest, PARAMETERS, Refusal};
use crate::oauth::form::FormParams;
use crate::services::App;
use crate::services::authorization::{self, Next};

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    nav: Nav,
    client_name: String,
    scopes: Vec<(&'static str, &'static str)>,
    redirect_host: String,
    hidden: Vec<(&'static str, String)>,
}

/// The answer to a refused request: a page, or back to the client.
fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(why) => html::error_page(&Error::invalid(why)),
        Refusal::Redirect {
            redirect_uri,
            error,
            state,
        } => redirect::error(
            &redirect_uri,
            error.code,
            &error.description,
            state.as_deref(),
        ),
    }
}

fn consent_page(nav: Nav, request: &AuthorizationRequest, params: &FormParams) -> Response {
    let scopes = request
        .scopes
        .roles()
        .iter()
        .map(|role| (role.scope(), role.description()))
        .collect();
    let hidden = PARAMETERS
        .iter()
        .filter_map(|name| params.get(name).map(|value| (*name, value.to_owned())))
        .collect();
    render(
        StatusCode::OK,
        &ConsentPage {
            nav,
            client_name: request.client_name.clone(),
            scopes,
            redirect_host: request
                .redirect_uri
                .host_str()
                .unwrap_or_default()
                .to_owned(),
            hidden,
        },
    )
}

#[handler]
pub async fn ask(req: &Request, app: Data<&Arc<App>>) -> Response {
    let query = req.uri().query().unwrap_or_default();
    let Ok(params) = FormParams::parse(query.as_bytes()) else {
        return html::error_page(&Error::invalid(
            "The authorization request is malformed (a parameter is repeated or not UTF-8).",
        ));
    };
    let request = match authorization::check(&app, &params) {
        Ok(request) => request,
        Err(refusal) => return refused(refusal),
    };
    let (person, session) = match signed_in(&app, req).await {
        Ok(Some(found)) => found,
        Ok(None) => return to_login(req),
        Err(err) => {
            return redirect::domain_error(&request.redirect_uri, &err, request.state.as_deref());
        }
    };
    match authorization::start(&app, &person, request.clone()).await {
        Ok(Next::Redirect(target)) => redirect::to(&target),
        Ok(Next::AskConsent(request)) => {
            consent_page(Nav::of(&person, &session), &request, &params)
        }
        Err(err) => redirect::domain_error(&request.redirect_uri, &err, request.state.as_deref()),
    }
}

/// The consent form's answer: the request is judged again from its fields.
#[handler]
pub async fn decision(req: &Request, app: Data<&Arc<App>>, body: Body) -> Response {
    let Ok(bytes) = body.into_bytes_limit(64 * 1024).await else {
        return html::error_page(&Error::TooLarge);
    };
    let fields = form_fields(&bytes);
    let (person, session) = match signed_in(&app, req).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return html::error_page(&Error::Unauthenticated(
                "Your session ended before you answered. Start again from the app.".into(),
            ));
        }
        Err(err) => return html::error_page(&err),
    };
    if !csrf_matches(&session, field(&fields, "csrf")) {
        return html::error_page(&Error::Forbidden(
            "The consent form is stale or came from another site.".into(),
        ));
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            fields
                .iter()
                .filter(|(name, _)| PARAMETERS.contains(&name.as_str())),
        )
        .finish();
    let Ok(params) = FormParams::parse(query.as_bytes()) else {
        return html::error_page(&Error::invalid("The consent form is malformed."));
    };
    let request = match authorization::check(&app, &params) {
        Ok(request) => request,
        Err(refusal) => return refused(refusal),
    };
    let approve = match field(&fields, "decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return html::error_page(&Error::invalid("Choose Approve or Deny.")),
    };
    match authorization::answer(&app, &person, &request, approve).await {
        Ok(target) => redirect::to(&target),
        Err(err) => redirect::domain_error(&request.redirect_uri, &err, request.state.as_deref()),
    }
}
