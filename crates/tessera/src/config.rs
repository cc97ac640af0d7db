//! Configuration: command-line flags, then `TESSERA_*` environment variables,
//! then `tessera.toml`, then defaults. Validated once at start-up into [`Settings`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;
use tessera_domain::settings::EnvironmentType;

/// Flags shared by every command (each also readable from the environment).
#[derive(Debug, Clone, Args, Default)]
pub struct ConfigArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "TESSERA_ADDR", global = true)]
    pub addr: Option<String>,
    /// Folder for the SQLite database and other local state [default: ./tessera-data].
    #[arg(long, env = "TESSERA_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://… or postgres://… [default: SQLite file in the data folder].
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Configuration file [default: ./tessera.toml if it exists].
    #[arg(long, env = "TESSERA_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Reverse proxies whose X-Forwarded-For names the client: comma-separated IPs and
    /// CIDR networks [default: none, the TCP peer is the client].
    #[arg(long, env = "TESSERA_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,
    /// Database connections this process opens at most: PostgreSQL's pool (plus one
    /// listening connection), SQLite's readers (plus one writer) [default: 16 on
    /// PostgreSQL, 8 on SQLite].
    #[arg(long, env = "TESSERA_DATABASE_POOL_SIZE", global = true)]
    pub database_pool_size: Option<u32>,
}

/// `tessera.toml`; every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listen address.
    pub addr: Option<String>,
    /// Data folder.
    pub data_dir: Option<PathBuf>,
    /// Database URL.
    pub database_url: Option<String>,
    /// Secret key to use instead of a generated one.
    pub secret_key: Option<String>,
    /// File holding the secret key.
    pub secret_key_file: Option<PathBuf>,
    /// `development` or `production`.
    pub instance: Option<String>,
    /// Public URL of this server.
    pub frontend_url: Option<String>,
    /// Concurrent password hashes.
    pub hash_concurrency: Option<usize>,
    /// SMTP server URL for outgoing email.
    pub smtp_url: Option<String>,
    /// From address of outgoing email.
    pub smtp_from: Option<String>,
    /// Webhook that delivers SMS.
    pub sms_webhook_url: Option<String>,
    /// Trusted reverse proxies (comma-separated IPs and CIDR networks).
    pub trusted_proxies: Option<String>,
    /// Delays before each webhook attempt, e.g. `0s,5s,5m,30m,2h,5h,10h,10h`.
    pub webhook_retry_schedule: Option<String>,
    /// A webhook endpoint failing this long without a success is disabled (e.g. `5days`).
    pub webhook_disable_after: Option<String>,
    /// Timeout of one webhook request (e.g. `15s`).
    pub webhook_timeout: Option<String>,
    /// Database connections this process opens at most.
    pub database_pool_size: Option<u32>,
    /// Time a client has to send a request's headers, and that an idle
    /// keep-alive connection stays open (e.g. `10s`).
    pub http_header_timeout: Option<String>,
    /// Time a request has to arrive whole and be answered (e.g. `30s`).
    pub http_request_timeout: Option<String>,
    /// Connections served at once; more wait to be accepted.
    pub http_max_connections: Option<usize>,
    /// `fetch` (default) or `off`: fetch missing browser bundles at start.
    pub bundles: Option<String>,
    /// The npm registry the browser bundles are fetched from.
    pub npm_registry: Option<String>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub addr: SocketAddr,
    /// Data folder.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database_url: String,
    /// Whether the database is the SQLite file in the data folder (the default).
    pub database_in_data_dir: bool,
    /// Database connections this process opens at most (`None`: the backend's default).
    pub database_pool_size: Option<u32>,
    /// Configured secret key, if any.
    pub secret_key: Option<String>,
    /// Development or production, when configured (else the stored instance's).
    pub environment: Option<EnvironmentType>,
    /// Configured public URL (else derived from the bound address).
    pub frontend_url: Option<String>,
    /// Concurrent password hashes.
    pub hash_concurrency: usize,
    /// SMTP server URL (`smtp://host:port`, `smtps://user:pass@host`); none = log (development only).
    pub smtp_url: Option<String>,
    /// From address of outgoing email.
    pub smtp_from: String,
    /// Webhook that delivers SMS (`POST {to, body, purpose}`); none = log (development).
    pub sms_webhook_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (none = the TCP peer).
    pub trusted_proxies: tessera_http::client_ip::TrustedProxies,
    /// Webhook dispatcher settings.
    pub webhooks: tessera_core::webhooks::WebhookConfig,
    /// The HTTP server's limits against slow and greedy clients.
    pub http: HttpLimits,
    /// How the browser bundles are fetched.
    pub bundles: crate::bundles::BundleSettings,
}

