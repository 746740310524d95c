//! Integration tests: one binary (one link), the real server, HTTP only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kit;

mod admin;
mod authorize;
mod browser;
mod cli;
mod console;
mod delegated;
mod diagrams;
mod docs;
mod first_hour;
mod flow_requests;
mod gate;
mod gate_matrix;
mod hardening;
mod limits;
mod multi;
mod oauth;
mod people;
mod process;
mod process_errors;
