//! The database going away under load (docs/contract.md §10, Database): on a PostgreSQL cluster
//! of the test's own, stopped while flowgate is busy and started again. Every answer meanwhile
//! is a whole JSON answer (503 when the database was needed), readiness goes red, the gate goes
//! on deciding tokens it has verified, everything recovers without a restart of flowgate, and
//! nothing is half-applied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::binary::{Api, free_port};
use crate::kit::{Kit, TestDb};

/// A PostgreSQL cluster in a temporary folder, on a port of its own.
pub struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

/// The newest `/usr/lib/postgresql/*/bin` that has `initdb`.
fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let version = path.file_name()?.to_str()?.parse().ok()?;
            let bin = path.join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn id(args: &[&str]) -> Option<u32> {
    let output = Command::new("id").args(args).output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

impl OwnPostgres {
    /// initdb and start, or why not.
    pub fn start() -> Result<OwnPostgres, String> {
        let bin = postgres_bin().ok_or("no initdb under /usr/lib/postgresql/*/bin")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        if id(&["-u"]) == Some(0) {
            // initdb refuses to run as root: the cluster belongs to the postgres user.
            let uid = id(&["-u", "postgres"]).ok_or("no postgres user to run initdb as")?;
            let gid = id(&["-g", "postgres"]).ok_or("no postgres group")?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| e.to_string())?;
        }
        let cluster = OwnPostgres {
            port: free_port(),
            dir,
            bin,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        cluster.up()?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut command = if id(&["-u"]) == Some(0) {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("{tool}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "30",
                "start",
            ],
        )
    }

    /// Stops the server the way an operator does (`fast`: sessions are ended, transactions
    /// under way roll back).
    pub fn down(&self) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "fast", "-w", "-t", "30", "stop"],
        )
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
    }
}

