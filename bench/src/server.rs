//! The server under test: a real Tessera on loopback, on its own thread and its
//! own multi-thread tokio runtime, so the load generator never runs on (or
//! steals) the server's executor. Rate limits are switched off.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::Value;
use tessera::config::{ConfigArgs, Settings};
use tessera_core::passwords::Hasher;
use tessera_core::Core;
use tessera_domain::settings::EnvironmentType;
use tokio::sync::oneshot;

/// Server flags shared by every scenario.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// Database URL (a fresh, empty database); default: SQLite in a temporary folder.
    #[arg(long, env = "BENCH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Worker threads of the server's runtime [default: the number of cores].
    #[arg(long)]
    pub server_threads: Option<usize>,
    /// Password hashes the server runs at once [default: as `serve`, cores − 1, at least 1].
    #[arg(long)]
    pub hash_concurrency: Option<usize>,
}

/// The number of cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// A running server and how to reach it.
pub struct BenchServer {
    /// `http://127.0.0.1:port/v1`.
    pub base: String,
    /// The server's loopback address.
    pub addr: SocketAddr,
    /// The server's services (its key ring and hasher, for raw measurements).
    pub core: Core,
    /// The instance's secret key (Backend API).
    pub secret: String,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Worker threads of the server's runtime.
    pub threads: usize,
    /// Concurrent password hashes in the server.
    pub hash_concurrency: usize,
    dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

type Ready = anyhow::Result<(SocketAddr, Core)>;

async fn boot(settings: &Settings) -> anyhow::Result<tessera::Running> {
    let running = tessera::start(settings).await?;
    running
        .core
        .settings()
        .update_settings(|s| {
            s.user.rate_limits_enabled = false;
            Ok(())
        })
        .await
        .context("turning rate limits off")?;
    Ok(running)
}

fn serve(
    settings: Settings,
    threads: usize,
    ready: oneshot::Sender<Ready>,
    stop: oneshot::Receiver<()>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("tessera-server")
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let running = match boot(&settings).await {
            Ok(running) => running,
            Err(e) => {
                let _ = ready.send(Err(e));
                return Ok(());
            }
        };
        let _ = ready.send(Ok((running.addr, running.core.clone())));
        let _ = stop.await;
        running.shutdown().await
    })
}

impl BenchServer {
    /// Starts a development instance with a known secret key and rate limits off.
    pub async fn start(args: &ServerArgs) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("tessera-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let database_url = args
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
        let backend = if database_url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        };
        let secret = "sk_test_benchbenchbenchbenchbench0001".to_owned();
        let threads = args.server_threads.unwrap_or_else(cores).max(1);
        let hash_concurrency = args
            .hash_concurrency
            .unwrap_or_else(Hasher::default_concurrency)
            .max(1);
        // Defaults (and settings added later) come from the usual loader with an
        // empty configuration file; what the benchmark depends on is set here.
        let empty = dir.join("bench.toml");
        std::fs::write(&empty, "")?;
        let loaded = Settings::load(&ConfigArgs {
            addr: Some("127.0.0.1:0".to_owned()),
            data_dir: Some(dir.clone()),
            database_url: Some(database_url),
            config: Some(empty),
            ..ConfigArgs::default()
        })?;
        let settings = Settings {
            secret_key: Some(secret.clone()),
            environment: Some(EnvironmentType::Development),
            frontend_url: None,
            hash_concurrency,
            smtp_url: None,
            sms_webhook_url: None,
            ..loaded
        };
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("tessera-server".to_owned())
            .spawn(move || serve(settings, threads, ready_tx, stop_rx))?;
        let (addr, core) = match ready_rx.await {
            Ok(ready) => ready?,
            Err(_) => match thread.join() {
                Ok(Err(e)) => return Err(e),
                _ => bail!("the server thread stopped before it was ready"),
            },
        };
        Ok(Self {
            base: format!("http://{addr}/v1"),
            addr,
            core,
            secret,
            backend,
            threads,
            hash_concurrency,
            dir,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// One line describing the set-up.
    pub fn describe(&self) -> String {
        format!(
            "backend: {}  server threads: {}  hash concurrency: {}  cores: {}",
            self.backend,
            self.threads,
            self.hash_concurrency,
            cores()
        )
    }

    /// `POST {base}/{path}` on the Backend API with a JSON body; the JSON answer.
    pub async fn bapi_post(
        &self,
        http: &reqwest::Client,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let resp = http
            .post(format!("{}/{path}", self.base))
            .bearer_auth(&self.secret)
            .json(body)
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            bail!("POST /v1/{path}: {status} {}", resp.text().await?);
        }
        Ok(resp.json().await?)
    }

    /// Stops the server (in-flight requests finish) and removes the temporary folder.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await?
                .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

/// An HTTP client for loopback load: keep-alive, no proxy, no delay.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .no_proxy()
        .build()?)
}
