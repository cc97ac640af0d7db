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
    /// Development or production.
    pub environment: EnvironmentType,
    /// Public URL of the Frontend API, e.g. `http://127.0.0.1:8080`.
    pub frontend_url: String,
    /// A configured secret key that replaces the stored one.
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

/// Opens the instance: creates it with fresh keys on first start, applies the
/// configured secret key and frontend URL, and loads the signing keys.
pub async fn boot(store: Store, hasher: Hasher, opts: BootOptions) -> CoreResult<Booted> {
    let now = now_ms();
    let host = url_host(&opts.frontend_url)?;
    let pk = publishable_key(opts.environment, &host);
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

    let mut tx = store.begin().await?;
    let mut generated_secret = None;
    let instance = match tessera_store::instance::get(&mut tx).await? {
        None => {
            let secret = match opts.secret_key.clone() {
                Some(sk) => sk,
                None => {
                    let sk = SecretKey::generate(opts.environment);
                    generated_secret = Some(sk.clone());
                    sk
                }
            };
            let mut settings = InstanceSettings::default();
            settings.instance.test_mode = opts.environment == EnvironmentType::Development;
            let inst = Instance {
                id: InstanceId::generate(now),
                environment: opts.environment,
                publishable_key: pk,
                secret_key_hash: secret.hash(),
                secret_key_hint: secret.hint(),
                settings,
                created_at: now,
                updated_at: now,
            };
            tessera_store::instance::insert(&mut tx, &inst).await?;
            inst
        }
        Some(mut inst) => {
            let mut changed = inst.publishable_key != pk || inst.environment != opts.environment;
            inst.publishable_key = pk;
            inst.environment = opts.environment;
            if let Some(sk) = &opts.secret_key {
                if sk.hash() != inst.secret_key_hash {
                    inst.secret_key_hash = sk.hash();
                    inst.secret_key_hint = sk.hint();
                    changed = true;
                }
            }
            if changed {
                inst.updated_at = now;
                tessera_store::instance::update(&mut tx, &inst).await?;
            }
            inst
        }
    };
    if let Some(key) = &fresh_key {
        tessera_store::keys::insert(&mut tx, key).await?;
    }
    tx.commit().await.map_err(tessera_store::StoreError::from)?;

    let clients = client_cache(&store);
    let core = Core(Arc::new(Inner {
        store,
        hasher,
        keyring: KeyRing::default(),
        frontend_url: opts.frontend_url.trim_end_matches('/').to_owned(),
        mailer: opts.mailer,
        sms: opts.sms,
        webhooks: opts.webhooks,
        outbox: tokio::sync::Notify::new(),
        clients,
        instance: RwLock::new(Arc::new(instance)),
    }));
    core.refresh().await?;
    Ok(Booted {
        core,
        generated_secret,
    })
}

/// Opens an instance that already exists, changing nothing (for the `keys` commands).
pub async fn open(store: Store, hasher: Hasher, frontend_url: String) -> CoreResult<Option<Core>> {
    let instance = {
        let mut conn = store.read().await?;
        tessera_store::instance::get(&mut conn).await?
    };
    let Some(instance) = instance else {
        return Ok(None);
    };
    let clients = client_cache(&store);
    let core = Core(Arc::new(Inner {
        store,
        hasher,
        keyring: KeyRing::default(),
        frontend_url: frontend_url.trim_end_matches('/').to_owned(),
        mailer: crate::mailer::Mailer::Log,
        sms: crate::sms::SmsSender::Log,
        webhooks: crate::webhooks::WebhookConfig::default(),
        outbox: tokio::sync::Notify::new(),
        clients,
        instance: RwLock::new(Arc::new(instance)),
    }));
    core.refresh().await?;
    Ok(Some(core))
}

impl Core {
    /// Makes a new signing key current; the old one stays in the JWKS for the overlap period.
    pub async fn rotate_signing_key(&self) -> CoreResult<String> {
        let now = now_ms();
        let key = new_signing_key(now).await?;
        let kid = key.kid.as_str().to_owned();
        let mut tx = self.store.begin().await?;
        tessera_store::keys::purge_retired_before(&mut tx, now - RETIRED_KEY_OVERLAP_MS).await?;
        tessera_store::keys::retire_active(&mut tx, now).await?;
        tessera_store::keys::insert(&mut tx, &key).await?;
        tx.commit().await.map_err(tessera_store::StoreError::from)?;
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
        let mut tx = self.store.begin().await?;
        let mut inst = tessera_store::instance::get(&mut tx)
            .await?
            .ok_or_else(|| CoreError::Internal("instance missing".to_owned()))?;
        change(&mut inst.settings)?;
        inst.updated_at = now_ms();
        tessera_store::instance::update(&mut tx, &inst).await?;
        tx.commit().await.map_err(tessera_store::StoreError::from)?;
        self.set_instance(inst.clone());
        Ok(inst)
    }
}

#[cfg(test)]
mod tests {
    use super::url_host;

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
