//! Developer apps: a person registers an app (it waits as `pending`), an admin approves or
//! rejects it, and its owner sees it, edits its redirect URIs and rotates its secret. An app is
//! a client that acts only for people; until approved it gets no token and no consent page.

use serde::Serialize;

use super::App;
use super::audit::commit_change;
use super::clients::{NewClient, check_redirect_uris, check_text, new_row};
use super::paging::Paging;
use super::sessions::Person;
use crate::caller::Actor;
use crate::oauth::secret;
use crate::roles::RoleSet;
use crate::store::clients::{ClientFilter, ClientRow};
use crate::{Error, Result, now, store};

pub const STATUSES: &[&str] = &["pending", "approved", "rejected"];
pub const MIN_WORDS: usize = 127;
pub const MAX_WORDS: usize = 511;

/// What a developer gives to register an app.
#[derive(Clone, Debug, Default)]
pub struct NewApp {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub description: String,
    pub scopes: RoleSet,
    pub public: bool,
    pub agreed_to_terms: bool,
}

/// An app as its owner and admins see it.
#[derive(Clone, Debug, Serialize)]
pub struct AppView {
    pub client_id: String,
    pub name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub confidential: bool,
    pub enabled: bool,
    /// The scopes it may ask people for.
    pub scopes: Vec<String>,
    pub owner: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn view(row: ClientRow, owner: Option<String>) -> AppView {
    AppView {
        confidential: row.secret_hash.is_some(),
        scopes: row.roles.iter().map(|r| r.scope().to_owned()).collect(),
        client_id: row.client_id,
        name: row.name,
        description: row.description,
        redirect_uris: row.redirect_uris,
        status: row.approval,
        enabled: row.enabled,
        owner,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// Words as Omniport's developer portal counts them (lodash's `words`): runs of letters and
/// digits, apostrophes inside a word kept, split further where a lower-case letter meets an
/// upper-case one, where letters meet digits (but `1st`, `2nd`, `42th` stay whole), and before
/// the last capital of a run of capitals followed by lower case (`XMLHttp` → `XML`, `Http`).
pub fn count_words(text: &str) -> usize {
    let mut count = 0;
    for run in text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}')) {
        let run = run.trim_matches(|c| c == '\'' || c == '\u{2019}');
        if run.is_empty() {
            continue;
        }
        let chars: Vec<char> = run.chars().collect();
        count += 1;
        for i in 1..chars.len() {
            let (a, b) = (chars[i - 1], chars[i]);
            let next = chars.get(i + 1).copied();
            let ordinal_suffix = || {
                let rest: String = chars[i..].iter().collect::<String>().to_lowercase();
                matches!(rest.as_str(), "st" | "nd" | "rd" | "th")
            };
            let boundary = (a.is_lowercase() && b.is_uppercase())
                || (a.is_alphabetic() && b.is_numeric())
                || (a.is_numeric() && b.is_alphabetic() && !ordinal_suffix())
                || (a.is_uppercase() && b.is_uppercase() && next.is_some_and(char::is_lowercase));
            if boundary {
                count += 1;
            }
        }
    }
    count
}

impl NewApp {
    fn validate(&self) -> Result<()> {
        check_text("name", &self.name, 200)?;
        if self.redirect_uris.is_empty() {
            return Err(Error::attribute(
                "redirect_uris",
                "give at least one redirect URL",
            ));
        }
        check_redirect_uris(&self.redirect_uris)?;
        let words = count_words(&self.description);
        if !(MIN_WORDS..=MAX_WORDS).contains(&words) {
            return Err(Error::attribute(
                "description",
                format!("describe the app in {MIN_WORDS} to {MAX_WORDS} words ({words} now)"),
            ));
        }
        if self.scopes.is_empty() {
            return Err(Error::attribute("scopes", "choose at least one scope"));
        }
        if !self.agreed_to_terms {
            return Err(Error::attribute(
                "terms",
                "agree to the developer terms to register",
            ));
        }
        Ok(())
    }
}

/// Registers an app for its owner; it is `pending` until an admin approves it. The secret
/// (confidential apps) is in the answer and nowhere else.
pub async fn register(app: &App, owner: &Person, new: NewApp) -> Result<(AppView, Option<String>)> {
    new.validate()?;
    let (mut row, secret) = new_row(NewClient {
        name: new.name,
        description: Some(new.description),
        redirect_uris: new.redirect_uris,
        roles: new.scopes,
        public: new.public,
        owner: Some(owner.username.clone()),
        ..NewClient::default()
    })?;
    row.owner_user_pk = Some(owner.pk);
    row.approval = "pending".into();
    row.terms_accepted_at = Some(now());
    let txn = store::begin_write(&app.db).await?;
    let row = store::clients::insert(&txn, row).await?;
    commit_change(
        txn,
        &Actor::person(&owner.username),
        "app.register",
        &row.client_id,
        None,
    )
    .await?;
    app.changed().await?;
    Ok((view(row, Some(owner.username.clone())), secret))
}

/// The owner's apps, oldest first.
pub async fn list_own(app: &App, owner: &Person) -> Result<Vec<AppView>> {
    let filter = ClientFilter {
        apps_only: true,
        owner_user_pk: Some(owner.pk),
        ..ClientFilter::default()
    };
    let (rows, _) = store::clients::page(&app.db, &filter, Paging::all().limit, 0).await?;
    Ok(rows
        .into_iter()
        .map(|row| view(row, Some(owner.username.clone())))
        .collect())
}

/// One of the owner's apps; another person's is not found.
async fn own(
    db: &impl sea_orm::ConnectionTrait,
    owner: &Person,
    client_id: &str,
) -> Result<ClientRow> {
    store::clients::find(db, client_id)
        .await?
        .filter(|row| row.owner_user_pk == Some(owner.pk))
        .ok_or_else(|| Error::not_found(format!("app {client_id} not found")))
}

pub async fn show_own(app: &App, owner: &Person, client_id: &str) -> Result<AppView> {
    Ok(view(
        own(&app.db, owner, client_id).await?,
        Some(owner.username.clone()),
    ))
}

pub async fn set_redirect_uris(
    app: &App,
    owner: &Person,
    client_id: &str,
    uris: Vec<String>,
) -> Result<AppView> {
    if uris.is_empty() {
        return Err(Error::attribute(
            "redirect_uris",
            "give at least one redirect URL",
        ));
    }
    check_redirect_uris(&uris)?;
    let txn = store::begin_write(&app.db).await?;
    let mut row = own(&txn, owner, client_id).await?;
    row.redirect_uris = uris;
    row.updated_at = now();
    store::clients::save(&txn, &row).await?;
    commit_change(
        txn,
        &Actor::person(&owner.username),
        "app.redirect_uris",
        client_id,
        None,
    )
    .await?;
    app.changed().await?;
    Ok(view(row, Some(owner.username.clone())))
}

/// A new secret for the owner's confidential app, shown once.
pub async fn rotate_secret(
    app: &App,
    owner: &Person,
    client_id: &str,
) -> Result<(AppView, String)> {
    let secret = secret::random_token();
    let txn = store::begin_write(&app.db).await?;
    let mut row = own(&txn, owner, client_id).await?;
    if row.secret_hash.is_none() {
        return Err(Error::invalid("public apps have no secret"));
    }
    row.secret_hash = Some(secret::hash(&secret));
    row.updated_at = now();
    store::clients::save(&txn, &row).await?;
    commit_change(
        txn,
        &Actor::person(&owner.username),
        "app.rotate_secret",
        client_id,
        None,
    )
    .await?;
    app.changed().await?;
    Ok((view(row, Some(owner.username.clone())), secret))
}

fn check_status(status: &str) -> Result<()> {
    if STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(Error::attribute(
            "status",
            format!("unknown status {status:?} ({})", STATUSES.join(", ")),
        ))
    }
}

