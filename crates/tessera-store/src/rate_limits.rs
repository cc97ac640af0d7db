//! Fixed-window rate-limit counters in the database, so replicas share them.

use crate::error::StoreResult;
use crate::Conn;

/// Counts one hit for `key` in the window starting at `window_start` (ms) and
/// returns the hits in that window so far (this one included).
pub async fn hit(conn: &mut Conn, key: &str, window_start: i64) -> StoreResult<i64> {
    // One statement on both engines: insert, or bump the window's count, or
    // restart it when a new window began.
    let (count,): (i64,) = sqlx::query_as(
        "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_limits.window_start = excluded.window_start \
                        THEN rate_limits.count + 1 ELSE 1 END, \
           window_start = excluded.window_start \
         RETURNING count",
    )
    .bind(key.to_owned())
    .bind(window_start)
    .fetch_one(conn)
    .await?;
    Ok(count)
}

/// Removes counters of windows that ended before `cutoff` (ms).
pub async fn purge(conn: &mut Conn, cutoff: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
        .bind(cutoff)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
