//! Signing keys: the published ones and rotation.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::{Frame, admin, admin_form, done, when};
use crate::answers::html;
use crate::pages::render;
use crate::services::{App, keys};

struct Line {
    kid: String,
    algorithm: &'static str,
    created: String,
    active: bool,
    retired: Option<String>,
    publish_until: Option<String>,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    frame: Frame,
    lines: Vec<Line>,
    token_ttl: i64,
}

#[handler]
pub async fn list(req: &Request, app: Data<&Arc<App>>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    match keys::list(&app).await {
        Ok(found) => render(
            StatusCode::OK,
            &KeysPage {
                frame: Frame::new(&admin, "keys", req),
                lines: found
                    .into_iter()
                    .map(|key| Line {
                        created: when(key.created_at),
                        retired: key.retired_at.map(when),
                        publish_until: key.publish_until.map(when),
                        active: key.active,
                        algorithm: key.algorithm,
                        kid: key.kid,
                    })
                    .collect(),
                token_ttl: app.config.access_token_ttl,
            },
        ),
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn rotate(req: &Request, app: Data<&Arc<App>>, body: Body) -> Response {
    let (admin, _) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match keys::rotate(&app, &admin.actor()).await {
        Ok(_) => done("/admin/keys", "key-rotated"),
        Err(err) => html::error_page(&err),
    }
}
