//! Process variables by name, matched case-insensitively as Flows matches them
//! (`upper(prov_var_name) = upper(:name)`); a name keeps the spelling it was first set with.

use std::collections::BTreeMap;

use super::value::VariableValue;

/// The built-in variable a process is created with (its business reference); a reset keeps it.
pub const BUSINESS_REF: &str = "BUSINESS_REF";

/// Variables of one scope, by name as first spelled.
pub type VariableMap = BTreeMap<String, VariableValue>;

/// The value of `name` in `map`, whatever its case.
pub fn lookup<'a>(map: &'a VariableMap, name: &str) -> Option<&'a VariableValue> {
    map.get(name).or_else(|| {
        map.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// Sets `name`, replacing a variable of the same name in any case (which keeps its spelling).
pub fn store(map: &mut VariableMap, name: &str, value: VariableValue) {
    let existing = map
        .keys()
        .find(|key| key.eq_ignore_ascii_case(name))
        .cloned();
    map.insert(existing.unwrap_or_else(|| name.to_owned()), value);
}

/// Replaces every `&F4A$name.` in `text` by the variable's text, as Flows' `do_substitution`
/// does; a name that is not set stays as written.
pub fn substitute(map: &VariableMap, text: &str) -> String {
    const PREFIX: &str = "&F4A$";
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest
        .char_indices()
        .find(|(index, _)| {
            rest.get(*index..index + PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
        })
        .map(|(index, _)| index)
    {
        result.push_str(&rest[..at]);
        let after = &rest[at + PREFIX.len()..];
        let name_length = after
            .find(|c: char| !(c.is_alphanumeric() || "_$#:-".contains(c)))
            .unwrap_or(after.len());
        let name = &after[..name_length];
        let value = after[name_length..]
            .starts_with('.')
            .then(|| lookup(map, name))
            .flatten();
        match value {
            Some(value) => {
                result.push_str(&value.render());
                rest = &after[name_length + 1..];
            }
            None => {
                result.push_str(PREFIX);
                rest = after;
            }
        }
    }
    result.push_str(rest);
    result
}

/// Removes `name` in any case.
pub fn remove(map: &mut VariableMap, name: &str) -> Option<VariableValue> {
    let existing = map
        .keys()
        .find(|key| key.eq_ignore_ascii_case(name))
        .cloned()?;
    map.remove(&existing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_whatever_their_case() {
        let mut map = VariableMap::new();
        store(&mut map, "Dept", VariableValue::Varchar("SALES".into()));
        assert_eq!(
            lookup(&map, "DEPT"),
            Some(&VariableValue::Varchar("SALES".into()))
        );
        store(&mut map, "dept", VariableValue::Varchar("HR".into()));
        assert_eq!(map.len(), 1);
        assert_eq!(
            map.get("Dept"),
            Some(&VariableValue::Varchar("HR".into())),
            "the first spelling stays"
        );
        assert!(remove(&mut map, "DEPT").is_some());
        assert!(map.is_empty());
        assert_eq!(lookup(&map, "dept"), None);
    }

    #[test]
    fn substitutions_read_variables_whatever_their_case() {
        let mut map = VariableMap::new();
        store(&mut map, "Wait", VariableValue::Varchar("PT5M".into()));
        assert_eq!(substitute(&map, "&F4A$wait."), "PT5M");
        assert_eq!(
            substitute(&map, "a &f4a$WAIT. b &F4A$none. c"),
            "a PT5M b &F4A$none. c"
        );
        assert_eq!(substitute(&map, "no dot &F4A$Wait"), "no dot &F4A$Wait");
    }
}
