//! `weft`: the server, migrations, tenants and the demo in one binary.

mod app;
mod config;
mod demo;
mod outbound;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "Weft: a no-code CRM app-builder platform"
)]
struct Cli {
    /// A TOML config file (default: ./weft.toml when present).
    #[arg(long, global = true, env = "WEFT_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the SQLite database and attachments.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…); SQLite in the data directory when absent.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the API and the web app.
    Serve {
        #[arg(long)]
        host: Option<String>,
        #[arg(long, short)]
        port: Option<u16>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        cmd: TenantCmd,
    },
    /// Create (once) a demo tenant with the CRM example, print its credentials, and serve.
    Demo {
        #[arg(long)]
        host: Option<String>,
        #[arg(long, short)]
        port: Option<u16>,
        /// Load the demo and exit without serving.
        #[arg(long)]
        no_serve: bool,
        /// The app to load.
        #[arg(long, default_value = "examples/crm")]
        app: PathBuf,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Seal pending change-log rows, then recompute every tenant's hash chain (or one
    /// tenant's) and report the first broken entry. Exit status 2 when tampering is found.
    Verify {
        #[arg(long)]
        tenant: Option<uuid::Uuid>,
    },
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant with an admin user; prints JSON with the tenant id and an admin API key.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "Admin")]
        admin_name: String,
        #[arg(long)]
        admin_email: Option<String>,
    },
    /// List tenants.
    List,
}

fn main() -> std::process::ExitCode {
    weft_outbound::install_tls();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (host, port) = match &cli.cmd {
        Cmd::Serve { host, port } | Cmd::Demo { host, port, .. } => (host.clone(), *port),
        _ => (None, None),
    };
    let over = Overrides {
        host,
        port,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    let cfg = Config::load(cli.config.as_deref(), &over)?;
    let filter = EnvFilter::try_new(&cfg.log).context("invalid log filter")?;
    // Logs go to stderr: commands such as `weft tenant create` print JSON on stdout for
    // scripts, and a warning logged on the way (a slow statement under load) broke it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
    match cli.cmd {
        Cmd::Serve { .. } => {
            let (store, rt) = app::open(&cfg).await?;
            app::check_role(&store).await?;
            app::serve(&cfg, rt, None).await
        }
        Cmd::Migrate => {
            let mut c = cfg.clone();
            c.auto_migrate = false;
            let (store, _rt) = app::open(&c).await?;
            store.migrate().await.context("migrations failed")?;
            println!("migrations applied");
            Ok(())
        }
        Cmd::Tenant { cmd } => {
            let (store, rt) = app::open(&cfg).await?;
            match cmd {
                TenantCmd::Create {
                    name,
                    admin_name,
                    admin_email,
                } => {
                    let t = rt
                        .tenants()
                        .create_tenant(&name, &admin_name, admin_email.as_deref())
                        .await?;
                    println!("{}", serde_json::to_string_pretty(&t)?);
                }
                TenantCmd::List => {
                    use weft_runtime::ports::Store;
                    for t in store.list_tenants().await? {
                        println!("{}\t{}\t{}", t.id, t.status, t.name);
                    }
                }
            }
            Ok(())
        }
        Cmd::Demo {
            no_serve, app: dir, ..
        } => {
            let (store, rt) = app::open(&cfg).await?;
            app::check_role(&store).await?;
            let creds = demo::ensure_demo(&cfg, &rt, &dir).await?;
            let mut banner = format!(
                "Demo tenant: {}\nAPI key:     {}\nTry:         curl -H 'Authorization: Bearer {}' http://{}:{}/api/v1/data/account",
                creds.tenant_id, creds.api_key, creds.api_key, cfg.host, cfg.port
            );
            if let Some(pw) = &creds.password {
                banner.push_str(&format!("\nSign in as (password {pw}):"));
                for (name, email) in &creds.users {
                    banner.push_str(&format!("\n  {email:<22} {name}"));
                }
            }
            if no_serve {
                println!("{banner}");
                return Ok(());
            }
            app::serve(&cfg, rt, Some(banner)).await
        }
        Cmd::Audit {
            cmd: AuditCmd::Verify { tenant },
        } => {
            use weft_runtime::ports::Store;
            let (store, rt) = app::open(&cfg).await?;
            let tenants: Vec<weft_meta::TenantId> = match tenant {
                Some(t) => vec![weft_meta::TenantId(t)],
                None => store
                    .list_tenants()
                    .await?
                    .into_iter()
                    .map(|t| t.id)
                    .collect(),
            };
            let mut bad = false;
            for t in tenants {
                rt.audit().seal_changes(t).await?;
                let r = rt.audit().verify_audit(t).await?;
                println!("{}", serde_json::to_string(&r)?);
                bad |= !r.ok;
            }
            if bad {
                std::process::exit(2);
            }
            Ok(())
        }
    }
}
