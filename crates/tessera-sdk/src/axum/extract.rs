//! The extractors: [`Auth`], [`OptionalAuth`], and [`Claims`] for routes behind
//! [`super::AuthLayer`].

use std::convert::Infallible;
use std::ops::Deref;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use super::rejection::AuthRejection;
use super::token::session_token;
use crate::claims::Claims;
use crate::verifier::Verifier;

/// The outcome an [`super::AuthLayer`] left for the handler when it let a
/// request through without claims, so the extractors do not verify twice.
#[derive(Clone)]
pub(super) struct Refused(pub(super) AuthRejection);

/// A verified session: the handler runs only for requests with a valid token.
///
/// The [`Verifier`] comes from the router state (`Verifier: FromRef<S>`);
/// claims already verified by an [`super::AuthLayer`] are reused.
///
/// ```no_run
/// use axum::{routing::get, Json, Router};
/// use tessera_sdk::{axum::Auth, Verifier};
///
/// async fn me(Auth(claims): Auth) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "user_id": claims.user_id }))
/// }
///
/// # fn app(verifier: Verifier) -> Router {
/// Router::new().route("/me", get(me)).with_state(verifier)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Auth(pub Claims);

impl Deref for Auth {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.0
    }
}

/// A session if the request has a valid token, else `None` (signed out).
///
/// A missing or refused token both give `None`, as Clerk's SDKs treat an
/// invalid token as signed out; only a failure to load the keys refuses the
/// request (503), since then it is unknown whether the caller is signed in.
#[derive(Debug, Clone)]
pub struct OptionalAuth(pub Option<Claims>);

impl Deref for OptionalAuth {
    type Target = Option<Claims>;
    fn deref(&self) -> &Option<Claims> {
        &self.0
    }
}

/// Verifies the request's token, once per request: the claims (or the
/// refusal) are kept in the extensions for the next extractor.
async fn authenticate(parts: &mut Parts, verifier: &Verifier) -> Result<Claims, AuthRejection> {
    if let Some(claims) = parts.extensions.get::<Claims>() {
        return Ok(claims.clone());
    }
    if let Some(Refused(rejection)) = parts.extensions.get::<Refused>() {
        return Err(rejection.clone());
    }
    let outcome = match session_token(&parts.headers).map(str::to_owned) {
        None => Err(AuthRejection::missing_token()),
        Some(token) => verifier.verify(&token).await.map_err(AuthRejection::from),
    };
    match &outcome {
        Ok(claims) => {
            parts.extensions.insert(claims.clone());
        }
        Err(rejection) => {
            parts.extensions.insert(Refused(rejection.clone()));
        }
    }
    outcome
}

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let verifier = Verifier::from_ref(state);
        authenticate(parts, &verifier).await.map(Auth)
    }
}

impl<S> FromRequestParts<S> for OptionalAuth
where
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let verifier = Verifier::from_ref(state);
        match authenticate(parts, &verifier).await {
            Ok(claims) => Ok(Self(Some(claims))),
            Err(rejection) if rejection.is_token_error() => Ok(Self(None)),
            Err(rejection) => Err(rejection),
        }
    }
}

/// The claims an [`super::AuthLayer`] (or an earlier [`Auth`]) verified;
/// refuses the request, with the layer's reason, when there are none. Works
/// with any router state, but verifies nothing itself: on a route without the
/// layer every request is refused.
impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AuthRejection> {
        if let Some(claims) = parts.extensions.get::<Claims>() {
            return Ok(claims.clone());
        }
        Err(match parts.extensions.get::<Refused>() {
            Some(Refused(rejection)) => rejection.clone(),
            None => AuthRejection::missing_token(),
        })
    }
}

/// `Option<Claims>`: the claims an [`super::AuthLayer`] verified, if any.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Claims {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<Claims>().cloned())
    }
}
