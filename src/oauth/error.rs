//! RFC 6749 §5.2 errors.

/// An OAuth error answer. `basic_challenge` asks for `WWW-Authenticate: Basic` (401 only);
/// `retry_after` makes it a 429 with `Retry-After` (too many failed attempts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
    pub basic_challenge: bool,
    pub retry_after: Option<u64>,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
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

    /// Too many failed attempts from this client or address: wait this many seconds.
    pub fn too_many_attempts(retry_after: u64) -> Self {
        OAuthError {
            retry_after: Some(retry_after),
            ..Self::new(
                "temporarily_unavailable",
                format!("Too many failed attempts; retry in {retry_after} s"),
            )
        }
    }

    /// 429 when slowed down, 401 for `invalid_client`, 400 for the rest.
    pub fn status(&self) -> u16 {
        if self.retry_after.is_some() {
            429
        } else if self.code == "invalid_client" {
            401
        } else {
            400
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status() {
        let slowed = OAuthError::too_many_attempts(7);
        assert_eq!((slowed.status(), slowed.retry_after), (429, Some(7)));
        assert_eq!(slowed.code, "temporarily_unavailable");
        assert_eq!(OAuthError::invalid_client(true).status(), 401);
        assert_eq!(OAuthError::invalid_grant("used").status(), 400);
        assert_eq!(OAuthError::invalid_request("bad").status(), 400);
    }
}
