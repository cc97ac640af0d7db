//! Finding the session token in a request.

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::HeaderMap;

/// The name of the cookie clerk-js keeps the session token in.
pub const SESSION_COOKIE: &str = "__session";

/// The session token of a request: the `Authorization: Bearer` token if
/// there is one, else the `__session` cookie.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    bearer(headers).or_else(|| cookie(headers, SESSION_COOKIE))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A cookie's value (RFC 6265 `Cookie` header: `name=value` pairs separated by `;`).
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn bearer_wins_over_cookie() {
        let h = headers(&[
            ("authorization", "Bearer a.b.c"),
            ("cookie", "__session=x.y.z"),
        ]);
        assert_eq!(session_token(&h), Some("a.b.c"));
        let h = headers(&[("authorization", "bearer   a.b.c ")]);
        assert_eq!(session_token(&h), Some("a.b.c"));
    }

    #[test]
    fn cookie_among_others_and_across_headers() {
        let h = headers(&[
            ("authorization", "Basic dXNlcjpwYXNz"),
            ("cookie", "__client_uat=1; other=2"),
            ("cookie", "theme=dark; __session=x.y.z"),
        ]);
        assert_eq!(session_token(&h), Some("x.y.z"));
    }

    #[test]
    fn nothing_usable() {
        let h = headers(&[
            ("authorization", "Bearer "),
            ("cookie", "__session=; __session_abc=q.r.s; x__session=t"),
        ]);
        assert_eq!(session_token(&h), None);
        assert_eq!(session_token(&HeaderMap::new()), None);
    }
}
