//! Where the browser bundles' bytes come from: the pinned npm packages'
//! tarballs, fetched once from the npm registry (`TESSERA_NPM_REGISTRY`,
//! default <https://registry.npmjs.org>), checked against the integrity pinned
//! in this version of Tessera, and their `dist/` folders kept in
//! `<data folder>/bundles/<name>-<version>/`. A machine without registry access
//! imports them from a `node_modules` folder instead (`tessera bundles import`).
//! A folder is used only once its `.complete` marker is written, after every
//! file is in place.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use base64::Engine;
use sha2::{Digest, Sha512};
use tessera_http::bundles::{Pin, COMPLETE_MARKER};

/// How the server gets the bundles at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleSettings {
    /// Fetch missing bundles from the registry at start (`TESSERA_BUNDLES=fetch`,
    /// the default); `off` serves only what is already in the data folder.
    pub fetch: bool,
    /// The npm registry (`TESSERA_NPM_REGISTRY`).
    pub registry: String,
    /// The packages to serve.
    pub pins: Vec<Pin>,
}

impl Default for BundleSettings {
    fn default() -> Self {
        Self {
            fetch: true,
            registry: "https://registry.npmjs.org".to_owned(),
            pins: tessera_http::bundles::pinned(),
        }
    }
}

/// The bundles folder of a data folder.
pub fn root(data_dir: &Path) -> PathBuf {
    data_dir.join("bundles")
}

/// npm's integrity string (`sha512-<base64>`) of `bytes`.
pub fn integrity(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(bytes))
    )
}

/// The registry URL of a package's tarball.
fn tarball_url(registry: &str, pin: &Pin) -> String {
    let name = pin.package.rsplit('/').next().unwrap_or(&pin.package);
    format!(
        "{}/{}/-/{name}-{}.tgz",
        registry.trim_end_matches('/'),
        pin.package,
        pin.version
    )
}

/// Writes `dist/` of an npm tarball (whose integrity was checked) into `dest`.
fn unpack_dist(tgz: &[u8], dest: &Path) -> anyhow::Result<usize> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let mut files = 0;
    for entry in archive.entries().context("reading the tarball")? {
        let mut entry = entry.context("reading the tarball")?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().context("a tarball entry's path")?.into_owned();
        // npm tarballs hold `package/…`; only `package/dist/…` is served.
        let Ok(inside) = path.strip_prefix("package/dist") else {
            continue;
        };
        if inside
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            bail!("a tarball entry leaves its folder: {}", path.display());
        }
        let target = dest.join("dist").join(inside);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
        files += 1;
    }
    if files == 0 {
        bail!("the tarball has no dist/ folder");
    }
    Ok(files)
}

/// Puts a prepared folder in place and marks it complete.
fn install(staging: &Path, dest: &Path) -> anyhow::Result<()> {
    std::fs::write(staging.join(COMPLETE_MARKER), b"")?;
    if dest.exists() {
        std::fs::remove_dir_all(dest)?;
    }
    std::fs::rename(staging, dest)
        .with_context(|| format!("moving the bundle into {}", dest.display()))
}

fn staging_for(root: &Path, pin: &Pin) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(root)
        .with_context(|| format!("creating the bundles folder {}", root.display()))?;
    let staging = root.join(format!(".{}.partial", pin.folder()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    std::fs::create_dir_all(&staging)?;
    Ok(staging)
}

/// Fetches one pinned package from the registry into the bundles folder.
pub async fn fetch(root: &Path, registry: &str, pin: &Pin) -> anyhow::Result<usize> {
    let url = tarball_url(registry, pin);
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(120));
    // Behind a TLS-intercepting proxy, its CA comes from SSL_CERT_FILE (as for curl and npm).
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        let pem = std::fs::read(&file)
            .with_context(|| format!("reading SSL_CERT_FILE {}", Path::new(&file).display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem).context("SSL_CERT_FILE")? {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder.build()?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("fetching {url}"))?;
    if !response.status().is_success() {
        bail!("fetching {url}: {}", response.status());
    }
    let tgz = response
        .bytes()
        .await
        .with_context(|| format!("fetching {url}"))?;
    let got = integrity(&tgz);
    if got != pin.integrity {
        bail!(
            "{url} is not the pinned {}@{}: integrity {got}, expected {}",
            pin.package,
            pin.version,
            pin.integrity
        );
    }
    let root = root.to_owned();
    let pin = pin.clone();
    tokio::task::spawn_blocking(move || {
        let staging = staging_for(&root, &pin)?;
        let files = unpack_dist(&tgz, &staging)?;
        install(&staging, &root.join(pin.folder()))?;
        Ok(files)
    })
    .await?
}

/// Copies one pinned package's `dist/` from a `node_modules` folder (where
/// `npm install <package>@<version>` put it) into the bundles folder.
pub fn import(root: &Path, node_modules: &Path, pin: &Pin) -> anyhow::Result<usize> {
    let package = node_modules.join(&pin.package);
    let manifest = std::fs::read_to_string(package.join("package.json"))
        .with_context(|| format!("reading {}", package.join("package.json").display()))?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest)?;
    if manifest["version"] != pin.version.as_str() {
        bail!(
            "{} holds {}@{}, this server serves {}",
            package.display(),
            pin.package,
            manifest["version"].as_str().unwrap_or("?"),
            pin.version
        );
    }
    let staging = staging_for(root, pin)?;
    let files = copy_tree(&package.join("dist"), &staging.join("dist"))?;
    install(&staging, &root.join(pin.folder()))?;
    Ok(files)
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(to)?;
    let mut files = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            files += copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
            files += 1;
        }
    }
    Ok(files)
}

/// At start: fetches every pinned bundle not yet in the data folder, logging
/// what happened and, on failure, what to do instead.
pub async fn ensure(root: PathBuf, settings: BundleSettings) {
    let bundles = tessera_http::bundles::Bundles {
        root: root.clone(),
        pins: settings.pins.clone(),
    };
    for pin in &settings.pins {
        if bundles.is_complete(pin) {
            continue;
        }
        if !settings.fetch {
            tracing::warn!(
                "{}@{} is not in {} and fetching is off: import it with \
                 `tessera bundles import <node_modules folder>`",
                pin.package,
                pin.version,
                root.display()
            );
            continue;
        }
        match fetch(&root, &settings.registry, pin).await {
            Ok(files) => tracing::info!(
                "fetched {}@{} ({files} files) into {}",
                pin.package,
                pin.version,
                root.display()
            ),
            Err(e) => tracing::warn!(
                "the browser bundle {}@{} could not be fetched ({e:#}); pages that load it will \
                 fail until it is there. Without access to {}, run `npm install {}@{}` anywhere \
                 and `tessera bundles import <that node_modules folder>`, or set \
                 TESSERA_NPM_REGISTRY to a mirror",
                pin.package,
                pin.version,
                settings.registry,
                pin.package,
                pin.version
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_npms() {
        // `printf abc | openssl dgst -sha512 -binary | base64`
        assert_eq!(
            integrity(b"abc"),
            "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="
        );
        let pin = Pin {
            package: "@clerk/clerk-js".to_owned(),
            version: "6.40.0".to_owned(),
            integrity: String::new(),
        };
        assert_eq!(
            tarball_url("https://registry.npmjs.org/", &pin),
            "https://registry.npmjs.org/@clerk/clerk-js/-/clerk-js-6.40.0.tgz"
        );
    }
}
