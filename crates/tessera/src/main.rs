//! `tessera`: self-hosted, Clerk-compatible user management and authentication.

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::json;
use tessera::config::{ConfigArgs, Settings};
use tessera_core::passwords::Hasher;

mod webhooks_cli;

/// Self-hosted user management and authentication, compatible with Clerk's SDKs.
///
/// Settings come from flags, then environment variables, then `tessera.toml`.
/// Environment only: TESSERA_SECRET_KEY (or TESSERA_SECRET_KEY_FILE) to use a
/// given secret key, TESSERA_INSTANCE (development | production),
/// TESSERA_FRONTEND_URL (public URL encoded in the publishable key),
/// TESSERA_HASH_CONCURRENCY (parallel password hashes), TESSERA_SMTP_URL and
/// TESSERA_SMTP_FROM (outgoing email), TESSERA_SMS_WEBHOOK_URL (outgoing SMS),
/// RUST_LOG (log filter).
#[derive(Parser, Debug)]
#[command(name = "tessera", version, about, long_about)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (migrates and creates the instance's keys on first start).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the instance's keys as JSON, or rotate the signing key.
    Keys {
        #[command(subcommand)]
        action: Option<KeysAction>,
    },
    /// Manage webhook endpoints: list, add, remove, enable, disable, secret,
    /// attempts, messages, resend, recover.
    Webhooks {
        #[command(subcommand)]
        action: webhooks_cli::WebhooksAction,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
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

async fn keys(settings: &Settings, action: Option<KeysAction>) -> anyhow::Result<()> {
    let store = tessera::open_store(settings).await?;
    let frontend = settings.frontend_url_for(settings.addr);
    let hasher = Hasher::new(1);
    let (core, generated) = match tessera_core::instance::open(
        store.clone(),
        hasher.clone(),
        frontend.clone(),
    )
    .await?
    {
        Some(core) => (core, None),
        None => {
            // First use: create the instance exactly as `serve` would.
            let secret_key = settings
                .secret_key
                .as_deref()
                .map(tessera_core::keys::SecretKey::parse)
                .transpose()?;
            let booted = tessera_core::instance::boot(
                store.clone(),
                hasher,
                tessera_core::instance::BootOptions {
                    environment: settings.environment,
                    frontend_url: frontend,
                    secret_key,
                    mailer: tessera_core::mailer::Mailer::Log,
                    sms: tessera_core::sms::SmsSender::Log,
                    webhooks: settings.webhooks.clone(),
                },
            )
            .await
            .context("creating the instance")?;
            (booted.core, booted.generated_secret)
        }
    };
    if let Some(KeysAction::Rotate) = action {
        let kid = core.rotate_signing_key().await?;
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
