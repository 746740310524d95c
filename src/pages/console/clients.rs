//! Clients: the list, create (the secret shown once), edit, roles, enable/disable, rotate the
//! secret (shown once), delete after a confirmation.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};

use super::{
    Admin, Frame, Pager, RoleChoice, admin, admin_form, checked_roles, done, role_choices, text,
    when,
};
use crate::Error;
use crate::answers::html;
use crate::pages::{field, render, render_problem};
use crate::roles::{Role, RoleSet};
use crate::services::App;
use crate::services::clients::{self, ClientUpdate, ClientView, NewClient};

const PAGE_SIZE: u64 = 100;

/// One line of the list.
struct Line {
    client: ClientView,
    created: String,
    last_token: Option<String>,
}

#[derive(Template)]
#[template(path = "console/clients.html")]
struct ListPage {
    frame: Frame,
    lines: Vec<Line>,
    pager: Pager,
}

/// What the create form holds (again, after a problem).
#[derive(Default)]
struct Draft {
    name: String,
    description: String,
    redirect_uris: String,
    support_email: String,
    support_uri: String,
    owner: String,
    public: bool,
}

#[derive(Template)]
#[template(path = "console/client_new.html")]
struct NewPage {
    frame: Frame,
    draft: Draft,
    roles: Vec<RoleChoice>,
}

#[derive(Template)]
#[template(path = "console/client.html")]
struct ClientPage {
    frame: Frame,
    client: ClientView,
    created: String,
    updated: String,
    /// A new secret, shown in this answer only.
    secret: Option<String>,
    roles: Vec<RoleChoice>,
}

#[derive(Template)]
#[template(path = "console/confirm_delete.html")]
struct ConfirmPage {
    frame: Frame,
    client: ClientView,
}

fn client_page(frame: Frame, client: ClientView) -> ClientPage {
    let held: RoleSet = client.roles.iter().filter_map(|r| Role::parse(r)).collect();
    ClientPage {
        created: when(client.created_at),
        updated: when(client.updated_at),
        roles: role_choices(held),
        secret: None,
        frame,
        client,
    }
}

