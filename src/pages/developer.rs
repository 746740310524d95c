//! The developer portal: a signed-in person registers apps (which wait for an admin's
//! approval), sees their status and client id, the secret exactly once, edits redirect URLs
//! and rotates the secret.

use std::sync::Arc;

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};

use super::{
    Nav, csrf_matches, field, form_fields, render, render_problem, see_other, signed_in, to_login,
};
use crate::Error;
use crate::answers::html;
use crate::roles::Role;
use crate::scope::Scope;
use crate::services::App;
use crate::services::apps::{self, AppView, MAX_WORDS, MIN_WORDS, NewApp};
use crate::services::sessions::Person;

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage {
    nav: Nav,
    apps: Vec<AppView>,
}

struct ScopeChoice {
    name: &'static str,
    description: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "app_new.html")]
struct NewAppPage {
    nav: Nav,
    problem: Option<String>,
    name: String,
    redirect_uris: String,
    description: String,
    public: bool,
    agreed: bool,
    scopes: Vec<ScopeChoice>,
    min_words: usize,
    max_words: usize,
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    nav: Nav,
    app: AppView,
    secret: Option<String>,
    notice: Option<String>,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "terms.html")]
struct TermsPage;

/// The signed-in person, or the answer that sends them to sign in.
async fn person(app: &App, req: &Request) -> Result<(Person, String), Response> {
    match signed_in(app, req).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(to_login(req)),
        Err(err) => Err(html::error_page(&err)),
    }
}

/// The form of a POST, once its CSRF token is checked.
async fn form(body: Body, session: &str) -> Result<Vec<(String, String)>, Response> {
    let bytes = body
        .into_bytes_limit(64 * 1024)
        .await
        .map_err(|_| html::error_page(&Error::TooLarge))?;
    let fields = form_fields(&bytes);
    if !csrf_matches(session, field(&fields, "csrf")) {
        return Err(html::error_page(&Error::Forbidden(
            "The form is stale or came from another site. Open the page again.".into(),
        )));
    }
    Ok(fields)
}

/// Redirect URLs as typed: one per line or separated by spaces.
fn uris(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

#[handler]
pub async fn home() -> Response {
    see_other("/developer/apps")
}

#[handler]
pub async fn terms() -> Response {
    render(StatusCode::OK, &TermsPage)
}

#[handler]
pub async fn list(req: &Request, app: Data<&Arc<App>>) -> Response {
    let (person, session) = match person(&app, req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match apps::list_own(&app, &person).await {
        Ok(apps) => render(
            StatusCode::OK,
            &AppsPage {
                nav: Nav::of(&person, &session),
                apps,
            },
        ),
        Err(err) => html::error_page(&err),
    }
}

fn scope_choices(checked: &[String]) -> Vec<ScopeChoice> {
    Role::ALL
        .into_iter()
        .map(|role| ScopeChoice {
            name: role.scope(),
            description: role.description(),
            checked: checked.iter().any(|c| c == role.scope()),
        })
        .collect()
}

#[handler]
pub async fn new_app(req: &Request, app: Data<&Arc<App>>) -> Response {
    let (person, session) = match person(&app, req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    render(
        StatusCode::OK,
        &NewAppPage {
            nav: Nav::of(&person, &session),
            problem: None,
            name: String::new(),
            redirect_uris: String::new(),
            description: String::new(),
            public: false,
            agreed: false,
            scopes: scope_choices(&[]),
            min_words: MIN_WORDS,
            max_words: MAX_WORDS,
        },
    )
}

#[handler]
pub async fn register(req: &Request, app: Data<&Arc<App>>, body: Body) -> Response {
    let (person, session) = match person(&app, req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let fields = match form(body, &session).await {
        Ok(fields) => fields,
        Err(answer) => return answer,
    };
    let checked: Vec<String> = fields
        .iter()
        .filter(|(name, _)| name == "scope")
        .map(|(_, value)| value.clone())
        .collect();
    let mut scopes = crate::roles::RoleSet::EMPTY;
    for name in &checked {
        if let Some(Scope::Role(role)) = Scope::parse(name) {
            scopes.insert(role);
        }
    }
    let new = NewApp {
        name: field(&fields, "name").unwrap_or_default().trim().to_owned(),
        redirect_uris: uris(field(&fields, "redirect_uris").unwrap_or_default()),
        description: field(&fields, "description").unwrap_or_default().to_owned(),
        scopes,
        public: field(&fields, "client_type") == Some("public"),
        agreed_to_terms: field(&fields, "terms") == Some("yes"),
    };
    let page_again = |problem: String| NewAppPage {
        nav: Nav::of(&person, &session),
        problem: Some(problem),
        name: new.name.clone(),
        redirect_uris: new.redirect_uris.join("\n"),
        description: new.description.clone(),
        public: new.public,
        agreed: new.agreed_to_terms,
        scopes: scope_choices(&checked),
        min_words: MIN_WORDS,
        max_words: MAX_WORDS,
    };
    match apps::register(&app, &person, new.clone()).await {
        Ok((view, secret)) => render(
            StatusCode::CREATED,
            &AppPage {
                nav: Nav::of(&person, &session),
                app: view,
                secret,
                notice: Some(
                    "Your app is registered. An administrator will approve or reject it.".into(),
                ),
                problem: None,
            },
        ),
        Err(err @ Error::Invalid { .. }) => render_problem(&err, &page_again(err.to_string())),
        Err(err) => html::error_page(&err),
    }
}

fn app_page(person: &Person, session: &str, app: AppView) -> AppPage {
    AppPage {
        nav: Nav::of(person, session),
        app,
        secret: None,
        notice: None,
        problem: None,
    }
}

#[handler]
pub async fn show(req: &Request, app: Data<&Arc<App>>, client_id: Path<String>) -> Response {
    let (person, session) = match person(&app, req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match apps::show_own(&app, &person, &client_id).await {
        Ok(view) => render(StatusCode::OK, &app_page(&person, &session, view)),
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn redirect_uris(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    let (person, session) = match person(&app, req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let fields = match form(body, &session).await {
        Ok(fields) => fields,
        Err(answer) => return answer,
    };
    let given = uris(field(&fields, "redirect_uris").unwrap_or_default());
    match apps::set_redirect_uris(&app, &person, &client_id, given).await {
        Ok(view) => {
            let mut page = app_page(&person, &session, view);
            page.notice = Some("The redirect URLs are saved.".into());
            render(StatusCode::OK, &page)
        }
        Err(err @ Error::Invalid { .. }) => match apps::show_own(&app, &person, &client_id).await {
            Ok(view) => {
                let mut page = app_page(&person, &session, view);
                page.problem = Some(err.to_string());
                render_problem(&err, &page)
            }
            Err(other) => html::error_page(&other),
        },
        Err(err) => html::error_page(&err),
    }
}

#[handler]
pub async fn rotate_secret(
    req: &Request,
    app: Data<&Arc<App>>,
    client_id: Path<String>,
    body: Body,
) -> Response {
    let (person, session) = match person(&app, req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if let Err(answer) = form(body, &session).await {
        return answer;
    }
    match apps::rotate_secret(&app, &person, &client_id).await {
        Ok((view, secret)) => {
            let mut page = app_page(&person, &session, view);
            page.secret = Some(secret);
            page.notice = Some("A new secret replaces the old one.".into());
            render(StatusCode::OK, &page)
        }
        Err(err) => html::error_page(&err),
    }
}
