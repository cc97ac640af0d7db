//! The Frontend API's verified domains, membership requests and the user's
//! suggestions, as clerk-js and its `<OrganizationProfile/>`,
//! `<OrganizationList/>` and `<OrganizationSwitcher/>` use them.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{json, Value};
use tessera_core::{Core, CoreError};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::OrganizationId;
use tessera_domain::organizations::Action;
use tessera_store::domains::DomainFilter;

use super::me::Me;
use super::transport::Form;
use crate::error::ApiResult;
use crate::extract::QueryPairs;

fn page(data: Vec<Value>, total: i64) -> Value {
    json!({ "data": data, "total_count": total })
}

/// The organization, once the caller's role allows `action` in it.
async fn allowed(core: &Core, me: &Me, id: &str, action: Action) -> ApiResult<OrganizationId> {
    Ok(core
        .organizations()
        .authorize(id, &me.user_id, action)
        .await?
        .organization
        .id)
}

fn domains_on(core: &Core) -> bool {
    core.instance().settings.organizations.domains_enabled
}

fn domains_off() -> CoreError {
    CoreError::NotAllowed {
        code: ErrorCode::OrganizationDomainsNotEnabled,
        detail: "Verified domains are turned off on this instance.".to_owned(),
    }
}

/// `GET /v1/organizations/{id}/domains` (`enrollment_mode`, `limit`, `offset`);
/// empty while verified domains are off (the profile asks anyway).
pub async fn list(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let org = allowed(&core, &me, &id, Action::ReadDomains).await?;
    let (limit, offset) = q.page()?;
    if !domains_on(&core) {
        return me.respond(&core, page(Vec::new(), 0)).await;
    }
    let filter = DomainFilter {
        organization_id: Some(org.as_str().to_owned()),
        modes: q.all("enrollment_mode"),
        ..DomainFilter::default()
    };
    let (data, total) = core
        .organization_domains()
        .list(&filter, false, true, limit, offset)
        .await?;
    me.respond(&core, page(data, total)).await
}

/// `POST /v1/organizations/{id}/domains` (`name`): unverified until an
/// address at it is proven.
pub async fn create(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let org = allowed(&core, &me, &id, Action::ManageDomains).await?;
    if !domains_on(&core) {
        return Err(domains_off().into());
    }
    let name = form.required_text("name")?;
    let d = core
        .organization_domains()
        .create(&org, &name, None, false)
        .await?;
    me.respond(&core, d).await
}

/// `GET /v1/organizations/{id}/domains/{domain_id}`
pub async fn get(
    State(core): State<Core>,
    me: Me,
    Path((id, domain)): Path<(String, String)>,
) -> ApiResult<Response> {
    let org = allowed(&core, &me, &id, Action::ReadDomains).await?;
    let d = core.organization_domains().get(&org, &domain).await?;
    me.respond(&core, d).await
}

/// `DELETE /v1/organizations/{id}/domains/{domain_id}`
pub async fn delete(
    State(core): State<Core>,
    me: Me,
    Path((id, domain)): Path<(String, String)>,
) -> ApiResult<Response> {
    let org = allowed(&core, &me, &id, Action::ManageDomains).await?;
    let d = core.organization_domains().delete(&org, &domain).await?;
    me.respond(&core, d).await
}

/// `POST …/domains/{domain_id}/prepare_affiliation_verification`
/// (`affiliation_email_address`; a bare local part is taken at the domain).
pub async fn prepare_affiliation(
    State(core): State<Core>,
    me: Me,
    Path((id, domain)): Path<(String, String)>,
    form: Form,
) -> ApiResult<Response> {
    let org = allowed(&core, &me, &id, Action::ManageDomains).await?;
    let email = form.required_text("affiliation_email_address")?;
    let d = core
        .organization_domains()
        .prepare_affiliation(&org, &domain, &email)
        .await?;
    me.respond(&core, d).await
}

/// `POST …/domains/{domain_id}/attempt_affiliation_verification` (`code`)
pub async fn attempt_affiliation(
    State(core): State<Core>,
    me: Me,
    Path((id, domain)): Path<(String, String)>,
    form: Form,
) -> ApiResult<Response> {
    let org = allowed(&core, &me, &id, Action::ManageDomains).await?;
    let code = form.required_text("code")?;
    let d = core
        .organization_domains()
        .attempt_affiliation(&org, &domain, &code)
        .await?;
    me.respond(&core, d).await
}

/// `POST …/domains/{domain_id}/update_enrollment_mode` (`enrollment_mode`,
/// `delete_pending`): one of the modes the instance offers.
pub async fn update_enrollment_mode(
    State(core): State<Core>,
    me: Me,
    Path((id, domain)): Path<(String, String)>,
    form: Form,
) -> ApiResult<Response> {
    let org = allowed(&core, &me, &id, Action::ManageDomains).await?;
    let mode = form.required_text("enrollment_mode")?;
    let offered = &core
        .instance()
        .settings
        .organizations
        .domains_enrollment_modes;
    if mode != "manual_invitation" && !offered.contains(&mode) {
        return Err(CoreError::value(
            "enrollment_mode",
            format!("{mode} is not offered on this instance"),
        )
        .into());
    }
    let delete_pending = form.text("delete_pending").as_deref() == Some("true");
    let d = core
        .organization_domains()
        .update(&org, &domain, Some(&mode), None, delete_pending)
        .await?;
    me.respond(&core, d).await
}

/// `GET /v1/organizations/{id}/membership_requests` (`status`, `limit`, `offset`)
pub async fn list_requests(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let org = allowed(&core, &me, &id, Action::ManageMemberships).await?;
    let (limit, offset) = q.page()?;
    let (data, total) = core
        .organization_domains()
        .requests(&org, &q.all("status"), limit, offset)
        .await?;
    me.respond(&core, page(data, total)).await
}

async fn answer(core: Core, me: Me, id: &str, request: &str, accept: bool) -> ApiResult<Response> {
    let org = allowed(&core, &me, id, Action::ManageMemberships).await?;
    let r = core
        .organization_domains()
        .answer_request(&org, request, accept)
        .await?;
    me.respond(&core, r).await
}

/// `POST /v1/organizations/{id}/membership_requests/{request_id}/accept`
pub async fn accept_request(
    State(core): State<Core>,
    me: Me,
    Path((id, request)): Path<(String, String)>,
) -> ApiResult<Response> {
    answer(core, me, &id, &request, true).await
}

/// `POST /v1/organizations/{id}/membership_requests/{request_id}/reject`
pub async fn reject_request(
    State(core): State<Core>,
    me: Me,
    Path((id, request)): Path<(String, String)>,
) -> ApiResult<Response> {
    answer(core, me, &id, &request, false).await
}

/// `GET /v1/me/organization_suggestions` (`status`, repeated; `limit`, `offset`)
pub async fn my_suggestions(
    State(core): State<Core>,
    me: Me,
    q: QueryPairs,
) -> ApiResult<Response> {
    let (limit, offset) = q.page()?;
    let (data, total) = core
        .organization_domains()
        .suggestions(&me.user_id, &q.all("status"), limit, offset)
        .await?;
    me.respond(&core, page(data, total)).await
}

/// `POST /v1/me/organization_suggestions/{suggestion_id}/accept`: a request
/// to join goes to the organization.
pub async fn accept_suggestion(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let s = core
        .organization_domains()
        .accept_suggestion(&me.user_id, &id)
        .await?;
    me.respond(&core, s).await
}
