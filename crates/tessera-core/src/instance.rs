//! Instance bootstrap (first start: keys and settings), key rotation and the
//! settings operations of the Backend API.

use std::sync::{Arc, RwLock};

use tessera_domain::ids::InstanceId;
use tessera_domain::settings::{EnvironmentType, InstanceSettings};
use tessera_store::records::Instance;
use tessera_store::Store;

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::frontend::client_cache::ClientCache;
use crate::keyring::{KeyRing, RETIRED_KEY_OVERLAP_MS};
use crate::keys::{generate_signing_key, publishable_key, SecretKey};
use crate::passwords::Hasher;
use crate::{Core, Inner};

/// What the binary decides at start-up.
#[derive(Debug, Clone)]
pub struct BootOptions {
    /// Development or production, when configured; `None` takes the stored
    /// instance's (development for a new one).
    pub environment: Option<EnvironmentType>,
    /// Public URL of the Frontend API, e.g. `http://127.0.0.1:8080`.
    pub frontend_url: String,
    /// Whether an operator configured `frontend_url` (else it was derived from
    /// the listen address).
    pub frontend_url_configured: bool,
    /// A configured secret key; it must match the stored one.
    pub secret_key: Option<SecretKey>,
    /// Where email goes.
    pub mailer: crate::mailer::Mailer,
    /// Where SMS goes.
    pub sms: crate::sms::SmsSender,
    /// Webhook dispatcher settings.
    pub webhooks: crate::webhooks::WebhookConfig,
}

/// The result of booting: the services, and a secret key if one was just generated.
#[derive(Debug)]
pub struct Booted {
    /// The services.
    pub core: Core,
    /// Set only when this start generated the secret key (print it once).
    pub generated_secret: Option<SecretKey>,
}

/// What a start asks of a stored instance.
#[derive(Debug, Clone, Copy)]
pub struct StartRequest<'a> {
    /// The configured environment, if any.
    pub environment: Option<EnvironmentType>,
    /// The frontend URL this start would use.
    pub frontend_url: &'a str,
    /// Whether that URL was configured (else derived from the listen address).
    pub frontend_url_configured: bool,
    /// Whether a derived URL replaces a stored derived one (a single server,
    /// SQLite); replicas (PostgreSQL) keep the stored one so that they agree.
    pub follow_derived_url: bool,
    /// The configured secret key, if any.
    pub secret_key: Option<&'a SecretKey>,
}

/// The stored instance as a start leaves it, and the deliberate changes to log.
#[derive(Debug, Clone)]
pub struct Reconciled {
    /// The instance to use (and to save when `changes` is not empty).
    pub instance: Instance,
    /// One line per change made to the stored instance.
    pub changes: Vec<String>,
}

