//! The store story: one walk through every public function of `tessera-store`,
//! told once and run on each backend.
//!
//! SQLite runs in a fresh temp folder. PostgreSQL runs when
//! `TEST_DATABASE_URL` names a server (an admin URL): the test creates a fresh
//! database, tells the story there and drops it. Without the variable the
//! PostgreSQL half says that it was skipped and passes, unless
//! `TESSERA_REQUIRE_POSTGRES=1` (as in CI) makes that a failure. The model is
//! atuin's `db_story.rs`, which walks its database trait the same way.
//!
//! Writes go through transactions; reads come back through the read pool, so
//! each step also checks that what a commit wrote is what a reader sees. The
//! clock is the constant [`T0`] plus offsets, as services pass `now` down.
//! `transfer` is left out: its own tests copy whole databases.

#![expect(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed, and should say where"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "the store's own test drives raw transactions; services use Core::begin"
)]

use std::fmt::Debug;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tessera_domain::kinds::{SignInStatus, SignUpStatus};

use serde_json::{json, Map, Value};
use sqlx::Connection;
use tessera_domain::ids::{
    AttemptId, ClientId, DeliveryId, EndpointId, EndpointSecretId, IdentificationId, InstanceId,
    JobId, KeyId, MessageId, SessionId, SignInId, SignUpId, UserId,
};
use tessera_domain::kinds::{
    AttemptTrigger, DeliveryStatus, IdentificationKind, JobKind, SessionStatus, VerificationStatus,
};
use tessera_domain::settings::{EnvironmentType, InstanceSettings};
use tessera_domain::verification::{Strategy, Verification};
use tessera_store::attempts::{self, SignIn, SignUp};
use tessera_store::changes::Change;
use tessera_store::records::{Client, Identification, Instance, Session, SigningKey, User};
use tessera_store::sessions::SessionFilter;
use tessera_store::users::{UserFilter, UserOrderField};
use tessera_store::webhooks::{self, Attempt, Delivery, Endpoint, Message, Secret};
use tessera_store::{
    clients, handshakes, identifications, instance, keys, rate_limits, sessions, users, Backend,
    PoolSize, Store, StoreError,
};

/// The story's clock (ms); every step passes `T0` plus an offset as `now`.
const T0: i64 = 1_750_000_000_000;
const SEC: i64 = 1_000;
const DAY: i64 = 86_400 * SEC;

// ---------------------------------------------------------------------------
// The two tests

#[tokio::test]
async fn store_story_sqlite() {
    let dir = std::env::temp_dir().join(unique("tessera-store-story"));
    std::fs::create_dir_all(&dir).unwrap();
    let outcome = tokio::spawn(sqlite_half(dir.clone())).await;
    let _ = std::fs::remove_dir_all(&dir);
    rethrow(outcome);
}

async fn sqlite_half(dir: PathBuf) {
    // A missing folder is named rather than failing deep inside the driver.
    let missing = format!("sqlite://{}", dir.join("absent").join("t.db").display());
    match Store::connect(&missing).await {
        Err(StoreError::Config(msg)) => assert!(msg.contains("does not exist"), "{msg}"),
        other => panic!("a SQLite file in a missing folder: {other:?}"),
    }
    // No `mode` in the URL: the store adds `mode=rwc` and creates the file.
    let file = dir.join("story.db");
    let url = format!("sqlite://{}", file.display());
    assert_eq!(
        tessera_store::sqlite_file(&url),
        Some(file.to_str().unwrap())
    );
    let store = Store::connect(&url).await.unwrap();
    assert!(file.is_file(), "connect creates the SQLite file");
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.unwrap();
    story(&store).await;
    store.close().await;
}

#[tokio::test]
async fn store_story_postgres() {
    let Some(admin) = pg_admin_url() else {
        return;
    };
    // A refused connection is one plain line naming the server, at once.
    match Store::connect("postgres://story:secret@127.0.0.1:1/story").await {
        Err(StoreError::Config(msg)) => {
            assert!(msg.contains("127.0.0.1:1"), "{msg}");
            assert!(!msg.contains("secret"), "{msg}");
        }
        other => panic!("connecting to a closed port: {other:?}"),
    }
    let db = unique("tessera_store_story");
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = with_database(&admin, &db);
    let outcome = tokio::spawn(async move {
        let store = Store::connect_with(&url, Some(PoolSize(4))).await.unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        store.migrate().await.unwrap();
        story(&store).await;
        store.close().await;
    })
    .await;
    // Dropped whether the story passed or not, so failures leave no database behind.
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    rethrow(outcome);
}

/// The admin URL of the PostgreSQL server to use, or `None` (with a notice) to skip.
/// A verification as an earlier version stored it.
fn verification(doc: Value) -> Verification {
    serde_json::from_value(doc).expect("a verification document")
}

fn pg_admin_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        if std::env::var("TESSERA_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("TESSERA_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set");
        }
        // Written past the test harness's output capture on purpose, so it is always seen.
        let _ = writeln!(
            std::io::stderr(),
            "\nNOTE: PostgreSQL half of the store story SKIPPED (TEST_DATABASE_URL not set; \
             run scripts/postgres-up and export TEST_DATABASE_URL=<its output>)\n"
        );
    }
    url
}

/// `admin_url` with its database replaced by `db`, keeping any query string.
fn with_database(admin_url: &str, db: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    format!("{root}/{db}{query}")
}

/// A name no other run uses (lowercase, digits and `_`/`-`: a valid database name).
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}_{nanos:08x}", std::process::id())
}

/// Re-raises the story's panic after cleaning up, so the failure reads as usual.
fn rethrow(outcome: Result<(), tokio::task::JoinError>) {
    match outcome {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("the story did not finish: {e}"),
    }
}

// ---------------------------------------------------------------------------
// The story

async fn story(store: &Store) {
    basics(store).await;
    instance_row(store).await;
    signing_keys(store).await;
    let people = users_and_identifications(store).await;
    user_lists(store, &people).await;
    profile_images(store, &people).await;
    let visits = clients_and_attempts(store, &people).await;
    sessions_story(store, &people, &visits).await;
    deletions(store, &people, &visits).await;
    webhook_endpoints_and_secrets(store).await;
    outbox(store).await;
    jobs(store).await;
    rate_limit_hits(store).await;
    handshake_nonces(store).await;
    client_changes(store).await;
}

/// Asserts that two records are equal field by field (records derive `Debug`, not `PartialEq`).
#[track_caller]
fn same<T: Debug>(got: &T, want: &T) {
    assert_eq!(format!("{got:#?}"), format!("{want:#?}"));
}

#[track_caller]
fn assert_not_found<T: Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[track_caller]
fn assert_conflict<T: Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A user filter with one change from the default.
fn with(edit: impl FnOnce(&mut UserFilter)) -> UserFilter {
    let mut filter = UserFilter::default();
    edit(&mut filter);
    filter
}

/// URL helpers, pool sizes and a second (idempotent) migration.
async fn basics(store: &Store) {
    assert_eq!(
        Store::backend_of("sqlite://data/t.db").unwrap(),
        Backend::Sqlite
    );
    assert_eq!(
        Store::backend_of("postgresql://u@h/db").unwrap(),
        Backend::Postgres
    );
    match Store::backend_of("mysql://root:hunter2@h/db") {
        Err(StoreError::Config(msg)) => {
            assert!(msg.contains("mysql://root:***@h/db"), "{msg}");
            assert!(!msg.contains("hunter2"), "{msg}");
        }
        other => panic!("a MySQL URL: {other:?}"),
    }
    assert_eq!(
        tessera_store::redact_url("postgres://u:pw@db:5432/x?sslmode=require"),
        "postgres://u:***@db:5432/x?sslmode=require"
    );
    assert_eq!(
        tessera_store::redact_url("postgres://u@db/x"),
        "postgres://u@db/x"
    );
    assert_eq!(
        tessera_store::sqlite_file("sqlite:data/t.db?mode=ro"),
        Some("data/t.db")
    );
    assert_eq!(tessera_store::sqlite_file("sqlite::memory:"), None);
    assert_eq!(tessera_store::sqlite_file("postgres://h/db"), None);
    assert!(PoolSize::default_for(store.backend()).0 >= 1);
    // Migrating again finds nothing to do.
    store.migrate().await.unwrap();
}

fn new_instance() -> Instance {
    Instance {
        id: InstanceId::generate(T0),
        environment: EnvironmentType::Development,
        publishable_key: "pk_test_c3RvcnkuZXhhbXBsZS5jb20k".to_owned(),
        secret_key_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            .to_owned(),
        secret_key_hint: "sk_test_…a08".to_owned(),
        frontend_url: Some("http://127.0.0.1:3000".to_owned()),
        frontend_url_configured: false,
        settings: InstanceSettings::default(),
        created_at: T0,
        updated_at: T0,
    }
}

async fn instance_row(store: &Store) {
    let mut conn = store.read().await.unwrap();
    assert!(instance::get(&mut conn).await.unwrap().is_none());

    // First start: lock, create, commit.
    let mut inst = new_instance();
    let mut tx = store.begin().await.unwrap();
    instance::lock_for_start(&mut tx, store.backend())
        .await
        .unwrap();
    instance::insert(&mut tx, &inst).await.unwrap();
    tx.commit().await.unwrap();
    same(&instance::get(&mut conn).await.unwrap().unwrap(), &inst);

    // Every mutable field is saved.
    inst.environment = EnvironmentType::Production;
    inst.publishable_key = "pk_live_YXV0aC5leGFtcGxlLmNvbSQ".to_owned();
    inst.secret_key_hint = "sk_live_…b17".to_owned();
    inst.frontend_url = Some("https://auth.example.com".to_owned());
    inst.frontend_url_configured = true;
    inst.settings.instance.application_name = "Story".to_owned();
    inst.settings.blocked_country_codes = vec!["XX".to_owned()];
    inst.updated_at = T0 + SEC;
    let mut tx = store.begin().await.unwrap();
    instance::lock_for_start(&mut tx, store.backend())
        .await
        .unwrap();
    instance::update(&mut tx, &inst).await.unwrap();
    tx.commit().await.unwrap();
    let got = instance::get(&mut conn).await.unwrap().unwrap();
    same(&got, &inst);
    assert_eq!(got.settings.instance.application_name, "Story");

    // There is one instance row.
    let mut tx = store.begin().await.unwrap();
    assert_conflict(instance::insert(&mut tx, &inst).await);
}

