//! Every route Tessera serves is described: by Clerk's Backend API description,
//! its Frontend API description (both vendored under `compat/fuzz/contract/`,
//! what the fuzzing suite generates requests from), or Tessera's own document
//! (`openapi/tessera.json`, served at `/v1/openapi.json`). Adding a route
//! without describing it fails here.

use std::collections::BTreeSet;
use std::path::Path;

/// `/users/{user_id}` and `/users/{id}` are the same route.
fn normalized(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// The quoted paths of the router files' production code.
fn served(root: &Path) -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    for file in ["src/bapi/router.rs", "src/fapi/router.rs", "src/lib.rs"] {
        let text = std::fs::read_to_string(root.join(file)).expect("router source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in code.lines() {
            let line = line.trim();
            let quoted = line
                .strip_prefix(".route(\"")
                .or_else(|| line.strip_prefix('"'))
                .and_then(|rest| rest.split('"').next());
            if let Some(path) = quoted.filter(|p| p.starts_with('/')) {
                routes.insert(path.to_owned());
            }
        }
    }
    routes
}

/// The paths of an OpenAPI YAML document (`  /path:` lines), under `prefix`.
fn yaml_paths(file: &Path, prefix: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).expect("vendored description");
    text.lines()
        .filter_map(|l| l.strip_prefix("  /"))
        .filter_map(|l| l.strip_suffix(':'))
        .filter(|p| !p.contains(' '))
        .map(|p| normalized(&format!("{prefix}/{p}")))
        .collect()
}

#[test]
fn every_served_route_is_described() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let contract = root.join("../../compat/fuzz/contract");
    let mut described = yaml_paths(&contract.join("bapi.yml"), "/v1");
    described.extend(yaml_paths(&contract.join("fapi.yml"), ""));
    let own: serde_json::Value =
        serde_json::from_str(tessera_http::public::OPENAPI).expect("openapi/tessera.json is JSON");
    let own_paths: BTreeSet<String> = own["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(|p| normalized(p))
        .collect();
    described.extend(own_paths.iter().cloned());

    let routes = served(root);
    assert!(routes.len() > 100, "the router files were read: {routes:?}");
    let undescribed: Vec<&String> = routes
        .iter()
        .filter(|r| !described.contains(&normalized(r)))
        .collect();
    assert!(
        undescribed.is_empty(),
        "routes no description covers (describe them in openapi/tessera.json): {undescribed:?}"
    );
    // Tessera's document describes only what it serves.
    let served: BTreeSet<String> = routes.iter().map(|r| normalized(r)).collect();
    let stale: Vec<&String> = own_paths.iter().filter(|p| !served.contains(*p)).collect();
    assert!(stale.is_empty(), "described but not served: {stale:?}");
}
