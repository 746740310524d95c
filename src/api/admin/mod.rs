//! The admin API under `/v1/admin/` (role Admin by the default policy): clients, people,
//! developer apps, policy, signing keys, the audit log and diagram uploads. Every change goes
//! through a service, which audits it and makes it visible at once.

pub mod apps;
pub mod audit;
pub mod clients;
pub mod diagrams;
pub mod keys;
pub mod policy;
pub mod text;
pub mod users;

use poem_openapi::Object;
use poem_openapi::payload::Json;

/// `{"success": true, "message": …}`
#[derive(Object)]
pub struct Done {
    pub success: bool,
    pub message: String,
}

impl Done {
    pub fn new(message: &str) -> Json<Done> {
        Json(Done {
            success: true,
            message: message.to_owned(),
        })
    }
}
