//! [`AuthLayer`]: verify every request of a router and keep the claims in its extensions.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::extract::Refused;
use super::rejection::AuthRejection;
use super::token::session_token;
use crate::verifier::Verifier;

/// A tower layer that verifies each request's session token and inserts the
/// [`Claims`](crate::Claims) into the request extensions.
///
/// [`AuthLayer::new`] refuses requests without a valid token (401, or 503 when
/// the keys cannot be loaded); [`AuthLayer::optional`] lets them through
/// without claims (still 503 when the keys cannot be loaded).
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use tessera_sdk::{axum::AuthLayer, Claims, Verifier};
///
/// async fn me(claims: Claims) -> String {
///     claims.user_id
/// }
///
/// # fn app(verifier: Verifier) -> Router {
/// Router::new()
///     .route("/me", get(me))
///     .route_layer(AuthLayer::new(verifier))
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: Verifier,
    required: bool,
}

impl AuthLayer {
    /// A layer that refuses requests without a valid session token.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            required: true,
        }
    }

    /// A layer that adds claims when the token is valid and otherwise passes
    /// the request on unchanged.
    pub fn optional(verifier: Verifier) -> Self {
        Self {
            verifier,
            required: false,
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
            required: self.required,
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Verifier,
    required: bool,
}

impl<S> Service<Request> for AuthService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The service that was polled ready is the one to call; leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let required = self.required;
        Box::pin(async move {
            let outcome = match session_token(request.headers()).map(str::to_owned) {
                None => Err(AuthRejection::missing_token()),
                Some(token) => verifier.verify(&token).await.map_err(AuthRejection::from),
            };
            match outcome {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                }
                Err(rejection) if required || !rejection.is_token_error() => {
                    return Ok(rejection.into_response());
                }
                Err(rejection) => {
                    request.extensions_mut().insert(Refused(rejection));
                }
            }
            inner.call(request).await
        })
    }
}
