//! The `flowgate` command line: the server and the management tasks, which talk to the database
//! directly (running instances pick the changes up within two seconds).

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::config::{Config, Overrides};
use crate::roles::RoleSet;
use crate::store::audit::Actor;
use crate::store::clients::{self, ClientUpdate, ClientView, NewClient};
use crate::store::{self, keys, policy};
use crate::{Error, Result, server, telemetry};

#[derive(Parser, Debug)]
#[command(
    name = "flowgate",
    version,
    about = "Role-based API gateway and OAuth 2.0 server for process APIs"
)]
pub struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Apply migrations and seed an empty database, then exit.
    Migrate,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage the casbin policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage BPMN diagrams.
    #[command(subcommand)]
    Diagrams(DiagramsCommand),
    /// Write the Postman collection and environment generated from the OpenAPI document.
    Postman {
        #[arg(long, default_value = "postman")]
        out: std::path::PathBuf,
    },
    /// Print the OpenAPI document (no database or server needed).
    Openapi {
        /// YAML instead of JSON.
        #[arg(long)]
        yaml: bool,
        /// The server URL the document names.
        #[arg(long, default_value = crate::api::DEFAULT_SERVER_URL)]
        server_url: String,
    },
}

#[derive(Subcommand, Debug)]
enum DiagramsCommand {
    /// Import a BPMN file as the next version of its process (draft unless --release).
    Import {
        file: std::path::PathBuf,
        /// Release it at once.
        #[arg(long)]
        release: bool,
        #[arg(long)]
        category: Option<String>,
    },
}

#[derive(Args, Debug, Default)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "FLOWGATE_LISTEN")]
    listen: Option<String>,
    /// Base URL clients use to reach the server.
    #[arg(long, env = "FLOWGATE_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Subcommand, Debug)]
