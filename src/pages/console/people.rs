//! People: the list, create, enable/disable, a new password, roles and the console's admin flag.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};

use super::{
    Admin, Frame, Pager, RoleChoice, admin, admin_form, checked_roles, done, role_choices, when,
};
use crate::Error;
use crate::answers::html;
use crate::pages::{field, render, render_problem};
use crate::roles::{Role, RoleSet};
use crate::services::App;
use crate::services::users::{self, NewUser, UserView};

const PAGE_SIZE: u64 = 100;

struct Line {
    person: UserView,
    created: String,
}

#[derive(Template)]
#[template(path = "console/people.html")]
struct ListPage {
    frame: Frame,
    lines: Vec<Line>,
    pager: Pager,
    username: String,
    is_admin: bool,
    roles: Vec<RoleChoice>,
}

#[derive(Template)]
#[template(path = "console/person.html")]
struct PersonPage {
    frame: Frame,
    person: UserView,
    created: String,
    updated: String,
    roles: Vec<RoleChoice>,
}

fn held(person: &UserView) -> RoleSet {
    person.roles.iter().filter_map(|r| Role::parse(r)).collect()
}

fn person_page(frame: Frame, person: UserView) -> PersonPage {
    PersonPage {
        created: when(person.created_at),
        updated: when(person.updated_at),
        roles: role_choices(held(&person)),
        frame,
        person,
    }
}

fn base(user: &str) -> String {
    format!("/admin/people/{user}")
}

async fn list_page(app: &App, req: &Request, frame: Frame) -> Result<ListPage, Error> {
    let paging = Pager::paging(req, PAGE_SIZE);
    let (people, total) = users::list(app, paging).await?;
    Ok(ListPage {
        frame,
        lines: people
            .into_iter()
            .map(|person| Line {
                created: when(person.created_at),
                person,
            })
            .collect(),
        pager: Pager::new(paging, total, "/admin/people", ""),
        username: String::new(),
        is_admin: false,
        roles: role_choices(RoleSet::EMPTY),
    })
}

#[handler]
pub async fn list(req: &Request, app: Data<&Arc<App>>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    match list_page(&app, req, Frame::new(&admin, "people", req)).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn create(req: &Request, app: Data<&Arc<App>>, body: Body) -> Response {
    let (admin, fields) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let new = NewUser {
        username: field(&fields, "username")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        password: field(&fields, "password").unwrap_or_default().to_owned(),
        roles: checked_roles(&fields),
        is_admin: field(&fields, "admin") == Some("yes"),
    };
    let (username, is_admin, chosen) = (new.username.clone(), new.is_admin, new.roles);
    match users::create(&app, &admin.actor(), new).await {
        Ok(person) => done(&base(&person.user_id), "person-created"),
        Err(err @ (Error::Invalid { .. } | Error::Conflict(_))) => {
            let frame = Frame::new(&admin, "people", req).with_problem(err.to_string());
            match list_page(&app, req, frame).await {
                Ok(mut page) => {
                    page.username = username;
                    page.is_admin = is_admin;
                    page.roles = role_choices(chosen);
                    render_problem(&err, &page)
                }
                Err(other) => html::error_page(&other),
            }
        }
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn show(req: &Request, app: Data<&Arc<App>>, user: Path<String>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    match users::show(&app, &user).await {
        Ok(person) => render(
            StatusCode::OK,
            &person_page(Frame::new(&admin, "people", req), person),
        ),
        Err(err) => html::error_page(&err),
    }
}

/// The person's page again with a problem (a refused change), or the error's own page.
async fn again(app: &App, admin: &Admin, req: &Request, user: &str, err: Error) -> Response {
    if !matches!(err, Error::Invalid { .. } | Error::Conflict(_)) {
        return html::error_page(&err);
    }
    match users::show(app, user).await {
        Ok(person) => render_problem(
            &err,
            &person_page(
                Frame::new(admin, "people", req).with_problem(err.to_string()),
                person,
            ),
        ),
        Err(other) => html::error_page(&other),
    }
}

async fn set_enabled(req: &Request, app: &App, user: &str, body: Body, enabled: bool) -> Response {
    let (admin, _) = match admin_form(app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match users::set_enabled(app, &admin.actor(), user, enabled).await {
        Ok(_) if enabled => done(&base(user), "person-enabled"),
        Ok(_) => done(&base(user), "person-disabled"),
        Err(err) => again(app, &admin, req, user, err).await,
    }
}

#[handler]
pub async fn enable(
    req: &Request,
    app: Data<&Arc<App>>,
    user: Path<String>,
    body: Body,
) -> Response {
    set_enabled(req, &app, &user, body, true).await
}

#[handler]
pub async fn disable(
    req: &Request,
    app: Data<&Arc<App>>,
    user: Path<String>,
    body: Body,
) -> Response {
    set_enabled(req, &app, &user, body, false).await
}

#[handler]
pub async fn password(
    req: &Request,
    app: Data<&Arc<App>>,
    user: Path<String>,
    body: Body,
) -> Response {
    let (admin, fields) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let new_password = field(&fields, "password").unwrap_or_default();
    match users::reset_password(&app, &admin.actor(), &user, new_password).await {
        Ok(_) => done(&base(&user), "person-password"),
        Err(err) => again(&app, &admin, req, &user, err).await,
    }
}

#[handler]
pub async fn set_roles(
    req: &Request,
    app: Data<&Arc<App>>,
    user: Path<String>,
    body: Body,
) -> Response {
    let (admin, fields) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let wanted = checked_roles(&fields);
    let changed = async {
        let held = held(&users::show(&app, &user).await?);
        let grant: RoleSet = wanted.iter().filter(|r| !held.contains(*r)).collect();
        let revoke: RoleSet = held.iter().filter(|r| !wanted.contains(*r)).collect();
        if !grant.is_empty() {
            users::change_roles(&app, &admin.actor(), &user, grant, true).await?;
        }
        if !revoke.is_empty() {
            users::change_roles(&app, &admin.actor(), &user, revoke, false).await?;
        }
        Ok::<_, Error>(())
    };
    match changed.await {
        Ok(()) => done(&base(&user), "person-roles"),
        Err(err) => again(&app, &admin, req, &user, err).await,
    }
}

#[handler]
pub async fn admin_flag(
    req: &Request,
    app: Data<&Arc<App>>,
    user: Path<String>,
    body: Body,
) -> Response {
    let (admin, fields) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let is_admin = field(&fields, "admin") == Some("yes");
    match users::set_admin(&app, &admin.actor(), &user, is_admin).await {
        Ok(_) => done(&base(&user), "person-admin"),
        Err(err) => again(&app, &admin, req, &user, err).await,
    }
}