/// Decides what a start may change in the stored instance: the environment and
/// the secret key never change by configuration (commands change them), a
/// configured frontend URL is kept once set, and a derived one follows the
/// listen address only where one server owns the database.
pub fn reconcile(stored: &Instance, start: StartRequest<'_>) -> Result<Reconciled, String> {
    let mut inst = stored.clone();
    let mut changes = Vec::new();
    let env = stored.environment;
    if let Some(asked) = start.environment {
        if asked != env {
            return Err(format!(
                "this database holds a {} instance, but TESSERA_INSTANCE asks for {}: an \
                 instance's environment is fixed when it is created (give the {} instance a \
                 database of its own)",
                env.as_str(),
                asked.as_str(),
                asked.as_str()
            ));
        }
    }
    if let Some(sk) = start.secret_key {
        if !crate::keys::secret_matches(sk.expose(), &stored.secret_key_hash) {
            return Err(format!(
                "TESSERA_SECRET_KEY does not match this instance's secret key ({}): unset it to \
                 use the stored key, or replace the stored key with `tessera instance \
                 set-secret-key`",
                stored.secret_key_hint
            ));
        }
    }
    let asked_url = start.frontend_url.trim_end_matches('/');
    match stored.frontend_url.as_deref() {
        None => {
            inst.frontend_url = Some(asked_url.to_owned());
            inst.frontend_url_configured = start.frontend_url_configured;
            changes.push(format!("frontend URL recorded: {asked_url}"));
        }
        Some(kept) if kept == asked_url => {
            if start.frontend_url_configured && !stored.frontend_url_configured {
                inst.frontend_url_configured = true;
                changes.push(format!("frontend URL {kept} is now a configured one"));
            }
        }
        Some(kept) => match (
            start.frontend_url_configured,
            stored.frontend_url_configured,
        ) {
            (true, true) => {
                return Err(format!(
                    "this instance's frontend URL is {kept}, but TESSERA_FRONTEND_URL says \
                     {asked_url}: every server of an instance must use the same one. To move \
                     the instance, run `tessera instance set-frontend-url {asked_url}` first"
                ))
            }
            (true, false) => {
                inst.frontend_url = Some(asked_url.to_owned());
                inst.frontend_url_configured = true;
                changes.push(format!(
                    "frontend URL changed from {kept} (derived from the listen address) to \
                     {asked_url} (configured)"
                ));
            }
            (false, false) if start.follow_derived_url => {
                inst.frontend_url = Some(asked_url.to_owned());
                changes.push(format!(
                    "frontend URL follows the listen address: {kept} -> {asked_url}"
                ));
            }
            // Kept: configured earlier, or shared by replicas.
            (false, _) => {}
        },
    }
    let url = inst.frontend_url.clone().unwrap_or_default();
    let pk = publishable_key(env, &url_host(&url).map_err(|e| e.to_string())?);
    if pk != inst.publishable_key {
        changes.push(format!(
            "publishable key changed from {} to {pk}",
            inst.publishable_key
        ));
        inst.publishable_key = pk;
    }
    Ok(Reconciled {
        instance: inst,
        changes,
    })
}

/// The rules a production instance must meet before it serves: an `sk_live_`
/// key, email delivery, and https (plain http only on loopback, for trials).
fn production_rules(inst: &Instance, mailer: &crate::mailer::Mailer) -> CoreResult<()> {
    if inst.environment != EnvironmentType::Production {
        return Ok(());
    }
    if !inst.secret_key_hint.starts_with("sk_live_") {
        return Err(CoreError::Config(format!(
            "a production instance needs an sk_live_ secret key, this one has {}: replace it \
             with `tessera instance set-secret-key`",
            inst.secret_key_hint
        )));
    }
    if matches!(mailer, crate::mailer::Mailer::Log) {
        return Err(CoreError::Config(
            "production instances need TESSERA_SMTP_URL: verification codes must reach users \
             by email"
                .to_owned(),
        ));
    }
    let url = inst.frontend_url.as_deref().unwrap_or_default();
    if url.starts_with("http://") {
        if !is_loopback_url(url) {
            return Err(CoreError::Config(format!(
                "a production instance needs an https:// frontend URL (TESSERA_FRONTEND_URL), \
                 not {url}: put Tessera behind a TLS-terminating proxy (plain http is accepted \
                 only on loopback hosts, for trials)"
            )));
        }
        tracing::warn!(
            "production instance on plain http ({url}): browsers get no Secure cookies; \
             use an https:// frontend URL outside trials"
        );
    }
    Ok(())
}

/// Whether a URL's host is a loopback address (`127.0.0.1`, `[::1]`).
fn is_loopback_url(url: &str) -> bool {
    let Ok(host) = url_host(url) else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host.as_str(),
    };
    name.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// A configured secret key must be of the environment's kind.
fn key_fits(env: EnvironmentType, sk: &SecretKey) -> CoreResult<()> {
    let prefix = format!("sk_{}_", env.key_kind());
    if sk.expose().starts_with(&prefix) {
        Ok(())
    } else {
        Err(CoreError::Config(format!(
            "a {} instance needs an {prefix} secret key",
            env.as_str()
        )))
    }
}

