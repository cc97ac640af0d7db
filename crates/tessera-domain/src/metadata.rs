//! User metadata: JSON objects, merged the way Clerk's merge endpoints do.

use serde_json::{Map, Value};

/// Deep-merges `patch` into `target`: objects merge key by key, a `null` in the
/// patch deletes the key, any other value replaces what was there.
pub fn deep_merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(&key);
            }
            Value::Object(inner) => match target.get_mut(&key) {
                Some(Value::Object(existing)) => deep_merge(existing, inner),
                _ => {
                    let mut fresh = Map::new();
                    deep_merge(&mut fresh, inner);
                    target.insert(key, Value::Object(fresh));
                }
            },
            other => {
                target.insert(key, other);
            }
        }
    }
}

/// Applies a metadata change: merged into `target` ([`deep_merge`]), or, with
/// `replace`, in its place (its `null` values left out).
pub fn apply(target: &mut Map<String, Value>, patch: Map<String, Value>, replace: bool) {
    if replace {
        *target = patch.into_iter().filter(|(_, v)| !v.is_null()).collect();
    } else {
        deep_merge(target, patch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn merges_nested_and_deletes_nulls() {
        let mut target = obj(json!({"a": 1, "b": {"c": 2, "d": 3}, "e": 4}));
        deep_merge(
            &mut target,
            obj(json!({"b": {"c": 5, "d": null}, "e": null, "f": {"g": null, "h": 1}})),
        );
        assert_eq!(
            Value::Object(target),
            json!({"a": 1, "b": {"c": 5}, "f": {"h": 1}})
        );
    }

    #[test]
    fn object_replaces_scalar() {
        let mut target = obj(json!({"a": 1}));
        deep_merge(&mut target, obj(json!({"a": {"b": 2}})));
        assert_eq!(Value::Object(target), json!({"a": {"b": 2}}));
    }
}
