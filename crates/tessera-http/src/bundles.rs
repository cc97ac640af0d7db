//! The official browser bundles — `@clerk/clerk-js` and `@clerk/ui` — served
//! where Clerk's SDKs load them from their frontend API host:
//! `/npm/@clerk/clerk-js@<version>/dist/<file>` and `/npm/@clerk/ui@<version>/dist/<file>`,
//! with every chunk file. The bytes are the npm packages' `dist/` folders, kept in
//! the data folder (see the `tessera` binary's `bundles` module for how they get
//! there); a version asked for by major (`@6`), by minor (`@6.40`) or exactly
//! (`@6.40.0`) is served by the pinned one that matches.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::{Extension, Path};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use tessera_domain::error_code::ErrorCode;

use crate::error::ApiError;

/// One pinned npm package: its name, exact version and the npm integrity of its tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// `@clerk/clerk-js`.
    pub package: String,
    /// `6.40.0`.
    pub version: String,
    /// `sha512-…` (base64), as npm's lockfiles and registry give it.
    pub integrity: String,
}

impl Pin {
    /// The folder under the bundles folder that holds this version's `dist/`.
    pub fn folder(&self) -> String {
        let name = self.package.trim_start_matches("@clerk/");
        format!("{name}-{}", self.version)
    }
}

/// The bundles this version of Tessera serves: what `@clerk/nextjs` 7, `@clerk/react`
/// and the other SDKs ask for (`@clerk/clerk-js@6`, `@clerk/ui@1`).
pub fn pinned() -> Vec<Pin> {
    vec![
        Pin {
            package: "@clerk/clerk-js".to_owned(),
            version: "6.40.0".to_owned(),
            integrity: "sha512-2MnZ/ygvuCmeuqfXQmsxfQaLN/SSJvQbtT2cLXbgr5VKr3KmZFZBVvX977fG3eZ6pprl4J9pO+I2bbe6BvColg==".to_owned(),
        },
        Pin {
            package: "@clerk/ui".to_owned(),
            version: "1.34.0".to_owned(),
            integrity: "sha512-EP6Wcf+iqV5hJRMjfmVSOb7wWEgt2DuUOnR3Yv/ULPdmGgGWa64oc4tB4VfD66z8nXgtXqHEXNNnGURAOfQ7vQ==".to_owned(),
        },
    ]
}

/// Name of the file written last into a bundle's folder: its `dist/` is whole.
pub const COMPLETE_MARKER: &str = ".complete";

/// Where the bundles are, and which are pinned.
#[derive(Debug, Clone)]
pub struct Bundles {
    /// The bundles folder (`<data folder>/bundles`).
    pub root: PathBuf,
    /// The pinned packages.
    pub pins: Vec<Pin>,
}

impl Bundles {
    /// The pinned version of `package` that `requested` names, and whether it
    /// was named exactly (then it never changes, and is cached for a year).
    fn resolve(&self, package: &str, requested: &str) -> Option<(&Pin, bool)> {
        self.pins
            .iter()
            .filter(|p| p.package == package)
            .find_map(|p| {
                if requested == p.version {
                    return Some((p, true));
                }
                let matches = requested.is_empty()
                    || requested == "latest"
                    || p.version
                        .strip_prefix(requested)
                        .is_some_and(|rest| rest.starts_with('.'));
                matches.then_some((p, false))
            })
    }

    /// Whether a pin's folder is whole.
    pub fn is_complete(&self, pin: &Pin) -> bool {
        self.root.join(pin.folder()).join(COMPLETE_MARKER).is_file()
    }
}

/// `@clerk/clerk-js@6/dist/chunk.js` → (`@clerk/clerk-js`, `6`, `chunk.js`).
fn split(path: &str) -> Option<(String, &str, &str)> {
    let rest = path.strip_prefix("@clerk/")?;
    let (name_version, file) = rest.split_once("/dist/")?;
    let (name, version) = name_version.split_once('@').unwrap_or((name_version, ""));
    let safe = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    let file_ok = file
        .split('/')
        .all(|part| safe(part) && part != "." && part != "..");
    (safe(name) && (version.is_empty() || safe(version)) && file_ok)
        .then(|| (format!("@clerk/{name}"), version, file))
}