enum ClientsCommand {
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

#[derive(Subcommand, Debug)]
enum PolicyCommand {
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
struct RuleArgs {
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
enum KeysCommand {
    /// Create a new signing key; old keys stay published until their tokens expire.
    Rotate,
    /// List published keys.
    List,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    if let Some(Command::Openapi { yaml, server_url }) = &cli.command {
        use std::io::Write;
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            crate::api::document(*yaml, server_url)
        );
        return Ok(());
    }
    if let Some(Command::Postman { out }) = &cli.command {
        let doc: serde_json::Value =
            serde_json::from_str(&crate::api::document(false, crate::api::DEFAULT_SERVER_URL))
                .map_err(|e| Error::Internal(e.to_string()))?;
        crate::postman::write(out, &doc)
            .map_err(|e| Error::invalid(format!("cannot write {}: {e}", out.display())))?;
        println!(
            "wrote {} and {} in {}",
            crate::postman::COLLECTION_FILE,
            crate::postman::ENVIRONMENT_FILE,
            out.display()
        );
        return Ok(());
    }
    let config = Config::load(&cli.overrides)?;
    telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(config, args).await,
        Command::Migrate => {
            let db = store::connect(&config).await?;
            let bootstrap = store::migrate(&db, &config).await?;
            print_bootstrap(bootstrap.as_ref());
            println!("database is up to date");
            Ok(())
        }
        Command::Clients(command) => clients_command(&config, command).await,
        Command::Policy(command) => policy_command(&config, command).await,
        Command::Keys(command) => keys_command(&config, command).await,
        Command::Openapi { .. } | Command::Postman { .. } => Ok(()),
        Command::Diagrams(DiagramsCommand::Import {
            file,
            release,
            category,
        }) => {
            let xml = std::fs::read_to_string(&file)
                .map_err(|e| Error::invalid(format!("cannot read {}: {e}", file.display())))?;
            let db = open(&config).await?;
            let status = if release { "released" } else { "draft" };
            let d = store::diagrams::import(&db, &Actor::cli(), &xml, status, category).await?;
            println!(
                "imported {} version {} as dgrm_id {} ({})",
                d.name, d.version, d.dgrm_id, d.status
            );
            Ok(())
        }
    }
}

async fn serve(mut config: Config, args: ServeArgs) -> Result<()> {
    if let Some(url) = args.public_url {
        config.public_url = Some(url);
    }
    let listen = args.listen.unwrap_or_else(|| config.listen.clone());
    let running = server::start(config, &listen).await?;
    print_bootstrap(running.bootstrap.as_ref());
    running.wait_for_signal().await;
    Ok(())
}

/// The one time the bootstrap secret is shown: on standard output, never in the log.
fn print_bootstrap(bootstrap: Option<&store::Bootstrap>) {
    if let Some(b) = bootstrap {
        println!(
            "Created the bootstrap admin client (all four roles). Its secret is shown only now:"
        );
        println!("  client_id:     {}", b.client_id);
        println!("  client_secret: {}", b.client_secret);
    }
}

async fn open(config: &Config) -> Result<sea_orm::DatabaseConnection> {
    let db = store::connect(config).await?;
    store::migrate(&db, config).await?;
    Ok(db)
}

fn roles(list: &str) -> Result<RoleSet> {
    RoleSet::parse_list(list).map_err(|bad| {
        Error::invalid(format!(
            "unknown role {bad:?} (Read, Write, Messages, Admin)"
        ))
    })
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

async fn clients_command(config: &Config, command: ClientsCommand) -> Result<()> {
    let db = open(config).await?;
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
                roles: roles(&role_list)?,
                public,
            };
            let created = clients::create(&db, &actor, new).await?;
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
            let (views, _) = clients::list(&db, u64::MAX >> 1, 0).await?;
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
            print_client(&clients::show(&db, &client_id).await?, json)
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
                &clients::update(&db, &actor, &client_id, update).await?,
                false,
            );
        }
        ClientsCommand::Delete { client_id } => {
            clients::delete(&db, &actor, &client_id).await?;
            println!("deleted {client_id}");
        }
        ClientsCommand::RotateSecret { client_id, json } => {
            let secret = clients::rotate_secret(&db, &actor, &client_id).await?;
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
                &clients::change_roles(&db, &actor, &client_id, roles(&list)?, true).await?,
                false,
            );
        }
        ClientsCommand::Revoke {
            client_id,
            roles: list,
        } => {
            print_client(
                &clients::change_roles(&db, &actor, &client_id, roles(&list)?, false).await?,
                false,
            );
        }
        ClientsCommand::Enable { client_id } => {
            print_client(
                &clients::set_enabled(&db, &actor, &client_id, true).await?,
                false,
            );
        }
        ClientsCommand::Disable { client_id } => {
            print_client(
                &clients::set_enabled(&db, &actor, &client_id, false).await?,
                false,
            );
        }
    }
    Ok(())
}

async fn policy_command(config: &Config, command: PolicyCommand) -> Result<()> {
    let db = open(config).await?;
    let actor = Actor::cli();
    match command {
        PolicyCommand::List { json } => {
            let rules = policy::list(&db).await?;
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
            let rule = policy::add(&db, &actor, &r.role, &r.path, &r.method).await?;
            println!(
                "added rule {}: {} {} {}",
                rule.id, rule.role, rule.method, rule.path
            );
        }
        PolicyCommand::Remove(r) => {
            let rule = policy::remove_matching(&db, &actor, &r.role, &r.path, &r.method).await?;
            println!(
                "removed rule {}: {} {} {}",
                rule.id, rule.role, rule.method, rule.path
            );
        }
    }
    Ok(())
}

async fn keys_command(config: &Config, command: KeysCommand) -> Result<()> {
    let db = open(config).await?;
    match command {
        KeysCommand::Rotate => {
            let kid = keys::rotate(&db, &Actor::cli(), config.access_token_ttl).await?;
            println!("new signing key {kid}; older keys stay published until their tokens expire");
        }
        KeysCommand::List => {
            for key in keys::published(&db).await? {
                let v = key.view();
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
