//! Who is calling: the subject of a verified token, and the actor an audit row names. Shared by
//! the gate (which makes a [`Caller`]), the HTTP handlers and the services (which audit).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::roles::RoleSet;
use crate::scope::ScopeSet;

/// Whom a token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The client itself (`client_credentials`).
    Client,
    /// A person, through the client (authorization code and refresh tokens). `sub` is the
    /// person's stable id.
    Person { sub: String },
}

/// What a verified token says (`crate::oauth::verified` checks and remembers them).
#[derive(Clone, Debug)]
pub struct Verified {
    /// The key that signed it: once no longer published, the token is refused, cached or not.
    pub kid: String,
    pub client_id: String,
    pub subject: Subject,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub scopes: ScopeSet,
    pub roles: RoleSet,
    /// The roles the gate last found in force for it, and when.
    pub standing: StandingMemo,
}

impl Verified {
    /// The token's `sub`: the person's stable id, or the client's id.
    pub fn sub(&self) -> &str {
        match &self.subject {
            Subject::Client => &self.client_id,
            Subject::Person { sub } => sub,
        }
    }
}

/// The roles in force for a token as the gate worked them out at one epoch of what they depend
/// on (the epoch moves on with every change to the view or the revocations; see
/// `services::App::standing_epoch`), so that the gate works them out again only once it moves.
/// The epoch and the roles are one word, read and written whole. A copy starts empty: each
/// thread's copy of a verified token has its own, written by that thread alone.
#[derive(Default)]
pub struct StandingMemo(AtomicU64);

impl StandingMemo {
    /// The roles found at `epoch` (epochs start at 1), if these were.
    pub fn get(&self, epoch: u64) -> Option<RoleSet> {
        let held = self.0.load(Ordering::Relaxed);
        (held != 0 && held >> 8 == epoch).then(|| RoleSet::from_bits(held as u8))
    }

    pub fn set(&self, epoch: u64, roles: RoleSet) {
        self.0
            .store(epoch << 8 | u64::from(roles.bits()), Ordering::Relaxed);
    }
}

impl Clone for StandingMemo {
    fn clone(&self) -> Self {
        StandingMemo::default()
    }
}

impl fmt::Debug for StandingMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StandingMemo")
    }
}

/// The caller of a gated request, after the gate checked its token.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token as verified, shared with the thread's copy in the cache of verified tokens.
    token: Arc<Verified>,
    /// Roles in force: those the token carries that the client (and the person) still hold.
    pub roles: RoleSet,
}

impl Caller {
    pub fn new(token: Arc<Verified>, roles: RoleSet) -> Caller {
        Caller { token, roles }
    }

    pub fn client_id(&self) -> &str {
        &self.token.client_id
    }

    /// Expiry of the token (Unix seconds).
    pub fn exp(&self) -> i64 {
        self.token.exp
    }

    /// What the token was issued for.
    pub fn scopes(&self) -> ScopeSet {
        self.token.scopes
    }

    /// The `sub` claim: the person for delegated tokens, the client otherwise.
    pub fn sub(&self) -> &str {
        self.token.sub()
    }

    pub fn person(&self) -> Option<&str> {
        match &self.token.subject {
            Subject::Client => None,
            Subject::Person { sub } => Some(sub),
        }
    }

    /// Answers `answering` with `self` as its caller, for [`Caller::current`] to find.
    pub fn scope<F: Future>(self, answering: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, answering)
    }

    /// The caller of the request being answered, if the gate admitted one.
    pub fn current() -> Option<Caller> {
        CURRENT.try_with(Caller::clone).ok()
    }

    /// The actor that audit rows name for this caller.
    pub fn actor(&self) -> Actor {
        match &self.token.subject {
            Subject::Client => Actor::client(self.client_id()),
            Subject::Person { sub } => Actor(format!("user:{sub} via client:{}", self.client_id())),
        }
    }
}

tokio::task_local! {
    /// The caller of the request being answered: set by the HTTP front around the handler's
    /// future once the gate admitted it, read by the handlers' extractor. As an entry in the
    /// request's extensions it cost every gated request three allocations and a rehash.
    static CURRENT: Caller;
}

/// Who acts, as the audit log names them: a client (through the API), a person, an operator
/// (through the CLI) or the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    pub fn client(client_id: &str) -> Actor {
        Actor(format!("client:{client_id}"))
    }

    pub fn person(username: &str) -> Actor {
        Actor(format!("user:{username}"))
    }

    /// The operator at the command line.
    pub fn cli() -> Actor {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor(format!("cli:{user}"))
    }

    pub fn system() -> Actor {
        Actor("system".into())
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A peer address as logs show it (`127.0.0.1:53211`, not poem's `socket://…`).
pub fn peer(addr: &poem::web::RemoteAddr) -> String {
    match addr.as_socket_addr() {
        Some(socket) => socket.to_string(),
        None => addr.to_string(),
    }
}

/// A peer's IP address without the port, as audit rows name it (`127.0.0.1`): every
/// connection of one address is the same actor.
pub fn peer_ip(addr: &poem::web::RemoteAddr) -> String {
    match addr.as_socket_addr() {
        Some(socket) => socket.ip().to_string(),
        None => addr.to_string(),
    }
}

/// The actor of an unauthenticated request: `remote:<ip>`.
pub fn remote_actor(addr: &poem::web::RemoteAddr) -> Actor {
    Actor(format!("remote:{}", peer_ip(addr)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::Role;

    fn caller(subject: Subject) -> Caller {
        let token = Verified {
            kid: "k1".into(),
            client_id: "app-7".into(),
            subject,
            jti: "j1".into(),
            iat: 1_000,
            exp: 4_600,
            scopes: ScopeSet::parse("read messages").expect("scopes"),
            roles: RoleSet::all(),
            standing: Default::default(),
        };
        Caller::new(Arc::new(token), [Role::Read].into_iter().collect())
    }

    #[test]
    fn a_client_token_speaks_for_its_client() {
        let caller = caller(Subject::Client);
        assert_eq!(caller.client_id(), "app-7");
        assert_eq!(caller.sub(), "app-7");
        assert_eq!(caller.person(), None);
        assert_eq!(caller.exp(), 4_600);
        assert_eq!(caller.scopes().to_string(), "read messages");
        assert_eq!(caller.actor(), Actor("client:app-7".into()));
    }

    #[test]
    fn a_delegated_token_speaks_for_its_person_through_the_client() {
        let caller = caller(Subject::Person { sub: "u-42".into() });
        assert_eq!(caller.client_id(), "app-7");
        assert_eq!(caller.sub(), "u-42");
        assert_eq!(caller.person(), Some("u-42"));
        assert_eq!(caller.actor().to_string(), "user:u-42 via client:app-7");
    }

    #[test]
    fn actors_and_peers_are_named_as_the_audit_log_shows_them() {
        assert_eq!(Actor::person("ada").0, "user:ada");
        assert_eq!(Actor::system().to_string(), "system");
        assert!(Actor::cli().0.starts_with("cli:"));
        let addr = poem::web::RemoteAddr(poem::Addr::SocketAddr(
            "10.1.2.3:5555".parse().expect("address"),
        ));
        assert_eq!(peer(&addr), "10.1.2.3:5555");
        assert_eq!(peer_ip(&addr), "10.1.2.3");
        assert_eq!(remote_actor(&addr).0, "remote:10.1.2.3");
        let custom = poem::web::RemoteAddr(poem::Addr::Custom("unix", "/run/x".into()));
        assert_eq!(peer(&custom), "unix:///run/x");
        assert_eq!(peer_ip(&custom), "unix:///run/x");
    }
}
