//! Integration tests: one binary (one link), the real server, HTTP only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod binary;
mod kit;

mod admin;
mod audit_log;
mod authorize;
mod autocommit;
mod browser;
mod calls;
mod cli;
mod concurrency;
mod console;
mod db_faults;
mod delegated;
mod diagrams;
mod docs;
mod f4a;
mod first_hour;
mod flow_requests;
mod flows_contract;
mod gate;
mod gate_matrix;
mod grant_writes;
mod hardening;
mod instance_reads;
mod keys_at_rest;
mod limits;
mod log_secrets;
mod malformed;
mod moves;
mod multi;
mod oauth;
mod people;
mod postgres_tls;
mod process;
mod process_errors;
mod revocation;
mod sessions;
mod shutdown;
mod sole_server;
mod tutorials;
mod tutorials_calls;
