//! The admin console at `/admin/` (docs/contract.md §6): clients, developer apps awaiting
//! approval, people, the policy with its "who may do this?" tester, signing keys and the audit
//! log. Only signed-in people with the admin flag get in; every form carries the session's CSRF
//! token; every change goes through the same service as the admin API and the CLI, with the
//! person as the actor, so the audit log names them. Server-rendered, no JavaScript.
//!
//! After a change the browser is sent back to the page it came from (`303`, so a reload does not
//! repeat it) with `?done=…`, a key into a fixed list of notices; a new client secret is the
//! exception: it is shown in the answer to the POST itself, once.

mod apps;
mod audit;
mod clients;
mod keys;
mod people;
mod policy;

use std::sync::Arc;

use askama::Template;
use poem::http::{Method, StatusCode};
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::{
    Pages, csrf_matches, csrf_token, field, form_fields, render, see_other, signed_in, to_login,
};
use crate::Error;
use crate::answers::html;
use crate::roles::{Role, RoleSet};
use crate::services::paging::Paging;
use crate::services::sessions::Person;
use crate::services::{self, App};

/// Adds the console's pages to the routes.
pub(super) fn mount(pages: Pages) -> Pages {
    pages
        .get("/admin", to_console)
        .get("/admin/", overview)
        .get_post("/admin/clients", clients::list, clients::create)
        .get("/admin/clients/new", clients::new_client)
        .get_post("/admin/clients/:client_id", clients::show, clients::update)
        .post("/admin/clients/:client_id/roles", clients::set_roles)
        .post("/admin/clients/:client_id/enable", clients::enable)
        .post("/admin/clients/:client_id/disable", clients::disable)
        .post("/admin/clients/:client_id/secret", clients::rotate)
        .get_post(
            "/admin/clients/:client_id/delete",
            clients::confirm_delete,
            clients::delete,
        )
        .get("/admin/apps", apps::list)
        .post("/admin/apps/:client_id/approve", apps::approve)
        .post("/admin/apps/:client_id/reject", apps::reject)
        .get_post("/admin/people", people::list, people::create)
        .get("/admin/people/:user", people::show)
        .post("/admin/people/:user/enable", people::enable)
        .post("/admin/people/:user/disable", people::disable)
        .post("/admin/people/:user/password", people::password)
        .post("/admin/people/:user/roles", people::set_roles)
        .post("/admin/people/:user/admin", people::admin_flag)
        .get_post("/admin/policy", policy::show, policy::add)
        .post("/admin/policy/:rule_id/delete", policy::remove)
        .get("/admin/keys", keys::list)
        .post("/admin/keys/rotate", keys::rotate)
        .get("/admin/audit", audit::list)
}

/// What every console page shows around its content: who is signed in, the form token, the
/// section, and a notice or a problem.
pub(super) struct Frame {
    pub username: String,
    pub csrf: String,
    pub section: &'static str,
    pub notice: Option<String>,
    pub problem: Option<String>,
}

impl Frame {
    fn new(admin: &Admin, section: &'static str, req: &Request) -> Frame {
        Frame {
            username: admin.person.username.clone(),
            csrf: csrf_token(&admin.session),
            section,
            notice: query_param(req, "done")
                .as_deref()
                .and_then(notice)
                .map(str::to_owned),
            problem: None,
        }
    }

    /// The sections' links, the current one marked.
    pub fn links(&self) -> Vec<(&'static str, &'static str, bool)> {
        SECTIONS
            .iter()
            .map(|(key, path, label)| (*path, *label, *key == self.section))
            .collect()
    }

    fn with_problem(mut self, problem: String) -> Frame {
        self.notice = None;
        self.problem = Some(problem);
        self
    }
}