fn content_type(file: &str) -> &'static str {
    match FsPath::new(file).extension().and_then(|e| e.to_str()) {
        Some("js" | "mjs" | "cjs") => "application/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("map" | "json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn not_served(detail: String) -> Response {
    ApiError::new(ErrorCode::ResourceNotFound, "not found", detail).into_response()
}

/// `GET /npm/{*path}`: a file of a pinned bundle's `dist/`.
pub async fn serve(bundles: Option<Extension<Arc<Bundles>>>, Path(path): Path<String>) -> Response {
    let Some(Extension(bundles)) = bundles else {
        return not_served("This server does not serve the browser bundles.".to_owned());
    };
    let Some((package, requested, file)) = split(&path) else {
        return not_served(format!(
            "{path} is not a file of a served bundle's dist folder."
        ));
    };
    let Some((pin, exact)) = bundles.resolve(&package, requested) else {
        let served: Vec<String> = bundles
            .pins
            .iter()
            .map(|p| format!("{}@{}", p.package, p.version))
            .collect();
        return not_served(format!(
            "{package}@{requested} is not served here; this server serves {}.",
            served.join(" and ")
        ));
    };
    if !bundles.is_complete(pin) {
        let err = ApiError::new(
            ErrorCode::BundleUnavailable,
            "bundle unavailable",
            format!(
                "{}@{} is not in this server's data folder yet. It is fetched from the npm \
                 registry when the server starts (see its log); without network access, run \
                 `tessera bundles import <node_modules folder>` after `npm install {}@{}`.",
                pin.package, pin.version, pin.package, pin.version
            ),
        );
        return err.into_response();
    }
    let full = bundles.root.join(pin.folder()).join("dist").join(file);
    let Ok(bytes) = tokio::fs::read(&full).await else {
        return not_served(format!(
            "{}@{} has no file dist/{file}.",
            pin.package, pin.version
        ));
    };
    let cache = if exact {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(file)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&pin.version) {
        headers.insert("x-bundle-version", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundles() -> Bundles {
        Bundles {
            root: PathBuf::from("/nonexistent"),
            pins: pinned(),
        }
    }

    #[test]
    fn versions_resolve_by_major_minor_or_exactly() {
        let b = bundles();
        let (pin, exact) = b.resolve("@clerk/clerk-js", "6").unwrap();
        assert_eq!(pin.version, "6.40.0");
        assert!(!exact);
        assert!(!b.resolve("@clerk/clerk-js", "6.40").unwrap().1);
        assert!(b.resolve("@clerk/clerk-js", "6.40.0").unwrap().1);
        assert!(
            b.resolve("@clerk/clerk-js", "6.4").is_none(),
            "6.4 is not 6.40"
        );
        assert!(b.resolve("@clerk/clerk-js", "5").is_none());
        assert_eq!(b.resolve("@clerk/ui", "1").unwrap().0.version, "1.34.0");
        assert!(b.resolve("@clerk/nope", "1").is_none());
    }

    #[test]
    fn only_plain_dist_files_are_named() {
        assert_eq!(
            split("@clerk/clerk-js@6/dist/clerk.browser.js"),
            Some(("@clerk/clerk-js".to_owned(), "6", "clerk.browser.js"))
        );
        assert_eq!(
            split("@clerk/ui@1.34.0/dist/sub/x_ui_1.js"),
            Some(("@clerk/ui".to_owned(), "1.34.0", "sub/x_ui_1.js"))
        );
        for bad in [
            "@clerk/clerk-js@6/dist/../package.json",
            "@clerk/clerk-js@6/dist/./x.js",
            "@clerk/clerk-js@6/package.json",
            "@other/pkg@1/dist/x.js",
            "@clerk/clerk-js@6/dist/a%2Fb.js",
            "@clerk/clerk-js@6/dist/",
        ] {
            assert_eq!(split(bad), None, "{bad}");
        }
        assert_eq!(
            content_type("a.js"),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(content_type("a.js.map"), "application/json");
    }
}
