//! Clerk-shaped JSON for every object. Field names, object types and the
//! order of fields follow Clerk's OpenAPI description; timestamps are epoch
//! milliseconds. The Python SDK requires every required key to be present,
//! so nullable fields are sent as `null`, never left out.

pub mod instance;

pub use tessera_core::render::{identification, session, user};

use serde_json::{json, Value};

/// `{"object": …, "id": …, "deleted": true}`.
pub fn deleted(object: &str, id: &str) -> Value {
    json!({ "object": object, "id": id, "deleted": true })
}

/// `{"object": "total_count", "total_count": n}`.
pub fn total_count(n: i64) -> Value {
    json!({ "object": "total_count", "total_count": n })
}

/// A list as a bare array, or `{data, total_count}` when the caller asked for `paginated=true`.
pub fn list(items: Vec<Value>, total: i64, paginated: bool) -> Value {
    if paginated {
        json!({ "data": items, "total_count": total })
    } else {
        Value::Array(items)
    }
}