/// The host (and port) part of a URL, which the publishable key encodes.
pub fn url_host(url: &str) -> CoreResult<String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            CoreError::Config(format!(
                "frontend URL {url:?} must start with http:// or https://"
            ))
        })?;
    let host = rest.split('/').next().unwrap_or_default();
    // clerk-js rejects publishable keys whose host has no dot (e.g. `localhost:8080`).
    if host.is_empty() || !host.contains('.') {
        return Err(CoreError::Config(format!(
            "frontend URL host {host:?} must contain a dot (use 127.0.0.1 instead of localhost): \
             Clerk SDKs reject keys for dotless hosts"
        )));
    }
    Ok(host.to_owned())
}

/// The client cache: always on when this process is the database's only writer
/// (SQLite); on PostgreSQL, on only while [`Core::follow_client_changes`] runs
/// and hears the database.
fn client_cache(store: &Store) -> ClientCache {
    ClientCache::new(store.backend() == tessera_store::Backend::Sqlite)
}

async fn new_signing_key(now: i64) -> CoreResult<tessera_store::records::SigningKey> {
    tokio::task::spawn_blocking(move || generate_signing_key(now))
        .await
        .map_err(|e| CoreError::Internal(format!("key generation task failed: {e}")))?
}

/// A development instance in a fresh SQLite database under `dir`, emails and
/// SMS logged, one hashing thread: for tests of the services and the HTTP layer.
pub async fn boot_for_test(dir: &std::path::Path) -> CoreResult<crate::Core> {
    let url = format!("sqlite://{}?mode=rwc", dir.join("tessera.db").display());
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let options = BootOptions {
        environment: Some(EnvironmentType::Development),
        frontend_url: "http://127.0.0.1:9".to_owned(),
        frontend_url_configured: false,
        secret_key: None,
        mailer: crate::mailer::Mailer::Log,
        sms: crate::sms::SmsSender::Log,
        webhooks: Default::default(),
    };
    Ok(boot(store, Hasher::new(1), options).await?.core)
}

/// Opens the instance: creates it with fresh keys on first start, checks the
/// configuration against the stored instance ([`reconcile`]), logs what a start
/// changes, and loads the signing keys.
pub async fn boot(store: Store, hasher: Hasher, opts: BootOptions) -> CoreResult<Booted> {
    let now = now_ms();
    url_host(&opts.frontend_url)?;
    let existing_keys = {
        let mut conn = store.read().await?;
        tessera_store::keys::list(&mut conn).await?
    };
    // RSA generation is slow: do it before the transaction, and only when needed.
    let fresh_key = if existing_keys.iter().any(|k| k.retired_at.is_none()) {
        None
    } else {
        Some(new_signing_key(now).await?)
    };

    // Start-up: no `Core` exists yet to begin a unit of work with.
    #[allow(clippy::disallowed_methods)]
    let mut tx = store.begin().await?;
    tessera_store::instance::lock_for_start(&mut tx, store.backend()).await?;
    // Another server may have started meanwhile: what it stored wins.
    let fresh_key = match fresh_key {
        Some(key)
            if tessera_store::keys::list(&mut tx)
                .await?
                .iter()
                .all(|k| k.retired_at.is_some()) =>
        {
            Some(key)
        }
        _ => None,
    };
    let mut generated_secret = None;
    let instance = match tessera_store::instance::get(&mut tx).await? {
        None => {
            let environment = opts.environment.unwrap_or_default();
            let secret = match opts.secret_key.clone() {
                Some(sk) => {
                    key_fits(environment, &sk)?;
                    sk
                }
                None => {
                    let sk = SecretKey::generate(environment);
                    generated_secret = Some(sk.clone());
                    sk
                }
            };
            let url = opts.frontend_url.trim_end_matches('/').to_owned();
            let mut settings = InstanceSettings::default();
            settings.instance.test_mode = environment == EnvironmentType::Development;
            let inst = Instance {
                id: InstanceId::generate(now),
                environment,
                publishable_key: publishable_key(environment, &url_host(&url)?),
                secret_key_hash: secret.hash(),
                secret_key_hint: secret.hint(),
                frontend_url: Some(url),
                frontend_url_configured: opts.frontend_url_configured,
                settings,
                created_at: now,
                updated_at: now,
            };
            production_rules(&inst, &opts.mailer)?;
            tessera_store::instance::insert(&mut tx, &inst).await?;
            inst
        }
        Some(stored) => {
            if let Some(sk) = &opts.secret_key {
                key_fits(stored.environment, sk)?;
            }
            let Reconciled {
                mut instance,
                changes,
            } = reconcile(
                &stored,
                StartRequest {
                    environment: opts.environment,
                    frontend_url: &opts.frontend_url,
                    frontend_url_configured: opts.frontend_url_configured,
                    follow_derived_url: store.backend() == tessera_store::Backend::Sqlite,
                    secret_key: opts.secret_key.as_ref(),
                },
            )
            .map_err(CoreError::Config)?;
            production_rules(&instance, &opts.mailer)?;
            if !changes.is_empty() {
                for change in &changes {
                    tracing::info!("instance {}: {change}", instance.id.as_str());
                }
                instance.updated_at = now;
                tessera_store::instance::update(&mut tx, &instance).await?;
            }
            instance
        }
    };
    if let Some(key) = &fresh_key {
        tessera_store::keys::insert(&mut tx, key).await?;
    }
    #[allow(clippy::disallowed_methods)]
    tx.commit().await.map_err(tessera_store::StoreError::from)?;

    let frontend_url = instance
        .frontend_url
        .clone()
        .unwrap_or_else(|| opts.frontend_url.clone());
    let sms = match opts.sms {
        crate::sms::SmsSender::Log if instance.environment == EnvironmentType::Production => {
            tracing::warn!(
                "production instance without TESSERA_SMS_WEBHOOK_URL: SMS codes cannot be sent \
                 (and are never written to the log)"
            );
            crate::sms::SmsSender::Unconfigured
        }
        sms => sms,
    };
    let core = assemble(
        store,
        hasher,
        instance,
        frontend_url,
        opts.mailer,
        sms,
        opts.webhooks,
    );
    core.refresh().await?;
    Ok(Booted {
        core,
        generated_secret,
    })
}

