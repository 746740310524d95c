//! `flowgate clients …`: the same use cases as `/v1/admin/clients`.

use clap::Subcommand;
use serde_json::json;

use crate::Result;
use crate::caller::Actor;
use crate::services::App;
use crate::services::clients::{self, ClientUpdate, ClientView, NewClient, parse_roles};
use crate::services::paging::Paging;

#[derive(Subcommand, Debug)]
pub enum ClientsCommand {
    /// Create a client and print its id and secret (the secret is shown only now).
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated roles: Read,Write,Messages,Admin.
        #[arg(long, default_value = "")]
        roles: String,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        support_email: Option<String>,
        #[arg(long)]
        support_uri: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        /// A public client (no secret; authorization code with PKCE only).
        #[arg(long)]
        public: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a client's descriptive fields.
    Update {
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Replaces the registered redirect URIs.
        #[arg(long = "redirect-uri")]
        redirect_uris: Option<Vec<String>>,
        #[arg(long)]
        support_email: Option<String>,
        #[arg(long)]
        support_uri: Option<String>,
        #[arg(long)]
        owner: Option<String>,
    },
    /// Delete a client.
    Delete { client_id: String },
    /// Give a client a new secret (printed once).
    RotateSecret {
        client_id: String,
        /// Also revoke every token issued to the client until now.
        #[arg(long)]
        revoke_tokens: bool,
        #[arg(long)]
        json: bool,
    },
    /// Grant roles.
    Grant {
        client_id: String,
        #[arg(long)]
        roles: String,
    },
    /// Revoke roles.
    Revoke {
        client_id: String,
        #[arg(long)]
        roles: String,
    },
    /// Enable a client.
    Enable { client_id: String },
    /// Disable a client.
    Disable { client_id: String },
}

fn print_client(view: &ClientView, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(view).unwrap_or_default());
    } else {
        println!(
            "{}  {:<24} roles={:<28} {} {}",
            view.client_id,
            view.name,
            view.roles.join(","),
            if view.confidential {
                "confidential"
            } else {
                "public"
            },
            if view.enabled { "enabled" } else { "disabled" },
        );
    }
}

pub async fn run(app: &App, command: ClientsCommand) -> Result<()> {
    let actor = Actor::cli();
    match command {
        ClientsCommand::Create {
            name,
            roles: role_list,
            redirect_uris,
            description,
            support_email,
            support_uri,
            owner,
            public,
            json,
        } => {
            let new = NewClient {
                name,
                description,
                redirect_uris,
                support_email,
                support_uri,
                owner,
                roles: parse_roles(&role_list)?,
                public,
            };
            let created = clients::create(app, &actor, new).await?;
            if json {
                let value = json!({
                    "client_id": created.client.client_id,
                    "client_secret": created.secret,
                    "name": created.client.name,
                    "roles": created.client.roles,
                });
                println!("{value}");
            } else {
                println!("client_id:     {}", created.client.client_id);
                if let Some(secret) = created.secret {
                    println!("client_secret: {secret}  (shown only now)");
                }
            }
        }
        ClientsCommand::List { json } => {
            let (views, _) = clients::list(app, Paging::all()).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&views).unwrap_or_default()
                );
            } else {
                views.iter().for_each(|v| print_client(v, false));
            }
        }
        ClientsCommand::Show { client_id, json } => {
            print_client(&clients::show(app, &client_id).await?, json)
        }
        ClientsCommand::Update {
            client_id,
            name,
            description,
            redirect_uris,
            support_email,
            support_uri,
            owner,
        } => {
            let update = ClientUpdate {
                name,
                description,
                redirect_uris,
                support_email,
                support_uri,
                owner,
            };
            print_client(
                &clients::update(app, &actor, &client_id, update).await?,
                false,
            );
        }
        ClientsCommand::Delete { client_id } => {
            clients::delete(app, &actor, &client_id).await?;
            println!("deleted {client_id}");
        }
        ClientsCommand::RotateSecret {
            client_id,
            revoke_tokens,
            json,
        } => {
            let rotated = clients::rotate_secret(app, &actor, &client_id, revoke_tokens).await?;
            let secret = rotated.secret.unwrap_or_default();
            if json {
                println!(
                    "{}",
                    json!({"client_id": client_id, "client_secret": secret})
                );
            } else {
                println!("client_secret: {secret}  (shown only now)");
            }
        }
        ClientsCommand::Grant {
            client_id,
            roles: list,
        } => {
            print_client(
                &clients::change_roles(app, &actor, &client_id, parse_roles(&list)?, true).await?,
                false,
            );
        }
        ClientsCommand::Revoke {
            client_id,
            roles: list,
        } => {
            print_client(
                &clients::change_roles(app, &actor, &client_id, parse_roles(&list)?, false).await?,
                false,
            );
        }
        ClientsCommand::Enable { client_id } => {
            print_client(
                &clients::set_enabled(app, &actor, &client_id, true).await?,
                false,
            );
        }
        ClientsCommand::Disable { client_id } => {
            print_client(
                &clients::set_enabled(app, &actor, &client_id, false).await?,
                false,
            );
        }
    }
    Ok(())
}
