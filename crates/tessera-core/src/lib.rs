#![recursion_limit = "256"]
//! Tessera's services: the use cases behind the Backend and Frontend APIs.
//!
//! Services own transactions (opened on the store, committed at the end),
//! hash passwords on the bounded pool before any transaction opens, and sign
//! session tokens. They speak in domain terms and return [`CoreError`]s that
//! carry Clerk's error codes; they know nothing of HTTP.

pub mod clock;
pub mod codes;
pub mod domains;
pub mod error;
pub mod frontend;
pub mod identifications;
pub mod instance;
pub mod keyring;
pub mod keys;
pub mod mailer;
pub mod mfa;
pub mod organizations;
pub mod passkeys;
pub mod passwords;
pub mod rate_limits;
pub mod render;
pub mod request;
pub mod roles;
pub mod second_factors;
pub mod sessions;
pub mod sms;
pub mod users;
pub mod webhooks;
pub mod work;

use std::ops::Deref;
use std::sync::{Arc, RwLock};

use tessera_store::records::Instance;
use tessera_store::Store;

pub use error::{CoreError, CoreResult};
use keyring::KeyRing;
use passwords::Hasher;

/// Everything the services need, shared by every request.
#[derive(Clone, Debug)]
pub struct Core(Arc<Inner>);

/// The shared state behind [`Core`].
#[derive(Debug)]
pub struct Inner {
    /// The database.
    pub store: Store,
    /// The bounded password-hashing pool.
    pub hasher: Hasher,
    /// Signing keys.
    pub keyring: KeyRing,
    /// Public URL of this server's Frontend API (token issuer).
    pub frontend_url: String,
    /// Where email goes.
    pub mailer: mailer::Mailer,
    /// Where SMS goes.
    pub sms: sms::SmsSender,
    /// Webhook dispatcher settings.
    pub webhooks: webhooks::WebhookConfig,
    /// Wakes the dispatcher when a transaction with events commits.
    pub outbox: tokio::sync::Notify,
    /// Clients by token between writes (on when this process is the only writer).
    pub clients: frontend::client_cache::ClientCache,
    instance: RwLock<Arc<Instance>>,
    /// The organization roles, permissions and role sets, reread on each
    /// change here and with the instance (other replicas' changes).
    roles: RwLock<Arc<tessera_domain::organizations::Roles>>,
    /// The frontend URL the instance was moved to while this server runs (it
    /// keeps the one it started with until restarted), once warned about.
    moved_to: std::sync::Mutex<Option<String>>,
}

/// Declares a service: one resource's use cases, reached from [`Core`] by its
/// accessor (`core.sign_ins()`), sharing the core's state (store, keys, hasher,
/// mailer, outbox, clock) through `Deref`. A service uses another only through
/// that one's accessor, so the dependencies between them stay visible.
macro_rules! service {
    ($(#[$doc:meta])* $name:ident, $accessor:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name<'a> {
            core: &'a Core,
        }

        impl Core {
            $(#[$doc])*
            pub fn $accessor(&self) -> $name<'_> {
                $name { core: self }
            }
        }

        impl Deref for $name<'_> {
            type Target = Core;
            fn deref(&self) -> &Core {
                self.core
            }
        }
    };
}

service!(
    /// Organizations, their memberships and logos.
    Organizations,
    organizations
);
service!(
    /// Verified domains of organizations, their suggestions and membership requests.
    OrganizationDomains,
    organization_domains
);
service!(
    /// The organization permissions, roles and role sets of the instance.
    OrganizationRoles,
    organization_roles
);
service!(
    /// Users: the Backend API's user resource, passwords, and the signed-in user's own account.
    Users,
    users
);
service!(
    /// Email addresses and phone numbers: adding, verifying, flags, removal.
    Identifications,
    identifications
);
service!(
    /// Sessions and clients (one aggregate): creating, switching, ending, tokens, handshakes.
    Sessions,
    sessions
);
service!(
    /// Second factors the user holds: authenticator apps (TOTP) and backup codes.
    Mfa,
    mfa
);
service!(
    /// Passkeys (WebAuthn): registration, and the checks sign-in and reverification use.
    Passkeys,
    passkeys
);
service!(
    /// Sign-in attempts, driving the sign-in state machine.
    SignIns,
    sign_ins
);
service!(
    /// Sign-up attempts.
    SignUps,
    sign_ups
);
service!(
    /// Webhook endpoints and their deliveries.
    Webhooks,
    webhooks
);
service!(
    /// The instance's settings, keys and frontend URL.
    Settings,
    settings
);

impl Deref for Core {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Core {
    /// The session-task rules of the instance's current settings.
    pub fn task_policy(&self) -> tessera_domain::tasks::TaskPolicy {
        tessera_domain::tasks::TaskPolicy::of(&self.instance().settings)
    }

