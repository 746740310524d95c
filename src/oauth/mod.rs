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
