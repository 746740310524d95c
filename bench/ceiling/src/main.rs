//! The ceilings of the stack flowgate is built on, for `bench/peers.sh`:
//! - `GET /hello`: poem answering a constant (what any route of ours could reach at best);
//! - `POST /oauth/token`: `client_credentials` with HTTP Basic for one client, its secret
//!   checked against a stored SHA-256, an EdDSA JWT signed compactly with an Ed25519 key held
//!   parsed as an `ed25519_dalek::SigningKey`. No database, no logging, no middleware.
//!
//! Usage: `flowgate-ceiling ADDR` (default 127.0.0.1:18290). The client is `ceiling` with the
//! secret in `CEILING_SECRET` (default `ceiling-secret`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signer, SigningKey};
use poem::http::{StatusCode, header};
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, get, handler, post};
use sha2::{Digest, Sha256};

struct Issuer {
    client_id: String,
    secret_hash: [u8; 32],
    key: SigningKey,
    header_b64: String,
    jti: AtomicU64,
}

#[handler]
fn hello() -> &'static str {
    "hello world"
}

/// The client of a `Basic` header whose secret hashes to the stored one.
fn authenticated(issuer: &Issuer, req: &Request) -> bool {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return false;
    };
    let Some(encoded) = value.to_str().ok().and_then(|v| v.strip_prefix("Basic ")) else {
        return false;
    };
    let Ok(decoded) = STANDARD.decode(encoded) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|b| *b == b':') else {
        return false;
    };
    let (id, secret) = (&decoded[..colon], &decoded[colon + 1..]);
    let digest: [u8; 32] = Sha256::digest(secret).into();
    // Compared without an early exit, as a real server must.
    let differ = digest
        .iter()
        .zip(issuer.secret_hash.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    id == issuer.client_id.as_bytes() && differ == 0
}

fn json(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::PRAGMA, "no-cache")
        .body(body)
}

#[handler]
fn token(req: &Request, body: String, issuer: Data<&Arc<Issuer>>) -> Response {
    if !authenticated(&issuer, req) {
        return json(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_client"}"#.to_owned(),
        );
    }
    if !body.split('&').any(|pair| pair == "grant_type=client_credentials") {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"error":"unsupported_grant_type"}"#.to_owned(),
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let jti = issuer.jti.fetch_add(1, Ordering::Relaxed);
    let claims = serde_json::json!({
        "iss": "http://127.0.0.1", "sub": issuer.client_id, "aud": "http://127.0.0.1",
        "client_id": issuer.client_id, "exp": now + 3600, "iat": now, "jti": format!("c-{jti}"),
        "scope": "read write messages admin", "roles": ["Read", "Write", "Messages", "Admin"],
    });
    let payload = serde_json::to_vec(&claims).unwrap_or_default();
    let mut jwt = String::with_capacity(issuer.header_b64.len() + payload.len() * 4 / 3 + 100);
    jwt.push_str(&issuer.header_b64);
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut jwt);
    let signature = issuer.key.sign(jwt.as_bytes());
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut jwt);
    json(
        StatusCode::OK,
        format!(
            r#"{{"access_token":"{jwt}","token_type":"Bearer","expires_in":3600,"scope":"read write messages admin"}}"#
        ),
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18290".to_owned());
    let secret = std::env::var("CEILING_SECRET").unwrap_or_else(|_| "ceiling-secret".to_owned());
    // A fixed key is fine: nothing outside the benchmark ever sees these tokens.
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let issuer = Arc::new(Issuer {
        client_id: "ceiling".to_owned(),
        secret_hash: Sha256::digest(secret.as_bytes()).into(),
        key,
        header_b64: URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"at+jwt","kid":"ceiling"}"#),
        jti: AtomicU64::new(0),
    });
    let app = Route::new()
        .at("/hello", get(hello))
        .at("/oauth/token", post(token))
        .data(issuer);
    Server::new(TcpListener::bind(addr)).run(app).await
}
