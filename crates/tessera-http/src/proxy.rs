//! Clerk's Frontend API proxy protocol.
//!
//! An app may serve the Frontend API under a path of its own origin
//! (`http://localhost:3000/__clerk`) and forward those requests here, adding
//! `Clerk-Proxy-Url` (the public URL of that path) and `Clerk-Secret-Key`
//! (vouching for it) — what `@clerk/nextjs`'s `frontendApiProxy` and
//! `@clerk/backend/proxy` do. The browser then never leaves the app's origin:
//! no third-party cookies, no TLS needed on loopback. Answers that name this
//! server's own pages (the hosted pages, the environment's page URLs) name them
//! under the proxy's URL.
//!
//! A `Clerk-Proxy-Url` without the instance's secret key beside it is ignored:
//! anyone can send the header, only the app's backend knows the key.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use tessera_core::Core;

use crate::extract::header_text;

/// Header naming the proxy's public URL.
pub const PROXY_URL_HEADER: HeaderName = HeaderName::from_static("clerk-proxy-url");
/// Header carrying the instance's secret key, sent by the proxy.
pub const PROXY_SECRET_HEADER: HeaderName = HeaderName::from_static("clerk-secret-key");

/// Where the browser reaches this server: the instance's frontend URL, or the
/// URL of the app's proxy the request came through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    base: String,
    origin: String,
    path: String,
    proxied: bool,
}

impl PublicUrl {
    /// The public URL for a request with these headers.
    pub fn of(core: &Core, headers: &HeaderMap) -> Self {
        let direct = || Self::new(core.frontend_url.trim_end_matches('/'), false);
        let Some(url) = header_text(headers, PROXY_URL_HEADER) else {
            return direct();
        };
        let vouched = header_text(headers, PROXY_SECRET_HEADER)
            .is_some_and(|secret| core.check_secret_key(&secret));
        match (vouched, proxy_base(&url)) {
            (true, Some(base)) => Self::new(&base, true),
            _ => direct(),
        }
    }

    fn new(base: &str, proxied: bool) -> Self {
        let (origin, path) = url::Url::parse(base)
            .map(|u| {
                let path = u.path().trim_end_matches('/').to_owned();
                (u.origin().ascii_serialization(), path)
            })
            .unwrap_or_default();
        Self {
            base: base.to_owned(),
            origin,
            path,
            proxied,
        }
    }

    /// A fixed public URL (tests).
    #[cfg(test)]
    pub(crate) fn fixed(base: &str, proxied: bool) -> Self {
        Self::new(base, proxied)
    }

    /// The base URL, without a trailing slash (`http://localhost:3000/__clerk`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Whether the request came through the app's proxy.
    pub fn proxied(&self) -> bool {
        self.proxied
    }

    /// The base's origin (`http://localhost:3000`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The proxy's origin, when the request came through the app's proxy.
    pub fn proxied_origin(&self) -> Option<&str> {
        self.proxied.then_some(self.origin.as_str())
    }

    /// The base's path, empty at the root (`/__clerk`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A path of this server as the browser reaches it (`/sign-in` →
    /// `/__clerk/sign-in` behind a proxy).
    pub fn page_path(&self, path: &str) -> String {
        format!("{}{path}", self.path())
    }
}

/// A proxy URL as a base: an absolute http(s) URL without credentials, query
/// or fragment, without its trailing slashes.
fn proxy_base(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    plain.then(|| url.as_str().trim_end_matches('/').to_owned())
}

impl FromRequestParts<Core> for PublicUrl {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, core: &Core) -> Result<Self, Infallible> {
        Ok(Self::of(core, &parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_are_plain_absolute_urls() {
        assert_eq!(
            proxy_base("http://localhost:3000/__clerk/").as_deref(),
            Some("http://localhost:3000/__clerk")
        );
        assert_eq!(
            proxy_base("https://app.example").as_deref(),
            Some("https://app.example")
        );
        for bad in [
            "/__clerk",
            "javascript:alert(1)",
            "http://user:pw@app.example/__clerk",
            "http://app.example/__clerk?x=1",
            "http://app.example/__clerk#x",
            "file:///etc/passwd",
        ] {
            assert_eq!(proxy_base(bad), None, "{bad}");
        }
    }

    #[test]
    fn base_splits_into_origin_and_path() {
        let p = PublicUrl::new("http://localhost:3000/__clerk", true);
        assert_eq!(p.origin(), "http://localhost:3000");
        assert_eq!(p.path(), "/__clerk");
        assert_eq!(p.page_path("/sign-in"), "/__clerk/sign-in");
        assert_eq!(PublicUrl::new("http://localhost:3000/l", true).path(), "/l");
        let root = PublicUrl::new("http://127.0.0.1:8080", false);
        assert_eq!(root.path(), "");
        assert_eq!(root.proxied_origin(), None);
        assert_eq!(p.proxied_origin(), Some("http://localhost:3000"));
        assert_eq!(root.page_path("/sign-in"), "/sign-in");
    }
}
