//! RFC 6749 §5.2 errors.

/// An OAuth error answer. `basic_challenge` asks for `WWW-Authenticate: Basic` (401 only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
    pub basic_challenge: bool,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    /// Unknown client, wrong secret and disabled client all look like this.
    pub fn invalid_client(basic_challenge: bool) -> Self {
        OAuthError {
            basic_challenge,
            ..Self::new("invalid_client", "Client authentication failed")
        }
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new("unauthorized_client", description)
    }

    pub fn unsupported_grant_type(grant_type: &str) -> Self {
        Self::new(
            "unsupported_grant_type",
            format!("grant_type {grant_type:?} is not supported"),
        )
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new("invalid_scope", description)
    }

    pub fn unsupported_token_type(description: impl Into<String>) -> Self {
        Self::new("unsupported_token_type", description)
    }

    pub fn unsupported_response_type(description: impl Into<String>) -> Self {
        Self::new("unsupported_response_type", description)
    }

    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new("access_denied", description)
    }

    pub fn temporarily_unavailable(description: impl Into<String>) -> Self {
        Self::new("temporarily_unavailable", description)
    }

    /// 401 for `invalid_client`, 400 for the rest.
    pub fn status(&self) -> u16 {
        if self.code == "invalid_client" {
            401
        } else {
            400
        }
    }
}
