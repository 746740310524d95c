//! The OAuth 2.0 authorization server, free of HTTP types: request parsing (strict forms,
//! client authentication), grants, token signing and the key ring.

pub mod authorize;
pub mod client_auth;
pub mod error;
#[cfg(test)]
pub mod fixtures;
pub mod form;
pub mod grants;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod pkce;
pub mod sealing;
pub mod secret;
pub mod verified;

pub use error::OAuthError;

/// RFC 6750 §2.1 `b64token` (RFC 7235's token68): what a Bearer token is made of, as every
/// token issued here is, and none of it needs escaping in JSON. Every byte is looked at,
/// without a branch each (the compiler makes it vector code).
pub fn is_token68(token: &[u8]) -> bool {
    token.iter().fold(true, |all, &b| {
        let mark = (b == b'-') | (b == b'.') | (b == b'_') | (b == b'~');
        all & (b.is_ascii_alphanumeric() | mark | (b == b'+') | (b == b'/') | (b == b'='))
    })
}