/// The sections, for the navigation: (key, path, label).
pub(super) const SECTIONS: &[(&str, &str, &str)] = &[
    ("overview", "/admin/", "Overview"),
    ("clients", "/admin/clients", "Clients"),
    ("apps", "/admin/apps", "Developer apps"),
    ("people", "/admin/people", "People"),
    ("policy", "/admin/policy", "Policy"),
    ("keys", "/admin/keys", "Signing keys"),
    ("audit", "/admin/audit", "Audit log"),
];

/// The notices a `?done=` key stands for (a fixed list: nothing from the URL is shown).
fn notice(key: &str) -> Option<&'static str> {
    Some(match key {
        "client-updated" => "The client is saved.",
        "client-enabled" => "The client is enabled: it can get tokens again.",
        "client-disabled" => "The client is disabled: its tokens stopped working.",
        "client-roles" => "The client's roles are saved; removed roles left its tokens at once.",
        "client-deleted" => "The client is deleted; its tokens stopped working.",
        "app-approved" => "The app is approved: people can now allow it.",
        "app-rejected" => "The app is rejected: it cannot get tokens.",
        "person-created" => "The person is created.",
        "person-enabled" => "The person is enabled.",
        "person-disabled" => "The person is disabled; their sessions ended.",
        "person-password" => "The new password is set; their sessions ended.",
        "person-roles" => "The roles are saved.",
        "person-admin" => "The console access is saved.",
        "rule-added" => "The rule is added; the gate decides by it now.",
        "rule-removed" => "The rule is removed; the gate decides without it now.",
        "key-rotated" => "A new signing key signs tokens from now on.",
        _ => return None,
    })
}

/// A query parameter of the request.
pub(super) fn query_param(req: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The signed-in admin and their session token.
pub(super) struct Admin {
    pub person: Person,
    pub session: String,
}

impl Admin {
    pub fn actor(&self) -> crate::caller::Actor {
        crate::caller::Actor::person(&self.person.username)
    }
}

/// The signed-in admin, or the answer that keeps everyone else out: a sign-in first (coming
/// back here; after a form, to the console's start), a 403 page for people without the flag.
pub(super) async fn admin(app: &App, req: &Request) -> Result<Admin, Response> {
    match signed_in(app, req).await {
        Ok(Some((person, session))) if person.is_admin => Ok(Admin { person, session }),
        Ok(Some(_)) => Err(html::error_page(&Error::Forbidden(
            "The console is for administrators. An administrator can give you access.".into(),
        ))),
        Ok(None) if req.method() == Method::GET => Err(to_login(req)),
        Ok(None) => Err(see_other("/login?next=%2Fadmin%2F")),
        Err(err) => Err(html::error_page(&err)),
    }
}

/// The signed-in admin and the fields of their form, once its CSRF token is checked.
pub(super) async fn admin_form(
    app: &App,
    req: &Request,
    body: Body,
) -> Result<(Admin, Vec<(String, String)>), Response> {
    let admin = admin(app, req).await?;
    let bytes = body
        .into_bytes_limit(64 * 1024)
        .await
        .map_err(|_| html::error_page(&Error::TooLarge))?;
    let fields = form_fields(&bytes);
    if !csrf_matches(&admin.session, field(&fields, "csrf")) {
        return Err(html::error_page(&Error::Forbidden(
            "The form is stale or came from another site. Open the page again.".into(),
        )));
    }
    Ok((admin, fields))
}

/// Back to a console page with a notice.
pub(super) fn done(path: &str, key: &str) -> Response {
    see_other(&format!("{path}?done={key}"))
}

/// A form field, trimmed; `None` when empty.
pub(super) fn text(fields: &[(String, String)], name: &str) -> Option<String> {
    field(fields, name)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// Every value of a repeated field (checkboxes).
pub(super) fn all<'f>(fields: &'f [(String, String)], name: &str) -> Vec<&'f str> {
    fields
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect()
}

/// The roles checked in a form (`role` checkboxes); unknown names are ignored.
pub(super) fn checked_roles(fields: &[(String, String)]) -> RoleSet {
    all(fields, "role")
        .into_iter()
        .filter_map(Role::parse)
        .collect()
}