fn signing_key(at: i64, n: u32) -> SigningKey {
    SigningKey {
        kid: KeyId::generate(at),
        algorithm: "RS256".to_owned(),
        private_key_pem: format!(
            "-----BEGIN PRIVATE KEY-----\nprivate-{n}\n-----END PRIVATE KEY-----\n"
        ),
        public_key_pem: format!(
            "-----BEGIN PUBLIC KEY-----\npublic-{n}\n-----END PUBLIC KEY-----\n"
        ),
        created_at: at,
        retired_at: None,
    }
}

async fn signing_keys(store: &Store) {
    let mut conn = store.read().await.unwrap();
    assert!(keys::list(&mut conn).await.unwrap().is_empty());

    let mut first = signing_key(T0, 1);
    let mut tx = store.begin().await.unwrap();
    keys::insert(&mut tx, &first).await.unwrap();
    tx.commit().await.unwrap();

    // Rotation: the signing key retires and a new one takes over.
    let second = signing_key(T0 + 10 * DAY, 2);
    let mut tx = store.begin().await.unwrap();
    keys::retire_active(&mut tx, T0 + 10 * DAY).await.unwrap();
    keys::insert(&mut tx, &second).await.unwrap();
    tx.commit().await.unwrap();
    first.retired_at = Some(T0 + 10 * DAY);

    let listed = keys::list(&mut conn).await.unwrap();
    assert_eq!(listed.len(), 2);
    for (got, want) in listed.iter().zip([&second, &first]) {
        same(got, want);
        assert_eq!(got.private_key_pem, want.private_key_pem);
        assert_eq!(got.public_key_pem, want.public_key_pem);
    }
    assert!(
        !format!("{:?}", listed[0]).contains("private-2"),
        "a key's Debug hides its private half"
    );

    // The retired key leaves only once strictly past the cutoff.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        keys::purge_retired_before(&mut tx, T0 + 10 * DAY)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        keys::purge_retired_before(&mut tx, T0 + 10 * DAY + 1)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let listed = keys::list(&mut conn).await.unwrap();
    assert_eq!(listed.len(), 1);
    same(&listed[0], &second);

    // Key ids are primary keys.
    let mut tx = store.begin().await.unwrap();
    assert_conflict(keys::insert(&mut tx, &second).await);
}

/// The users of the story, as last written, and their identifications.
struct People {
    alice: User,
    bob: User,
    carol: User,
    alice_email: Identification,
    alice_phone: Identification,
    bob_email: Identification,
    carol_email: Identification,
}

impl People {
    /// The story name of a user id, for readable list assertions.
    fn name(&self, id: &UserId) -> &'static str {
        [
            (&self.alice, "alice"),
            (&self.bob, "bob"),
            (&self.carol, "carol"),
        ]
        .into_iter()
        .find(|(u, _)| &u.id == id)
        .map_or("someone else", |(_, name)| name)
    }
}

fn identification(
    user: &User,
    kind: IdentificationKind,
    identifier: &str,
    at: i64,
) -> Identification {
    Identification {
        id: IdentificationId::generate(at),
        user_id: user.id.clone(),
        kind,
        identifier: identifier.to_owned(),
        verification_status: VerificationStatus::Unverified,
        verification_strategy: None,
        verified_at: None,
        reserved: false,
        reserved_for_second_factor: false,
        default_second_factor: false,
        verification: None,
        created_at: at,
        updated_at: at,
    }
}

async fn users_and_identifications(store: &Store) -> People {
    let mut conn = store.read().await.unwrap();
    let stranger = UserId::generate(T0);
    assert!(users::find(&mut conn, &stranger).await.unwrap().is_none());
    assert_not_found(users::get(&mut conn, &stranger).await);

    // Alice has every attribute, Bob is banned, Carol has no username.
    let mut alice = User::new(UserId::generate(T0), T0);
    alice.external_id = Some("ext-alice".to_owned());
    alice.username = Some("alice".to_owned());
    alice.first_name = Some("Alice".to_owned());
    alice.last_name = Some("Liddell".to_owned());
    alice.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned());
    alice.password_hasher = Some("argon2id".to_owned());
    alice.public_metadata = object(json!({"plan": "pro", "seats": 3}));
    alice.private_metadata = object(json!({"stripe": {"customer": "cus_1"}}));
    alice.unsafe_metadata = object(json!({"theme": "dark"}));
    alice.totp_enabled = true;
    alice.backup_code_enabled = true;
    alice.delete_self_enabled = false;
    alice.create_organizations_limit = Some(3);
    alice.legal_accepted_at = Some(T0);
    alice.last_sign_in_at = Some(T0 + 5 * SEC);
    alice.last_active_at = Some(T0 + 5 * SEC);
    alice.password_updated_at = Some(T0);

    let mut bob = User::new(UserId::generate(T0 + SEC), T0 + SEC);
    bob.username = Some("bob".to_owned());
    bob.banned = true;
    bob.failed_attempts = 5;
    bob.locked_at = Some(T0 + SEC);
    bob.locked_until = Some(T0 + SEC + 15 * 60 * SEC);
    bob.last_sign_in_at = Some(T0 + 2 * SEC);
    bob.last_active_at = Some(T0 + 2 * SEC);

    let mut carol = User::new(UserId::generate(T0 + 2 * SEC), T0 + 2 * SEC);
    carol.first_name = Some("Carol".to_owned());
    carol.last_name = Some("Jones".to_owned());
    carol.create_organization_enabled = false;

    let alice_email = Identification {
        verification_status: VerificationStatus::Verified,
        verification_strategy: Some(Strategy::Admin),
        verified_at: Some(T0),
        ..identification(
            &alice,
            IdentificationKind::EmailAddress,
            "alice@example.com",
            T0,
        )
    };
    let mut alice_phone = Identification {
        reserved_for_second_factor: true,
        verification: Some(verification(
            json!({"strategy": "phone_code", "status": "unverified", "attempts": 0, "expire_at": T0 + 600 * SEC}),
        )),
        ..identification(
            &alice,
            IdentificationKind::PhoneNumber,
            "+15555550100",
            T0 + 1,
        )
    };
    let bob_email = identification(
        &bob,
        IdentificationKind::EmailAddress,
        "robert@example.org",
        T0 + SEC,
    );
    let carol_email = identification(
        &carol,
        IdentificationKind::EmailAddress,
        "carol@example.com",
        T0 + 2 * SEC,
    );
    let carol_phone = identification(
        &carol,
        IdentificationKind::PhoneNumber,
        "+15555550123",
        T0 + 2 * SEC + 1,
    );

    // Users first, then their identifications, then the primary ids pointing back.
    let mut tx = store.begin().await.unwrap();
    for user in [&alice, &bob, &carol] {
        users::insert(&mut tx, user).await.unwrap();
    }
    for idn in [
        &alice_email,
        &alice_phone,
        &bob_email,
        &carol_email,
        &carol_phone,
    ] {
        identifications::insert(&mut tx, idn).await.unwrap();
    }
    alice.primary_email_address_id = Some(alice_email.id.clone());
    alice.primary_phone_number_id = Some(alice_phone.id.clone());
    alice.updated_at = T0 + 10 * SEC;
    bob.primary_email_address_id = Some(bob_email.id.clone());
    carol.primary_email_address_id = Some(carol_email.id.clone());
    carol.primary_phone_number_id = Some(carol_phone.id.clone());
    for user in [&alice, &bob, &carol] {
        users::update(&mut tx, user).await.unwrap();
    }
    tx.commit().await.unwrap();

    same(&users::get(&mut conn, &alice.id).await.unwrap(), &alice);
    same(
        &users::find(&mut conn, &bob.id).await.unwrap().unwrap(),
        &bob,
    );
    same(&users::get(&mut conn, &carol.id).await.unwrap(), &carol);
    // Bob's lockout comes back and ends when it says.
    let stored_bob = users::get(&mut conn, &bob.id).await.unwrap();
    assert!(stored_bob.is_locked(T0 + 2 * SEC));
    assert!(!stored_bob.is_locked(T0 + SEC + 15 * 60 * SEC));
    assert!(!alice.is_locked(T0 + 2 * SEC));
    same(
        &users::find_by_username(&mut conn, "alice")
            .await
            .unwrap()
            .unwrap(),
        &alice,
    );
    assert!(users::find_by_username(&mut conn, "nobody")
        .await
        .unwrap()
        .is_none());
    same(
        &users::find_by_external_id(&mut conn, "ext-alice")
            .await
            .unwrap()
            .unwrap(),
        &alice,
    );
    assert!(users::find_by_external_id(&mut conn, "ext-nobody")
        .await
        .unwrap()
        .is_none());

    // Identifications read back by id, by value, by user and by users.
    same(
        &identifications::get(&mut conn, &alice_phone.id)
            .await
            .unwrap(),
        &alice_phone,
    );
    assert_not_found(identifications::get(&mut conn, &IdentificationId::generate(T0)).await);
    same(
        &identifications::find(
            &mut conn,
            IdentificationKind::EmailAddress,
            "robert@example.org",
        )
        .await
        .unwrap()
        .unwrap(),
        &bob_email,
    );
    // The kind is part of the key.
    assert!(identifications::find(
        &mut conn,
        IdentificationKind::PhoneNumber,
        "robert@example.org"
    )
    .await
    .unwrap()
    .is_none());
    let of_alice = identifications::list_for_user(&mut conn, &alice.id)
        .await
        .unwrap();
    assert_eq!(of_alice.len(), 2);
    same(&of_alice[0], &alice_email);
    same(&of_alice[1], &alice_phone);
    let of_two = identifications::list_for_users(&mut conn, &[bob.id.clone(), alice.id.clone()])
        .await
        .unwrap();
    let ids: Vec<&IdentificationId> = of_two.iter().map(|i| &i.id).collect();
    assert_eq!(ids, [&alice_email.id, &alice_phone.id, &bob_email.id]);
    assert!(identifications::list_for_users(&mut conn, &[])
        .await
        .unwrap()
        .is_empty());
    assert!(identifications::list_for_user(&mut conn, &stranger)
        .await
        .unwrap()
        .is_empty());

    // Alice verifies her phone: the pending verification is cleared.
    alice_phone.verification_status = VerificationStatus::Verified;
    alice_phone.verification_strategy = Some(Strategy::PhoneCode);
    alice_phone.verified_at = Some(T0 + 3 * SEC);
    alice_phone.verification = None;
    alice_phone.default_second_factor = true;
    alice_phone.updated_at = T0 + 3 * SEC;
    let mut tx = store.begin().await.unwrap();
    identifications::update(&mut tx, &alice_phone)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    same(
        &identifications::get(&mut conn, &alice_phone.id)
            .await
            .unwrap(),
        &alice_phone,
    );

    // Updates and deletes of rows that do not exist say so.
    let mut tx = store.begin().await.unwrap();
    let ghost = User::new(stranger.clone(), T0);
    assert_not_found(users::update(&mut tx, &ghost).await);
    assert_not_found(users::delete(&mut tx, &stranger).await);
    let ghost_idn = identification(&ghost, IdentificationKind::EmailAddress, "ghost@x.io", T0);
    assert_not_found(identifications::update(&mut tx, &ghost_idn).await);
    assert_not_found(identifications::delete(&mut tx, &ghost_idn.id).await);
    drop(tx);

    // Unique and foreign-key violations are conflicts (each in its own
    // transaction: PostgreSQL aborts a transaction after a failed statement).
    let mut tx = store.begin().await.unwrap();
    let mut copycat = User::new(UserId::generate(T0 + 3 * SEC), T0 + 3 * SEC);
    copycat.username = Some("alice".to_owned());
    assert_conflict(users::insert(&mut tx, &copycat).await);
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    copycat.username = None;
    copycat.external_id = Some("ext-alice".to_owned());
    assert_conflict(users::insert(&mut tx, &copycat).await);
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let taken = identification(
        &bob,
        IdentificationKind::EmailAddress,
        "alice@example.com",
        T0 + 3 * SEC,
    );
    assert_conflict(identifications::insert(&mut tx, &taken).await);
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_conflict(identifications::insert(&mut tx, &ghost_idn).await);
    drop(tx);

    // A transaction dropped without commit leaves nothing behind.
    let mut dave = User::new(UserId::generate(T0 + 3 * SEC), T0 + 3 * SEC);
    dave.username = Some("dave".to_owned());
    let mut tx = store.begin().await.unwrap();
    users::insert(&mut tx, &dave).await.unwrap();
    drop(tx);
    assert!(users::find(&mut conn, &dave.id).await.unwrap().is_none());
    assert!(users::find_by_username(&mut conn, "dave")
        .await
        .unwrap()
        .is_none());

    People {
        alice,
        bob,
        carol,
        alice_email,
        alice_phone,
        bob_email,
        carol_email,
    }
}