/// Apps, optionally with one status, for admins: a page and the total.
pub async fn list(app: &App, status: Option<&str>, paging: Paging) -> Result<(Vec<AppView>, u64)> {
    if let Some(status) = status {
        check_status(status)?;
    }
    let filter = ClientFilter {
        apps_only: true,
        approval: status.map(str::to_owned),
        ..ClientFilter::default()
    };
    let (rows, total) = store::clients::page(&app.db, &filter, paging.limit, paging.offset).await?;
    let views = rows
        .into_iter()
        .map(|row| {
            let owner = row.owner.clone();
            view(row, owner)
        })
        .collect();
    Ok((views, total))
}

/// Approves (`approved`) or rejects (`rejected`) an app.
pub async fn decide(app: &App, actor: &Actor, client_id: &str, status: &str) -> Result<AppView> {
    check_status(status)?;
    let txn = store::begin_write(&app.db).await?;
    let mut row = store::clients::find(&txn, client_id)
        .await?
        .filter(|row| row.owner_user_pk.is_some())
        .ok_or_else(|| Error::not_found(format!("app {client_id} not found")))?;
    row.approval = status.to_owned();
    row.updated_at = now();
    store::clients::save(&txn, &row).await?;
    let action = match status {
        "approved" => "app.approve",
        "rejected" => "app.reject",
        _ => "app.pending",
    };
    commit_change(txn, actor, action, client_id, None).await?;
    app.changed().await?;
    let owner = row.owner.clone();
    Ok(view(row, owner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_counted_as_omniport_counts_them() {
        assert_eq!(count_words("Hello, world!"), 2);
        assert_eq!(count_words("  spaces\tand\nnewlines  "), 3);
        assert_eq!(count_words("don't stop"), 2);
        assert_eq!(count_words("camelCase XMLHttpRequest"), 5);
        assert_eq!(count_words("version2 1st 42nd"), 4);
        assert_eq!(count_words("e-mail"), 2);
        assert_eq!(count_words("naïve café"), 2);
        assert_eq!(count_words(""), 0);
        assert_eq!(count_words("--- !!!"), 0);
    }
}