/// The HTTP server's limits: slow clients cost them, not the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    pub header_timeout: std::time::Duration,
    /// Time for a request to arrive whole (body included) and be answered;
    /// past it the answer is 408 `request_timeout`.
    pub request_timeout: std::time::Duration,
    /// Connections served at once; further ones wait in the listen queue.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: std::time::Duration::from_secs(10),
            request_timeout: std::time::Duration::from_secs(30),
            max_connections: 4096,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading secret key file {}", path.display()))?
        .trim()
        .to_owned())
}

impl Settings {
    /// Resolves flags, environment, file and defaults.
    pub fn load(args: &ConfigArgs) -> anyhow::Result<Self> {
        let file_path = args.config.clone().or_else(|| {
            let default = PathBuf::from("tessera.toml");
            default.exists().then_some(default)
        });
        let file: FileConfig = match &file_path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("in config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };

        let addr_raw = args
            .addr
            .clone()
            .or(file.addr)
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let addr: SocketAddr = addr_raw
            .parse()
            .with_context(|| format!("addr: {addr_raw:?} is not an address like 127.0.0.1:8080"))?;
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("tessera-data"));
        let (database_url, database_in_data_dir) =
            match args.database_url.clone().or(file.database_url) {
                Some(url) => (url, false),
                None => (
                    format!(
                        "sqlite://{}?mode=rwc",
                        data_dir.join("tessera.db").display()
                    ),
                    true,
                ),
            };
        let database_pool_size = args.database_pool_size.or(file.database_pool_size);
        if database_pool_size == Some(0) {
            bail!("database pool size: must be at least 1");
        }
        let secret_key = match (env("TESSERA_SECRET_KEY"), env("TESSERA_SECRET_KEY_FILE")) {
            (Some(key), _) => Some(key),
            (None, Some(path)) => Some(read_secret_file(Path::new(&path))?),
            (None, None) => match (file.secret_key, file.secret_key_file) {
                (Some(key), _) => Some(key),
                (None, Some(path)) => Some(read_secret_file(&path)?),
                (None, None) => None,
            },
        };
        let environment = match env("TESSERA_INSTANCE").or(file.instance).as_deref() {
            None => None,
            Some("development") => Some(EnvironmentType::Development),
            Some("production") => Some(EnvironmentType::Production),
            Some(other) => bail!("instance: {other:?} must be development or production"),
        };
        let frontend_url = env("TESSERA_FRONTEND_URL").or(file.frontend_url);
        let hash_concurrency = match env("TESSERA_HASH_CONCURRENCY") {
            Some(raw) => raw
                .parse()
                .with_context(|| format!("TESSERA_HASH_CONCURRENCY: {raw:?} is not a number"))?,
            None => file
                .hash_concurrency
                .unwrap_or_else(tessera_core::passwords::Hasher::default_concurrency),
        };
        let smtp_url = env("TESSERA_SMTP_URL").or(file.smtp_url);
        let smtp_from = env("TESSERA_SMTP_FROM")
            .or(file.smtp_from)
            .unwrap_or_else(|| "Tessera <no-reply@tessera.invalid>".to_owned());
        let sms_webhook_url = env("TESSERA_SMS_WEBHOOK_URL").or(file.sms_webhook_url);
        let trusted_proxies = match args.trusted_proxies.clone().or(file.trusted_proxies) {
            Some(raw) => tessera_http::client_ip::TrustedProxies::parse(&raw)
                .map_err(|e| anyhow::anyhow!("trusted proxies: {e}"))?,
            None => Default::default(),
        };
        let mut webhooks = tessera_core::webhooks::WebhookConfig::default();
        if let Some(raw) = env("TESSERA_WEBHOOK_RETRY_SCHEDULE").or(file.webhook_retry_schedule) {
            webhooks.schedule = tessera_core::webhooks::parse_schedule(&raw)
                .map_err(|e| anyhow::anyhow!("webhook retry schedule: {e}"))?;
        }
        if let Some(raw) = env("TESSERA_WEBHOOK_DISABLE_AFTER").or(file.webhook_disable_after) {
            webhooks.disable_after = humantime::parse_duration(&raw)
                .with_context(|| format!("webhook disable-after: {raw:?} is not a duration"))?;
        }
        if let Some(raw) = env("TESSERA_WEBHOOK_TIMEOUT").or(file.webhook_timeout) {
            webhooks.timeout = humantime::parse_duration(&raw)
                .with_context(|| format!("webhook timeout: {raw:?} is not a duration"))?;
        }
        let mut http = HttpLimits::default();
        if let Some(raw) = env("TESSERA_HTTP_HEADER_TIMEOUT").or(file.http_header_timeout) {
            http.header_timeout = humantime::parse_duration(&raw)
                .with_context(|| format!("HTTP header timeout: {raw:?} is not a duration"))?;
        }
        if let Some(raw) = env("TESSERA_HTTP_REQUEST_TIMEOUT").or(file.http_request_timeout) {
            http.request_timeout = humantime::parse_duration(&raw)
                .with_context(|| format!("HTTP request timeout: {raw:?} is not a duration"))?;
        }
        if let Some(n) = match env("TESSERA_HTTP_MAX_CONNECTIONS") {
            Some(raw) => Some(raw.parse::<usize>().with_context(|| {
                format!("TESSERA_HTTP_MAX_CONNECTIONS: {raw:?} is not a number")
            })?),
            None => file.http_max_connections,
        } {
            http.max_connections = n;
        }
        if http.header_timeout.is_zero() || http.request_timeout.is_zero() {
            bail!("HTTP timeouts must be longer than zero");
        }
        if http.max_connections == 0 {
            bail!("HTTP max connections: must be at least 1");
        }
        let mut bundles = crate::bundles::BundleSettings::default();
        match env("TESSERA_BUNDLES").or(file.bundles).as_deref() {
            None | Some("fetch") => {}
            Some("off") => bundles.fetch = false,
            Some(other) => bail!("bundles: {other:?} must be fetch or off"),
        }
        if let Some(url) = env("TESSERA_NPM_REGISTRY").or(file.npm_registry) {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bail!("npm registry: {url:?} is not an http(s) URL");
            }
            bundles.registry = url;
        }
        Ok(Self {
            bundles,
            http,
            trusted_proxies,
            webhooks,
            sms_webhook_url,
            addr,
            data_dir,
            database_url,
            database_in_data_dir,
            database_pool_size,
            secret_key,
            environment,
            frontend_url,
            hash_concurrency,
            smtp_url,
            smtp_from,
        })
    }

    /// Settings for a server on a free loopback port with the database at
    /// `database_url` (its folder `data_dir`) and `secret_key`; everything else
    /// at its default (development, no SMTP or SMS delivery). For tests and tools.
    pub fn for_test(data_dir: PathBuf, database_url: String, secret_key: String) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url,
            database_in_data_dir: false,
            database_pool_size: None,
            secret_key: Some(secret_key),
            environment: Some(EnvironmentType::Development),
            frontend_url: None,
            hash_concurrency: 1,
            smtp_url: None,
            smtp_from: "Tessera <no-reply@tessera.invalid>".to_owned(),
            sms_webhook_url: None,
            trusted_proxies: Default::default(),
            webhooks: Default::default(),
            http: HttpLimits::default(),
            // Tests serve what is in their data folder and fetch nothing.
            bundles: crate::bundles::BundleSettings {
                fetch: false,
                ..Default::default()
            },
        }
    }

    /// Creates the data folder when the database lives in it; says so plainly
    /// when the path is taken by a file.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        if !self.database_in_data_dir {
            return Ok(());
        }
        if self.data_dir.exists() && !self.data_dir.is_dir() {
            bail!(
                "data folder {} is a file, not a folder: choose another --data-dir",
                self.data_dir.display()
            );
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating data folder {}", self.data_dir.display()))
    }

    /// The public URL for a server bound to `bound`.
    pub fn frontend_url_for(&self, bound: SocketAddr) -> String {
        match &self.frontend_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let ip = if bound.ip().is_unspecified() {
                    "127.0.0.1".to_owned()
                } else {
                    bound.ip().to_string()
                };
                format!("http://{ip}:{}", bound.port())
            }
        }
    }
}