/// One role checkbox.
pub(super) struct RoleChoice {
    pub name: &'static str,
    pub description: &'static str,
    pub checked: bool,
}

pub(super) fn role_choices(checked: RoleSet) -> Vec<RoleChoice> {
    Role::ALL
        .into_iter()
        .map(|role| RoleChoice {
            name: role.name(),
            description: role.description(),
            checked: checked.contains(role),
        })
        .collect()
}

/// A time as people read it (UTC).
pub(super) fn when(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| at.to_string())
}

/// Pages of a long list: `?page=N` (from 1), a fixed size.
pub(super) struct Pager {
    pub page: u64,
    pub pages: u64,
    pub total: u64,
    pub newer: Option<String>,
    pub older: Option<String>,
}

impl Pager {
    /// The paging of `?page=` for lists of `size` rows.
    pub fn paging(req: &Request, size: u64) -> Paging {
        let page = query_param(req, "page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, 1_000_000);
        Paging {
            limit: size,
            offset: (page - 1) * size,
        }
    }

    /// Links to the pages around `paging`; `query` is the rest of the query, kept.
    pub fn new(paging: Paging, total: u64, path: &str, query: &str) -> Pager {
        let page = paging.offset / paging.limit.max(1) + 1;
        let pages = total.div_ceil(paging.limit.max(1)).max(1);
        let link = |page: u64| {
            let sep = if query.is_empty() { "" } else { "&" };
            format!("{path}?{query}{sep}page={page}")
        };
        Pager {
            page,
            pages,
            total,
            newer: (page > 1).then(|| link(page - 1)),
            older: (page < pages).then(|| link(page + 1)),
        }
    }
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    frame: Frame,
    clients: u64,
    pending_apps: u64,
    people: u64,
    rules: usize,
    active_key: String,
    rows: Vec<audit::Row>,
}

#[handler]
async fn to_console() -> Response {
    see_other("/admin/")
}

#[handler]
async fn overview(req: &Request, app: Data<&Arc<App>>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    let one = Paging {
        limit: 1,
        offset: 0,
    };
    let counted = async {
        let (_, clients) = services::clients::list(&app, one).await?;
        let (_, pending_apps) = services::apps::list(&app, Some("pending"), one).await?;
        let (_, people) = services::users::list(&app, one).await?;
        let rules = services::policy::list(&app).await?.len();
        let keys = services::keys::list(&app).await?;
        let recent = Paging {
            limit: 8,
            offset: 0,
        };
        let (entries, _) = services::audit::list(&app, recent).await?;
        Ok::<_, Error>(OverviewPage {
            frame: Frame::new(&admin, "overview", req),
            clients,
            pending_apps,
            people,
            rules,
            active_key: keys
                .iter()
                .find(|key| key.active)
                .map(|key| key.kid.clone())
                .unwrap_or_else(|| "none".into()),
            rows: entries.into_iter().map(audit::Row::from).collect(),
        })
    };
    match counted.await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(err) => html::error_page(&err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_link_to_their_neighbours_and_keep_the_filter() {
        let paging = Paging {
            limit: 50,
            offset: 50,
        };
        let pager = Pager::new(paging, 120, "/admin/audit", "actor=alice");
        assert_eq!((pager.page, pager.pages), (2, 3));
        assert_eq!(
            pager.newer.as_deref(),
            Some("/admin/audit?actor=alice&page=1")
        );
        assert_eq!(
            pager.older.as_deref(),
            Some("/admin/audit?actor=alice&page=3")
        );
        let first = Pager::new(Paging::default(), 0, "/admin/clients", "");
        assert_eq!((first.page, first.pages), (1, 1));
        assert!(first.newer.is_none() && first.older.is_none());
    }

    #[test]
    fn only_known_notices_are_shown() {
        assert!(notice("client-deleted").is_some());
        assert!(notice("<script>").is_none());
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
    }
}
