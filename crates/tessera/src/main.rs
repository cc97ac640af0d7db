//! `tessera`: self-hosted, Clerk-compatible user management and authentication.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::json;
use tessera::config::{ConfigArgs, Settings};
use tessera_core::keys::SecretKey;
use tessera_core::passwords::Hasher;

mod webhooks_cli;

/// Settings read only from the environment or `tessera.toml`, shown by `--help`.
const ENVIRONMENT_SETTINGS: &str = "\
Environment-only settings (or the same key in lower case in tessera.toml):
  TESSERA_SECRET_KEY, TESSERA_SECRET_KEY_FILE  the instance's secret key (must match the stored one)
  TESSERA_INSTANCE            development | production (fixed when the instance is created)
  TESSERA_FRONTEND_URL        public URL, in the publishable key and the tokens' iss (kept in the database)
  TESSERA_HASH_CONCURRENCY    password hashes running at once [default: cores - 1]
  TESSERA_SMTP_URL            outgoing email, smtp://host:port or smtps://user:pass@host (production needs it)
  TESSERA_SMTP_FROM           From address of codes and notices
  TESSERA_SMS_WEBHOOK_URL     outgoing SMS: POST {to, body, purpose} to your SMS bridge
  TESSERA_WEBHOOK_RETRY_SCHEDULE  delays before each webhook attempt [default: 0s,5s,5m,30m,2h,5h,10h,10h]
  TESSERA_WEBHOOK_DISABLE_AFTER   disable an endpoint failing this long [default: 5days]
  TESSERA_WEBHOOK_TIMEOUT     timeout of one webhook request [default: 15s]
  TESSERA_HTTP_HEADER_TIMEOUT   time to send a request's headers; idle keep-alive limit [default: 10s]
  TESSERA_HTTP_REQUEST_TIMEOUT  time for a request to arrive whole and be answered [default: 30s]
  TESSERA_HTTP_MAX_CONNECTIONS  connections served at once [default: 4096]
  TESSERA_BUNDLES             fetch | off: fetch missing browser bundles at start [default: fetch]
  TESSERA_NPM_REGISTRY        where the browser bundles are fetched from [default: https://registry.npmjs.org]
  RUST_LOG                    log filter [default: info]";

/// Self-hosted user management and authentication, compatible with Clerk's SDKs.
///
/// Settings come from flags, then environment variables, then `tessera.toml`
/// (in the working directory, or --config), then the defaults.
#[derive(Parser, Debug)]
#[command(name = "tessera", version, about, long_about, after_long_help = ENVIRONMENT_SETTINGS)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (migrates and creates the instance's keys on first start).
    #[command(after_long_help = ENVIRONMENT_SETTINGS)]
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the instance's keys as JSON, or rotate the signing key.
    Keys {
        #[command(subcommand)]
        action: Option<KeysAction>,
    },
    /// Print the stored instance as JSON, or change its frontend URL or secret key.
    Instance {
        #[command(subcommand)]
        action: Option<InstanceAction>,
    },
    /// The browser bundles (@clerk/clerk-js, @clerk/ui) served under /npm/: show
    /// which are in the data folder, fetch them from the npm registry, or import
    /// them from a node_modules folder.
    Bundles {
        #[command(subcommand)]
        action: Option<BundlesAction>,
    },
    /// Write a consistent copy of the live SQLite database to FILE (online; on
    /// PostgreSQL use pg_dump).
    Backup {
        /// The new file (must not exist).
        file: std::path::PathBuf,
    },
    /// Copy the whole database into another one (SQLite or PostgreSQL), which is
    /// migrated first and must be empty. Stop the servers first.
    Copy {
        /// The destination database URL (sqlite://… or postgres://…).
        #[arg(long)]
        to: String,
    },
    /// Manage webhook endpoints: list, add, remove, enable, disable, secret,
    /// attempts, messages, resend, recover.
    Webhooks {
        #[command(subcommand)]
        action: webhooks_cli::WebhooksAction,
    },
}

#[derive(Subcommand, Debug)]
enum InstanceAction {
    /// Move the instance to a new public URL: the publishable key and the tokens'
    /// issuer change; restart every server with TESSERA_FRONTEND_URL set to it.
    SetFrontendUrl {
        /// The new public URL (https:// for production).
        url: String,
    },
    /// Replace the secret key with TESSERA_SECRET_KEY (or _FILE), or with a new
    /// one printed once; the old key stops working at once.
    SetSecretKey,
}

