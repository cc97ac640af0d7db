//! The single instance row: keys and the settings document.

use crate::error::StoreResult;
use crate::records::Instance;
use crate::rows::InstanceRow;
use crate::Conn;

const COLUMNS: &str = "id, environment, publishable_key, secret_key_hash, secret_key_hint, \
                       frontend_url, frontend_url_configured, settings, created_at, updated_at";

/// Loads the instance, if it has been created.
pub async fn get(conn: &mut Conn) -> StoreResult<Option<Instance>> {
    let row: Option<InstanceRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM instance LIMIT 1"))
            .fetch_optional(conn)
            .await?;
    row.map(Instance::try_from).transpose()
}

/// Creates the instance row.
pub async fn insert(conn: &mut Conn, inst: &Instance) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO instance ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(inst.id.as_str().to_owned())
    .bind(inst.environment.as_str())
    .bind(inst.publishable_key.clone())
    .bind(inst.secret_key_hash.clone())
    .bind(inst.secret_key_hint.clone())
    .bind(inst.frontend_url.clone())
    .bind(i64::from(inst.frontend_url_configured))
    .bind(settings_text(inst)?)
    .bind(inst.created_at)
    .bind(inst.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves every mutable field of the instance.
pub async fn update(conn: &mut Conn, inst: &Instance) -> StoreResult<()> {
    sqlx::query(
        "UPDATE instance SET environment = $1, publishable_key = $2, secret_key_hash = $3, \
         secret_key_hint = $4, frontend_url = $5, frontend_url_configured = $6, settings = $7, \
         updated_at = $8 WHERE id = $9",
    )
    .bind(inst.environment.as_str())
    .bind(inst.publishable_key.clone())
    .bind(inst.secret_key_hash.clone())
    .bind(inst.secret_key_hint.clone())
    .bind(inst.frontend_url.clone())
    .bind(i64::from(inst.frontend_url_configured))
    .bind(settings_text(inst)?)
    .bind(inst.updated_at)
    .bind(inst.id.as_str().to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

fn settings_text(inst: &Instance) -> StoreResult<String> {
    serde_json::to_string(&inst.settings)
        .map_err(|e| crate::StoreError::Corrupt(format!("settings: {e}")))
}

/// Serialises writes of the instance row between servers and commands sharing a
/// PostgreSQL database, so that two first starts cannot both create an instance
/// or a signing key and no rewrite of the row loses another; held until the
/// transaction ends. SQLite's single writer needs none.
pub async fn lock_for_start(conn: &mut Conn, backend: crate::Backend) -> StoreResult<()> {
    if backend == crate::Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7262450133)")
            .execute(conn)
            .await?;
    }
    Ok(())
}