/// The names of the users `users::list` returns, checked against `users::count`.
///
/// The count is the filter's total (BAPI's `total_count`): it ignores the
/// paging cursor, so it is checked against the list without one.
async fn listed(
    store: &Store,
    people: &People,
    filter: &UserFilter,
    order: UserOrderField,
    descending: bool,
) -> Vec<&'static str> {
    let mut conn = store.read().await.unwrap();
    let page = users::list(&mut conn, filter, order, descending, 10, 0)
        .await
        .unwrap();
    let uncursored = UserFilter {
        after: None,
        ..filter.clone()
    };
    let every = users::list(&mut conn, &uncursored, order, descending, 10, 0)
        .await
        .unwrap();
    assert_eq!(
        users::count(&mut conn, filter).await.unwrap(),
        every.len() as i64,
        "count and list disagree on {filter:?}"
    );
    page.iter().map(|u| people.name(&u.id)).collect()
}

async fn user_lists(store: &Store, p: &People) {
    use UserOrderField as O;
    let all = UserFilter::default();

    // Every sort column, both ways; NULLs last either way. The data has no
    // ties: they break by id, whose order depends on PostgreSQL's collation.
    let orders: [(O, bool, [&str; 3]); 20] = [
        (O::CreatedAt, false, ["alice", "bob", "carol"]),
        (O::CreatedAt, true, ["carol", "bob", "alice"]),
        (O::UpdatedAt, false, ["bob", "carol", "alice"]),
        (O::UpdatedAt, true, ["alice", "carol", "bob"]),
        (O::EmailAddress, false, ["alice", "carol", "bob"]),
        (O::EmailAddress, true, ["bob", "carol", "alice"]),
        (O::PhoneNumber, false, ["alice", "carol", "bob"]),
        (O::PhoneNumber, true, ["carol", "alice", "bob"]),
        (O::Username, false, ["alice", "bob", "carol"]),
        (O::Username, true, ["bob", "alice", "carol"]),
        (O::FirstName, false, ["alice", "carol", "bob"]),
        (O::FirstName, true, ["carol", "alice", "bob"]),
        (O::LastName, false, ["carol", "alice", "bob"]),
        (O::LastName, true, ["alice", "carol", "bob"]),
        (O::LastActiveAt, false, ["bob", "alice", "carol"]),
        (O::LastActiveAt, true, ["alice", "bob", "carol"]),
        (O::LastSignInAt, false, ["bob", "alice", "carol"]),
        (O::LastSignInAt, true, ["alice", "bob", "carol"]),
        (O::default(), false, ["alice", "bob", "carol"]),
        (O::default(), true, ["carol", "bob", "alice"]),
    ];
    for (order, descending, want) in orders {
        assert_eq!(
            listed(store, p, &all, order, descending).await,
            want,
            "{order:?} descending={descending}"
        );
    }

    // Pages.
    let mut conn = store.read().await.unwrap();
    let page = users::list(&mut conn, &all, O::CreatedAt, false, 1, 1)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    same(&page[0], &p.bob);
    assert!(users::list(&mut conn, &all, O::CreatedAt, false, 10, 3)
        .await
        .unwrap()
        .is_empty());

    // Every filter, with the created-at order.
    let s = |v: &str| vec![v.to_owned()];
    let filters: Vec<(UserFilter, Vec<&str>)> = vec![
        (
            with(|f| f.email_addresses = s("robert@example.org")),
            vec!["bob"],
        ),
        (
            with(|f| {
                f.email_addresses = vec![
                    "carol@example.com".to_owned(),
                    "alice@example.com".to_owned(),
                ]
            }),
            vec!["alice", "carol"],
        ),
        (
            with(|f| f.email_addresses = s("nobody@example.com")),
            vec![],
        ),
        // Exact identifiers and user ids must all hold.
        (
            with(|f| {
                f.email_addresses = s("alice@example.com");
                f.user_ids = s(p.bob.id.as_str());
            }),
            vec![],
        ),
        (
            with(|f| {
                f.email_addresses = s("alice@example.com");
                f.phone_numbers = s("+15555550100");
            }),
            vec!["alice"],
        ),
        (with(|f| f.phone_numbers = s("+15555550100")), vec!["alice"]),
        (
            with(|f| f.usernames = vec!["bob".to_owned(), "nobody".to_owned()]),
            vec!["bob"],
        ),
        (with(|f| f.external_ids = s("ext-alice")), vec!["alice"]),
        (
            with(|f| f.user_ids = vec![p.carol.id.to_string(), p.alice.id.to_string()]),
            vec!["alice", "carol"],
        ),
        (
            with(|f| f.exclude_user_ids = s(p.bob.id.as_str())),
            vec!["alice", "carol"],
        ),
        (with(|f| f.organization_ids = s("org_none")), vec![]),
        (
            with(|f| f.query = Some("LIDDELL".to_owned())),
            vec!["alice"],
        ),
        (
            with(|f| f.query = Some("example.com".to_owned())),
            vec!["alice", "carol"],
        ),
        (
            with(|f| f.query = Some("alice liddell".to_owned())),
            vec!["alice"],
        ),
        (with(|f| f.query = Some(p.bob.id.to_string())), vec!["bob"]),
        (with(|f| f.query = Some("ext-al".to_owned())), vec!["alice"]),
        // LIKE wildcards in the query are matched literally.
        (with(|f| f.query = Some("%".to_owned())), vec![]),
        (with(|f| f.query = Some("lic_".to_owned())), vec![]),
        // A blank query filters nothing.
        (
            with(|f| f.query = Some("   ".to_owned())),
            vec!["alice", "bob", "carol"],
        ),
        (
            with(|f| f.email_address_query = Some("example.org".to_owned())),
            vec!["bob"],
        ),
        (
            with(|f| f.phone_number_query = Some("5550100".to_owned())),
            vec!["alice"],
        ),
        (
            with(|f| f.username_query = Some("BO".to_owned())),
            vec!["bob"],
        ),
        (
            with(|f| f.name_query = Some("jones".to_owned())),
            vec!["carol"],
        ),
        (
            with(|f| f.name_query = Some("Alice Lid".to_owned())),
            vec!["alice"],
        ),
        (with(|f| f.banned = Some(true)), vec!["bob"]),
        (with(|f| f.banned = Some(false)), vec!["alice", "carol"]),
        // Time bounds are strict.
        (
            with(|f| f.created_at_after = Some(T0)),
            vec!["bob", "carol"],
        ),
        (
            with(|f| f.created_at_before = Some(T0 + 2 * SEC)),
            vec!["alice", "bob"],
        ),
        (
            with(|f| f.last_active_at_before = Some(T0 + 5 * SEC)),
            vec!["bob"],
        ),
        (
            with(|f| f.last_active_at_after = Some(T0 + 2 * SEC)),
            vec!["alice"],
        ),
        (
            with(|f| f.last_sign_in_at_after = Some(T0 + 2 * SEC)),
            vec!["alice"],
        ),
        (
            with(|f| f.last_sign_in_at_before = Some(T0 + 2 * SEC)),
            vec![],
        ),
        // The cursor: strictly past the last user of the previous page.
        (
            with(|f| f.after = Some((p.alice.created_at, p.alice.id.to_string()))),
            vec!["bob", "carol"],
        ),
        (
            with(|f| f.after = Some((p.carol.created_at, p.carol.id.to_string()))),
            vec![],
        ),
        (
            with(|f| {
                f.banned = Some(false);
                f.query = Some("example".to_owned());
                f.created_at_after = Some(T0);
            }),
            vec!["carol"],
        ),
    ];
    for (filter, want) in &filters {
        assert_eq!(
            &listed(store, p, filter, O::CreatedAt, false).await,
            want,
            "{filter:?}"
        );
    }
    // The cursor walks backwards too.
    let before_carol = UserFilter {
        after: Some((p.carol.created_at, p.carol.id.to_string())),
        ..UserFilter::default()
    };
    assert_eq!(
        listed(store, p, &before_carol, O::CreatedAt, true).await,
        ["bob", "alice"]
    );
    assert_eq!(users::count(&mut conn, &all).await.unwrap(), 3);
}

