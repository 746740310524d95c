//! `flowgate apps …`: the same use cases as `/v1/admin/apps` (people register apps in the
//! developer portal; admins approve or reject them).

use clap::Subcommand;

use crate::Result;
use crate::caller::Actor;
use crate::services::App;
use crate::services::apps::{self, AppView};
use crate::services::paging::Paging;

#[derive(Subcommand, Debug)]
pub enum AppsCommand {
    /// List developer apps, optionally only those with one status.
    List {
        /// pending, approved or rejected.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Approve an app: people can then authorize it.
    Approve { client_id: String },
    /// Reject an app: it gets no consent page and no token.
    Reject { client_id: String },
}

fn print_app(view: &AppView) {
    println!(
        "{}  {:<24} {:<8} owner={} scopes={}",
        view.client_id,
        view.name,
        view.status,
        view.owner.as_deref().unwrap_or("-"),
        view.scopes.join(","),
    );
}

pub async fn run(app: &App, command: AppsCommand) -> Result<()> {
    let actor = Actor::cli();
    match command {
        AppsCommand::List { status, json } => {
            let (views, _) = apps::list(app, status.as_deref(), Paging::all()).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&views).unwrap_or_default()
                );
            } else {
                views.iter().for_each(print_app);
            }
        }
        AppsCommand::Approve { client_id } => {
            print_app(&apps::decide(app, &actor, &client_id, "approved").await?);
        }
        AppsCommand::Reject { client_id } => {
            print_app(&apps::decide(app, &actor, &client_id, "rejected").await?);
        }
    }
    Ok(())
}
