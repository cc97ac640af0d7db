//! BAPI `/v1/organizations/{id}/domains…` and `/v1/organization_domains`:
//! organizations' verified domains.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tessera_core::Core;
use tessera_store::domains::DomainFilter;

use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs, SecretKeyAuth};

/// Splits `enrollment_mode` values into included and excluded (`-mode`).
fn modes(values: Vec<String>) -> (Vec<String>, Vec<String>) {
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for v in values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        match v.strip_prefix('-') {
            Some(m) => without.push(m.to_owned()),
            None => with.push(v.to_owned()),
        }
    }
    (with, without)
}

fn verified(q: &QueryPairs) -> ApiResult<Option<bool>> {
    match q.first("verified").as_deref() {
        None | Some("") => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::invalid("verified", "must be true or false")),
    }
}

/// Body of `POST /v1/organizations/{id}/domains`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: Option<String>,
    enrollment_mode: Option<String>,
    verified: Option<bool>,
}

/// `POST /v1/organizations/{organization_id}/domains`
pub async fn create(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(org): Path<String>,
    JsonBody(b): JsonBody<CreateBody>,
) -> ApiResult<Json<Value>> {
    let org = core.organizations().id_of(&org).await?;
    let domain = core
        .organization_domains()
        .create(
            &org,
            b.name.as_deref().unwrap_or_default(),
            b.enrollment_mode.as_deref(),
            b.verified.unwrap_or(true),
        )
        .await?;
    Ok(Json(domain))
}

/// `GET /v1/organizations/{organization_id}/domains`
pub async fn list(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(org): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = q.page()?;
    let org = core.organizations().id_of(&org).await?;
    let (with, without) = modes(q.all("enrollment_mode"));
    let filter = DomainFilter {
        organization_id: Some(org.as_str().to_owned()),
        verified: verified(&q)?,
        modes: with,
        exclude_modes: without,
        ..DomainFilter::default()
    };
    let (data, total) = core
        .organization_domains()
        .list(&filter, false, true, limit, offset)
        .await?;
    Ok(Json(json!({ "data": data, "total_count": total })))
}

/// `GET /v1/organization_domains`
pub async fn list_all(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = q.page()?;
    let (with, without) = modes(q.all("enrollment_mode"));
    let mut filter = DomainFilter {
        organization_id: q.first("organization_id").filter(|s| !s.is_empty()),
        verified: verified(&q)?,
        modes: with,
        exclude_modes: without,
        names: q
            .all("domains")
            .into_iter()
            .map(|d| d.to_lowercase())
            .collect(),
        ..DomainFilter::default()
    };
    if let Some(query) = q.first("query") {
        let query = query.trim();
        if query.is_empty() {
            return Err(ApiError::invalid("query", "must not be blank"));
        }
        if query.starts_with("org_") {
            filter.organization_id = Some(query.to_owned());
        } else {
            filter.query = Some(query.to_owned());
        }
    }
    let order = q
        .first("order_by")
        .unwrap_or_else(|| "-created_at".to_owned());
    let (descending, field) = match order.strip_prefix('-') {
        Some(f) => (true, f),
        None => (false, order.strip_prefix('+').unwrap_or(&order)),
    };
    let by_name = match field {
        "name" => true,
        "created_at" => false,
        _ => {
            return Err(ApiError::invalid(
                "order_by",
                "must be name or created_at, with an optional + or -",
            ))
        }
    };
    let (data, total) = core
        .organization_domains()
        .list(&filter, by_name, descending, limit, offset)
        .await?;
    Ok(Json(json!({ "data": data, "total_count": total })))
}

/// Body of `PATCH /v1/organizations/{id}/domains/{domain_id}`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    enrollment_mode: Option<String>,
    verified: Option<bool>,
}

/// `PATCH /v1/organizations/{organization_id}/domains/{domain_id}`
pub async fn update(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((org, id)): Path<(String, String)>,
    JsonBody(b): JsonBody<UpdateBody>,
) -> ApiResult<Json<Value>> {
    let org = core.organizations().id_of(&org).await?;
    Ok(Json(
        core.organization_domains()
            .update(&org, &id, b.enrollment_mode.as_deref(), b.verified, false)
            .await?,
    ))
}

/// `DELETE /v1/organizations/{organization_id}/domains/{domain_id}`
pub async fn delete(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let org = core.organizations().id_of(&org).await?;
    Ok(Json(core.organization_domains().delete(&org, &id).await?))
}

/// `POST /v1/organizations/{organization_id}/domains/{domain_id}/verify_ownership`
pub async fn verify_ownership(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let org = core.organizations().id_of(&org).await?;
    Ok(Json(
        core.organization_domains()
            .verify_ownership(&org, &id)
            .await?,
    ))
}
