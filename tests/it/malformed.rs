//! Ten thousand malformed requests (docs/contract.md §10, Bad input), generated from a fixed
//! seed and sent raw over TCP (so that paths, methods, headers and bodies are exactly as made):
//! odd methods, path tricks, bad and oversized headers, broken JSON and forms, wrong types,
//! unknown fields and duplicate keys, at the token endpoint, the process API and the admin API.
//! Every answer is a 4xx with a JSON body, and the database is the same afterwards.
//!
//! The process API is lenient like Flows for APEX about unknown fields and wrong types, so it
//! only gets what no reading accepts (broken JSON, wrong media types, bad ids, odd methods);
//! every generated request carries at least one defect that must refuse it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, FromQueryResult, JsonValue, Statement,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

use crate::kit::{Backend, Kit};

const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 16;
const SEED: u64 = 0x5eed_f10a_6a7e;

/// SplitMix64: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'a' + self.below(26) as u8))
            .collect()
    }
}

/// One raw HTTP/1.1 request.
#[derive(Clone, Debug)]
struct Raw {
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Raw {
    fn new(method: &str, path: String) -> Raw {
        Raw {
            method: method.to_owned(),
            path,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Raw {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn body(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Raw {
        if let Some(content_type) = content_type {
            self = self.header("content-type", content_type);
        }
        self.body = body.into();
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n",
            self.method, self.path
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// For a failure message: the head, and the start of the body.
    fn describe(&self) -> String {
        let mut text = format!("{} {}", self.method, self.path);
        for (name, value) in &self.headers {
            let value = String::from_utf8_lossy(value);
            let value: String = value.chars().take(80).collect();
            text.push_str(&format!("\n  {name}: {value}"));
        }
        let body = String::from_utf8_lossy(&self.body);
        text.push_str(&format!(
            "\n  body: {:?}",
            body.chars().take(200).collect::<String>()
        ));
        text
    }
}

/// What the generator needs to know about the server.
struct Targets {
    admin_token: String,
    admin_basic: String,
    client_id: String,
    dgrm_id: i64,
    /// An instance in status `created` (a start slipping through would show).
    created: i64,
    /// A running instance and its open step.
    running: i64,
    sbfl_id: i64,
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// Ways to break a JSON document.
fn broken_json(rng: &mut Rng, valid: &str) -> Vec<u8> {
    match rng.below(9) {
        0 => valid.as_bytes()[..rng.below(valid.len().max(1))].to_vec(),
        1 => format!("{valid}}}").into_bytes(),
        2 => valid.replacen(':', "", 1).into_bytes(),
        3 => valid.replace('"', "'").into_bytes(),
        4 => {
            let mut bytes = valid.as_bytes().to_vec();
            let at = rng.below(bytes.len().max(1));
            bytes.insert(at, 0xff);
            bytes
        }
        5 => format!("{valid},{valid}").into_bytes(),
        6 => "[".repeat(200 + rng.below(2000)).into_bytes(),
        7 => format!("{{\"a\": 1e{}}}", 400 + rng.below(99_999)).into_bytes(),
        _ => {
            let mut junk = vec![0u8; 1 + rng.below(64)];
            for byte in &mut junk {
                *byte = rng.next() as u8;
            }
            junk
        }
    }
}

/// The same object with one defect that the admin API must refuse.
fn defective_object(
    rng: &mut Rng,
    fields: &[(&str, serde_json::Value)],
    wrong: &[(&str, serde_json::Value)],
) -> Vec<u8> {
    let valid: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let valid_text = serde_json::Value::Object(valid.clone()).to_string();
    match rng.below(7) {
        0 | 1 => broken_json(rng, &valid_text),
        2 => {
            let mut object = valid;
            let unknown = format!("x_{}", rng.word(5));
            object.insert(unknown, json!(rng.next() % 1000));
            serde_json::Value::Object(object).to_string().into_bytes()
        }
        3 => {
            let mut object = valid;
            let (name, value) = rng.pick(wrong);
            object.insert((*name).to_owned(), value.clone());
            serde_json::Value::Object(object).to_string().into_bytes()
        }
        4 => {
            // A key twice.
            let (name, value) = rng.pick(fields);
            let inner = valid_text.trim_end_matches('}');
            format!("{inner}, \"{name}\": {value}}}").into_bytes()
        }
        5 => rng
            .pick(&["[]", "\"text\"", "42", "null", "true", "[{}]"])
            .as_bytes()
            .to_vec(),
        _ => Vec::new(),
    }
}

const ODD_METHODS: &[&str] = &[
    "PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO", "GETT", "M-SEARCH",
];

/// The token endpoint: never a grant that could succeed.
fn token_request(rng: &mut Rng, t: &Targets) -> Raw {
    let path = rng
        .pick(&[
            "/oauth/token",
            "/oauth/token",
            "/oauth/token",
            "/oauth/token?grant_type=client_credentials",
            "/oauth/token/",
            "/oauth//token",
            "/oauth/token%00",
            "/oauth/tok%65n",
            "/oauth/token;x=1",
        ])
        .to_string();
    let method = if rng.chance(85) {
        "POST"
    } else {
        *rng.pick(&["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"])
    };
    let mut raw = Raw::new(method, path);
    let authorization: Option<String> = match rng.below(8) {
        0..=2 => Some(t.admin_basic.clone()),
        3 => Some(basic(&uuid::Uuid::new_v4().to_string(), &rng.word(43))),
        4 => Some(format!("Basic {}", rng.word(30))),
        5 => Some(format!("Bearer {}", t.admin_token)),
        6 => Some(format!("Basic {}", "QUFB".repeat(2000 + rng.below(4000)))),
        _ => None,
    };
    if let Some(value) = authorization {
        raw = raw.header("authorization", value);
    }
    let bad_utf8: &[u8] = b"grant_type=client_credentials\xff\xfe";
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"grant_type=client_credentials&grant_type=client_credentials".to_vec(),
        format!(
            "grant_type={}",
            rng.pick(&[
                "password",
                "implicit",
                "urn:ietf:params:oauth:grant-type:device_code",
                "CLIENT_CREDENTIALS",
                "client_credential"
            ])
        )
        .into_bytes(),
        format!("grant_type=client_credentials&scope={}", rng.word(6)).into_bytes(),
        b"grant_type=%ZZclient_credentials".to_vec(),
        bad_utf8.to_vec(),
        b"grant_type=client_credentials%ff".to_vec(),
        br#"{"grant_type": "client_credentials"}"#.to_vec(),
        b"grant_type=authorization_code".to_vec(),
        format!(
            "grant_type=authorization_code&code={}&redirect_uri=https://x.example/",
            rng.word(43)
        )
        .into_bytes(),
        format!("grant_type=refresh_token&refresh_token={}", rng.word(43)).into_bytes(),
        format!(
            "grant_type=client_credentials&client_id={}",
            uuid::Uuid::new_v4()
        )
        .into_bytes(),
        format!(
            "grant_type=client_credentials&client_secret={}",
            rng.word(43)
        )
        .into_bytes(),
        b"grant_type=client_credentials&scope=read&scope=write".to_vec(),
        // (Unknown parameters are ignored, RFC 6749 §3.2: the defect is the scope.)
        format!(
            "grant_type=client_credentials&{}=1&scope={}",
            rng.word(4),
            "x".repeat(20_000 + rng.below(50_000))
        )
        .into_bytes(),
        b"grant_type==&&==client_credentials".to_vec(),
        b"grant_type".to_vec(),
        b"&&&".to_vec(),
    ];
    let body = bodies[rng.below(bodies.len())].clone();
    let content_type = *rng.pick(&[
        Some("application/x-www-form-urlencoded"),
        Some("application/x-www-form-urlencoded"),
        Some("application/x-www-form-urlencoded; charset=iso-8859-1"),
        Some("application/json"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=xyz"),
        None,
    ]);
    raw.body(content_type, body)
}

/// A path id: mostly a bad one.
fn id_trick(rng: &mut Rng, good: i64) -> String {
    rng.pick(&[
        "abc".to_owned(),
        "1.5".to_owned(),
        "0x10".to_owned(),
        "%2e%2e".to_owned(),
        "99999999999999999999999".to_owned(),
        "1%00".to_owned(),
        "%EF%BC%91".to_owned(),
        "1e3".to_owned(),
        "+-1".to_owned(),
        "9".repeat(3000),
        "987654321".to_owned(),
        format!("{good}%20"),
        format!("{good}"),
        format!("{good}"),
    ])
    .clone()
}

/// The process API: only what no lenient reading accepts.
fn process_request(rng: &mut Rng, t: &Targets) -> Raw {
    let created = id_trick(rng, t.created);
    let running = id_trick(rng, t.running);
    let step = id_trick(rng, t.sbfl_id);
    let (method, path, body_allowed) = match rng.below(9) {
        0 => (
            "POST",
            format!("/v1/diagrams/{}/processes", id_trick(rng, t.dgrm_id)),
            true,
        ),
        1 => (
            "PUT",
            format!(
                "/v1/processes/{created}/{}",
                rng.pick(&["start", "reset", "terminate"])
            ),
            true,
        ),
        2 => ("PUT", format!("/v1/processes/{running}/process_vars"), true),
        3 => (
            "PUT",
            format!(
                "/v1/steps/{step}/{}",
                rng.pick(&[
                    "complete",
                    "start",
                    "reserve",
                    "release",
                    "restart",
                    "reschedule_timer"
                ])
            ),
            true,
        ),
        4 => ("PUT", format!("/v1/messages/{}", rng.word(8)), true),
        5 => ("DELETE", format!("/v1/processes/{created}"), true),
        6 => (
            "GET",
            format!(
                "/v1/{}?{}",
                rng.pick(&["diagrams", "processes/1/steps", "flow_requests"]),
                rng.pick(&[
                    "limit=abc",
                    "offset=abc",
                    "offset=99999999999999999999",
                    "limit=1e9",
                    "limit=%FF"
                ])
            ),
            false,
        ),
        7 => (
            "GET",
            format!(
                "/v1/processes/{}",
                rng.pick(&["abc", "1.0", "%2F", "99999999999999999999999"])
            ),
            false,
        ),
        _ => (
            *rng.pick(ODD_METHODS),
            rng.pick(&[
                format!("/v1/processes/{created}"),
                format!("/v1/steps/{step}/complete"),
                "/v1/diagrams".to_owned(),
                "/v1/".to_owned(),
                "/v1/utils/ping/".to_owned(),
                "//v1/diagrams".to_owned(),
                "/v1/processes/1/../../admin/clients".to_owned(),
            ])
            .clone(),
            false,
        ),
    };
    let mut raw = Raw::new(method, path);
    raw = raw.header("authorization", format!("Bearer {}", t.admin_token));
    if body_allowed {
        // The defect of a request whose id is good: a body nobody reads as valid. (A body
        // is only left out together with a bad id, so it cannot start anything.)
        let valid = r#"{"name": "x", "type": "varchar", "value": "v", "step_key": "k"}"#;
        let (content_type, body) = match rng.below(6) {
            0 | 1 => (Some("application/json"), broken_json(rng, valid)),
            2 => (
                Some("application/json"),
                rng.pick(&[b"[]".as_slice(), b"[1, 2]", b"\"text\"", b"42", b"[[]]"])
                    .to_vec(),
            ),
            3 => (
                Some(*rng.pick(&[
                    "text/plain",
                    "application/xml",
                    "application/x-www-form-urlencoded",
                    "application/jsonx",
                    "multipart/form-data",
                ])),
                valid.as_bytes().to_vec(),
            ),
            4 => (
                Some("application/json; charset=utf-16"),
                b"\xff\xfe{\x00}\x00".to_vec(),
            ),
            _ => (
                Some("application/json"),
                b"{\"a\":1, \"a\":2}garbage".to_vec(),
            ),
        };
        raw = raw.body(content_type, body);
    }
    raw
}

/// The admin API: every body has a defect.
fn admin_request(rng: &mut Rng, t: &Targets) -> Raw {
    let client = &t.client_id;
    let (method, path, body): (&str, String, Vec<u8>) = match rng.below(10) {
        0 => (
            "POST",
            "/v1/admin/clients".into(),
            defective_object(
                rng,
                &[
                    ("name", json!("fuzz")),
                    ("roles", json!(["Read"])),
                    ("redirect_uris", json!(["https://a.example/cb"])),
                    ("public", json!(false)),
                ],
                &[
                    ("name", json!(7)),
                    ("name", json!("")),
                    ("roles", json!("Read")),
                    ("roles", json!([1])),
                    ("roles", json!(["Nope"])),
                    ("redirect_uris", json!({})),
                    ("redirect_uris", json!(["/relative"])),
                    ("public", json!("yes")),
                    ("support_email", json!("not an email")),
                ],
            ),
        ),
        1 => (
            "PUT",
            format!("/v1/admin/clients/{client}"),
            defective_object(
                rng,
                &[("name", json!("renamed")), ("description", json!("d"))],
                &[
                    ("name", json!([])),
                    ("description", json!(5)),
                    ("redirect_uris", json!("x")),
                    ("support_uri", json!(false)),
                ],
            ),
        ),
        2 => (
            *rng.pick(&["POST", "DELETE"]),
            format!("/v1/admin/clients/{client}/roles"),
            defective_object(
                rng,
                &[("roles", json!(["Write"]))],
                &[
                    ("roles", json!("Write")),
                    ("roles", json!([null])),
                    ("roles", json!(["Root"])),
                    ("roles", json!({"a": 1})),
                ],
            ),
        ),
        3 => (
            "POST",
            "/v1/admin/policy".into(),
            defective_object(
                rng,
                &[
                    ("role", json!("Read")),
                    ("path", json!("/v1/fuzz")),
                    ("method", json!("GET")),
                ],
                &[
                    ("role", json!(1)),
                    ("role", json!("Root")),
                    ("path", json!("no-slash")),
                    ("method", json!("BREW")),
                    ("method", json!(["GET"])),
                ],
            ),
        ),
        4 => (
            "POST",
            "/v1/admin/users".into(),
            defective_object(
                rng,
                &[
                    ("username", json!("fuzzer")),
                    ("password", json!("long-enough-pw")),
                    ("roles", json!(["Read"])),
                ],
                &[
                    ("username", json!(1)),
                    ("username", json!("bad name!")),
                    ("password", json!("short")),
                    ("password", json!(12345678)),
                    ("roles", json!(["Nope"])),
                    ("admin", json!("yes")),
                ],
            ),
        ),
        5 => (
            "POST",
            "/v1/admin/users/admin/password".into(),
            defective_object(
                rng,
                &[("password", json!("another-long-pw"))],
                &[
                    ("password", json!("x")),
                    ("password", json!(null)),
                    ("password", json!(["a"])),
                ],
            ),
        ),
        6 => (
            *rng.pick(&["POST", "DELETE"]),
            "/v1/admin/users/admin/roles".into(),
            defective_object(
                rng,
                &[("roles", json!(["Read"]))],
                &[("roles", json!("Read")), ("roles", json!(["Nope"]))],
            ),
        ),
        7 => (
            "PUT",
            "/v1/admin/users/admin/admin".into(),
            defective_object(
                rng,
                &[("admin", json!(true))],
                &[
                    ("admin", json!("true")),
                    ("admin", json!(1)),
                    ("admin", json!(null)),
                ],
            ),
        ),
        8 => (
            "PUT",
            format!("/v1/admin/diagrams/{}/status", t.dgrm_id),
            defective_object(
                rng,
                &[("status", json!("released"))],
                &[
                    ("status", json!("shiny")),
                    ("status", json!(1)),
                    ("status", json!(["released"])),
                ],
            ),
        ),
        _ => ("POST", "/v1/admin/diagrams".into(), {
            let xml = include_str!("../../bpmn/linear-review.bpmn");
            match rng.below(4) {
                0 => xml.as_bytes()[..rng.below(xml.len())].to_vec(),
                1 => b"<bpmn:definitions>".to_vec(),
                2 => xml
                    .replace("bpmn:startEvent", "bpmn:startEvnt")
                    .into_bytes(),
                _ => b"not xml at all \xff".to_vec(),
            }
        }),
    };
    let mut raw = Raw::new(method, path.clone());
    raw = raw.header("authorization", format!("Bearer {}", t.admin_token));
    let content_type = if path == "/v1/admin/diagrams" {
        *rng.pick(&["application/xml", "text/xml", "application/json"])
    } else if rng.chance(85) {
        "application/json"
    } else {
        *rng.pick(&[
            "text/plain",
            "application/xml",
            "application/json; charset=latin1",
            "application/x-www-form-urlencoded",
        ])
    };
    raw.body(Some(content_type), body)
}

/// Header trouble on top: a broken or missing token, junk and oversized headers.
fn header_noise(rng: &mut Rng, mut raw: Raw, t: &Targets) -> Raw {
    if raw.path.starts_with("/v1/") && rng.chance(15) {
        raw.headers.retain(|(name, _)| name != "authorization");
        let bad: Vec<u8> = match rng.below(7) {
            0 => b"Bearer".to_vec(),
            1 => format!("Bearer {}x", t.admin_token).into_bytes(),
            2 => format!("bearer  {} extra", t.admin_token).into_bytes(),
            3 => b"Bearer \x80\x81\xfe".to_vec(),
            4 => format!("Bearer {}", "A".repeat(20_000 + rng.below(30_000))).into_bytes(),
            5 => t.admin_basic.clone().into_bytes(),
            _ => {
                // Two Authorization headers: one good, one not.
                raw.headers.push((
                    "authorization".into(),
                    format!("Bearer {}", t.admin_token).into_bytes(),
                ));
                b"Bearer nope".to_vec()
            }
        };
        raw.headers.push(("authorization".into(), bad));
    }
    if rng.chance(20) {
        let value: Vec<u8> = match rng.below(5) {
            0 => vec![b'x'; 8_000 + rng.below(24_000)],
            1 => b"caf\xe9 \xff\xfe".to_vec(),
            2 => rng.word(300).into_bytes(),
            3 => b"\t spaced \t".to_vec(),
            _ => Vec::new(),
        };
        let name = rng.pick(&[
            "x-junk",
            "x-request-id",
            "accept",
            "accept-language",
            "cookie",
            "x-forwarded-for",
            "user-agent",
        ]);
        raw.headers.push(((*name).to_owned(), value));
    }
    raw
}

/// A response: status and body (de-chunked).
async fn send(addr: &str, raw: &Raw) -> Result<(u16, Vec<u8>), String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        // The server may answer (and close) before reading a body it refuses.
        let _ = stream.write_all(&raw.bytes()).await;
        let mut answer = Vec::new();
        let read = stream.read_to_end(&mut answer).await;
        if answer.is_empty() {
            return Err(format!("no answer: {read:?}"));
        }
        parse(&answer)
    };
    tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .map_err(|_| "no answer within 20 s".to_owned())?
}

fn parse(answer: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of head: {:?}", String::from_utf8_lossy(answer)))?;
    let head = String::from_utf8_lossy(&answer[..split]).to_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status: {head}"))?;
    let mut body = answer[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut decoded = Vec::new();
        let mut rest = body.as_slice();
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("a broken chunk")?;
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)
                .map_err(|e| format!("chunk size: {e}"))?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(rest.get(..size).ok_or("a short chunk")?);
            rest = &rest[(size + 2).min(rest.len())..];
        }
        body = decoded;
    }
    Ok((status, body))
}

/// Every table but the audit log, as sorted rows of JSON.
async fn snapshot(db: &DatabaseConnection) -> Vec<(String, Vec<String>)> {
    let backend = db.get_database_backend();
    let tables: Vec<String> = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .filter(|name| name != "audit_log" && name != "sqlite_sequence")
        .collect();
    let mut snapshot = Vec::new();
    for table in tables {
        let rows = JsonValue::find_by_statement(Statement::from_string(
            backend,
            format!("SELECT * FROM \"{table}\""),
        ))
        .all(db)
        .await
        .unwrap();
        let mut rows: Vec<String> = rows.iter().map(ToString::to_string).collect();
        rows.sort();
        snapshot.push((table, rows));
    }
    snapshot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_malformed_requests_change_nothing() {
    let kit = Kit::start(Backend::Sqlite).await.unwrap();
    let admin_token = kit.admin_token().await;
    let other = kit.client_with(&["Read"]).await;
    let dgrm_id = crate::process::dgrm_id(&kit, &admin_token, "Document").await;
    let running = crate::process::start(&kit, &admin_token, dgrm_id, serde_json::Value::Null).await;
    let sbfl_id = crate::process::open_steps(&kit, &admin_token, running).await[0]["sbfl_id"]
        .as_i64()
        .unwrap();
    let (status, body) = kit
        .call(
            Method::POST,
            &format!("/v1/diagrams/{dgrm_id}/processes"),
            Some(&admin_token),
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    let created = body["items"][0]["prcs_id"].as_i64().unwrap();
    let targets = Arc::new(Targets {
        admin_basic: basic(&kit.admin.id, &kit.admin.secret),
        admin_token,
        client_id: other.id,
        dgrm_id,
        created,
        running,
        sbfl_id,
    });

    let db = Database::connect(&kit.db.url).await.unwrap();
    let before = snapshot(&db).await;

    let started = Instant::now();
    let addr = kit.server.addr.to_string();
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, usize>::new()));
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (addr, next, failures, statuses, targets) = (
            addr.clone(),
            Arc::clone(&next),
            Arc::clone(&failures),
            Arc::clone(&statuses),
            Arc::clone(&targets),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= REQUESTS {
                    break;
                }
                // Each request from its own stream of the seed: the same requests whatever
                // the interleaving.
                let mut rng = Rng(SEED ^ (n as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
                let raw = match rng.below(3) {
                    0 => token_request(&mut rng, &targets),
                    1 => process_request(&mut rng, &targets),
                    _ => admin_request(&mut rng, &targets),
                };
                let raw = header_noise(&mut rng, raw, &targets);
                let verdict = match send(&addr, &raw).await {
                    Ok((status, body)) => {
                        *statuses.lock().await.entry(status).or_default() += 1;
                        let json = serde_json::from_slice::<serde_json::Value>(&body);
                        if (400..500).contains(&status) && json.is_ok() {
                            None
                        } else {
                            Some(format!(
                                "answered {status}: {}",
                                String::from_utf8_lossy(&body)
                            ))
                        }
                    }
                    Err(err) => Some(err),
                };
                if let Some(what) = verdict {
                    let mut failures = failures.lock().await;
                    if failures.len() < 2000 {
                        failures.push(format!("#{n}: {what}\n  {}", raw.describe()));
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    let failures = failures.lock().await;
    let shown: Vec<&String> = failures.iter().take(12).collect();
    assert!(
        failures.is_empty(),
        "{} of {REQUESTS} malformed requests were not answered with a 4xx JSON, e.g.:\n{}",
        failures.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );

    let after = snapshot(&db).await;
    for ((table, rows_before), (_, rows_after)) in before.iter().zip(&after) {
        assert_eq!(rows_before, rows_after, "table {table} changed");
    }
    assert_eq!(before.len(), after.len());
    eprintln!(
        "{REQUESTS} malformed requests in {elapsed:?}: {:?}",
        statuses.lock().await
    );
    assert!(
        elapsed < Duration::from_secs(120),
        "bounded in time: {elapsed:?}"
    );
    db.close().await.unwrap();
    kit.finish().await;
}