#[derive(Subcommand, Debug)]
enum BundlesAction {
    /// Fetch the pinned bundles from the npm registry (TESSERA_NPM_REGISTRY), checked
    /// against their pinned integrity.
    Fetch,
    /// Copy the pinned bundles from a node_modules folder (after `npm install
    /// @clerk/clerk-js@<version> @clerk/ui@<version>` there).
    Import {
        /// The node_modules folder.
        node_modules: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum KeysAction {
    /// Make a new session-token signing key current; the old one stays in the JWKS for 24 hours.
    Rotate,
}

/// Prints a line to stdout, ignoring a closed pipe: output must never stop the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let log_filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // PostgreSQL's notices (such as "relation already exists, skipping" when
        // replicas migrate together) are not the operator's business.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx::postgres::notice=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(log_filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::Error::from(e)),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Configuration and start-up errors are messages: one line with its causes,
/// no backtrace whatever RUST_BACKTRACE says.
fn fail(err: &anyhow::Error) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {err:#}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&cli.config)?;
    match cli.command {
        Command::Serve => serve(&settings).await,
        Command::Migrate => {
            let store = tessera::open_store(&settings).await?;
            store.close().await;
            say!("migrations applied");
            Ok(())
        }
        Command::Keys { action } => keys(&settings, action).await,
        Command::Bundles { action } => bundles(&settings, action).await,
        Command::Instance { action } => instance(&settings, action).await,
        Command::Backup { file } => {
            let store = tessera::open_existing_store(&settings).await?;
            let done = tessera_store::transfer::backup_sqlite(&store, &file).await;
            store.close().await;
            done?;
            say!("backed up to {}", file.display());
            Ok(())
        }
        Command::Copy { to } => copy(&settings, &to).await,
        Command::Webhooks { action } => {
            let out = webhooks_cli::run(&settings, action).await?;
            say!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let running = tessera::start(settings).await?;
    let stop = shutdown_signal();
    let inst = running.core.instance();
    let base = running.core.frontend_url.clone();
    let secret = match &running.generated_secret {
        Some(sk) => format!(
            "{}   (generated now: store it, it is not shown again)",
            sk.expose()
        ),
        None => format!("{}   (masked)", inst.secret_key_hint),
    };
    say!(
        "Tessera {} listening on http://{}",
        env!("CARGO_PKG_VERSION"),
        running.addr
    );
    say!(
        "  instance         {} ({})",
        inst.id,
        inst.environment.as_str()
    );
    say!("  publishable key  {}", inst.publishable_key);
    say!("  secret key       {secret}");
    say!("  Frontend API     {base}   (clerk-js proxyUrl)");
    say!("  Backend API      {base}/v1   (SDK apiUrl: {base})");
    say!("  JWKS             {base}/.well-known/jwks.json");
    say!(
        "  database         {}",
        tessera_store::redact_url(&settings.database_url)
    );
    running.serve_until(stop).await?;
    say!("stopped");
    Ok(())
}

/// Registers the SIGTERM handler now (before the banner announces readiness),
/// and resolves on SIGTERM or ctrl-c.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
}

/// Opens the stored instance, or creates it exactly as `serve` would.
async fn open_or_create(
    settings: &Settings,
) -> anyhow::Result<(tessera_store::Store, tessera_core::Core, Option<SecretKey>)> {
    let store = tessera::open_store(settings).await?;
    let frontend = settings.frontend_url_for(settings.addr);
    let hasher = Hasher::new(1);
    if let Some(core) =
        tessera_core::instance::open(store.clone(), hasher.clone(), frontend).await?
    {
        return Ok((store, core, None));
    }
    let options = tessera::boot_options(settings, settings.addr)?;
    let booted = tessera_core::instance::boot(store.clone(), hasher, options).await?;
    Ok((store, booted.core, booted.generated_secret))
}

async fn bundles(settings: &Settings, action: Option<BundlesAction>) -> anyhow::Result<()> {
    let root = tessera::bundles::root(&settings.data_dir);
    for pin in &settings.bundles.pins {
        match &action {
            Some(BundlesAction::Fetch) => {
                let files = tessera::bundles::fetch(&root, &settings.bundles.registry, pin).await?;
                say!("fetched {}@{} ({files} files)", pin.package, pin.version);
            }
            Some(BundlesAction::Import { node_modules }) => {
                let files = tessera::bundles::import(&root, node_modules, pin)?;
                say!("imported {}@{} ({files} files)", pin.package, pin.version);
            }
            None => {}
        }
    }
    let served = tessera_http::bundles::Bundles {
        root: root.clone(),
        pins: settings.bundles.pins.clone(),
    };
    let list: Vec<serde_json::Value> = settings
        .bundles
        .pins
        .iter()
        .map(|p| {
            json!({
                "package": p.package,
                "version": p.version,
                "integrity": p.integrity,
                "present": served.is_complete(p),
                "folder": root.join(p.folder()),
            })
        })
        .collect();
    say!("{}", serde_json::to_string_pretty(&list)?);
    Ok(())
}

async fn keys(settings: &Settings, action: Option<KeysAction>) -> anyhow::Result<()> {
    let (store, core, generated) = open_or_create(settings).await?;
    if let Some(KeysAction::Rotate) = action {
        let kid = core.settings().rotate_signing_key().await?;
        say!("{}", json!({ "rotated": true, "kid": kid }));
        store.close().await;
        return Ok(());
    }
    let inst = core.instance();
    let out = json!({
        "instance_id": inst.id.as_str(),
        "environment": inst.environment.as_str(),
        "publishable_key": inst.publishable_key,
        "secret_key": generated.as_ref().map_or(inst.secret_key_hint.clone(), |sk| sk.expose().to_owned()),
        "secret_key_masked": generated.is_none(),
        "jwks": core.keyring.jwks()?,
        "public_key_pem": core.keyring.current_public_pem()?,
    });
    say!("{}", serde_json::to_string_pretty(&out)?);
    store.close().await;
    Ok(())
}

async fn instance(settings: &Settings, action: Option<InstanceAction>) -> anyhow::Result<()> {
    let store = tessera::open_store(settings).await?;
    let frontend = settings.frontend_url_for(settings.addr);
    let core = tessera_core::instance::open(store.clone(), Hasher::new(1), frontend)
        .await?
        .context("no instance yet: run `tessera serve` once first")?;
    let mut generated = None;
    let inst = match action {
        None => core.instance(),
        Some(InstanceAction::SetFrontendUrl { url }) => {
            std::sync::Arc::new(core.settings().set_frontend_url(&url).await?)
        }
        Some(InstanceAction::SetSecretKey) => {
            let sk = match settings.secret_key.as_deref() {
                Some(raw) => SecretKey::parse(raw).context("TESSERA_SECRET_KEY")?,
                None => {
                    let sk = SecretKey::generate(core.instance().environment);
                    generated = Some(sk.clone());
                    sk
                }
            };
            std::sync::Arc::new(core.settings().set_secret_key(&sk).await?)
        }
    };
    let out = json!({
        "instance_id": inst.id.as_str(),
        "environment": inst.environment.as_str(),
        "frontend_url": inst.frontend_url,
        "publishable_key": inst.publishable_key,
        "secret_key": generated.as_ref().map_or(inst.secret_key_hint.clone(), |sk| sk.expose().to_owned()),
        "secret_key_masked": generated.is_none(),
    });
    say!("{}", serde_json::to_string_pretty(&out)?);
    store.close().await;
    Ok(())
}

async fn copy(settings: &Settings, to: &str) -> anyhow::Result<()> {
    let from = tessera::open_existing_store(settings).await?;
    let dest = tessera_store::Store::connect(to).await?;
    dest.migrate()
        .await
        .context("applying migrations to the destination")?;
    let copied = tessera_store::transfer::copy_all(&from, &dest).await;
    from.close().await;
    dest.close().await;
    let report = copied?;
    let tables: serde_json::Map<String, serde_json::Value> = report
        .into_iter()
        .map(|(table, rows)| (table.to_owned(), json!(rows)))
        .collect();
    say!(
        "{}",
        serde_json::to_string_pretty(
            &json!({ "copied_to": tessera_store::redact_url(to), "rows": tables })
        )?
    );
    Ok(())
}
