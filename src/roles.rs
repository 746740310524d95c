//! The four roles a token can carry, as a bit set: the gate's decision is one AND.

use std::fmt;

/// A role. Roles do not imply each other: Admin does not include Read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Read,
    Write,
    Messages,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Read, Role::Write, Role::Messages, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Read => "Read",
            Role::Write => "Write",
            Role::Messages => "Messages",
            Role::Admin => "Admin",
        }
    }

    /// The OAuth scope that asks for this role.
    pub fn scope(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Messages => "messages",
            Role::Admin => "admin",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::Read => "Read diagrams, processes, steps and variables",
            Role::Write => "Create and move processes and steps",
            Role::Messages => "Send BPMN messages",
            Role::Admin => "Manage clients, policy, keys and processes",
        }
    }

    /// Parses a role or scope name, case-insensitively.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|role| role.name().eq_ignore_ascii_case(name))
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of roles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(u8);

impl RoleSet {
    pub const EMPTY: RoleSet = RoleSet(0);

    pub fn all() -> RoleSet {
        Role::ALL.into_iter().collect()
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    pub fn insert(&mut self, role: Role) {
        self.0 |= role.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set as one byte, a bit a role (for packing it beside other state).
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The set of [`RoleSet::bits`] gave.
    pub fn from_bits(bits: u8) -> RoleSet {
        RoleSet(bits & RoleSet::all().0)
    }

    pub fn intersection(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 & other.0)
    }

    pub fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_subset(self, other: RoleSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL
            .into_iter()
            .filter(move |role| self.contains(*role))
    }

    pub fn names(self) -> Vec<String> {
        self.iter().map(|role| role.name().to_owned()).collect()
    }

    /// The space-separated scope string of these roles (`read write`).
    pub fn scope_string(self) -> String {
        self.iter().map(Role::scope).collect::<Vec<_>>().join(" ")
    }

    /// Parses role names separated by commas and/or white space; unknown names are returned.
    pub fn parse_list(list: &str) -> Result<RoleSet, String> {
        let mut set = RoleSet::EMPTY;
        for name in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            set.insert(Role::parse(name).ok_or_else(|| name.to_owned())?);
        }
        Ok(set)
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut set = RoleSet::EMPTY;
        for role in iter {
            set.insert(role);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_reports_unknown_names() {
        let set = RoleSet::parse_list("read, WRITE admin").unwrap();
        assert_eq!(set.names(), ["Read", "Write", "Admin"]);
        assert_eq!(set.scope_string(), "read write admin");
        assert_eq!(RoleSet::parse_list("read,owner"), Err("owner".to_owned()));
        assert_eq!(RoleSet::parse_list(""), Ok(RoleSet::EMPTY));
    }

    #[test]
    fn set_algebra() {
        let rw = RoleSet::parse_list("Read,Write").unwrap();
        let w = RoleSet::parse_list("Write").unwrap();
        assert!(w.is_subset(rw));
        assert!(!rw.is_subset(w));
        assert_eq!(rw.intersection(w), w);
        assert!(!RoleSet::parse_list("Admin").unwrap().intersects(rw));
    }
}
