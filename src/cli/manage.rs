//! `flowgate policy …`, `keys …` and `diagrams …`: the same use cases as the admin API.

use clap::{Args, Subcommand};

use crate::caller::Actor;
use crate::services::{
    App, diagrams as diagram_service, keys as key_service, policy as policy_service,
};
use crate::{Error, Result};

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// List the rules.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a rule.
    Add(RuleArgs),
    /// Remove a rule.
    Remove(RuleArgs),
}

#[derive(Args, Debug)]
pub struct RuleArgs {
    /// Read, Write, Messages, Admin, or * for any role.
    #[arg(long)]
    role: String,
    /// keyMatch2 path pattern, e.g. /v1/processes/:prcs_id.
    #[arg(long)]
    path: String,
    /// HTTP method or *.
    #[arg(long)]
    method: String,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a new signing key; old keys stay published until their tokens expire.
    Rotate,
    /// List published keys.
    List,
}

#[derive(Subcommand, Debug)]
pub enum DiagramsCommand {
    /// Import a BPMN file (draft unless --release; releasing deprecates the version released
    /// before).
    Import {
        file: std::path::PathBuf,
        /// The diagram's name (default: the name of its process).
        #[arg(long)]
        name: Option<String>,
        /// The version, as text (default: the next number of that name).
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// Release it at once.
        #[arg(long)]
        release: bool,
    },
}

pub async fn policy(app: &App, command: PolicyCommand) -> Result<()> {
    let actor = Actor::cli();
    match command {
        PolicyCommand::List { json } => {
            let rules = policy_service::list(app).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rules).unwrap_or_default()
                );
            } else {
                for rule in rules {
                    println!(
                        "{:>4}  {:<9} {:<7} {}",
                        rule.id, rule.role, rule.method, rule.path
                    );
                }
            }
        }
        PolicyCommand::Add(r) => {
            let rule = policy_service::add(app, &actor, &r.role, &r.path, &r.method).await?;
            println!(
                "added rule {}: {} {} {}",
                rule.id, rule.role, rule.method, rule.path
            );
        }
        PolicyCommand::Remove(r) => {
            let rule =
                policy_service::remove_matching(app, &actor, &r.role, &r.path, &r.method).await?;
            println!(
                "removed rule {}: {} {} {}",
                rule.id, rule.role, rule.method, rule.path
            );
        }
    }
    Ok(())
}

pub async fn keys(app: &App, command: KeysCommand) -> Result<()> {
    match command {
        KeysCommand::Rotate => {
            let kid = key_service::rotate(app, &Actor::cli()).await?;
            println!("new signing key {kid}; older keys stay published until their tokens expire");
        }
        KeysCommand::List => {
            for v in key_service::list(app).await? {
                let state = if v.active {
                    "active".to_owned()
                } else {
                    format!("retired, published until {}", v.publish_until.unwrap_or(0))
                };
                println!("{}  {}  {state}", v.kid, v.algorithm);
            }
        }
    }
    Ok(())
}

pub async fn diagrams(app: &App, command: DiagramsCommand) -> Result<()> {
    let DiagramsCommand::Import {
        file,
        name,
        version,
        category,
        release,
    } = command;
    let xml = std::fs::read_to_string(&file)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", file.display())))?;
    let status = if release { "released" } else { "draft" };
    let options = diagram_service::ImportOptions {
        name,
        version,
        category,
    };
    let imported = diagram_service::import(app, &Actor::cli(), &xml, status, options).await?;
    let d = &imported.diagram;
    println!(
        "imported {} version {} as dgrm_id {} ({})",
        d.name, d.version, d.dgrm_id, d.status
    );
    for warning in &imported.warnings {
        println!("warning: {}: {}", warning.element_id, warning.message);
    }
    Ok(())
}