/// The services around a loaded instance.
fn assemble(
    store: Store,
    hasher: Hasher,
    instance: Instance,
    frontend_url: String,
    mailer: crate::mailer::Mailer,
    sms: crate::sms::SmsSender,
    webhooks: crate::webhooks::WebhookConfig,
) -> Core {
    let clients = client_cache(&store);
    Core(Arc::new(Inner {
        store,
        hasher,
        keyring: KeyRing::default(),
        frontend_url: frontend_url.trim_end_matches('/').to_owned(),
        mailer,
        sms,
        webhooks,
        outbox: tokio::sync::Notify::new(),
        clients,
        instance: RwLock::new(Arc::new(instance)),
        roles: RwLock::new(Arc::default()),
        moved_to: std::sync::Mutex::new(None),
    }))
}

/// Opens an instance that already exists, changing nothing (for the commands).
/// Its stored frontend URL is used; `frontend_url` only for an instance
/// stored before the URL was kept.
pub async fn open(store: Store, hasher: Hasher, frontend_url: String) -> CoreResult<Option<Core>> {
    let instance = {
        let mut conn = store.read().await?;
        tessera_store::instance::get(&mut conn).await?
    };
    let Some(instance) = instance else {
        return Ok(None);
    };
    let url = instance.frontend_url.clone().unwrap_or(frontend_url);
    let core = assemble(
        store,
        hasher,
        instance,
        url,
        crate::mailer::Mailer::Log,
        crate::sms::SmsSender::Log,
        crate::webhooks::WebhookConfig::default(),
    );
    core.refresh().await?;
    Ok(Some(core))
}

