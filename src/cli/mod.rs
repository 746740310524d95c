//! The `flowgate` command line: the server, and the management tasks, which call the same
//! services as the admin API (running instances pick the changes up within two seconds).

mod apps;
mod clients;
mod manage;
mod users;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::authz::RouteTable;
use crate::config::{Config, Overrides};
use crate::services::App;
use crate::services::setup::{self, Bootstrap};
use crate::{Error, Result, http, telemetry};

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
    /// Run the server (the default; `--listen` and `--public-url` apply to both).
    Serve,
    /// Apply migrations and seed an empty database, then exit.
    Migrate,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Clients(clients::ClientsCommand),
    /// Manage people (who log in and let apps act for them).
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Approve or reject developer apps.
    #[command(subcommand)]
    Apps(apps::AppsCommand),
    /// Manage the casbin policy.
    #[command(subcommand)]
    Policy(manage::PolicyCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(manage::KeysCommand),
    /// Manage BPMN diagrams.
    #[command(subcommand)]
    Diagrams(manage::DiagramsCommand),
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
    match &cli.command {
        Some(Command::Openapi { yaml, server_url }) => {
            use std::io::Write;
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                crate::api::document(*yaml, server_url)
            );
            return Ok(());
        }
        Some(Command::Postman { out }) => return write_postman(out),
        _ => {}
    }
    let config = Config::load(&cli.overrides)?;
    let _log = telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let app = open(&config, Notice::Stdout).await?;
            setup::close(&app).await;
            println!("database is up to date");
            Ok(())
        }
        Command::Clients(command) => {
            let app = open(&config, Notice::Stderr).await?;
            let done = clients::run(&app, command).await;
            setup::close(&app).await;
            done
        }
        Command::Users(command) => {
            let app = open(&config, Notice::Stderr).await?;
            let done = users::run(&app, command).await;
            setup::close(&app).await;
            done
        }
        Command::Apps(command) => {
            let app = open(&config, Notice::Stderr).await?;
            let done = apps::run(&app, command).await;
            setup::close(&app).await;
            done
        }
        Command::Policy(command) => {
            let app = open(&config, Notice::Stderr).await?;
            let done = manage::policy(&app, command).await;
            setup::close(&app).await;
            done
        }
        Command::Keys(command) => {
            let app = open(&config, Notice::Stderr).await?;
            let done = manage::keys(&app, command).await;
            setup::close(&app).await;
            done
        }
        Command::Diagrams(command) => {
            let app = open(&config, Notice::Stderr).await?;
            let done = manage::diagrams(&app, command).await;
            setup::close(&app).await;
            done
        }
        Command::Openapi { .. } | Command::Postman { .. } => Ok(()),
    }
}

fn write_postman(out: &std::path::Path) -> Result<()> {
    let doc: serde_json::Value =
        serde_json::from_str(&crate::api::document(false, crate::api::DEFAULT_SERVER_URL))
            .map_err(Error::internal)?;
    crate::postman::write(out, &doc)
        .map_err(|e| Error::invalid(format!("cannot write {}: {e}", out.display())))?;
    println!(
        "wrote {} and {} in {}",
        crate::postman::COLLECTION_FILE,
        crate::postman::ENVIRONMENT_FILE,
        out.display()
    );
    Ok(())
}

/// Binds first, so that a start that cannot serve never seeds; prints the bootstrap
/// credentials as soon as the seeding transaction has committed.
async fn serve(config: Config) -> Result<()> {
    let signals = http::StopSignals::catch()?;
    let listener = http::bind(&config.listen).await?;
    let mut opened = setup::open(&config).await?;
    print_bootstrap(opened.bootstrap.take().as_ref(), Notice::Stdout);
    let running = http::serve(config, listener, opened).await?;
    running.stop_on(signals).await;
    Ok(())
}

/// Where the bootstrap notice goes: standard output for `serve` and `migrate`; standard error
/// for the management commands, whose output scripts read. Never the log.
#[derive(Clone, Copy)]
enum Notice {
    Stdout,
    Stderr,
}

/// The one time the bootstrap secret is shown.
fn print_bootstrap(bootstrap: Option<&Bootstrap>, to: Notice) {
    let Some(b) = bootstrap else { return };
    let notice = format!(
        "Created the bootstrap admin client (all four roles). Its secret is shown only now:\n\
         \x20 client_id:     {id}\n\
         \x20 client_secret: {secret}\n\
         If it is lost, `flowgate clients rotate-secret {id}` prints a new one.\n\
         Created the bootstrap admin person (console and login). Their password is shown only now:\n\
         \x20 username:      {user}\n\
         \x20 password:      {password}\n\
         If it is lost, `flowgate users reset-password {user} --password-stdin` sets a new one.",
        id = b.client_id,
        secret = b.client_secret,
        user = b.admin_username,
        password = b.admin_password,
    );
    match to {
        Notice::Stdout => println!("{notice}"),
        Notice::Stderr => eprintln!("{notice}"),
    }
}

/// Opens (migrating and, on a new database, seeding: whichever command comes first prints the
/// bootstrap credentials) and gives the services to work with.
async fn open(config: &Config, notice: Notice) -> Result<Arc<App>> {
    let opened = setup::open(config).await?;
    print_bootstrap(opened.bootstrap.as_ref(), notice);
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    App::new(
        config.clone(),
        opened.db,
        opened.kek,
        public_url,
        RouteTable::default(),
    )
    .await
}
