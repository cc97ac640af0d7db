//! Hosted pages (Clerk's Account Portal) under the frontend URL: `/sign-in`,
//! `/sign-up` (with their sub-steps, routed by path), `/user`, `/organization`,
//! `/create-organization` and `/waitlist`. Each is a small server-rendered
//! shell that loads the served clerk-js and UI bundles (`/npm/…`), mounts the
//! component, and passes on the redirect parameters Clerk's SDKs put in the URL
//! (`redirect_url`, `sign_in_force_redirect_url`, `sign_up_fallback_redirect_url`,
//! …) when they point at an origin the instance allows.

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use tessera_core::Core;

use crate::fapi::transport::origin_allowed;
use crate::proxy::PublicUrl;

/// A hosted page: its path and the component it mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/sign-in` → `mountSignIn`.
    SignIn,
    /// `/sign-up` → `mountSignUp`.
    SignUp,
    /// `/user` → `mountUserProfile` (signed in).
    UserProfile,
    /// `/organization` → `mountOrganizationProfile` (signed in).
    OrganizationProfile,
    /// `/create-organization` → `mountCreateOrganization` (signed in).
    CreateOrganization,
    /// `/waitlist` → `mountWaitlist`.
    Waitlist,
}

impl Page {
    /// Every hosted page.
    pub const ALL: [Page; 6] = [
        Page::SignIn,
        Page::SignUp,
        Page::UserProfile,
        Page::OrganizationProfile,
        Page::CreateOrganization,
        Page::Waitlist,
    ];