fn lines_of(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn base(client_id: &str) -> String {
    format!("/admin/clients/{client_id}")
}

#[handler]
pub async fn list(req: &Request, app: Data<&Arc<App>>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    let paging = Pager::paging(req, PAGE_SIZE);
    let found = async {
        let (clients, total) = clients::list(&app, paging).await?;
        let last = clients::last_recorded_tokens(&app).await?;
        Ok::<_, Error>((clients, total, last))
    };
    match found.await {
        Ok((clients, total, last)) => {
            let lines = clients
                .into_iter()
                .map(|client| Line {
                    created: when(client.created_at),
                    last_token: last.get(&client.client_id).map(|at| when(*at)),
                    client,
                })
                .collect();
            render(
                StatusCode::OK,
                &ListPage {
                    frame: Frame::new(&admin, "clients", req),
                    lines,
                    pager: Pager::new(paging, total, "/admin/clients", ""),
                },
            )
        }
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn new_client(req: &Request, app: Data<&Arc<App>>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    render(
        StatusCode::OK,
        &NewPage {
            frame: Frame::new(&admin, "clients", req),
            draft: Draft::default(),
            roles: role_choices(RoleSet::EMPTY),
        },
    )
}

#[handler]
pub async fn create(req: &Request, app: Data<&Arc<App>>, body: Body) -> Response {
    let (admin, fields) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let chosen = checked_roles(&fields);
    let draft = Draft {
        name: field(&fields, "name").unwrap_or_default().trim().to_owned(),
        description: text(&fields, "description").unwrap_or_default(),
        redirect_uris: field(&fields, "redirect_uris")
            .unwrap_or_default()
            .to_owned(),
        support_email: text(&fields, "support_email").unwrap_or_default(),
        support_uri: text(&fields, "support_uri").unwrap_or_default(),
        owner: text(&fields, "owner").unwrap_or_default(),
        public: field(&fields, "client_type") == Some("public"),
    };
    let new = NewClient {
        name: draft.name.clone(),
        description: text(&fields, "description"),
        redirect_uris: lines_of(&draft.redirect_uris),
        support_email: text(&fields, "support_email"),
        support_uri: text(&fields, "support_uri"),
        owner: text(&fields, "owner"),
        roles: chosen,
        public: draft.public,
    };
    match clients::create(&app, &admin.actor(), new).await {
        Ok(created) => {
            let mut page = client_page(Frame::new(&admin, "clients", req), created.client);
            page.frame.notice = Some("The client is created.".into());
            page.secret = created.secret;
            render(StatusCode::CREATED, &page)
        }
        Err(err @ (Error::Invalid { .. } | Error::Conflict(_))) => render_problem(
            &err,
            &NewPage {
                frame: Frame::new(&admin, "clients", req).with_problem(err.to_string()),
                draft,
                roles: role_choices(chosen),
            },
        ),
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn show(req: &Request, app: Data<&Arc<App>>, client_id: Path<String>) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    match clients::show(&app, &client_id).await {
        Ok(client) => render(
            StatusCode::OK,
            &client_page(Frame::new(&admin, "clients", req), client),
        ),
        Err(err) => html::error_page(&err),
    }
}

/// The client's page again with a problem, or the error's own page.
async fn again(app: &App, admin: &Admin, req: &Request, client_id: &str, err: Error) -> Response {
    if !matches!(err, Error::Invalid { .. } | Error::Conflict(_)) {
        return html::error_page(&err);
    }
    match clients::show(app, client_id).await {
        Ok(client) => render_problem(
            &err,
            &client_page(
                Frame::new(admin, "clients", req).with_problem(err.to_string()),
                client,
            ),
        ),
        Err(other) => html::error_page(&other),
    }
}

#[handler]
pub async fn update(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    let (admin, fields) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    // An emptied optional field stays as it was: the use case can set these, not clear them.
    let change = ClientUpdate {
        name: Some(field(&fields, "name").unwrap_or_default().to_owned()),
        description: text(&fields, "description"),
        redirect_uris: Some(lines_of(
            field(&fields, "redirect_uris").unwrap_or_default(),
        )),
        support_email: text(&fields, "support_email"),
        support_uri: text(&fields, "support_uri"),
        owner: text(&fields, "owner"),
    };
    match clients::update(&app, &admin.actor(), &client_id, change).await {
        Ok(_) => done(&base(&client_id), "client-updated"),
        Err(err) => again(&app, &admin, req, &client_id, err).await,
    }
}

#[handler]
pub async fn set_roles(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    let (admin, fields) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let wanted = checked_roles(&fields);
    let changed = async {
        let client = clients::show(&app, &client_id).await?;
        let held: RoleSet = client.roles.iter().filter_map(|r| Role::parse(r)).collect();
        let grant: RoleSet = wanted.iter().filter(|r| !held.contains(*r)).collect();
        let revoke: RoleSet = held.iter().filter(|r| !wanted.contains(*r)).collect();
        if !grant.is_empty() {
            clients::change_roles(&app, &admin.actor(), &client_id, grant, true).await?;
        }
        if !revoke.is_empty() {
            clients::change_roles(&app, &admin.actor(), &client_id, revoke, false).await?;
        }
        Ok::<_, Error>(())
    };
    match changed.await {
        Ok(()) => done(&base(&client_id), "client-roles"),
        Err(err) => again(&app, &admin, req, &client_id, err).await,
    }
}

async fn set_enabled(
    req: &Request,
    app: &App,
    client_id: &str,
    body: Body,
    enabled: bool,
) -> Response {
    let (admin, _) = match admin_form(app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match clients::set_enabled(app, &admin.actor(), client_id, enabled).await {
        Ok(_) if enabled => done(&base(client_id), "client-enabled"),
        Ok(_) => done(&base(client_id), "client-disabled"),
        Err(err) => again(app, &admin, req, client_id, err).await,
    }
}

#[handler]
pub async fn enable(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    set_enabled(req, &app, &client_id, body, true).await
}

#[handler]
pub async fn disable(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    set_enabled(req, &app, &client_id, body, false).await
}

#[handler]
pub async fn rotate(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    let (admin, fields) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let revoke_tokens = text(&fields, "revoke_tokens").is_some();
    match clients::rotate_secret(&app, &admin.actor(), &client_id, revoke_tokens).await {
        Ok(rotated) => {
            let mut page = client_page(Frame::new(&admin, "clients", req), rotated.client);
            page.frame.notice = Some(if revoke_tokens {
                "A new secret replaces the old one; the old secret and every token issued \
                 until now stopped working."
                    .into()
            } else {
                "A new secret replaces the old one, which stopped working.".into()
            });
            page.secret = rotated.secret;
            render(StatusCode::OK, &page)
        }
        Err(err) => again(&app, &admin, req, &client_id, err).await,
    }
}

#[handler]
pub async fn confirm_delete(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
) -> Response {
    let admin = match admin(&app, req).await {
        Ok(admin) => admin,
        Err(answer) => return answer,
    };
    match clients::show(&app, &client_id).await {
        Ok(client) => render(
            StatusCode::OK,
            &ConfirmPage {
                frame: Frame::new(&admin, "clients", req),
                client,
            },
        ),
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn delete(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    let (admin, _) = match admin_form(&app, req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match clients::delete(&app, &admin.actor(), &client_id).await {
        Ok(()) => done("/admin/clients", "client-deleted"),
        Err(err) => html::error_page(&err),
    }
}
