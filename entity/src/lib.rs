//! sea-orm entities of flowgate: one module per table. Times are Unix seconds (`i64`) so that
//! SQLite and PostgreSQL store and compare them the same way.

pub mod audit_log;
pub mod authorization_code;
pub mod change_counter;
pub mod client;
pub mod client_role;
pub mod consent;
pub mod diagram;
pub mod flow_request;
pub mod policy_rule;
pub mod process;
pub mod refresh_token;
pub mod revoked_token;
pub mod role;
pub mod session;
pub mod signing_key;
pub mod subflow_ref;
pub mod subscription;
pub mod user;
pub mod user_role;
