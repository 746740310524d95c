//! A browser for the tests: a cookie jar, no automatic redirects (each hop is looked at), and
//! the real HTML forms filled in from the pages' hidden fields.

use base64::Engine;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::kit::{Creds, Kit};

pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
}

/// One answer: status, `Location` and body.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of a hidden or text input.
    pub fn input(&self, name: &str) -> Option<String> {
        input_value(&self.body, name)
    }
}

/// `value` of the `<input … name="NAME" … value="…">`, unescaped.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = html.find(&marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let value_at = tag.find("value=\"")? + "value=\"".len();
    let value = &tag[value_at..];
    let value = &value[..value.find('"')?];
    Some(unescape(value))
}

fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
        }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let location = headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            headers,
            body: response.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .http
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap();
        Self::page(response).await
    }

    /// Signs in through the real form; returns the answer of the POST.
    pub async fn login(&self, username: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.input("csrf").expect("a CSRF field on the login form");
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
                ("next", "/developer/apps"),
            ],
        )
        .await
    }

    /// Follows a sign-in that a page asked for (`/login?next=…`), then the way back.
    pub async fn login_then_follow(
        &self,
        login_location: &str,
        username: &str,
        password: &str,
    ) -> Page {
        let form = self.get(login_location).await;
        let csrf = form.input("csrf").unwrap();
        let next = form.input("next").unwrap();
        let done = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", username),
                    ("password", password),
                    ("next", &next),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        self.get(done.location.as_deref().unwrap()).await
    }

    /// Answers a consent page with its own hidden fields.
    pub async fn decide(&self, consent: &Page, decision: &str) -> Page {
        let mut fields: Vec<(String, String)> = Vec::new();
        for name in [
            "csrf",
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        ] {
            if let Some(value) = consent.input(name) {
                fields.push((name.to_owned(), value));
            }
        }
        fields.push(("decision".into(), decision.into()));
        let borrowed: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post("/oauth/authorize", &borrowed).await
    }
}

/// The query parameters of a URL.
pub fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn param(location: &str, name: &str) -> Option<String> {
    query_of(location)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// An authorization URL.
pub fn authorize_url(
    client_id: &str,
    redirect_uri: Option<&str>,
    scope: &str,
    state: &str,
    challenge: Option<&str>,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("response_type", "code");
    query.append_pair("client_id", client_id);
    if let Some(uri) = redirect_uri {
        query.append_pair("redirect_uri", uri);
    }
    query.append_pair("scope", scope);
    query.append_pair("state", state);
    if let Some(challenge) = challenge {
        query.append_pair("code_challenge", challenge);
        query.append_pair("code_challenge_method", "S256");
    }
    format!("/oauth/authorize?{}", query.finish())
}

/// A person through the admin API; returns their user_id.
pub async fn person(kit: &Kit, username: &str, password: &str, roles: &[&str]) -> String {
    let admin = kit.admin_token().await;
    let (status, body) = kit
        .call(
            reqwest::Method::POST,
            "/v1/admin/users",
            Some(&admin),
            Some(json!({"username": username, "password": password, "roles": roles})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["item"]["user_id"].as_str().unwrap().to_owned()
}

/// A client made by an admin that may use the code flow at once.
pub async fn code_client(kit: &Kit, roles: &[&str], redirect_uris: &[&str], public: bool) -> Creds {
    let admin = kit.admin_token().await;
    let (status, body) = kit
        .call(
            reqwest::Method::POST,
            "/v1/admin/clients",
            Some(&admin),
            Some(json!({"name": "Third-party app", "roles": roles, "redirect_uris": redirect_uris, "public": public})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Creds {
        id: body["item"]["client_id"].as_str().unwrap().to_owned(),
        secret: body["item"]["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// `POST /oauth/token` with a form and optional Basic credentials.
pub async fn token_form(
    kit: &Kit,
    basic: Option<&Creds>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = kit.http.post(kit.url("/oauth/token")).form(form);
    if let Some(creds) = basic {
        request = request.basic_auth(&creds.id, Some(&creds.secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}
