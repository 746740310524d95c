//! Flow requests (docs/contract.md §8): a client asks to run a diagram's process for a person;
//! the person confirms in a browser, the process is created and started on their behalf, and
//! the browser goes back to the client. Deleting goes the same way. Confirmation ids are 256
//! random bits, stored as hashes, single use, valid 15 minutes. A client sees and deletes only
//! its own requests.

use serde::Serialize;
use url::Url;

use super::App;
use super::audit;
use super::paging::Paging;
use super::processes::{self, NewInstance, ProcessAction};
use super::sessions::Person;
use crate::caller::{Actor, Caller};
use crate::oauth::secret;
use crate::store::flow_requests::FlowRequestRow;
use crate::{Error, Result, now, store};

/// How long a confirmation link works.
pub const CONFIRM_TTL: i64 = 15 * 60;

/// What a client asks for.
#[derive(Clone, Debug, Default)]
pub struct NewFlowRequest {
    pub dgrm_id: i64,
    pub name: Option<String>,
    pub business_ref: Option<String>,
    /// The username of the person who should confirm, if the client knows it.
    pub person: Option<String>,
}

/// A flow request as its client sees it.
#[derive(Clone, Debug, Serialize)]
pub struct FlowRequestView {
    pub process_id: String,
    /// `pending`, `active` or `deleting`.
    pub status: String,
    pub client_id: String,
    pub person: Option<String>,
    pub dgrm_id: i64,
    pub prcs_id: Option<i64>,
    pub name: Option<String>,
    pub business_ref: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<FlowRequestRow> for FlowRequestView {
    fn from(row: FlowRequestRow) -> Self {
        FlowRequestView {
            person: row.confirmed_by.or(row.person),
            process_id: row.process_id,
            status: row.status,
            client_id: row.client_id,
            dgrm_id: row.dgrm_id,
            prcs_id: row.prcs_id,
            name: row.name,
            business_ref: row.business_ref,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// What the person must confirm.
#[derive(Clone, Debug)]
pub struct Confirmation {
    pub request: FlowRequestView,
    pub action: Action,
    pub client_name: String,
    pub diagram_name: String,
    pub diagram_version: String,
    pub callback_url: Url,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Add,
    Delete,
}

impl Action {
    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "add" => Some(Action::Add),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Delete => "delete",
        }
    }
}

fn not_found() -> Error {
    Error::not_found("Item not found")
}

/// A new confirmation: the id for the client, the hash and expiry for the row.
fn new_confirmation(row: &mut FlowRequestRow, action: Action, at: i64) -> String {
    let confirm_id = secret::random_token();
    row.confirm_hash = Some(secret::hash(&confirm_id));
    row.confirm_action = Some(action.as_str().to_owned());
    row.confirm_expires_at = Some(at + CONFIRM_TTL);
    row.confirm_used_at = None;
    confirm_id
}

/// Creates a pending request for a released diagram; returns it and its confirmation id.
pub async fn create(
    app: &App,
    caller: &Caller,
    new: NewFlowRequest,
) -> Result<(FlowRequestView, String)> {
    if let Some(person) = &new.person
        && store::users::find(&app.db, person).await?.is_none()
    {
        return Err(Error::attribute(
            "person",
            format!("no person named {person}"),
        ));
    }
    let at = now();
    let txn = store::begin_write(&app.db).await?;
    let diagram = store::diagrams::find(&txn, new.dgrm_id)
        .await?
        .ok_or_else(not_found)?;
    if diagram.status != "released" {
        return Err(Error::conflict(format!(
            "Diagram {} is not released",
            new.dgrm_id
        )));
    }
    let mut row = FlowRequestRow {
        id: 0,
        process_id: uuid::Uuid::new_v4().to_string(),
        client_id: caller.client_id().to_owned(),
        dgrm_id: new.dgrm_id,
        name: new.name,
        business_ref: new.business_ref,
        person: new.person,
        status: "pending".into(),
        prcs_id: None,
        confirmed_by: None,
        confirm_hash: None,
        confirm_action: None,
        confirm_expires_at: None,
        confirm_used_at: None,
        created_at: at,
        updated_at: at,
    };
    let confirm_id = new_confirmation(&mut row, Action::Add, at);
    let row = store::flow_requests::insert(&txn, row).await?;
    let target = row.process_id.clone();
    audit::record(
        &txn,
        &caller.actor(),
        "flow_request.create",
        Some(&target),
        None,
        true,
    )
    .await?;
    txn.commit().await?;
    Ok((row.into(), confirm_id))
}

/// One of the caller's requests; another client's is not found.
pub async fn show(app: &App, caller: &Caller, process_id: &str) -> Result<FlowRequestView> {
    store::flow_requests::find(&app.db, process_id)
        .await?
        .filter(|row| row.client_id == caller.client_id())
        .map(FlowRequestView::from)
        .ok_or_else(not_found)
}

/// The caller's requests, oldest first: a page and the total.
pub async fn list(
    app: &App,
    caller: &Caller,
    paging: Paging,
) -> Result<(Vec<FlowRequestView>, u64)> {
    let (rows, total) = store::flow_requests::page_for_client(
        &app.db,
        caller.client_id(),
        paging.limit,
        paging.offset,
    )
    .await?;
    Ok((rows.into_iter().map(FlowRequestView::from).collect(), total))
}

/// Asks for an active request to be deleted; the person confirms with the id returned.
pub async fn request_delete(
    app: &App,
    caller: &Caller,
    process_id: &str,
) -> Result<(FlowRequestView, String)> {
    let at = now();
    let txn = store::begin_write(&app.db).await?;
    let mut row = store::flow_requests::find(&txn, process_id)
        .await?
        .filter(|row| row.client_id == caller.client_id())
        .ok_or_else(not_found)?;
    if row.status == "pending" {
        return Err(Error::conflict(
            "The flow request is not confirmed yet; there is nothing to delete",
        ));
    }
    row.status = "deleting".into();
    row.updated_at = at;
    let confirm_id = new_confirmation(&mut row, Action::Delete, at);
    let row = store::flow_requests::save(&txn, row).await?;
    audit::record(
        &txn,
        &caller.actor(),
        "flow_request.delete_asked",
        Some(process_id),
        None,
        true,
    )
    .await?;
    txn.commit().await?;
    Ok((row.into(), confirm_id))
}

/// Judges a confirmation link: the id must be live and for this action, and the callback one
/// of the client's registered redirect URIs. Every refusal is for a page, never a redirect.
pub async fn confirmation(
    app: &App,
    confirm_id: &str,
    action: &str,
    callback_url: &str,
) -> Result<Confirmation> {
    let action = Action::parse(action)
        .ok_or_else(|| Error::attribute("action", "The link's action must be add or delete."))?;
    let row = store::flow_requests::find_by_confirmation(&app.db, &secret::hash(confirm_id))
        .await?
        .ok_or_else(|| Error::not_found("This confirmation link is unknown."))?;
    if row.confirm_used_at.is_some() {
        return Err(Error::conflict("This confirmation link was used already."));
    }
    if row.confirm_expires_at.is_none_or(|at| at <= now()) {
        return Err(Error::conflict(
            "This confirmation link has expired (links work for 15 minutes). Ask the app for a new one.",
        ));
    }
    if row.confirm_action.as_deref() != Some(action.as_str()) {
        return Err(Error::attribute(
            "action",
            "This confirmation link is for another action.",
        ));
    }
    let client = store::clients::find(&app.db, &row.client_id)
        .await?
        .filter(|c| c.enabled)
        .ok_or_else(|| Error::not_found("The app that asked for this no longer exists."))?;
    if !client.redirect_uris.iter().any(|uri| uri == callback_url) {
        return Err(Error::attribute(
            "callback_url",
            "The callback URL is not registered for this app, so you are not sent back to it.",
        ));
    }
    let callback_url = Url::parse(callback_url)
        .map_err(|_| Error::attribute("callback_url", "The callback URL is not a URL."))?;
    let diagram = store::diagrams::find(&app.db, row.dgrm_id)
        .await?
        .ok_or_else(|| Error::not_found("The diagram of this request no longer exists."))?;
    Ok(Confirmation {
        request: row.into(),
        action,
        client_name: client.name,
        diagram_name: diagram.name,
        diagram_version: diagram.version,
        callback_url,
    })
}

/// The callback URL with `process_id` and `status`.
fn callback(confirmation: &Confirmation, status: &str) -> Url {
    let mut target = confirmation.callback_url.clone();
    target
        .query_pairs_mut()
        .append_pair("process_id", &confirmation.request.process_id)
        .append_pair("status", status);
    target
}

/// The person's answer; returns where the browser goes next.
pub async fn answer(
    app: &App,
    person: &Person,
    confirm_id: &str,
    action: &str,
    callback_url: &str,
    confirm: bool,
) -> Result<Url> {
    let confirmation = confirmation(app, confirm_id, action, callback_url).await?;
    if let Some(expected) = &confirmation.request.person
        && confirmation.request.status == "pending"
        && !expected.eq_ignore_ascii_case(&person.username)
    {
        return Err(Error::Forbidden(format!(
            "This request is for {expected}; sign in as them to confirm it."
        )));
    }
    let hash = secret::hash(confirm_id);
    let txn = store::begin_write(&app.db).await?;
    if !store::flow_requests::use_confirmation(&txn, &hash, now()).await? {
        return Err(Error::conflict("This confirmation link was used already."));
    }
    txn.commit().await?;
    let outcome = carry_out(app, person, &confirmation, confirm).await;
    if outcome.is_err() {
        // Nothing was done: the person may try again.
        store::flow_requests::release_confirmation(&app.db, &hash).await?;
    }
    outcome
}

async fn carry_out(
    app: &App,
    person: &Person,
    confirmation: &Confirmation,
    confirm: bool,
) -> Result<Url> {
    let process_id = &confirmation.request.process_id;
    let actor = Actor::person(&person.username);
    let mut row = store::flow_requests::find(&app.db, process_id)
        .await?
        .ok_or_else(not_found)?;
    let status = match (confirmation.action, confirm) {
        (Action::Add, true) => {
            let new = NewInstance {
                name: row.name.clone(),
                version: None,
                business_ref: row.business_ref.clone(),
            };
            let created = processes::create(app, row.dgrm_id, new, &person.username).await?;
            processes::act(app, created.prcs_id, ProcessAction::Start).await?;
            row.prcs_id = Some(created.prcs_id);
            row.status = "active".into();
            row.confirmed_by = Some(person.username.clone());
            row.updated_at = now();
            store::flow_requests::save(&app.db, row).await?;
            "active"
        }
        (Action::Add, false) => {
            store::flow_requests::delete(&app.db, process_id).await?;
            "denied"
        }
        (Action::Delete, true) => {
            if let Some(prcs_id) = row.prcs_id {
                // A process that already ended needs no terminating.
                match processes::act(app, prcs_id, ProcessAction::Terminate).await {
                    Ok(_) | Err(Error::Conflict(_)) | Err(Error::NotFound(_)) => {}
                    Err(other) => return Err(other),
                }
            }
            store::flow_requests::delete(&app.db, process_id).await?;
            "deleted"
        }
        (Action::Delete, false) => {
            row.status = "active".into();
            row.updated_at = now();
            store::flow_requests::save(&app.db, row).await?;
            "active"
        }
    };
    let action = match (confirmation.action, confirm) {
        (Action::Add, true) => "flow_request.confirm",
        (Action::Add, false) => "flow_request.decline",
        (Action::Delete, true) => "flow_request.delete",
        (Action::Delete, false) => "flow_request.keep",
    };
    let txn = store::begin_write(&app.db).await?;
    audit::record(&txn, &actor, action, Some(process_id), None, true).await?;
    txn.commit().await?;
    Ok(callback(confirmation, status))
}
