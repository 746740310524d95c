//! The in-memory view of what authorized requests need, as the database said it at one
//! change-counter version: clients, signing keys and the policy decisions, and the revoked
//! tokens (which change apart from the rest, [`Revocations`], and carry over from view to view).
//! It is swapped atomically, so requests never touch the database.

use std::sync::Arc;

use hashbrown::HashMap;
use sea_orm::DatabaseConnection;

use super::revocations::Revocations;
use crate::authz::{Decisions, RouteTable, Rule};
use crate::caller::{Subject, Verified};
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::grants::Directory;
use crate::oauth::keys::{KeyRing, StoredKey};
use crate::oauth::sealing::Kek;
use crate::roles::RoleSet;
use crate::{Result, now, store};

/// What the gate and introspection need of a person.
#[derive(Clone, Debug)]
pub struct PersonAuth {
    pub username: String,
    pub enabled: bool,
    pub roles: RoleSet,
}

/// Who stands behind a verified token now.
pub struct Standing<'a> {
    pub client: &'a ClientAuth,
    /// For a token that acts for a person.
    pub person: Option<&'a PersonAuth>,
}

pub struct View {
    pub version: i64,
    pub clients: HashMap<String, ClientAuth>,
    /// People by their stable id (the `sub` of delegated tokens).
    pub people: HashMap<String, PersonAuth>,
    pub keys: KeyRing,
    /// Revoked access tokens: the same set in every view of this instance, kept up to date by
    /// the revocation counter rather than by reloading.
    pub revoked: Arc<Revocations>,
    pub rules: Vec<Rule>,
    pub decisions: Decisions,
}

impl Directory for View {
    fn client(&self, client_id: &str) -> Option<&ClientAuth> {
        self.clients.get(client_id)
    }

    fn keys(&self) -> &KeyRing {
        &self.keys
    }
}

impl View {
    /// Whether a verified token still counts, as the gate and introspection both ask: not
    /// revoked, its client enabled and not cut off since the token was issued, its person (if
    /// any) enabled. Otherwise why not.
    pub fn standing(&self, token: &Verified) -> Result<Standing<'_>, &'static str> {
        if self.revoked.contains(&token.jti) {
            return Err("The access token was revoked");
        }
        let client = self
            .clients
            .get(&token.client_id)
            .filter(|c| c.enabled)
            .ok_or("The client of this token is disabled or gone")?;
        if client.cut_off(token.iat) {
            return Err("The access token was revoked");
        }
        let person = match &token.subject {
            Subject::Client => None,
            Subject::Person { sub } => Some(
                self.people
                    .get(sub)
                    .filter(|p| p.enabled)
                    .ok_or("The person of this token is disabled or gone")?,
            ),
        };
        Ok(Standing { client, person })
    }

    /// A view of nothing, signed by a throwaway key (a server without a database).
    pub fn empty() -> View {
        let key = StoredKey::generate(0);
        View {
            version: 0,
            clients: HashMap::new(),
            people: HashMap::new(),
            keys: KeyRing::single(&key),
            revoked: Arc::new(Revocations::default()),
            rules: Vec::new(),
            decisions: Decisions::default(),
        }
    }
}

/// Reads everything the view holds. The version is read first, so a change racing with the
/// load is seen again at the next look.
pub(super) async fn load(
    db: &DatabaseConnection,
    kek: &Kek,
    routes: &RouteTable,
    previous: Option<&View>,
    revoked: Arc<Revocations>,
) -> Result<View> {
    let at = now();
    let version = store::change_version(db).await?;
    let clients = store::clients::all_auth(db).await?;
    let people = store::users::all(db).await?;
    let keys = KeyRing::new(&super::keys::open(
        kek,
        store::keys::published(db, at).await?,
    )?)?;
    let rules = store::policy::list(db).await?;
    // Deciding runs casbin a few hundred times: skip it when the rules did not change.
    let decisions = match previous {
        Some(view) if view.rules == rules => view.decisions.clone(),
        _ => Decisions::decide(routes, &rules).await?,
    };
    Ok(View {
        version,
        clients: clients
            .into_iter()
            .map(|c| (c.client_id.clone(), c))
            .collect(),
        people: people
            .into_iter()
            .map(|p| {
                let auth = PersonAuth {
                    username: p.username,
                    enabled: p.enabled,
                    roles: p.roles,
                };
                (p.user_id, auth)
            })
            .collect(),
        keys,
        revoked,
        rules,
        decisions,
    })
}
