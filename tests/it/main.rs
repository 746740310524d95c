//! Integration tests: one binary (one link), the real server, HTTP only.

mod kit;

mod admin;
mod cli;
mod diagrams;
mod docs;
mod gate;
mod multi;
mod oauth;
mod process;
mod process_errors;