async fn profile_images(store: &Store, p: &People) {
    let mut conn = store.read().await.unwrap();
    assert!(users::get_image(&mut conn, &p.alice.id)
        .await
        .unwrap()
        .is_none());

    // Bytes come back exactly, zero and high bytes included.
    let png = vec![0x89, b'P', b'N', b'G', 0x00, 0xff, 0x0d, 0x0a];
    let mut tx = store.begin().await.unwrap();
    users::put_image(&mut tx, &p.alice.id, "image/png", png.clone(), T0 + 4 * SEC)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        users::get_image(&mut conn, &p.alice.id).await.unwrap(),
        Some(("image/png".to_owned(), png))
    );

    // A new image replaces the old one.
    let jpeg = vec![0xff, 0xd8, 0xff, 0xe0];
    let mut tx = store.begin().await.unwrap();
    users::put_image(
        &mut tx,
        &p.alice.id,
        "image/jpeg",
        jpeg.clone(),
        T0 + 5 * SEC,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        users::get_image(&mut conn, &p.alice.id).await.unwrap(),
        Some(("image/jpeg".to_owned(), jpeg))
    );
    assert!(users::get_image(&mut conn, &p.bob.id)
        .await
        .unwrap()
        .is_none());

    // Removing is idempotent.
    let mut tx = store.begin().await.unwrap();
    users::delete_image(&mut tx, &p.alice.id).await.unwrap();
    users::delete_image(&mut tx, &p.alice.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(users::get_image(&mut conn, &p.alice.id)
        .await
        .unwrap()
        .is_none());

    // An image belongs to a user that exists.
    let mut tx = store.begin().await.unwrap();
    assert_conflict(
        users::put_image(&mut tx, &UserId::generate(T0), "image/png", vec![1], T0).await,
    );
    drop(tx);

    // Carol keeps an image, to be removed with her later.
    let mut tx = store.begin().await.unwrap();
    users::put_image(
        &mut tx,
        &p.carol.id,
        "image/webp",
        vec![7, 7, 7],
        T0 + 6 * SEC,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// The clients of the story, as last written, and what happened on them.
struct Visits {
    /// Alice's laptop.
    laptop: Client,
    /// A shared tablet: Dave signs up there, Alice signs in there too.
    tablet: Client,
    /// Dave, created by the sign-up on the tablet.
    dave: User,
    sign_up: SignUp,
    sign_in: SignIn,
}

fn client(at: i64, token_hash: &str) -> Client {
    Client {
        id: ClientId::generate(at),
        token_hash: Some(token_hash.to_owned()),
        last_active_session_id: None,
        sign_up_id: None,
        sign_in_id: None,
        expire_at: at + 365 * DAY,
        created_at: at,
        updated_at: at,
    }
}

fn session(client: &Client, user: &UserId, status: SessionStatus, at: i64) -> Session {
    Session {
        id: SessionId::generate(at),
        client_id: client.id.clone(),
        user_id: user.clone(),
        status,
        actor: None,
        last_active_organization_id: None,
        active_organization: None,
        last_active_at: at,
        expire_at: at + 7 * DAY,
        abandon_at: at + 30 * DAY,
        first_factor_at: Some(at),
        second_factor_at: None,
        ip_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".to_owned()),
        city: None,
        country: None,
        created_at: at,
        updated_at: at,
        pending_tasks: Vec::new(),
        reverification: None,
        reverification_version: 0,
    }
}

async fn clients_and_attempts(store: &Store, p: &People) -> Visits {
    let mut conn = store.read().await.unwrap();
    assert_not_found(clients::get(&mut conn, &ClientId::generate(T0)).await);
    assert!(clients::find_by_token_hash(&mut conn, "hash-none")
        .await
        .unwrap()
        .is_none());
    assert!(
        clients::find_with_sessions_by_token_hash(&mut conn, "hash-none")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(clients::count(&mut conn).await.unwrap(), 0);

    let mut laptop = client(T0 + 20 * SEC, "hash-laptop");
    let mut tablet = client(T0 + 21 * SEC, "hash-tablet");
    let mut tx = store.begin().await.unwrap();
    clients::insert(&mut tx, &laptop).await.unwrap();
    clients::insert(&mut tx, &tablet).await.unwrap();
    tx.commit().await.unwrap();
    same(&clients::get(&mut conn, &laptop.id).await.unwrap(), &laptop);
    same(
        &clients::find_by_token_hash(&mut conn, "hash-tablet")
            .await
            .unwrap()
            .unwrap(),
        &tablet,
    );
    // A client without sessions comes back with none.
    let (got, sessions) = clients::find_with_sessions_by_token_hash(&mut conn, "hash-laptop")
        .await
        .unwrap()
        .unwrap();
    same(&got, &laptop);
    assert!(sessions.is_empty());
    // Token hashes are unique.
    let mut tx = store.begin().await.unwrap();
    assert_conflict(clients::insert(&mut tx, &client(T0 + 22 * SEC, "hash-laptop")).await);
    drop(tx);

    // Dave signs up on the tablet.
    let at = T0 + 22 * SEC;
    let mut sign_up = SignUp {
        id: SignUpId::generate(at),
        client_id: tablet.id.clone(),
        status: SignUpStatus::MissingRequirements,
        email_address: Some("dave@example.com".to_owned()),
        phone_number: Some("+15555550199".to_owned()),
        username: Some("dave".to_owned()),
        first_name: Some("Dave".to_owned()),
        last_name: None,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$ZGF2ZQ$aGFzaA".to_owned()),
        unsafe_metadata: object(json!({"referrer": "newsletter"})),
        legal_accepted_at: Some(at),
        email_verification: Some(verification(
            json!({"strategy": "email_code", "status": "unverified", "attempts": 0}),
        )),
        phone_verification: None,
        created_user_id: None,
        created_session_id: None,
        abandon_at: at + DAY,
        created_at: at,
        updated_at: at,
        version: 0,
    };
    tablet.sign_up_id = Some(sign_up.id.clone());
    tablet.updated_at = at;
    let mut tx = store.begin().await.unwrap();
    attempts::save_sign_up(&mut tx, &mut sign_up).await.unwrap();
    clients::update(&mut tx, &tablet).await.unwrap();
    tx.commit().await.unwrap();
    same(
        &attempts::get_sign_up(&mut conn, &sign_up.id).await.unwrap(),
        &sign_up,
    );
    same(&clients::get(&mut conn, &tablet.id).await.unwrap(), &tablet);
    assert_not_found(attempts::get_sign_up(&mut conn, &SignUpId::generate(at)).await);

    // The code is verified: the sign-up completes, creating Dave and his session.
    let at = T0 + 23 * SEC;
    let mut dave = User::new(UserId::generate(at), at);
    dave.username = Some("dave".to_owned());
    dave.first_name = Some("Dave".to_owned());
    dave.password_hash = sign_up.password_hash.clone();
    dave.password_hasher = Some("argon2id".to_owned());
    dave.unsafe_metadata = sign_up.unsafe_metadata.clone();
    dave.legal_accepted_at = sign_up.legal_accepted_at;
    dave.last_sign_in_at = Some(at);
    let dave_email = Identification {
        verification_status: VerificationStatus::Verified,
        verification_strategy: Some(Strategy::EmailCode),
        verified_at: Some(at),
        ..identification(
            &dave,
            IdentificationKind::EmailAddress,
            "dave@example.com",
            at,
        )
    };
    dave.primary_email_address_id = Some(dave_email.id.clone());
    let dave_session = session(&tablet, &dave.id, SessionStatus::Active, at);
    sign_up.status = SignUpStatus::Complete;
    sign_up.email_verification = Some(verification(
        json!({"strategy": "email_code", "status": "verified", "attempts": 1}),
    ));
    sign_up.phone_verification = Some(verification(
        json!({"strategy": "phone_code", "status": "unverified"}),
    ));
    sign_up.created_user_id = Some(dave.id.clone());
    sign_up.created_session_id = Some(dave_session.id.clone());
    sign_up.updated_at = at;
    tablet.sign_up_id = None;
    tablet.last_active_session_id = Some(dave_session.id.clone());
    tablet.updated_at = at;
    let mut tx = store.begin().await.unwrap();
    users::insert(&mut tx, &dave).await.unwrap();
    identifications::insert(&mut tx, &dave_email).await.unwrap();
    sessions::insert(&mut tx, &dave_session).await.unwrap();
    attempts::save_sign_up(&mut tx, &mut sign_up).await.unwrap();
    clients::update(&mut tx, &tablet).await.unwrap();
    tx.commit().await.unwrap();
    same(
        &attempts::get_sign_up(&mut conn, &sign_up.id).await.unwrap(),
        &sign_up,
    );
    same(&users::get(&mut conn, &dave.id).await.unwrap(), &dave);
    same(&clients::get(&mut conn, &tablet.id).await.unwrap(), &tablet);

    // Alice starts signing in on her laptop...
    let at = T0 + 24 * SEC;
    let mut sign_in = SignIn {
        id: SignInId::generate(at),
        client_id: laptop.id.clone(),
        status: SignInStatus::NeedsFirstFactor,
        identifier: Some("alice@example.com".to_owned()),
        user_id: Some(p.alice.id.clone()),
        first_factor: None,
        second_factor: None,
        created_session_id: None,
        abandon_at: at + DAY,
        created_at: at,
        updated_at: at,
        version: 0,
    };
    laptop.sign_in_id = Some(sign_in.id.clone());
    laptop.updated_at = at;
    let mut tx = store.begin().await.unwrap();
    attempts::save_sign_in(&mut tx, &mut sign_in).await.unwrap();
    clients::update(&mut tx, &laptop).await.unwrap();
    tx.commit().await.unwrap();
    same(
        &attempts::get_sign_in(&mut conn, &sign_in.id).await.unwrap(),
        &sign_in,
    );
    same(&clients::get(&mut conn, &laptop.id).await.unwrap(), &laptop);
    assert_not_found(attempts::get_sign_in(&mut conn, &SignInId::generate(at)).await);

    // ...passes the password, then needs her phone code (saving replaces the row).
    sign_in.status = SignInStatus::NeedsSecondFactor;
    sign_in.first_factor = Some(verification(
        json!({"strategy": "password", "status": "verified"}),
    ));
    sign_in.second_factor = Some(verification(
        json!({"strategy": "phone_code", "status": "unverified",
        "code_hash": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"}),
    ));
    sign_in.updated_at = at + SEC;
    let mut tx = store.begin().await.unwrap();
    attempts::save_sign_in(&mut tx, &mut sign_in).await.unwrap();
    tx.commit().await.unwrap();
    same(
        &attempts::get_sign_in(&mut conn, &sign_in.id).await.unwrap(),
        &sign_in,
    );
    // A save from a read another save overtook changes nothing.
    let mut stale = sign_in.clone();
    stale.version -= 1;
    stale.status = SignInStatus::Complete;
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        attempts::save_sign_in(&mut tx, &mut stale).await,
        Err(tessera_store::StoreError::Stale)
    ));
    drop(tx);
    same(
        &attempts::get_sign_in(&mut conn, &sign_in.id).await.unwrap(),
        &sign_in,
    );
    // A sign-up or sign-in belongs to a client that exists.
    let mut tx = store.begin().await.unwrap();
    let mut orphan = SignIn {
        id: SignInId::generate(at),
        client_id: ClientId::generate(at),
        version: 0,
        ..sign_in.clone()
    };
    assert_conflict(attempts::save_sign_in(&mut tx, &mut orphan).await);
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let mut orphan = SignUp {
        id: SignUpId::generate(at),
        client_id: ClientId::generate(at),
        version: 0,
        ..sign_up.clone()
    };
    assert_conflict(attempts::save_sign_up(&mut tx, &mut orphan).await);
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_not_found(clients::update(&mut tx, &client(at, "hash-ghost")).await);
    drop(tx);

    Visits {
        laptop,
        tablet,
        dave,
        sign_up,
        sign_in,
    }
}

fn session_ids(sessions: &[Session]) -> Vec<&SessionId> {
    sessions.iter().map(|s| &s.id).collect()
}

async fn sessions_story(store: &Store, p: &People, v: &Visits) {
    let mut conn = store.read().await.unwrap();
    let dave_session = sessions::get(&mut conn, v.sign_up.created_session_id.as_ref().unwrap())
        .await
        .unwrap();
    assert_eq!(dave_session.user_id, v.dave.id);
    assert_not_found(sessions::get(&mut conn, &SessionId::generate(T0)).await);

    // Alice's second factor passes: her session starts; later she also signs
    // in on the tablet; Carol signs in on the laptop but has tasks left.
    let at = T0 + 30 * SEC;
    let mut laptop = v.laptop.clone();
    let mut sign_in = v.sign_in.clone();
    let mut alice_laptop = Session {
        second_factor_at: Some(at),
        ..session(&laptop, &p.alice.id, SessionStatus::Active, at)
    };
    sign_in.status = SignInStatus::Complete;
    sign_in.second_factor = Some(verification(
        json!({"strategy": "phone_code", "status": "verified"}),
    ));
    sign_in.created_session_id = Some(alice_laptop.id.clone());
    sign_in.updated_at = at;
    laptop.sign_in_id = None;
    laptop.last_active_session_id = Some(alice_laptop.id.clone());
    laptop.updated_at = at;
    let alice_tablet = session(&v.tablet, &p.alice.id, SessionStatus::Active, at + SEC);
    let carol_laptop = session(&laptop, &p.carol.id, SessionStatus::Pending, at + 2 * SEC);
    let mut tx = store.begin().await.unwrap();
    sessions::insert(&mut tx, &alice_laptop).await.unwrap();
    attempts::save_sign_in(&mut tx, &mut sign_in).await.unwrap();
    clients::update(&mut tx, &laptop).await.unwrap();
    sessions::insert(&mut tx, &alice_tablet).await.unwrap();
    sessions::insert(&mut tx, &carol_laptop).await.unwrap();
    tx.commit().await.unwrap();
    same(
        &sessions::get(&mut conn, &alice_laptop.id).await.unwrap(),
        &alice_laptop,
    );
    same(
        &attempts::get_sign_in(&mut conn, &sign_in.id).await.unwrap(),
        &sign_in,
    );

    // Activity and impersonation are saved.
    alice_laptop.last_active_at = at + 10 * SEC;
    alice_laptop.actor = Some(json!({"sub": "user_admin", "iss": "dashboard"}));
    alice_laptop.last_active_organization_id = Some("org_2abc".to_owned());
    alice_laptop.ip_address = Some("198.51.100.23".to_owned());
    alice_laptop.user_agent = Some("curl/8.5.0".to_owned());
    alice_laptop.city = Some("Berlin".to_owned());
    alice_laptop.country = Some("DE".to_owned());
    alice_laptop.updated_at = at + 10 * SEC;
    let mut tx = store.begin().await.unwrap();
    sessions::update(&mut tx, &alice_laptop).await.unwrap();
    tx.commit().await.unwrap();
    same(
        &sessions::get(&mut conn, &alice_laptop.id).await.unwrap(),
        &alice_laptop,
    );

    // Lists: newest first, filtered, paged; counts agree.
    let list = |filter: SessionFilter, limit: i64, offset: i64| {
        let store = store.clone();
        async move {
            let mut conn = store.read().await.unwrap();
            let page = sessions::list(&mut conn, &filter, limit, offset)
                .await
                .unwrap();
            let total = sessions::count(&mut conn, &filter).await.unwrap();
            (page, total)
        }
    };
    let (all, total) = list(SessionFilter::default(), 10, 0).await;
    assert_eq!(
        session_ids(&all),
        [
            &carol_laptop.id,
            &alice_tablet.id,
            &alice_laptop.id,
            &dave_session.id
        ]
    );
    assert_eq!(total, 4);
    same(&all[2], &alice_laptop);
    let (page, _) = list(SessionFilter::default(), 2, 1).await;
    assert_eq!(session_ids(&page), [&alice_tablet.id, &alice_laptop.id]);
    let of_alice = SessionFilter {
        user_id: Some(p.alice.id.clone()),
        ..SessionFilter::default()
    };
    let (page, total) = list(of_alice.clone(), 10, 0).await;
    assert_eq!(session_ids(&page), [&alice_tablet.id, &alice_laptop.id]);
    assert_eq!(total, 2);
    let on_laptop = SessionFilter {
        client_id: Some(laptop.id.clone()),
        ..SessionFilter::default()
    };
    let (page, total) = list(on_laptop, 10, 0).await;
    assert_eq!(session_ids(&page), [&carol_laptop.id, &alice_laptop.id]);
    assert_eq!(total, 2);
    let pending = SessionFilter {
        status: Some(SessionStatus::Pending),
        ..SessionFilter::default()
    };
    let (page, total) = list(pending, 10, 0).await;
    assert_eq!(session_ids(&page), [&carol_laptop.id]);
    assert_eq!(total, 1);
    let alice_on_tablet = SessionFilter {
        user_id: Some(p.alice.id.clone()),
        client_id: Some(v.tablet.id.clone()),
        status: Some(SessionStatus::Active),
    };
    let (page, total) = list(alice_on_tablet, 10, 0).await;
    assert_eq!(session_ids(&page), [&alice_tablet.id]);
    assert_eq!(total, 1);

    // A client's sessions, oldest first, alone or with the client in one query.
    let on_tablet = sessions::list_for_client(&mut conn, &v.tablet.id)
        .await
        .unwrap();
    assert_eq!(
        session_ids(&on_tablet),
        [&dave_session.id, &alice_tablet.id]
    );
    let (got, with) = clients::find_with_sessions_by_token_hash(&mut conn, "hash-laptop")
        .await
        .unwrap()
        .unwrap();
    same(&got, &laptop);
    assert_eq!(with.len(), 2);
    same(&with[0], &alice_laptop);
    same(&with[1], &carol_laptop);

    // Clients, newest first.
    let all_clients = clients::list(&mut conn, 10, 0).await.unwrap();
    assert_eq!(all_clients.len(), 2);
    same(&all_clients[0], &v.tablet);
    same(&all_clients[1], &laptop);
    let second = clients::list(&mut conn, 1, 1).await.unwrap();
    assert_eq!(second.len(), 1);
    same(&second[0], &laptop);
    assert_eq!(clients::count(&mut conn).await.unwrap(), 2);

    // Sessions need a client and a user that exist; updates a session that does.
    let mut tx = store.begin().await.unwrap();
    let ghost_client = client(at, "hash-ghost");
    assert_conflict(
        sessions::insert(
            &mut tx,
            &session(&ghost_client, &p.alice.id, SessionStatus::Active, at),
        )
        .await,
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_conflict(
        sessions::insert(
            &mut tx,
            &session(&laptop, &UserId::generate(at), SessionStatus::Active, at),
        )
        .await,
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_not_found(
        sessions::update(
            &mut tx,
            &session(&laptop, &p.alice.id, SessionStatus::Active, at),
        )
        .await,
    );
    drop(tx);

    // Alice is signed out everywhere by an administrator.
    let now = T0 + 50 * SEC;
    let mut tx = store.begin().await.unwrap();
    let mut ended = sessions::end_all_for_user(&mut tx, &p.alice.id, SessionStatus::Revoked, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    ended.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = [alice_laptop.clone(), alice_tablet.clone()];
    for s in &mut want {
        s.status = SessionStatus::Revoked;
        s.updated_at = now;
    }
    want.sort_by(|a, b| a.id.cmp(&b.id));
    same(&ended.as_slice(), &want.as_slice());
    // Sessions already ended are left alone.
    let mut tx = store.begin().await.unwrap();
    assert!(
        sessions::end_all_for_user(&mut tx, &p.alice.id, SessionStatus::Ended, now + SEC)
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();
    let revoked = SessionFilter {
        status: Some(SessionStatus::Revoked),
        ..SessionFilter::default()
    };
    assert_eq!(list(revoked, 10, 0).await.1, 2);
    assert_eq!(list(of_alice, 10, 0).await.1, 2);
    assert_eq!(
        sessions::get(&mut conn, &carol_laptop.id)
            .await
            .unwrap()
            .status,
        SessionStatus::Pending
    );
}

async fn deletions(store: &Store, p: &People, v: &Visits) {
    let mut conn = store.read().await.unwrap();

    // Alice removes her phone number.
    let mut tx = store.begin().await.unwrap();
    identifications::delete(&mut tx, &p.alice_phone.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_not_found(identifications::get(&mut conn, &p.alice_phone.id).await);
    let left = identifications::list_for_user(&mut conn, &p.alice.id)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    same(&left[0], &p.alice_email);
    let mut tx = store.begin().await.unwrap();
    assert_not_found(identifications::delete(&mut tx, &p.alice_phone.id).await);
    drop(tx);

    // Deleting Carol takes her identifications, image and sessions with her.
    let carol_sessions = sessions::list(
        &mut conn,
        &SessionFilter {
            user_id: Some(p.carol.id.clone()),
            ..SessionFilter::default()
        },
        10,
        0,
    )
    .await
    .unwrap();
    assert_eq!(carol_sessions.len(), 1);
    let mut tx = store.begin().await.unwrap();
    users::delete(&mut tx, &p.carol.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(users::find(&mut conn, &p.carol.id).await.unwrap().is_none());
    assert_not_found(identifications::get(&mut conn, &p.carol_email.id).await);
    assert!(identifications::find(
        &mut conn,
        IdentificationKind::EmailAddress,
        "carol@example.com"
    )
    .await
    .unwrap()
    .is_none());
    assert!(
        identifications::find(&mut conn, IdentificationKind::PhoneNumber, "+15555550123")
            .await
            .unwrap()
            .is_none()
    );
    assert!(users::get_image(&mut conn, &p.carol.id)
        .await
        .unwrap()
        .is_none());
    assert_not_found(sessions::get(&mut conn, &carol_sessions[0].id).await);
    assert_eq!(
        sessions::list_for_client(&mut conn, &v.laptop.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let mut tx = store.begin().await.unwrap();
    assert_not_found(users::delete(&mut tx, &p.carol.id).await);
    drop(tx);

    // Deleting Alice takes her sign-in with her; the clients stay.
    let mut tx = store.begin().await.unwrap();
    users::delete(&mut tx, &p.alice.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_not_found(attempts::get_sign_in(&mut conn, &v.sign_in.id).await);
    assert!(sessions::list_for_client(&mut conn, &v.laptop.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(clients::count(&mut conn).await.unwrap(), 2);
    // Dave's sign-up is no user's: it stays.
    same(
        &attempts::get_sign_up(&mut conn, &v.sign_up.id)
            .await
            .unwrap(),
        &v.sign_up,
    );

    let everyone = users::list(
        &mut conn,
        &UserFilter::default(),
        UserOrderField::CreatedAt,
        false,
        10,
        0,
    )
    .await
    .unwrap();
    let ids: Vec<&UserId> = everyone.iter().map(|u| &u.id).collect();
    assert_eq!(ids, [&p.bob.id, &v.dave.id]);
    same(&everyone[0], &p.bob);
    assert_eq!(
        users::count(&mut conn, &UserFilter::default())
            .await
            .unwrap(),
        2
    );
    let bob_ids = identifications::list_for_users(&mut conn, std::slice::from_ref(&p.bob.id))
        .await
        .unwrap();
    assert_eq!(bob_ids.len(), 1);
    same(&bob_ids[0], &p.bob_email);
}

fn endpoint(at: i64, url: &str, filter_types: Option<&str>) -> Endpoint {
    Endpoint {
        id: EndpointId::generate(at).into_string(),
        url: url.to_owned(),
        description: String::new(),
        filter_types: filter_types.map(str::to_owned),
        disabled: false,
        disabled_reason: None,
        failing_since: None,
        enabled_at: at,
        created_at: at,
        updated_at: at,
    }
}

fn secret(endpoint: &Endpoint, at: i64, n: u32) -> Secret {
    Secret {
        id: EndpointSecretId::generate(at).into_string(),
        endpoint_id: endpoint.id.clone(),
        secret: format!("whsec_c2VjcmV0LW51bWJlci17{n}"),
        created_at: at,
        expires_at: None,
    }
}

fn secret_ids(secrets: &[Secret]) -> Vec<&str> {
    secrets.iter().map(|s| s.id.as_str()).collect()
}

async fn webhook_endpoints_and_secrets(store: &Store) {
    let mut conn = store.read().await.unwrap();
    assert!(webhooks::list_endpoints(&mut conn)
        .await
        .unwrap()
        .is_empty());
    assert_not_found(webhooks::get_endpoint(&mut conn, "ep_missing").await);

    let everything = Endpoint {
        description: "everything".to_owned(),
        ..endpoint(T0, "https://app.example.com/webhooks", None)
    };
    let mut users_only = endpoint(
        T0 + SEC,
        "https://crm.example.com/hook",
        Some(r#"["user.created","user.deleted"]"#),
    );
    let mut tx = store.begin().await.unwrap();
    webhooks::insert_endpoint(&mut tx, &everything)
        .await
        .unwrap();
    webhooks::insert_endpoint(&mut tx, &users_only)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let listed = webhooks::list_endpoints(&mut conn).await.unwrap();
    assert_eq!(listed.len(), 2);
    same(&listed[0], &everything);
    same(&listed[1], &users_only);
    same(
        &webhooks::get_endpoint(&mut conn, &users_only.id)
            .await
            .unwrap(),
        &users_only,
    );
    assert_eq!(everything.filter(), None);
    assert!(everything.wants("session.created"));
    assert_eq!(
        users_only.filter(),
        Some(vec!["user.created".to_owned(), "user.deleted".to_owned()])
    );
    assert!(users_only.wants("user.deleted"));
    assert!(!users_only.wants("session.created"));

    // The CRM keeps failing and is disabled.
    users_only.disabled = true;
    users_only.disabled_reason = Some("failing for 5 days".to_owned());
    users_only.failing_since = Some(T0 + 2 * SEC);
    users_only.description = "CRM sync".to_owned();
    users_only.updated_at = T0 + 5 * DAY;
    let mut tx = store.begin().await.unwrap();
    webhooks::update_endpoint(&mut tx, &users_only)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    same(
        &webhooks::get_endpoint(&mut conn, &users_only.id)
            .await
            .unwrap(),
        &users_only,
    );
    let mut tx = store.begin().await.unwrap();
    assert_not_found(webhooks::update_endpoint(&mut tx, &endpoint(T0, "https://x", None)).await);
    assert_not_found(webhooks::delete_endpoint(&mut tx, "ep_missing").await);
    drop(tx);

    // Secrets: one current; after a rotation the old one signs until it expires.
    assert!(webhooks::signing_secrets(&mut conn, &everything.id, T0)
        .await
        .unwrap()
        .is_empty());
    let first = secret(&everything, T0, 1);
    let mut tx = store.begin().await.unwrap();
    webhooks::insert_secret(&mut tx, &first).await.unwrap();
    tx.commit().await.unwrap();
    let current = webhooks::signing_secrets(&mut conn, &everything.id, T0 + SEC)
        .await
        .unwrap();
    assert_eq!(current.len(), 1);
    same(&current[0], &first);

    let second = secret(&everything, T0 + 10 * SEC, 2);
    let mut tx = store.begin().await.unwrap();
    webhooks::retire_secrets(&mut tx, &everything.id, T0 + 100 * SEC, T0 + 10 * SEC)
        .await
        .unwrap();
    webhooks::insert_secret(&mut tx, &second).await.unwrap();
    tx.commit().await.unwrap();
    let signing = webhooks::signing_secrets(&mut conn, &everything.id, T0 + 20 * SEC)
        .await
        .unwrap();
    assert_eq!(secret_ids(&signing), [&second.id, &first.id]);
    assert_eq!(signing[1].expires_at, Some(T0 + 100 * SEC));
    assert_eq!(
        secret_ids(
            &webhooks::signing_secrets(&mut conn, &everything.id, T0 + 100 * SEC)
                .await
                .unwrap()
        ),
        [&second.id]
    );

    // The next rotation drops the expired secret for good.
    let third = secret(&everything, T0 + 200 * SEC, 3);
    let mut tx = store.begin().await.unwrap();
    webhooks::retire_secrets(&mut tx, &everything.id, T0 + 300 * SEC, T0 + 200 * SEC)
        .await
        .unwrap();
    webhooks::insert_secret(&mut tx, &third).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        secret_ids(
            &webhooks::signing_secrets(&mut conn, &everything.id, T0)
                .await
                .unwrap()
        ),
        [&third.id, &second.id],
        "the first secret was deleted, not only expired"
    );
    // A secret belongs to an endpoint that exists.
    let mut tx = store.begin().await.unwrap();
    let orphan = Secret {
        id: EndpointSecretId::generate(T0).into_string(),
        endpoint_id: "ep_missing".to_owned(),
        ..first.clone()
    };
    assert_conflict(webhooks::insert_secret(&mut tx, &orphan).await);
    drop(tx);

    // Deleting an endpoint takes its secrets with it.
    let mut tx = store.begin().await.unwrap();
    webhooks::delete_endpoint(&mut tx, &everything.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(webhooks::signing_secrets(&mut conn, &everything.id, T0)
        .await
        .unwrap()
        .is_empty());
    let listed = webhooks::list_endpoints(&mut conn).await.unwrap();
    assert_eq!(listed.len(), 1);
    same(&listed[0], &users_only);
    let mut tx = store.begin().await.unwrap();
    webhooks::delete_endpoint(&mut tx, &users_only.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(webhooks::list_endpoints(&mut conn)
        .await
        .unwrap()
        .is_empty());
}

fn message(event_type: &str, at: i64) -> Message {
    Message {
        id: MessageId::generate(at).into_string(),
        event_type: event_type.to_owned(),
        payload: json!({"type": event_type, "object": "event", "timestamp": at}).to_string(),
        created_at: at,
    }
}

fn delivery(m: &Message, e: &Endpoint, next_attempt_at: i64) -> Delivery {
    Delivery {
        id: DeliveryId::generate(next_attempt_at).into_string(),
        message_id: m.id.clone(),
        endpoint_id: e.id.clone(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at,
    }
}

fn attempt(d: &Delivery, at: i64, status_code: Option<i64>, error: Option<&str>) -> Attempt {
    Attempt {
        id: AttemptId::generate(at).into_string(),
        delivery_id: d.id.clone(),
        message_id: d.message_id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        attempted_at: at,
        status_code,
        latency_ms: 120,
        response: status_code.map_or_else(String::new, |c| format!("{{\"status\":{c}}}")),
        error: error.map(str::to_owned),
        trigger_type: AttemptTrigger::Scheduled,
    }
}

fn message_ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.id.as_str()).collect()
}

fn attempt_ids(attempts: &[Attempt]) -> Vec<&str> {
    attempts.iter().map(|a| a.id.as_str()).collect()
}

/// Ids of leased rows, sorted: a claim returns its rows in no promised order.
fn sorted_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut ids: Vec<&str> = ids.into_iter().collect();
    ids.sort_unstable();
    ids
}

/// The outbox: messages written with a change, fanned out to deliveries,
/// leased, attempted, recovered and purged.
async fn outbox(store: &Store) {
    let backend = store.backend();
    let mut conn = store.read().await.unwrap();
    let hook = endpoint(T0, "https://app.example.com/webhooks", None);
    let mut tx = store.begin().await.unwrap();
    webhooks::insert_endpoint(&mut tx, &hook).await.unwrap();
    tx.commit().await.unwrap();

    assert!(webhooks::list_messages(&mut conn, None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_not_found(webhooks::get_message(&mut conn, "msg_missing").await);
    let m1 = message("user.created", T0 + 10 * SEC);
    let m2 = message("session.created", T0 + 11 * SEC);
    let m3 = message("user.created", T0 + 12 * SEC);
    let mut tx = store.begin().await.unwrap();
    for m in [&m1, &m2, &m3] {
        webhooks::insert_message(&mut tx, m).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_conflict(webhooks::insert_message(&mut tx, &m1).await);
    drop(tx);

    same(
        &webhooks::get_message(&mut conn, &m2.id).await.unwrap(),
        &m2,
    );
    let newest_first = webhooks::list_messages(&mut conn, None, 10).await.unwrap();
    assert_eq!(message_ids(&newest_first), [&m3.id, &m2.id, &m1.id]);
    same(&newest_first[2], &m1);
    assert_eq!(
        message_ids(
            &webhooks::list_messages(&mut conn, Some("user.created"), 10)
                .await
                .unwrap()
        ),
        [&m3.id, &m1.id]
    );
    assert_eq!(
        message_ids(&webhooks::list_messages(&mut conn, None, 1).await.unwrap()),
        [&m3.id]
    );
    assert!(webhooks::list_messages(&mut conn, Some("user.updated"), 10)
        .await
        .unwrap()
        .is_empty());

    // Fan-out takes the oldest messages not yet taken, each once.
    let mut tx = store.begin().await.unwrap();
    let mut taken = webhooks::take_unfanned(&mut tx, backend, 2).await.unwrap();
    tx.commit().await.unwrap();
    taken.sort();
    let mut want = vec![
        (m1.id.clone(), m1.event_type.clone(), m1.created_at),
        (m2.id.clone(), m2.event_type.clone(), m2.created_at),
    ];
    want.sort();
    assert_eq!(taken, want);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        webhooks::take_unfanned(&mut tx, backend, 10).await.unwrap(),
        [(m3.id.clone(), m3.event_type.clone(), m3.created_at)]
    );
    assert!(webhooks::take_unfanned(&mut tx, backend, 10)
        .await
        .unwrap()
        .is_empty());
    tx.commit().await.unwrap();

    // Deliveries: one per message and endpoint; a second insert is ignored.
    let now = T0 + 20 * SEC;
    let d1 = delivery(&m1, &hook, now);
    let d2 = delivery(&m2, &hook, T0 + 60 * SEC);
    let d3 = delivery(&m3, &hook, now);
    let mut tx = store.begin().await.unwrap();
    for d in [&d1, &d2, &d3] {
        webhooks::insert_delivery(&mut tx, d, now).await.unwrap();
    }
    webhooks::insert_delivery(&mut tx, &delivery(&m1, &hook, now), now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    same(
        &webhooks::find_delivery(&mut conn, &m1.id, &hook.id)
            .await
            .unwrap()
            .unwrap(),
        &d1,
    );
    assert!(webhooks::find_delivery(&mut conn, &m1.id, "ep_missing")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        webhooks::count_deliveries(&mut conn, &hook.id, DeliveryStatus::Pending)
            .await
            .unwrap(),
        3
    );

    // Due deliveries are leased; leased ones are not handed out again.
    let mut tx = store.begin().await.unwrap();
    let claimed = webhooks::claim_deliveries(&mut tx, backend, now, now + 30 * SEC, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        sorted_ids(claimed.iter().map(|d| d.id.as_str())),
        sorted_ids([d1.id.as_str(), d3.id.as_str()])
    );
    let claimed_d1 = claimed.iter().find(|d| d.id == d1.id).unwrap();
    same(claimed_d1, &d1);
    let mut tx = store.begin().await.unwrap();
    assert!(
        webhooks::claim_deliveries(&mut tx, backend, now + SEC, now + 31 * SEC, 10)
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();

    // d1 fails once, is retried and succeeds; d3 fails for good.
    let a1 = attempt(&d1, T0 + 21 * SEC, Some(500), None);
    let mut tx = store.begin().await.unwrap();
    webhooks::insert_attempt(&mut tx, &a1).await.unwrap();
    webhooks::finish_delivery(
        &mut tx,
        &d1.id,
        DeliveryStatus::Pending,
        1,
        T0 + 25 * SEC,
        T0 + 21 * SEC,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let retry = webhooks::claim_deliveries(&mut tx, backend, T0 + 26 * SEC, T0 + 56 * SEC, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(retry.len(), 1, "only d1 is due and free: {retry:?}");
    assert_eq!(
        (retry[0].id.as_str(), retry[0].attempts),
        (d1.id.as_str(), 1)
    );
    let a2 = attempt(&d1, T0 + 26 * SEC, Some(204), None);
    let a3 = attempt(&d3, T0 + 27 * SEC, None, Some("connection refused"));
    let mut tx = store.begin().await.unwrap();
    webhooks::insert_attempt(&mut tx, &a2).await.unwrap();
    webhooks::finish_delivery(
        &mut tx,
        &d1.id,
        DeliveryStatus::Succeeded,
        2,
        T0 + 26 * SEC,
        T0 + 26 * SEC,
    )
    .await
    .unwrap();
    webhooks::insert_attempt(&mut tx, &a3).await.unwrap();
    webhooks::finish_delivery(
        &mut tx,
        &d3.id,
        DeliveryStatus::Failed,
        1,
        T0 + 27 * SEC,
        T0 + 27 * SEC,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let done = webhooks::find_delivery(&mut conn, &m1.id, &hook.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((done.status, done.attempts), (DeliveryStatus::Succeeded, 2));
    for (state, n) in [
        (DeliveryStatus::Succeeded, 1),
        (DeliveryStatus::Failed, 1),
        (DeliveryStatus::Pending, 1),
    ] {
        assert_eq!(
            webhooks::count_deliveries(&mut conn, &hook.id, state)
                .await
                .unwrap(),
            n,
            "{state}"
        );
    }

    // Attempts, newest first, by endpoint, by message, or both.
    let of_hook = webhooks::list_attempts(&mut conn, Some(&hook.id), None, 10)
        .await
        .unwrap();
    assert_eq!(attempt_ids(&of_hook), [&a3.id, &a2.id, &a1.id]);
    same(&of_hook[0], &a3);
    same(&of_hook[2], &a1);
    assert_eq!(
        attempt_ids(
            &webhooks::list_attempts(&mut conn, None, Some(&m1.id), 10)
                .await
                .unwrap()
        ),
        [&a2.id, &a1.id]
    );
    assert_eq!(
        attempt_ids(
            &webhooks::list_attempts(&mut conn, Some(&hook.id), Some(&m3.id), 10)
                .await
                .unwrap()
        ),
        [&a3.id]
    );
    assert_eq!(
        attempt_ids(
            &webhooks::list_attempts(&mut conn, None, None, 1)
                .await
                .unwrap()
        ),
        [&a3.id]
    );
    assert!(
        webhooks::list_attempts(&mut conn, Some("ep_missing"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(webhooks::list_attempts(&mut conn, None, Some(&m2.id), 10)
        .await
        .unwrap()
        .is_empty());

    // Recovery makes failed deliveries since a moment due again, afresh.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        webhooks::recover_failed(&mut tx, &hook.id, now + 1, T0 + 40 * SEC)
            .await
            .unwrap(),
        0,
        "d3 was created before `since`"
    );
    assert_eq!(
        webhooks::recover_failed(&mut tx, &hook.id, now, T0 + 40 * SEC)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let recovered = webhooks::find_delivery(&mut conn, &m3.id, &hook.id)
        .await
        .unwrap()
        .unwrap();
    same(
        &recovered,
        &Delivery {
            next_attempt_at: T0 + 40 * SEC,
            ..d3.clone()
        },
    );
    assert_eq!(
        webhooks::count_deliveries(&mut conn, &hook.id, DeliveryStatus::Failed)
            .await
            .unwrap(),
        0
    );

    // With a limit, a claim leases no more than asked.
    let mut tx = store.begin().await.unwrap();
    let one = webhooks::claim_deliveries(&mut tx, backend, T0 + 60 * SEC, T0 + 90 * SEC, 1)
        .await
        .unwrap();
    let rest = webhooks::claim_deliveries(&mut tx, backend, T0 + 60 * SEC, T0 + 90 * SEC, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(
        sorted_ids(one.iter().chain(&rest).map(|d| d.id.as_str())),
        sorted_ids([d2.id.as_str(), d3.id.as_str()])
    );

    // Purging removes old messages already fanned out, with their deliveries
    // and attempts; a message still waiting for fan-out stays however old.
    let waiting = message("user.deleted", T0 + 5 * SEC);
    let mut tx = store.begin().await.unwrap();
    webhooks::insert_message(&mut tx, &waiting).await.unwrap();
    assert_eq!(
        webhooks::purge_messages(&mut tx, T0 + 12 * SEC)
            .await
            .unwrap(),
        2
    );
    tx.commit().await.unwrap();
    assert_not_found(webhooks::get_message(&mut conn, &m1.id).await);
    assert!(webhooks::find_delivery(&mut conn, &m1.id, &hook.id)
        .await
        .unwrap()
        .is_none());
    assert!(webhooks::list_attempts(&mut conn, None, Some(&m1.id), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        message_ids(&webhooks::list_messages(&mut conn, None, 10).await.unwrap()),
        [&waiting.id, &m3.id]
    );
    assert_eq!(
        attempt_ids(
            &webhooks::list_attempts(&mut conn, Some(&hook.id), None, 10)
                .await
                .unwrap()
        ),
        [&a3.id]
    );

    // Deleting the endpoint takes its deliveries and attempts with it.
    let mut tx = store.begin().await.unwrap();
    webhooks::delete_endpoint(&mut tx, &hook.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(webhooks::find_delivery(&mut conn, &m3.id, &hook.id)
        .await
        .unwrap()
        .is_none());
    assert!(webhooks::list_attempts(&mut conn, Some(&hook.id), None, 10)
        .await
        .unwrap()
        .is_empty());
}

/// A job's row as the dispatcher leaves it: (status, payload, attempts, last error).
async fn job_row(store: &Store, id: &str) -> (String, String, i64, Option<String>) {
    let mut conn = store.read().await.unwrap();
    sqlx::query_as("SELECT status, payload, attempts, last_error FROM jobs WHERE id = $1")
        .bind(id.to_owned())
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

async fn jobs(store: &Store) {
    let backend = store.backend();
    let email = JobId::generate(T0).into_string();
    let sms = JobId::generate(T0).into_string();
    let email_payload = json!({"to": "bob@example.org", "subject": "Your code"});
    let sms_payload = json!({"to": "+15555550100", "body": "123456"});

    // The email is free for any dispatcher; the SMS is leased to the server
    // that queued it, which tries it at once.
    let mut tx = store.begin().await.unwrap();
    webhooks::insert_job(&mut tx, &email, JobKind::Email, &email_payload, T0, 0)
        .await
        .unwrap();
    webhooks::insert_job(&mut tx, &sms, JobKind::Sms, &sms_payload, T0, T0 + 30 * SEC)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_conflict(webhooks::insert_job(&mut tx, &email, JobKind::Email, &json!({}), T0, 0).await);
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    let claimed = webhooks::claim_jobs(&mut tx, backend, T0 + SEC, T0 + 31 * SEC, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);
    same(
        &claimed[0],
        &webhooks::Job {
            id: email.clone(),
            kind: JobKind::Email,
            payload: email_payload.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
        },
    );

    // Sent: the payload (an address and a code) is not kept.
    let mut tx = store.begin().await.unwrap();
    webhooks::finish_job(
        &mut tx,
        &email,
        DeliveryStatus::Succeeded,
        1,
        T0 + SEC,
        None,
        T0 + SEC,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        job_row(store, &email).await,
        (
            DeliveryStatus::Succeeded.as_str().to_owned(),
            String::new(),
            1,
            None
        )
    );

    // The SMS lease lapses unfinished (its server died): another one takes it.
    let mut tx = store.begin().await.unwrap();
    let lapsed = webhooks::claim_jobs(&mut tx, backend, T0 + 30 * SEC, T0 + 60 * SEC, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(lapsed.len(), 1);
    assert_eq!(lapsed[0].id, sms);
    // It fails and waits for a retry, keeping its payload.
    let mut tx = store.begin().await.unwrap();
    webhooks::finish_job(
        &mut tx,
        &sms,
        DeliveryStatus::Pending,
        1,
        T0 + 90 * SEC,
        Some("gateway answered 503"),
        T0 + 31 * SEC,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        job_row(store, &sms).await,
        (
            DeliveryStatus::Pending.as_str().to_owned(),
            sms_payload.to_string(),
            1,
            Some("gateway answered 503".to_owned())
        )
    );
    let mut tx = store.begin().await.unwrap();
    assert!(
        webhooks::claim_jobs(&mut tx, backend, T0 + 60 * SEC, T0 + 90 * SEC, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due before its retry time"
    );
    let retry = webhooks::claim_jobs(&mut tx, backend, T0 + 90 * SEC, T0 + 120 * SEC, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!((retry[0].id.as_str(), retry[0].attempts), (sms.as_str(), 1));
    assert_eq!(retry[0].payload, sms_payload);
    let mut tx = store.begin().await.unwrap();
    webhooks::finish_job(
        &mut tx,
        &sms,
        DeliveryStatus::Failed,
        2,
        T0 + 91 * SEC,
        Some("gave up"),
        T0 + 91 * SEC,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        job_row(store, &sms).await,
        (
            DeliveryStatus::Failed.as_str().to_owned(),
            String::new(),
            2,
            Some("gave up".to_owned())
        )
    );

    // Finished jobs are purged once older than the cutoff; pending ones never.
    let later = JobId::generate(T0).into_string();
    let mut tx = store.begin().await.unwrap();
    webhooks::insert_job(&mut tx, &later, JobKind::Email, &json!({}), T0, 0)
        .await
        .unwrap();
    assert_eq!(
        webhooks::purge_jobs(&mut tx, T0 + 91 * SEC).await.unwrap(),
        1
    );
    assert_eq!(
        webhooks::purge_jobs(&mut tx, T0 + 92 * SEC).await.unwrap(),
        1
    );
    assert_eq!(
        webhooks::purge_jobs(&mut tx, T0 + 365 * DAY).await.unwrap(),
        0
    );
    tx.commit().await.unwrap();
    assert_eq!(
        job_row(store, &later).await.0,
        DeliveryStatus::Pending.as_str()
    );
}

async fn rate_limit_hits(store: &Store) {
    let minute = 60 * SEC;
    let w0 = T0 - T0 % minute;
    let w1 = w0 + minute;
    let mut tx = store.begin().await.unwrap();
    for n in 1..=3 {
        assert_eq!(
            rate_limits::hit(&mut tx, "sign_in:203.0.113.7", w0)
                .await
                .unwrap(),
            n
        );
    }
    assert_eq!(
        rate_limits::hit(&mut tx, "sign_in:198.51.100.23", w0)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();

    // A new window starts the count again.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        rate_limits::hit(&mut tx, "sign_in:203.0.113.7", w1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        rate_limits::hit(&mut tx, "sign_in:203.0.113.7", w1)
            .await
            .unwrap(),
        2
    );
    // Only counters of windows that started before the cutoff go.
    assert_eq!(rate_limits::purge(&mut tx, w0).await.unwrap(), 0);
    assert_eq!(rate_limits::purge(&mut tx, w1).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        rate_limits::hit(&mut tx, "sign_in:198.51.100.23", w1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        rate_limits::hit(&mut tx, "sign_in:203.0.113.7", w1)
            .await
            .unwrap(),
        3
    );
    assert_eq!(rate_limits::purge(&mut tx, w1 + minute).await.unwrap(), 2);
    tx.commit().await.unwrap();
}

async fn handshake_nonces(store: &Store) {
    let directives = json!([
        "__session=eyJ; Path=/; SameSite=Lax",
        "__client_uat=1750000000; Path=/"
    ])
    .to_string();
    let mut tx = store.begin().await.unwrap();
    handshakes::insert(&mut tx, "nonce-a", &directives, T0 + 60 * SEC)
        .await
        .unwrap();
    handshakes::insert(&mut tx, "nonce-b", "[]", T0 + 10 * SEC)
        .await
        .unwrap();
    handshakes::insert(&mut tx, "nonce-c", "[]", T0 + 10 * SEC)
        .await
        .unwrap();
    handshakes::insert(&mut tx, "nonce-d", "[\"d\"]", T0 + 100 * SEC)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_conflict(handshakes::insert(&mut tx, "nonce-a", "[]", T0).await);
    drop(tx);

    // A nonce is redeemed once.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        handshakes::take(&mut tx, "nonce-a", T0 + SEC)
            .await
            .unwrap(),
        Some(directives)
    );
    assert_eq!(
        handshakes::take(&mut tx, "nonce-a", T0 + SEC)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        handshakes::take(&mut tx, "nonce-unknown", T0)
            .await
            .unwrap(),
        None
    );
    // An expired nonce yields nothing, and is gone after the attempt.
    assert_eq!(
        handshakes::take(&mut tx, "nonce-b", T0 + 10 * SEC)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        handshakes::take(&mut tx, "nonce-b", T0).await.unwrap(),
        None
    );
    // Purging removes the expired, not the live.
    assert_eq!(handshakes::purge(&mut tx, T0 + 50 * SEC).await.unwrap(), 1);
    assert_eq!(
        handshakes::take(&mut tx, "nonce-c", T0).await.unwrap(),
        None
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        handshakes::take(&mut tx, "nonce-d", T0 + 50 * SEC)
            .await
            .unwrap(),
        Some("[\"d\"]".to_owned())
    );
    assert_eq!(handshakes::purge(&mut tx, T0 + 365 * DAY).await.unwrap(), 0);
    tx.commit().await.unwrap();
}

/// Committed client and session changes are announced (PostgreSQL only).
async fn client_changes(store: &Store) {
    let c = client(T0 + 70 * SEC, "hash-changes");
    match store.backend() {
        Backend::Sqlite => {
            match store.client_changes().await {
                Err(StoreError::Config(msg)) => assert!(msg.contains("PostgreSQL"), "{msg}"),
                other => panic!("listening on SQLite: {:?}", other.map(|_| "a listener")),
            }
            store.send_beacon("beacon").await.unwrap();
        }
        Backend::Postgres => {
            let mut changes = store.client_changes().await.unwrap();
            async fn next(changes: &mut tessera_store::changes::ClientChanges) -> Change {
                tokio::time::timeout(Duration::from_secs(10), changes.next())
                    .await
                    .expect("a notification within 10 s")
                    .unwrap()
            }
            // An empty beacon is not sent: it would read as a change.
            store.send_beacon("").await.unwrap();
            store.send_beacon("beacon-1").await.unwrap();
            assert_eq!(
                next(&mut changes).await,
                Change::Beacon("beacon-1".to_owned())
            );

            // A new client is not announced; a rolled-back change is not either.
            let mut tx = store.begin().await.unwrap();
            clients::insert(&mut tx, &c).await.unwrap();
            tx.commit().await.unwrap();
            let mut tx = store.begin().await.unwrap();
            clients::update(&mut tx, &c).await.unwrap();
            drop(tx);
            store.send_beacon("beacon-2").await.unwrap();
            assert_eq!(
                next(&mut changes).await,
                Change::Beacon("beacon-2".to_owned())
            );

            // A committed transaction is announced once, however many rows it wrote.
            let mut updated = c.clone();
            updated.updated_at += SEC;
            let mut tx = store.begin().await.unwrap();
            clients::update(&mut tx, &updated).await.unwrap();
            clients::update(&mut tx, &updated).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(next(&mut changes).await, Change::Rows);
            store.send_beacon("beacon-3").await.unwrap();
            assert_eq!(
                next(&mut changes).await,
                Change::Beacon("beacon-3".to_owned())
            );
        }
    }
}
