//! `flowgate users …`: the same use cases as `/v1/admin/users`. Passwords are read from
//! standard input (`--password-stdin`), never taken as arguments and never printed.

use std::io::BufRead;

use clap::Subcommand;
use serde_json::{Value, json};

use crate::caller::Actor;
use crate::services::App;
use crate::services::clients::parse_roles;
use crate::services::paging::Paging;
use crate::services::users::{self, NewUser, UserView};
use crate::{Error, Result};

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create a person who can log in; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Comma-separated roles: Read,Write,Messages,Admin.
        #[arg(long, default_value = "")]
        roles: String,
        /// An admin of the HTML console.
        #[arg(long)]
        admin: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List people.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one person (by user id or username).
    Show {
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Disable a person; their sessions end and delegated tokens stop working.
    Disable { user: String },
    /// Enable a person.
    Enable { user: String },
    /// Set a new password, read from standard input; the person's sessions end.
    ResetPassword {
        user: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Grant roles.
    Grant {
        user: String,
        #[arg(long)]
        roles: String,
    },
    /// Revoke roles.
    Revoke {
        user: String,
        #[arg(long)]
        roles: String,
    },
}

/// The person as the admin API shows them.
fn as_json(view: &UserView) -> Value {
    json!({
        "user_id": view.user_id,
        "username": view.username,
        "enabled": view.enabled,
        "admin": view.is_admin,
        "roles": view.roles,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
    })
}

fn print_user(view: &UserView, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&as_json(view)).unwrap_or_default()
        );
    } else {
        println!(
            "{}  {:<24} roles={:<28} {}{}",
            view.user_id,
            view.username,
            view.roles.join(","),
            if view.enabled { "enabled" } else { "disabled" },
            if view.is_admin { " admin" } else { "" },
        );
    }
}

/// The first line of standard input without its line ending (`--password-stdin`).
fn password_from_stdin(asked: bool) -> Result<String> {
    if !asked {
        return Err(Error::attribute(
            "password",
            "give the password on standard input with --password-stdin",
        ));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Error::invalid(format!("cannot read the password from standard input: {e}"))
    })?;
    if let Some(rest) = line.strip_suffix('\n') {
        line.truncate(rest.strip_suffix('\r').unwrap_or(rest).len());
    }
    Ok(line)
}

pub async fn run(app: &App, command: UsersCommand) -> Result<()> {
    let actor = Actor::cli();
    match command {
        UsersCommand::Create {
            username,
            password_stdin,
            roles,
            admin,
            json,
        } => {
            let new = NewUser {
                roles: parse_roles(&roles)?,
                password: password_from_stdin(password_stdin)?,
                username,
                is_admin: admin,
            };
            let view = users::create(app, &actor, new).await?;
            if json {
                println!("{}", as_json(&view));
            } else {
                print_user(&view, false);
            }
        }
        UsersCommand::List { json } => {
            let (views, _) = users::list(app, Paging::all()).await?;
            if json {
                let all: Vec<Value> = views.iter().map(as_json).collect();
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
            } else {
                views.iter().for_each(|v| print_user(v, false));
            }
        }
        UsersCommand::Show { user, json } => print_user(&users::show(app, &user).await?, json),
        UsersCommand::Disable { user } => {
            print_user(&users::set_enabled(app, &actor, &user, false).await?, false);
        }
        UsersCommand::Enable { user } => {
            print_user(&users::set_enabled(app, &actor, &user, true).await?, false);
        }
        UsersCommand::ResetPassword {
            user,
            password_stdin,
        } => {
            let password = password_from_stdin(password_stdin)?;
            let view = users::reset_password(app, &actor, &user, &password).await?;
            println!("password reset for {}", view.username);
        }
        UsersCommand::Grant { user, roles } => {
            print_user(
                &users::change_roles(app, &actor, &user, parse_roles(&roles)?, true).await?,
                false,
            );
        }
        UsersCommand::Revoke { user, roles } => {
            print_user(
                &users::change_roles(app, &actor, &user, parse_roles(&roles)?, false).await?,
                false,
            );
        }
    }
    Ok(())
}
