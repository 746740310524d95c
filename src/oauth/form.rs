//! Strict `application/x-www-form-urlencoded` parsing for the OAuth endpoints: the body must be
//! UTF-8, every value must decode to UTF-8, and no parameter may appear twice (RFC 6749 §3.2).

use std::borrow::Cow;

// hashbrown's hasher: std's SipHash cost the token endpoint about a thousand instructions a
// request for three names.
use hashbrown::HashMap;

use percent_encoding::percent_decode;

use super::OAuthError;

/// The parameters of a request body, borrowed from it where nothing needed decoding.
#[derive(Debug, Default)]
pub struct FormParams<'a>(HashMap<Cow<'a, str>, Cow<'a, str>>);

impl<'a> FormParams<'a> {
    pub fn parse(body: &'a [u8]) -> Result<FormParams<'a>, OAuthError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| OAuthError::invalid_request("The request body is not valid UTF-8"))?;
        let mut params = HashMap::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode_component(name)?;
            let value = decode_component(value)?;
            if params.insert(name.clone(), value).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "Parameter {name:?} is repeated"
                )));
            }
        }
        Ok(FormParams(params))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(|value| &**value)
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("Missing parameter {name:?}")))
    }
}

/// `+` is a space; `%XX` escapes; the result must be UTF-8. Borrowed when there is nothing to
/// decode.
pub fn decode_component(raw: &str) -> Result<Cow<'_, str>, OAuthError> {
    if !raw.bytes().any(|b| b == b'+' || b == b'%') {
        return Ok(Cow::Borrowed(raw));
    }
    let spaced = raw.replace('+', " ");
    percent_decode(spaced.as_bytes())
        .decode_utf8()
        .map(|decoded| Cow::Owned(decoded.into_owned()))
        .map_err(|_| OAuthError::invalid_request("A parameter is not valid UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_repeats_and_bad_utf8() {
        let form = FormParams::parse(b"grant_type=client_credentials&scope=read+write&x=%C3%A9&e=")
            .unwrap();
        assert_eq!(form.get("grant_type"), Some("client_credentials"));
        assert_eq!(form.get("scope"), Some("read write"));
        assert_eq!(form.get("x"), Some("é"));
        assert_eq!(form.get("e"), None);
        assert!(form.require("e").is_err());
        assert!(FormParams::parse(b"a=1&a=2").is_err());
        assert!(FormParams::parse(b"a=%FF").is_err());
        assert!(FormParams::parse(&[b'a', b'=', 0xff]).is_err());
        assert!(
            FormParams::parse(b"a%20b=1&a+b=2").is_err(),
            "the same name, decoded"
        );
        assert!(matches!(
            decode_component("plain"),
            Ok(Cow::Borrowed("plain"))
        ));
        assert_eq!(decode_component("a+b%2Bc").unwrap(), "a b+c");
    }
}
