//! The diagrams of Flows for APEX's own repository (tutorials and examples, MIT), when a copy
//! sits in `../shared/f4a` beside the repository: each is uploaded through the admin API, and
//! at least as many as the engine has reached must import. Every refusal is printed.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;

use crate::kit::{Backend, Kit};

/// Imports reached so far; raise it as the engine learns more.
const AT_LEAST: usize = 33;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/f4a")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_for_apex_diagrams_import() {
    let dir = sample_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipped: no Flows for APEX diagrams at {}", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "bpmn"))
        .collect();
    files.sort();
    let kit = Kit::start(Backend::Sqlite).await.expect("sqlite");
    let token = kit.admin_token().await;
    let mut imported = 0;
    for (index, file) in files.iter().enumerate() {
        let xml = std::fs::read_to_string(file).unwrap();
        let response = kit
            .http
            .post(kit.url(&format!("/v1/admin/diagrams?name=f4a-{index}")))
            .bearer_auth(&token)
            .header("content-type", "application/xml")
            .body(xml)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let name = file.file_name().unwrap().to_string_lossy();
        if status == StatusCode::CREATED {
            imported += 1;
            let warnings = body["warnings"].as_array().map_or(0, Vec::len);
            println!("imported {name} ({warnings} warnings)");
        } else {
            println!("refused {name}: {status} {body}");
        }
    }
    println!("{imported} of {} imported", files.len());
    assert!(
        imported >= AT_LEAST,
        "{imported} of {} imported, expected at least {AT_LEAST}",
        files.len()
    );
    kit.finish().await;
}
