//! `/v1/flow_requests/confirm/`: the page where a person confirms (or declines) what a client
//! asked to run, or to delete, on their behalf; then the browser goes back to the client's
//! registered callback. A stale, used or unknown link, or an unregistered callback, is an error
//! page and never a redirect.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Body, Request, Response, handler};
use serde::Deserialize;

use super::{Nav, csrf_matches, field, form_fields, render, signed_in, to_login};
use crate::Error;
use crate::answers::{html, redirect};
use crate::services::App;
use crate::services::flow_requests::{self, Action};

#[derive(Deserialize)]
pub struct Link {
    confirm_id: Option<String>,
    action: Option<String>,
    callback_url: Option<String>,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    nav: Nav,
    heading: &'static str,
    verb: &'static str,
    client_name: String,
    diagram: String,
    version: String,
    name: Option<String>,
    business_ref: Option<String>,
    process_id: String,
    callback_host: String,
    confirm_id: String,
    action: &'static str,
    callback_url: String,
}

fn missing(what: &str) -> Response {
    html::error_page(&Error::attribute(
        what,
        format!("The confirmation link has no {what}."),
    ))
}

#[handler]
pub async fn page(req: &Request, app: Data<&Arc<App>>, link: Query<Link>) -> Response {
    let (Some(confirm_id), Some(action), Some(callback_url)) =
        (&link.confirm_id, &link.action, &link.callback_url)
    else {
        return missing(match (&link.confirm_id, &link.action) {
            (None, _) => "confirm_id",
            (_, None) => "action",
            _ => "callback_url",
        });
    };
    // The link is judged before sign-in, so a broken one says so at once.
    let confirmation =
        match flow_requests::confirmation(&app, confirm_id, action, callback_url).await {
            Ok(found) => found,
            Err(err) => return html::error_page(&err),
        };
    let (person, session) = match signed_in(&app, req).await {
        Ok(Some(found)) => found,
        Ok(None) => return to_login(req),
        Err(err) => return html::error_page(&err),
    };
    let (heading, verb) = match confirmation.action {
        Action::Add => ("Start a process?", "start"),
        Action::Delete => ("Delete a process?", "delete"),
    };
    render(
        StatusCode::OK,
        &ConfirmPage {
            nav: Nav::of(&person, &session),
            heading,
            verb,
            client_name: confirmation.client_name,
            diagram: confirmation.diagram_name,
            version: confirmation.diagram_version,
            name: confirmation.request.name,
            business_ref: confirmation.request.business_ref,
            process_id: confirmation.request.process_id,
            callback_host: confirmation
                .callback_url
                .host_str()
                .unwrap_or_default()
                .to_owned(),
            confirm_id: confirm_id.clone(),
            action: confirmation.action.as_str(),
            callback_url: callback_url.clone(),
        },
    )
}

#[handler]
pub async fn decision(req: &Request, app: Data<&Arc<App>>, body: Body) -> Response {
    let Ok(bytes) = body.into_bytes_limit(16 * 1024).await else {
        return html::error_page(&Error::TooLarge);
    };
    let fields = form_fields(&bytes);
    let (person, session) = match signed_in(&app, req).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return html::error_page(&Error::Unauthenticated(
                "Your session ended before you answered. Open the link again.".into(),
            ));
        }
        Err(err) => return html::error_page(&err),
    };
    if !csrf_matches(&session, field(&fields, "csrf")) {
        return html::error_page(&Error::Forbidden(
            "The form is stale or came from another site. Open the link again.".into(),
        ));
    }
    let confirm = match field(&fields, "decision") {
        Some("confirm") => true,
        Some("decline") => false,
        _ => return html::error_page(&Error::invalid("Choose Confirm or Decline.")),
    };
    let answered = flow_requests::answer(
        &app,
        &person,
        field(&fields, "confirm_id").unwrap_or_default(),
        field(&fields, "action").unwrap_or_default(),
        field(&fields, "callback_url").unwrap_or_default(),
        confirm,
    )
    .await;
    match answered {
        Ok(target) => redirect::to(&target),
        Err(err) => html::error_page(&err),
    }
}