impl crate::Settings<'_> {
    /// Moves the instance to a new public URL: the publishable key and the
    /// tokens' issuer change (servers pick it up when restarted).
    pub async fn set_frontend_url(&self, url: &str) -> CoreResult<Instance> {
        let url = url.trim_end_matches('/');
        let host = url_host(url)?;
        self.change_instance(|inst| {
            if inst.environment == EnvironmentType::Production
                && url.starts_with("http://")
                && !is_loopback_url(url)
            {
                return Err(CoreError::Config(format!(
                    "a production instance needs an https:// frontend URL, not {url}"
                )));
            }
            let pk = publishable_key(inst.environment, &host);
            let line = format!(
                "frontend URL changed from {} to {url}; publishable key now {pk}",
                inst.frontend_url.as_deref().unwrap_or("(none)")
            );
            inst.frontend_url = Some(url.to_owned());
            inst.frontend_url_configured = true;
            inst.publishable_key = pk;
            Ok(line)
        })
        .await
    }

    /// Replaces the secret key: the old one stops working at once (servers
    /// read the new hash within their refresh period).
    pub async fn set_secret_key(&self, sk: &SecretKey) -> CoreResult<Instance> {
        self.change_instance(|inst| {
            key_fits(inst.environment, sk)?;
            if crate::keys::secret_matches(sk.expose(), &inst.secret_key_hash) {
                return Err(CoreError::Config(
                    "TESSERA_SECRET_KEY is the instance's secret key already: set the new key \
                     there (or unset it to have one made)"
                        .to_owned(),
                ));
            }
            let line = format!(
                "secret key replaced: {} -> {}",
                inst.secret_key_hint,
                sk.hint()
            );
            inst.secret_key_hash = sk.hash();
            inst.secret_key_hint = sk.hint();
            Ok(line)
        })
        .await
    }

    /// Changes the stored instance in one transaction and logs the change.
    async fn change_instance(
        &self,
        change: impl FnOnce(&mut Instance) -> CoreResult<String>,
    ) -> CoreResult<Instance> {
        let mut tx = self.begin().await?;
        let mut inst = tessera_store::instance::get(&mut tx)
            .await?
            .ok_or_else(|| {
                CoreError::Config("no instance yet: run `tessera serve` once".to_owned())
            })?;
        let line = change(&mut inst)?;
        inst.updated_at = now_ms();
        tessera_store::instance::update(&mut tx, &inst).await?;
        tx.commit().await?;
        tracing::info!("instance {}: {line}", inst.id.as_str());
        self.set_instance(inst.clone());
        Ok(inst)
    }

    /// Makes a new signing key current; the old one stays in the JWKS for the overlap period.
    pub async fn rotate_signing_key(&self) -> CoreResult<String> {
        let now = now_ms();
        let key = new_signing_key(now).await?;
        let kid = key.kid.as_str().to_owned();
        let mut tx = self.begin().await?;
        tessera_store::keys::purge_retired_before(&mut tx, now - RETIRED_KEY_OVERLAP_MS).await?;
        tessera_store::keys::retire_active(&mut tx, now).await?;
        tessera_store::keys::insert(&mut tx, &key).await?;
        tx.commit().await?;
        self.refresh().await?;
        Ok(kid)
    }

    /// Applies a partial settings document (see [`InstanceSettings::merged`]).
    pub async fn patch_settings(&self, patch: &serde_json::Value) -> CoreResult<Instance> {
        self.update_settings(|s| {
            *s = s
                .merged(patch)
                .map_err(|e| CoreError::value(&e.path, e.detail))?;
            Ok(())
        })
        .await
    }

    /// Changes the settings document in one transaction and returns the new instance.
    pub async fn update_settings(
        &self,
        change: impl FnOnce(&mut InstanceSettings) -> CoreResult<()>,
    ) -> CoreResult<Instance> {
        let mut tx = self.begin().await?;
        // Start-ups and `tessera instance` rewrite the row too: one at a time.
        tessera_store::instance::lock_for_start(&mut tx, self.store.backend()).await?;
        let mut inst = tessera_store::instance::get(&mut tx)
            .await?
            .ok_or_else(|| CoreError::Internal("instance missing".to_owned()))?;
        change(&mut inst.settings)?;
        inst.updated_at = now_ms();
        tessera_store::instance::update(&mut tx, &inst).await?;
        tx.commit().await?;
        self.set_instance(inst.clone());
        Ok(inst)
    }
}

#[cfg(test)]
mod tests {
    use super::{reconcile, url_host, Instance, StartRequest};
    use crate::keys::{publishable_key, SecretKey};
    use tessera_domain::ids::InstanceId;
    use tessera_domain::settings::{EnvironmentType, InstanceSettings};

