//! Developer apps: the queue of those awaiting approval (and the decided ones), approve and
//! reject.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};

use super::{Frame, Pager, admin, admin_form, done, query_param, when};
use crate::answers::html;
use crate::pages::render;
use crate::services::App;
use crate::services::apps::{self, AppView, STATUSES};

const PAGE_SIZE: u64 = 50;

struct Line {
    app: AppView,
    registered: String,
}

#[derive(Template)]
#[template(path = "console/apps.html")]
struct AppsPage {
    frame: Frame,
    status: String,
    tabs: Vec<(&'static str, bool)>,
    lines: Vec<Line>,
    pager: Pager,
}

#[handler]
pub async fn list(req: &Request, app: Data<&Arc<App>>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    let status = query_param(req, "status")
        .filter(|s| STATUSES.contains(&s.as_str()))
        .unwrap_or_else(|| "pending".into());
    let paging = Pager::paging(req, PAGE_SIZE);
    match apps::list(&app, Some(&status), paging).await {
        Ok((found, total)) => render(
            StatusCode::OK,
            &AppsPage {
                frame: Frame::new(&admin, "apps", req),
                tabs: STATUSES.iter().map(|s| (*s, *s == status)).collect(),
                pager: Pager::new(paging, total, "/admin/apps", &format!("status={status}")),
                status,
                lines: found
                    .into_iter()
                    .map(|app| Line {
                        registered: when(app.created_at),
                        app,
                    })
                    .collect(),
            },
        ),
        Err(err) => html::error_page(&err),
    }
}

async fn decide(req: &Request, app: &App, client_id: &str, body: Body, status: &str) -> Response {
    let (admin, _) = match admin_form(app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match apps::decide(app, &admin.actor(), client_id, status).await {
        Ok(_) if status == "approved" => done("/admin/apps", "app-approved"),
        Ok(_) => done("/admin/apps", "app-rejected"),
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn approve(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    decide(req, &app, &client_id, body, "approved").await
}

#[handler]
pub async fn reject(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    decide(req, &app, &client_id, body, "rejected").await
}
