//! The audit log, filtered (actor by substring, action, success) and paged, newest first.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use super::{Frame, Pager, admin, query_param, when};
use crate::Error;
use crate::answers::html;
use crate::pages::render;
use crate::services::App;
use crate::services::audit::{self, AuditEntry, AuditFilter};

const PAGE_SIZE: u64 = 50;

/// One row as shown.
pub(super) struct Row {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub success: bool,
    /// How many times it happened (shown as ×count when more than once).
    pub count: i64,
}

impl From<AuditEntry> for Row {
    fn from(entry: AuditEntry) -> Row {
        Row {
            at: when(entry.at),
            actor: entry.actor,
            action: entry.action,
            target: entry.target.unwrap_or_default(),
            detail: entry.detail.unwrap_or_default(),
            success: entry.success,
            count: entry.count,
        }
    }
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    frame: Frame,
    actor: String,
    action: String,
    /// `""`, `yes` or `no`.
    success: String,
    actions: Vec<String>,
    rows: Vec<Row>,
    pager: Pager,
}

/// The filter of the query, and the query that repeats it (for the pages' links).
fn filter_of(req: &Request) -> (AuditFilter, String, String, String) {
    let actor = query_param(req, "actor")
        .map(|a| a.trim().chars().take(200).collect::<String>())
        .unwrap_or_default();
    let action = query_param(req, "action").unwrap_or_default();
    let success = query_param(req, "success")
        .filter(|s| s == "yes" || s == "no")
        .unwrap_or_default();
    let filter = AuditFilter {
        actor: Some(actor.clone()).filter(|a| !a.is_empty()),
        action: Some(action.clone()).filter(|a| !a.is_empty()),
        success: match success.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
    };
    (filter, actor, action, success)
}

#[handler]
pub async fn list(req: &Request, app: Data<&Arc<App>>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    let (filter, actor, action, success) = filter_of(req);
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("actor", actor.as_str()),
            ("action", action.as_str()),
            ("success", success.as_str()),
        ])
        .finish();
    let paging = Pager::paging(req, PAGE_SIZE);
    let found = async {
        let (entries, total) = audit::search(&app, &filter, paging).await?;
        let actions = audit::actions(&app).await?;
        Ok::<_, Error>((entries, total, actions))
    };
    match found.await {
        Ok((entries, total, actions)) => render(
            StatusCode::OK,
            &AuditPage {
                frame: Frame::new(&admin, "audit", req),
                pager: Pager::new(paging, total, "/admin/audit", &query),
                rows: entries.into_iter().map(Row::from).collect(),
                actor,
                action,
                success,
                actions,
            },
        ),
        Err(err) => html::error_page(&err),
    }
}
