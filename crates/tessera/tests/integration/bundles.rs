//! The browser bundles: fetched from an npm registry (here a local one serving
//! tarballs built by the test), checked against the pinned integrity, kept in
//! the data folder and served under Clerk's CDN paths; imported from a
//! `node_modules` folder when there is no registry.

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tessera::bundles::{integrity, BundleSettings};
use tessera_http::bundles::Pin;

use crate::support::{assert_error, read, unique, Backend, TestApp};

/// An npm tarball (`package/…`) holding `files`.
fn tarball(files: &[(&str, &str)]) -> Vec<u8> {
    let mut archive = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive
            .append_data(&mut header, format!("package/{path}"), body.as_bytes())
            .unwrap();
    }
    archive.into_inner().unwrap().finish().unwrap()
}

/// A registry answering `GET /<package>/-/<name>-<version>.tgz` with `tgz`.
async fn registry(tgz: Vec<u8>) -> String {
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::get(
            move |axum::extract::Path(path): axum::extract::Path<String>| {
                let tgz = tgz.clone();
                async move {
                    if path.ends_with(".tgz") {
                        (StatusCode::OK, tgz)
                    } else {
                        (StatusCode::NOT_FOUND, Vec::new())
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.base))
        .header("origin", "http://127.0.0.1:3000")
        .send()
        .await
        .unwrap()
}

async fn bundles_are_fetched_checked_and_served(backend: Backend) {
    let tgz = tarball(&[
        (
            "package.json",
            r#"{"name":"@clerk/clerk-js","version":"9.9.9"}"#,
        ),
        ("dist/clerk.browser.js", "window.Clerk = 'served';"),
        ("dist/chunks/12_clerk.browser_9.9.9.js", "/* a chunk */"),
        ("dist/clerk.browser.js.map", "{}"),
        ("README.md", "not served"),
    ]);
    let url = registry(tgz.clone()).await;
    let pins = vec![
        Pin {
            package: "@clerk/clerk-js".to_owned(),
            version: "9.9.9".to_owned(),
            integrity: integrity(&tgz),
        },
        Pin {
            package: "@clerk/ui".to_owned(),
            version: "1.0.0".to_owned(),
            // The registry serves the same bytes: not what this pin says.
            integrity: integrity(b"something else"),
        },
    ];
    let Some(app) = TestApp::start_tuned(backend, |s| {
        s.bundles = BundleSettings {
            fetch: true,
            registry: url.clone(),
            pins: pins.clone(),
        };
    })
    .await
    else {
        return;
    };

    // Fetched in the background at start.
    let started = Instant::now();
    let resp = loop {
        let resp = get(&app, "/npm/@clerk/clerk-js@9/dist/clerk.browser.js").await;
        if resp.status() == StatusCode::OK || started.elapsed() > Duration::from_secs(20) {
            break resp;
        }
        assert_eq!(
            resp.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{:?}",
            resp.text().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "application/javascript; charset=utf-8");
    assert_eq!(h["cache-control"], "public, max-age=300");
    assert_eq!(h["access-control-allow-origin"], "http://127.0.0.1:3000");
    assert_eq!(resp.text().await.unwrap(), "window.Clerk = 'served';");

    let resp = get(
        &app,
        "/npm/@clerk/clerk-js@9.9.9/dist/chunks/12_clerk.browser_9.9.9.js",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let resp = get(&app, "/npm/@clerk/clerk-js@9.9/dist/clerk.browser.js.map").await;
    assert_eq!(resp.headers()["content-type"], "application/json");

    for (path, code) in [
        ("/npm/@clerk/clerk-js@9/dist/nope.js", "resource_not_found"),
        (
            "/npm/@clerk/clerk-js@9/dist/../package.json",
            "resource_not_found",
        ),
        ("/npm/@clerk/clerk-js@9/README.md", "resource_not_found"),
        (
            "/npm/@clerk/clerk-js@8/dist/clerk.browser.js",
            "resource_not_found",
        ),
        ("/npm/@clerk/ui@1/dist/ui.browser.js", "bundle_unavailable"),
    ] {
        let resp = get(&app, path).await;
        assert!(resp.headers().get("access-control-allow-origin").is_some());
        let (status, body) = read(resp).await;
        assert!(
            status.is_client_error() || status.is_server_error(),
            "{path}"
        );
        assert_error(&body, code);
    }
    // The tarball whose integrity did not match left nothing behind.
    let ui_folder = app.data_dir().join("bundles").join("ui-1.0.0");
    assert!(!ui_folder.exists());

    // Imported from a node_modules folder instead.
    let modules = std::env::temp_dir().join(unique("node_modules"));
    let package = modules.join("@clerk/ui");
    std::fs::create_dir_all(package.join("dist")).unwrap();
    std::fs::write(
        package.join("package.json"),
        r#"{"name":"@clerk/ui","version":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::File::create(package.join("dist/ui.browser.js"))
        .unwrap()
        .write_all(b"window.__internal_ClerkUICtor = 1;")
        .unwrap();
    let root = tessera::bundles::root(app.data_dir());
    let files = tessera::bundles::import(&root, &modules, &pins[1]).unwrap();
    assert_eq!(files, 1);
    let resp = get(&app, "/npm/@clerk/ui@1/dist/ui.browser.js").await;
    assert_eq!(resp.status(), StatusCode::OK);
    // A node_modules folder with another version is refused.
    let other = Pin {
        version: "2.0.0".to_owned(),
        ..pins[1].clone()
    };
    let err = tessera::bundles::import(&root, &modules, &other).unwrap_err();
    assert!(err.to_string().contains("1.0.0"), "{err}");
    std::fs::remove_dir_all(&modules).ok();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_sqlite() {
    bundles_are_fetched_checked_and_served(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_postgres() {
    bundles_are_fetched_checked_and_served(Backend::Postgres).await;
}