/// What one request of the load met.
#[derive(Debug, Clone)]
struct Met {
    status: StatusCode,
    body: Value,
    /// When it was sent, relative to the start of the load.
    at: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stops_and_comes_back_under_load() {
    let pg = match OwnPostgres::start() {
        Ok(pg) => pg,
        Err(reason) => {
            eprintln!("skipping the database-fault test: {reason}");
            return;
        }
    };
    let began = Instant::now();
    let kit = Kit::start_on(TestDb::external(pg.url())).await;
    let api = Api::new(&kit.base);
    let token = kit.admin_token().await;
    let dgrm = crate::process::dgrm_id(&kit, &token, "Document").await;
    // A token the gate has verified once.
    let (status, _) = kit
        .call(Method::GET, "/v1/utils/ping", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // The load: instances created, each given a variable, and read back.
    let stop = Arc::new(AtomicBool::new(false));
    let load_began = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..6 {
        let (api, token, stop) = (api.clone(), token.clone(), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            let mut met: Vec<(String, &'static str, Met)> = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let reference = format!("fault-{worker}-{i}");
                let create = format!("/v1/diagrams/{dgrm}/processes");
                let at = load_began.elapsed();
                let (status, body) = answer(
                    &api,
                    Method::POST,
                    &create,
                    &token,
                    Some(json!({"business_ref": reference})),
                )
                .await;
                let created = body["items"][0]["prcs_id"].as_i64();
                met.push((reference.clone(), "create", Met { status, body, at }));
                let Some(prcs_id) = created.filter(|_| status == StatusCode::CREATED) else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let vars = format!("/v1/processes/{prcs_id}/process_vars");
                let at = load_began.elapsed();
                let value = json!({"name": "mark", "type": "varchar", "value": reference});
                let (status, body) = answer(&api, Method::PUT, &vars, &token, Some(value)).await;
                met.push((reference.clone(), "variable", Met { status, body, at }));
                let at = load_began.elapsed();
                let (status, body) = answer(&api, Method::GET, &vars, &token, None).await;
                met.push((reference, "read", Met { status, body, at }));
            }
            met
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let down_at = load_began.elapsed();
    pg.down().expect("stop PostgreSQL");

    // Readiness goes red, with a JSON body.
    let red = Instant::now();
    loop {
        let (status, body) = kit.call(Method::GET, "/health/ready", None, None).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(body["status"], "database unavailable", "{body}");
            break;
        }
        assert!(
            red.elapsed() < Duration::from_secs(15),
            "ready stays green: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The gate decides a token it verified before without the database, at once.
    let asked = Instant::now();
    let (status, body) = kit
        .call(Method::GET, "/v1/utils/ping", Some(&token), None)
        .await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("ok")),
        "{body}"
    );
    let (status, _) = kit
        .call(Method::GET, "/v1/utils/ping", Some("not.a.token"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "and still refuses a bad one"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "decided from memory"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.up().expect("start PostgreSQL again");
    let up_at = load_began.elapsed();
    let green = Instant::now();
    loop {
        let (status, _) = kit.call(Method::GET, "/health/ready", None, None).await;
        if status == StatusCode::OK {
            break;
        }
        assert!(green.elapsed() < Duration::from_secs(30), "ready stays red");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Keep the load on a little longer: it must succeed again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut met = Vec::new();
    for worker in workers {
        met.extend(worker.await.unwrap());
    }

    // Every answer was whole, JSON, and a success or a 503.
    let mut unavailable = 0;
    for (reference, what, m) in &met {
        match m.status {
            StatusCode::OK | StatusCode::CREATED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                unavailable += 1;
                assert_eq!(
                    m.body["message"], "Service temporarily unavailable",
                    "{m:?}"
                );
            }
            other => panic!("{what} {reference} answered {other}: {}", m.body),
        }
    }
    assert!(unavailable > 0, "the outage was noticed");
    let ok_before = met
        .iter()
        .any(|(_, _, m)| m.at < down_at && m.status.is_success());
    let ok_after = met
        .iter()
        .any(|(_, what, m)| *what == "create" && m.at > up_at && m.status == StatusCode::CREATED);
    assert!(
        ok_before && ok_after,
        "load succeeded before and after the outage"
    );

    // Nothing half-applied: what was answered 201 exists whole (with its BUSINESS_REF
    // variable); what was refused does not exist; a variable answered 200 is there.
    let answered: BTreeMap<&str, StatusCode> = met
        .iter()
        .filter(|(_, what, _)| *what == "create")
        .map(|(reference, _, m)| (reference.as_str(), m.status))
        .collect();
    let conn = Database::connect(pg.url()).await.unwrap();
    let rows = entity::process::Entity::find()
        .filter(entity::process::Column::BusinessRef.like("fault-%"))
        .all(&conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let stored: BTreeMap<String, i64> = rows
        .into_iter()
        .filter_map(|row| Some((row.business_ref?, row.id)))
        .collect();
    for (reference, status) in &answered {
        let exists = stored.contains_key(*reference);
        assert_eq!(
            exists,
            *status == StatusCode::CREATED,
            "{reference} answered {status} but exists: {exists}"
        );
    }
    assert_eq!(
        stored.len(),
        answered
            .values()
            .filter(|s| **s == StatusCode::CREATED)
            .count()
    );
    for (reference, what, m) in &met {
        if *what != "variable" {
            continue;
        }
        let prcs_id = stored[reference];
        let (status, vars) = kit
            .call(
                Method::GET,
                &format!("/v1/processes/{prcs_id}/process_vars"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let names: Vec<&str> = vars["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v["name"].as_str())
            .collect();
        assert!(
            names.contains(&"BUSINESS_REF"),
            "{reference} is whole: {vars}"
        );
        assert_eq!(
            names.contains(&"mark"),
            m.status == StatusCode::OK,
            "{reference}: the variable answered {} vs stored: {vars}",
            m.status
        );
    }
    // A change after the outage works and reaches the view (the sync loop recovered too).
    let creds = kit.client_with(&["Read"]).await;
    let fresh = kit.token(&creds, None).await;
    let (status, _) = kit
        .call(Method::GET, "/v1/utils/ping", Some(&fresh), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    eprintln!(
        "database faults: {} requests, {unavailable} answered 503, {:?} in all (cluster at {})",
        met.len(),
        began.elapsed(),
        pg.path().display()
    );
    kit.finish().await;
    drop(pg);
}

/// One request; a transport failure (a hang past the timeout, a closed connection) fails the
/// test at once.
async fn answer(
    api: &Api,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = api
        .http
        .request(method.clone(), api.url(path))
        .bearer_auth(token)
        .timeout(Duration::from_secs(20));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("{method} {path}: no answer: {err:?}"));
    let status = response.status();
    let text = response
        .text()
        .await
        .unwrap_or_else(|err| panic!("{method} {path}: the body broke off: {err:?}"));
    let body = serde_json::from_str(&text).unwrap_or_else(|_| {
        panic!("{method} {path}: {status} with a body that is no JSON: {text}")
    });
    (status, body)
}