    /// The page's path under the frontend URL.
    pub fn path(self) -> &'static str {
        match self {
            Page::SignIn => "/sign-in",
            Page::SignUp => "/sign-up",
            Page::UserProfile => "/user",
            Page::OrganizationProfile => "/organization",
            Page::CreateOrganization => "/create-organization",
            Page::Waitlist => "/waitlist",
        }
    }

    fn mount(self) -> &'static str {
        match self {
            Page::SignIn => "mountSignIn",
            Page::SignUp => "mountSignUp",
            Page::UserProfile => "mountUserProfile",
            Page::OrganizationProfile => "mountOrganizationProfile",
            Page::CreateOrganization => "mountCreateOrganization",
            Page::Waitlist => "mountWaitlist",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Page::SignIn => "Sign in",
            Page::SignUp => "Sign up",
            Page::UserProfile => "Your account",
            Page::OrganizationProfile => "Organization",
            Page::CreateOrganization => "Create organization",
            Page::Waitlist => "Join the waitlist",
        }
    }

    /// Whether the component needs a signed-in user (else: to the sign-in page).
    fn needs_user(self) -> bool {
        matches!(
            self,
            Page::UserProfile | Page::OrganizationProfile | Page::CreateOrganization
        )
    }

    fn of(path: &str) -> Option<Page> {
        Page::ALL.into_iter().find(|p| {
            path.strip_prefix(p.path())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

/// Query parameters passed on to the component as its props (camelCased), when
/// their value is a URL on an allowed origin (or a path on this one).
const REDIRECT_PARAMS: &[(&str, &str)] = &[
    ("redirect_url", "fallbackRedirectUrl"),
    ("sign_in_force_redirect_url", "signInForceRedirectUrl"),
    ("sign_in_fallback_redirect_url", "signInFallbackRedirectUrl"),
    ("sign_up_force_redirect_url", "signUpForceRedirectUrl"),
    ("sign_up_fallback_redirect_url", "signUpFallbackRedirectUrl"),
    ("after_sign_out_url", "afterSignOutUrl"),
];

/// Whether `url` may be redirected to: a path here, the origin the browser
/// reaches this server at (the app's, behind its proxy), or an allowed origin.
fn allowed_redirect(core: &Core, public: &PublicUrl, url: &str) -> bool {
    if url.starts_with('/') && !url.starts_with("//") && !url.contains('\\') {
        return true;
    }
    url::Url::parse(url).is_ok_and(|u| {
        let origin = u.origin().ascii_serialization();
        matches!(u.scheme(), "http" | "https")
            && (origin == public.origin() || origin_allowed(core, &origin))
    })
}

/// A redirect target as the component gets it. A URL on another origin than
/// the page's goes through `/v1/client/touch` here, which sets the client
/// cookie again and redirects on: clerk-js then only ever navigates on the
/// page's origin (in development it cannot carry its dev-browser token to
/// another one). Behind the app's proxy the app is on the page's origin.
fn redirect_target(public: &PublicUrl, url: &str) -> String {
    let same_origin =
        url::Url::parse(url).is_ok_and(|u| u.origin().ascii_serialization() == public.origin());
    if url.starts_with('/') || same_origin {
        return url.to_owned();
    }
    let mut touch = format!("{}/v1/client/touch?redirect_url=", public.base());
    touch.extend(url::form_urlencoded::byte_serialize(url.as_bytes()));
    touch
}

/// The component's props: routing by path under the page, the other pages'
/// URLs, and the allowed redirect parameters.
fn props(
    core: &Core,
    public: &PublicUrl,
    page: Page,
    query: &[(String, String)],
) -> Map<String, Value> {
    let mut props = Map::new();
    props.insert("routing".to_owned(), json!("path"));
    props.insert("path".to_owned(), json!(public.page_path(page.path())));
    if matches!(page, Page::SignIn) {
        props.insert(
            "signUpUrl".to_owned(),
            json!(public.page_path(Page::SignUp.path())),
        );
    }
    if matches!(page, Page::SignUp) {
        props.insert(
            "signInUrl".to_owned(),
            json!(public.page_path(Page::SignIn.path())),
        );
    }
    for (param, prop) in REDIRECT_PARAMS {
        if let Some((_, value)) = query.iter().find(|(k, _)| k == param) {
            if allowed_redirect(core, public, value) {
                let target = redirect_target(public, value);
                props.insert((*prop).to_owned(), json!(target));
                if *param == "redirect_url" {
                    props.insert("signInFallbackRedirectUrl".to_owned(), json!(target));
                    props.insert("signUpFallbackRedirectUrl".to_owned(), json!(target));
                }
            }
        }
    }
    props
}

/// JSON that can sit inside a `<script>` element: `<`, `>` and `&` escaped.
fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page's HTML.
fn render(core: &Core, public: &PublicUrl, page: Page, query: &[(String, String)]) -> String {
    let inst = core.instance();
    let base = public.base();
    let props = props(core, public, page, query);
    // Every redirect target is on the page's origin (see `redirect_target`).
    let config = json!({
        "mount": page.mount(),
        "allowedRedirectOrigins": [public.origin()],
        "props": Value::Object(props),
        "needsUser": page.needs_user(),
        "signInUrl": public.page_path(Page::SignIn.path()),
    });
    let app = html_escape(&inst.settings.instance.application_name);
    let title = page.title();
    let pk = html_escape(&inst.publishable_key);
    let base_attr = html_escape(base);
    let config = script_json(&config);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title} · {app}</title>
<style>body{{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f4f5;font-family:system-ui,sans-serif}}#tessera-page{{padding:24px}}</style>
</head>
<body>
<main id="tessera-page"><noscript>{title} needs JavaScript.</noscript></main>
<script id="tessera-page-config" type="application/json">{config}</script>
<script src="{base_attr}/npm/@clerk/clerk-js@6/dist/clerk.browser.js" crossorigin="anonymous"
  data-clerk-publishable-key="{pk}" data-clerk-proxy-url="{base_attr}"></script>
<script src="{base_attr}/npm/@clerk/ui@1/dist/ui.browser.js" crossorigin="anonymous"></script>
<script type="module">
const config = JSON.parse(document.getElementById('tessera-page-config').textContent);
await window.Clerk.load({{
  ui: {{ ClerkUI: window.__internal_ClerkUICtor }},
  allowedRedirectOrigins: config.allowedRedirectOrigins,
}});
if (config.needsUser && !window.Clerk.user) {{
  const back = encodeURIComponent(window.location.href);
  window.location.assign(`${{config.signInUrl}}?redirect_url=${{back}}`);
}} else {{
  window.Clerk[config.mount](document.getElementById('tessera-page'), config.props);
}}
</script>
</body>
</html>
"#
    )
}

/// `GET /sign-in`, `/sign-up`, `/user`, … (and their sub-paths): the page's shell.
pub async fn hosted(
    State(core): State<Core>,
    public: PublicUrl,
    uri: Uri,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let Some(page) = Page::of(uri.path()) else {
        return crate::error::ApiError::not_found().into_response();
    };
    let mut response = render(&core, &public, page, &query).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "referrer-policy",
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_page() {
        assert_eq!(Page::of("/sign-in"), Some(Page::SignIn));
        assert_eq!(Page::of("/sign-in/factor-one"), Some(Page::SignIn));
        assert_eq!(
            Page::of("/sign-up/verify-email-address"),
            Some(Page::SignUp)
        );
        assert_eq!(Page::of("/user/security"), Some(Page::UserProfile));
        assert_eq!(Page::of("/sign-inx"), None);
        assert_eq!(Page::of("/users"), None);
    }

    #[test]
    fn other_origins_are_reached_through_touch() {
        let direct = PublicUrl::fixed("http://127.0.0.1:8080", false);
        assert_eq!(redirect_target(&direct, "/user"), "/user");
        assert_eq!(
            redirect_target(&direct, "http://127.0.0.1:8080/user"),
            "http://127.0.0.1:8080/user"
        );
        assert_eq!(
            redirect_target(&direct, "http://127.0.0.1:3000/back?a=1"),
            "http://127.0.0.1:8080/v1/client/touch?redirect_url=http%3A%2F%2F127.0.0.1%3A3000%2Fback%3Fa%3D1"
        );
        // Behind the app's proxy the app is on the page's origin.
        let proxied = PublicUrl::fixed("http://localhost:3000/__clerk", true);
        assert_eq!(
            redirect_target(&proxied, "http://localhost:3000/protected"),
            "http://localhost:3000/protected"
        );
        assert_eq!(
            redirect_target(&proxied, "http://127.0.0.1:4000/x"),
            "http://localhost:3000/__clerk/v1/client/touch?redirect_url=http%3A%2F%2F127.0.0.1%3A4000%2Fx"
        );
    }

    #[test]
    fn config_cannot_close_its_script() {
        let v = json!({"x": "</script><script>alert(1)</script>&"});
        let out = script_json(&v);
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
    }
}