    /// A snapshot of the instance (keys and settings), shared: taking one is a
    /// reference count, whatever the size of the settings.
    pub fn instance(&self) -> Arc<Instance> {
        match self.0.instance.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// A snapshot of the organization roles, permissions and role sets.
    pub fn roles(&self) -> Arc<tessera_domain::organizations::Roles> {
        match self.0.roles.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_roles(&self, roles: tessera_domain::organizations::Roles) {
        let roles = Arc::new(roles);
        match self.0.roles.write() {
            Ok(mut guard) => *guard = roles,
            Err(poisoned) => *poisoned.into_inner() = roles,
        }
    }

    /// Rereads the roles after a change committed.
    pub(crate) async fn reload_roles(
        &self,
    ) -> CoreResult<Arc<tessera_domain::organizations::Roles>> {
        let mut conn = self.store.read().await?;
        let roles = tessera_store::roles::load(&mut conn).await?;
        self.set_roles(roles);
        Ok(self.roles())
    }

    fn set_instance(&self, inst: Instance) {
        let inst = Arc::new(inst);
        match self.0.instance.write() {
            Ok(mut guard) => *guard = inst,
            Err(poisoned) => *poisoned.into_inner() = inst,
        }
        self.clients.invalidate();
    }

    /// Says once per move that the instance moved and this server needs a restart.
    fn warn_moved(&self, url: &str) {
        let mut seen = match self.0.moved_to.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seen.as_deref() != Some(url) {
            tracing::warn!(
                "the instance moved to {url}: this server keeps serving as {} until restarted \
                 with TESSERA_FRONTEND_URL={url}",
                self.frontend_url
            );
            *seen = Some(url.to_owned());
        }
    }

    /// Whether `presented` is the instance's secret key (constant-time).
    pub fn check_secret_key(&self, presented: &str) -> bool {
        let hash = match self.0.instance.read() {
            Ok(guard) => guard.secret_key_hash.clone(),
            Err(poisoned) => poisoned.into_inner().secret_key_hash.clone(),
        };
        keys::secret_matches(presented, &hash)
    }

    /// The application's display name (emails, hosted pages).
    pub fn app_name(&self) -> String {
        self.instance().settings.instance.application_name.clone()
    }

    /// Sends an email through the durable queue: queued, then sent at once; a
    /// failed send is retried by the dispatcher. A failure is logged, not
    /// returned (the user can ask for a new code).
    pub async fn deliver(&self, email: mailer::Email) {
        self.deliver_as(email, "verification_code").await;
    }

    /// Sends an email of a kind (`email.created`'s slug) through the durable
    /// queue; a failure is logged.
    pub async fn deliver_as(&self, email: mailer::Email, slug: &str) {
        let to = email.to.clone();
        if let Err(e) = self.queue_email(email, slug).await {
            tracing::error!(%to, "sending an email failed: {e}");
        }
    }

    /// Sends a code by SMS through the durable queue; failures are logged.
    pub async fn deliver_sms(&self, to: &str, code: &str, purpose: &str) {
        let body = sms::code_text(&self.app_name(), code);
        if let Err(e) = self.queue_sms(to, &body, purpose).await {
            tracing::error!(%to, "sending an SMS failed: {e}");
        }
    }

    /// Sends a one-time code to an email address or phone number. Clerk's
    /// test identifiers (`is_test`) get no message on development instances.
    pub async fn send_code(
        &self,
        kind: tessera_domain::kinds::IdentificationKind,
        to: &str,
        is_test: bool,
        purpose: mailer::CodePurpose,
        code: &str,
    ) {
        use tessera_domain::kinds::IdentificationKind;
        if is_test
            && self.instance().environment == tessera_domain::settings::EnvironmentType::Development
        {
            return;
        }
        match kind {
            IdentificationKind::EmailAddress => {
                self.deliver(mailer::code_email(to, &self.app_name(), purpose, code))
                    .await;
            }
            IdentificationKind::PhoneNumber => {
                self.deliver_sms(to, code, "verification_code").await;
            }
        }
    }

    /// The instance id (event envelopes).
    pub fn instance_id(&self) -> String {
        match self.0.instance.read() {
            Ok(guard) => guard.id.as_str().to_owned(),
            Err(poisoned) => poisoned.into_inner().id.as_str().to_owned(),
        }
    }

    /// Reloads the instance and the signing keys from the store, so changes
    /// made by another replica are seen here too.
    pub async fn refresh(&self) -> CoreResult<()> {
        let mut conn = self.store.read().await?;
        if let Some(mut inst) = tessera_store::instance::get(&mut conn).await? {
            let running = self.instance();
            if inst.publishable_key != running.publishable_key {
                // Moved by `tessera instance set-frontend-url`: the publishable key,
                // the cookies' suffix and the tokens' issuer change together, at restart.
                self.warn_moved(inst.frontend_url.as_deref().unwrap_or_default());
                inst.publishable_key.clone_from(&running.publishable_key);
                inst.frontend_url.clone_from(&running.frontend_url);
            }
            self.set_instance(inst);
        }
        self.set_roles(tessera_store::roles::load(&mut conn).await?);
        let keys = tessera_store::keys::list(&mut conn).await?;
        self.keyring.load(keys)
    }
}