    const KEY: &str = "sk_test_0123456789abcdef0123";

    fn stored(url: Option<&str>, configured: bool) -> Instance {
        Instance {
            id: InstanceId::generate(0),
            environment: EnvironmentType::Development,
            publishable_key: publishable_key(EnvironmentType::Development, "127.0.0.1:1"),
            secret_key_hash: crate::keys::hash_secret(KEY),
            secret_key_hint: "sk_test_…0123".to_owned(),
            frontend_url: url.map(str::to_owned),
            frontend_url_configured: configured,
            settings: InstanceSettings::default(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn start(url: &str, configured: bool, follow: bool) -> StartRequest<'_> {
        StartRequest {
            environment: None,
            frontend_url: url,
            frontend_url_configured: configured,
            follow_derived_url: follow,
            secret_key: None,
        }
    }

    /// The frontend URL a start ends with, or `None` when it is refused.
    fn url_after(
        stored_url: Option<&str>,
        kept: bool,
        asked: &str,
        configured: bool,
        follow: bool,
    ) -> Option<String> {
        reconcile(&stored(stored_url, kept), start(asked, configured, follow))
            .ok()
            .map(|r| r.instance.frontend_url.unwrap_or_default())
    }

    #[test]
    fn the_frontend_url_changes_only_as_the_rules_say() {
        let (a, b) = ("http://127.0.0.1:1", "https://auth.example.com");
        // (stored, stored configured, asked, asked configured, follow) -> result
        let cases = [
            (None, false, b, false, false, Some(b)), // stored before URLs were kept
            (Some(a), false, b, false, true, Some(b)), // derived follows on SQLite
            (Some(a), false, b, false, false, Some(a)), // replicas keep the stored one
            (Some(a), true, b, false, true, Some(a)), // configured is kept
            (Some(a), false, b, true, false, Some(b)), // configured replaces derived
            (Some(a), true, b, true, true, None),    // two configured: refused
            (Some(a), true, "http://127.0.0.1:1/", true, false, Some(a)), // trailing slash
        ];
        for (stored_url, kept, asked, configured, follow, want) in cases {
            assert_eq!(
                url_after(stored_url, kept, asked, configured, follow).as_deref(),
                want,
                "{stored_url:?} {kept} {asked} {configured} {follow}"
            );
        }
        // The publishable key follows the URL, and the change is said.
        let moved = reconcile(&stored(Some(a), false), start(b, true, false)).unwrap();
        assert_eq!(
            moved.instance.publishable_key,
            publishable_key(EnvironmentType::Development, "auth.example.com")
        );
        assert_eq!(moved.changes.len(), 2, "{:?}", moved.changes);
        assert!(
            reconcile(&stored(Some(a), true), start(a, true, true))
                .unwrap()
                .changes
                .len()
                <= 1
        );
    }

    #[test]
    fn environment_and_secret_key_never_change_by_configuration() {
        let inst = stored(Some("http://127.0.0.1:1"), false);
        let mut asked = start("http://127.0.0.1:1", false, true);
        asked.environment = Some(EnvironmentType::Production);
        assert!(reconcile(&inst, asked)
            .unwrap_err()
            .contains("development instance"));
        let other = SecretKey::parse("sk_test_fedcba9876543210fedc").unwrap();
        let same = SecretKey::parse(KEY).unwrap();
        let mut asked = start("http://127.0.0.1:1", false, true);
        asked.secret_key = Some(&other);
        assert!(reconcile(&inst, asked)
            .unwrap_err()
            .contains("does not match"));
        asked.secret_key = Some(&same);
        assert!(reconcile(&inst, asked).unwrap().changes.is_empty());
    }

    #[test]
    fn hosts_need_a_dot() {
        assert_eq!(url_host("http://127.0.0.1:8080").unwrap(), "127.0.0.1:8080");
        assert_eq!(
            url_host("https://auth.example.com/base").unwrap(),
            "auth.example.com"
        );
        assert!(url_host("http://localhost:8080").is_err());
        assert!(url_host("127.0.0.1:8080").is_err());
    }
}
