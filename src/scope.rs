//! OAuth scopes, kept apart from roles: a scope is what a token asks for, a role is what the
//! gate checks. Today every scope names a role (`read` asks for Read); scopes that grant no role
//! (such as `offline_access`) get a variant here without touching the gate.

use std::fmt;

use crate::roles::{Role, RoleSet};

/// One scope a client may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Asks for a role (`read`, `write`, `messages`, `admin`; case-insensitive).
    Role(Role),
}

impl Scope {
    pub fn parse(text: &str) -> Option<Scope> {
        Role::ALL
            .into_iter()
            .find(|role| role.scope().eq_ignore_ascii_case(text))
            .map(Scope::Role)
    }

    pub fn name(self) -> &'static str {
        match self {
            Scope::Role(role) => role.scope(),
        }
    }
}

/// A set of scopes, as a token's `scope` claim carries them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet {
    roles: RoleSet,
}

impl ScopeSet {
    pub const EMPTY: ScopeSet = ScopeSet {
        roles: RoleSet::EMPTY,
    };

    /// The scopes that ask for exactly these roles.
    pub fn of_roles(roles: RoleSet) -> ScopeSet {
        ScopeSet { roles }
    }

    /// Parses a space-separated scope string; returns the first unknown scope.
    pub fn parse(text: &str) -> Result<ScopeSet, String> {
        let mut set = ScopeSet::EMPTY;
        for part in text.split(' ').filter(|s| !s.is_empty()) {
            set.insert(Scope::parse(part).ok_or_else(|| part.to_owned())?);
        }
        Ok(set)
    }

    pub fn insert(&mut self, scope: Scope) {
        match scope {
            Scope::Role(role) => self.roles.insert(role),
        }
    }

    pub fn is_empty(self) -> bool {
        self.roles.is_empty()
    }

    /// The roles these scopes ask for.
    pub fn roles(self) -> RoleSet {
        self.roles
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        self.roles.iter().map(Scope::Role)
    }
}

/// The space-separated form (`read write`), in a fixed order.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope.name())?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_prints_in_order() {
        let set = ScopeSet::parse("WRITE  read").unwrap();
        assert_eq!(set.to_string(), "read write");
        assert_eq!(set.roles().names(), ["Read", "Write"]);
        assert_eq!(ScopeSet::parse("read bogus"), Err("bogus".to_owned()));
        assert!(ScopeSet::parse("").unwrap().is_empty());
    }
}
