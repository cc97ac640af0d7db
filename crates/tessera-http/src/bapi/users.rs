//! BAPI `/v1/users…`: list, count, create, get, update, delete, metadata, bans, locks, passwords.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tessera_core::clock::now_ms;
use tessera_core::passwords::Password;
use tessera_core::users::{MetadataPatch, NewIdentifier, NewUser, UserPatch, UserView};
use tessera_core::{Core, CoreError};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::identifiers;
use tessera_store::users::{UserFilter, UserOrderField};

use crate::error::{ApiError, ApiResult};
use crate::extract::{double_option, rfc3339_ms, JsonBody, QueryPairs, SecretKeyAuth};
use crate::wire;

/// Renders one user.
pub(crate) fn render(core: &Core, view: &UserView) -> Value {
    wire::user::user(
        view,
        &core.instance().settings,
        &core.frontend_url,
        now_ms(),
    )
}

fn filter_from(q: &QueryPairs) -> ApiResult<UserFilter> {
    let mut f = UserFilter {
        // Unparseable values can match nothing, which is what an exact filter means.
        email_addresses: q
            .all("email_address")
            .iter()
            .map(|e| identifiers::normalize_email(e).unwrap_or_else(|_| e.to_lowercase()))
            .collect(),
        phone_numbers: q
            .all("phone_number")
            .iter()
            .map(|p| identifiers::normalize_phone(p).unwrap_or_else(|_| p.clone()))
            .collect(),
        usernames: q.all("username").iter().map(|u| u.to_lowercase()).collect(),
        query: q.first("query"),
        email_address_query: q.first("email_address_query").filter(|s| !s.is_empty()),
        phone_number_query: q.first("phone_number_query").filter(|s| !s.is_empty()),
        username_query: q.first("username_query").filter(|s| !s.is_empty()),
        name_query: q.first("name_query").filter(|s| !s.is_empty()),
        banned: q.bool("banned")?,
        last_active_at_before: q.int("last_active_at_before", 0, i64::MAX)?,
        last_active_at_after: q.int("last_active_at_after", 0, i64::MAX)?.or(q.int(
            "last_active_at_since",
            0,
            i64::MAX,
        )?),
        created_at_before: q.int("created_at_before", 0, i64::MAX)?,
        created_at_after: q.int("created_at_after", 0, i64::MAX)?,
        last_sign_in_at_before: q.int("last_sign_in_at_before", 0, i64::MAX)?,
        last_sign_in_at_after: q.int("last_sign_in_at_after", 0, i64::MAX)?,
        ..UserFilter::default()
    };
    for raw in q.all("user_id") {
        match raw.strip_prefix('-') {
            Some(excluded) => f.exclude_user_ids.push(excluded.to_owned()),
            None => f.user_ids.push(raw.trim_start_matches('+').to_owned()),
        }
    }
    for raw in q.all("external_id") {
        // External ids have no exclusion column; a leading '+' is only an explicit include.
        f.external_ids.push(raw.trim_start_matches('+').to_owned());
    }
    f.organization_ids = q
        .all("organization_id")
        .into_iter()
        .filter(|o| !o.starts_with('-'))
        .collect();
    if q.first("web3_wallet").is_some() || q.first("provider").is_some() {
        // No web3 wallets or external accounts exist yet, so such filters match nobody.
        f.organization_ids.push(String::new());
    }
    Ok(f)
}

fn order_from(q: &QueryPairs) -> ApiResult<(UserOrderField, bool)> {
    let Some(raw) = q.first("order_by").filter(|s| !s.is_empty()) else {
        return Ok((UserOrderField::CreatedAt, true));
    };
    let (descending, name) = match raw.as_bytes()[0] {
        b'-' => (true, &raw[1..]),
        b'+' => (false, &raw[1..]),
        _ => (false, raw.as_str()),
    };
    let field =
        match name {
            "created_at" => UserOrderField::CreatedAt,
            "updated_at" => UserOrderField::UpdatedAt,
            "email_address" => UserOrderField::EmailAddress,
            "phone_number" => UserOrderField::PhoneNumber,
            "username" => UserOrderField::Username,
            "first_name" => UserOrderField::FirstName,
            "last_name" => UserOrderField::LastName,
            "last_active_at" => UserOrderField::LastActiveAt,
            "last_sign_in_at" => UserOrderField::LastSignInAt,
            "web3wallet" => UserOrderField::CreatedAt,
            _ => return Err(ApiError::invalid(
                "order_by",
                "must be one of created_at, updated_at, email_address, web3wallet, first_name, \
                 last_name, phone_number, username, last_active_at, last_sign_in_at, with an \
                 optional + or - prefix",
            )),
        };
    Ok((field, descending))
}

/// `GET /v1/users`
pub async fn list_users(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let mut filter = filter_from(&q)?;
    let (order, descending) = order_from(&q)?;
    let (limit, offset) = q.page()?;
    if let Some(cursor) = q.first("starting_after").filter(|s| !s.is_empty()) {
        if order != UserOrderField::CreatedAt {
            return Err(ApiError::invalid(
                "starting_after",
                "requires ordering by created_at",
            ));
        }
        if offset != 0 {
            return Err(ApiError::invalid(
                "starting_after",
                "cannot be combined with a non-zero offset",
            ));
        }
        let last = core.users().get(&cursor).await.map_err(|_| {
            ApiError::invalid("starting_after", "must be the id of an existing user")
        })?;
        filter.after = Some((last.user.created_at, last.user.id.into_string()));
    }
    let users = core
        .users()
        .list(&filter, order, descending, limit, offset)
        .await?;
    let items: Vec<Value> = users.iter().map(|u| render(&core, u)).collect();
    if q.bool("paginated")? == Some(true) {
        let total = core.users().count(&filter).await?;
        return Ok(Json(wire::list(items, total, true)));
    }
    Ok(Json(Value::Array(items)))
}

/// `GET /v1/users/count`
pub async fn count_users(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let filter = filter_from(&q)?;
    Ok(Json(wire::total_count(core.users().count(&filter).await?)))
}

/// Body of `POST /v1/users`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateUserBody {
    external_id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    locale: Option<String>,
    email_address: Option<Vec<String>>,
    email_address_identification_status: Option<Vec<String>>,
    phone_number: Option<Vec<String>>,
    phone_number_identification_status: Option<Vec<String>>,
    web3_wallet: Option<Vec<String>>,
    username: Option<String>,
    password: Option<String>,
    password_digest: Option<String>,
    password_hasher: Option<String>,
    skip_password_checks: Option<bool>,
    skip_password_requirement: Option<bool>,
    totp_secret: Option<String>,
    backup_codes: Option<Vec<String>>,
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
    unsafe_metadata: Option<Map<String, Value>>,
    delete_self_enabled: Option<bool>,
    legal_accepted_at: Option<String>,
    skip_legal_checks: Option<bool>,
    skip_user_requirement: Option<bool>,
    create_organization_enabled: Option<bool>,
    create_organizations_limit: Option<i64>,
    created_at: Option<String>,
    bypass_client_trust: Option<bool>,
    banned: Option<bool>,
    locked: Option<bool>,
}

fn identifiers_with_status(
    values: Option<Vec<String>>,
    statuses: Option<Vec<String>>,
    param: &str,
) -> ApiResult<Vec<NewIdentifier>> {
    let values = values.unwrap_or_default();
    let statuses = statuses.unwrap_or_default();
    if !statuses.is_empty() && statuses.len() != values.len() {
        return Err(ApiError::invalid(
            &format!("{param}_identification_status"),
            format!("must contain exactly one item per {param}"),
        ));
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let reserved = match statuses.get(i).map(String::as_str) {
                None | Some("verified") => false,
                Some("reserved") => true,
                Some(_) => {
                    return Err(ApiError::invalid(
                        &format!("{param}_identification_status"),
                        "items must be verified or reserved",
                    ))
                }
            };
            Ok(NewIdentifier { value, reserved })
        })
        .collect()
}

fn digest_pair(
    digest: Option<String>,
    hasher: Option<String>,
) -> ApiResult<Option<(String, String)>> {
    match (digest, hasher) {
        (None, None) => Ok(None),
        (Some(d), Some(h)) => Ok(Some((d, h))),
        (Some(_), None) => Err(ApiError::from(CoreError::missing("password_hasher"))),
        (None, Some(_)) => Err(ApiError::from(CoreError::missing("password_digest"))),
    }
}

fn unsupported(param: &str) -> ApiError {
    ApiError::new(
        ErrorCode::FormParamValueInvalid,
        "is not supported",
        format!("{param} is not supported by this Tessera server yet."),
    )
    .param(param)
}

/// `POST /v1/users`
pub async fn create_user(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(body): JsonBody<CreateUserBody>,
) -> ApiResult<Json<Value>> {
    let _ = (
        body.locale,
        body.skip_legal_checks,
        body.bypass_client_trust,
    );
    if body.web3_wallet.as_ref().is_some_and(|w| !w.is_empty()) {
        return Err(unsupported("web3_wallet"));
    }
    let input = NewUser {
        totp_secret: body.totp_secret,
        backup_codes: body.backup_codes.unwrap_or_default(),
        external_id: body.external_id,
        first_name: body.first_name,
        last_name: body.last_name,
        email_addresses: identifiers_with_status(
            body.email_address,
            body.email_address_identification_status,
            "email_address",
        )?,
        phone_numbers: identifiers_with_status(
            body.phone_number,
            body.phone_number_identification_status,
            "phone_number",
        )?,
        username: body.username,
        password: body.password.map(Password::new),
        password_digest: digest_pair(body.password_digest, body.password_hasher)?,
        skip_password_checks: body.skip_password_checks.unwrap_or(false),
        skip_password_requirement: body.skip_password_requirement.unwrap_or(false),
        skip_user_requirement: body.skip_user_requirement.unwrap_or(false),
        public_metadata: body.public_metadata,
        private_metadata: body.private_metadata,
        unsafe_metadata: body.unsafe_metadata,
        delete_self_enabled: body.delete_self_enabled,
        create_organization_enabled: body.create_organization_enabled,
        create_organizations_limit: body.create_organizations_limit,
        legal_accepted_at: body
            .legal_accepted_at
            .map(|t| rfc3339_ms("legal_accepted_at", &t))
            .transpose()?,
        created_at: body
            .created_at
            .map(|t| rfc3339_ms("created_at", &t))
            .transpose()?,
        banned: body.banned.unwrap_or(false),
        locked: body.locked.unwrap_or(false),
    };
    let view = core.users().create(input).await?;
    Ok(Json(render(&core, &view)))
}

/// `GET /v1/users/{user_id}`
pub async fn get_user(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let view = core.users().get(&id).await?;
    Ok(Json(render(&core, &view)))
}

/// Body of `PATCH /v1/users/{user_id}`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserBody {
    #[serde(default, deserialize_with = "double_option")]
    external_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    last_name: Option<Option<String>>,
    locale: Option<String>,
    primary_email_address_id: Option<String>,
    notify_primary_email_address_changed: Option<bool>,
    primary_phone_number_id: Option<String>,
    primary_web3_wallet_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    username: Option<Option<String>>,
    profile_image_id: Option<String>,
    password: Option<String>,
    password_digest: Option<String>,
    password_hasher: Option<String>,
    skip_password_checks: Option<bool>,
    sign_out_of_other_sessions: Option<bool>,
    totp_secret: Option<String>,
    backup_codes: Option<Vec<String>>,
    delete_self_enabled: Option<bool>,
    create_organization_enabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    legal_accepted_at: Option<Option<String>>,
    skip_legal_checks: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    create_organizations_limit: Option<Option<i64>>,
    created_at: Option<String>,
    bypass_client_trust: Option<bool>,
}

/// `PATCH /v1/users/{user_id}`
pub async fn update_user(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateUserBody>,
) -> ApiResult<Json<Value>> {
    let _ = (
        body.locale,
        body.notify_primary_email_address_changed,
        body.skip_legal_checks,
        body.bypass_client_trust,
        body.profile_image_id,
    );
    if body.primary_web3_wallet_id.is_some() {
        return Err(unsupported("primary_web3_wallet_id"));
    }
    let patch = UserPatch {
        totp_secret: body.totp_secret.map(Some),
        backup_codes: body.backup_codes,
        external_id: body.external_id,
        first_name: body.first_name,
        last_name: body.last_name,
        username: body.username,
        primary_email_address_id: body.primary_email_address_id,
        primary_phone_number_id: body.primary_phone_number_id,
        password: body.password.map(Password::new),
        password_digest: digest_pair(body.password_digest, body.password_hasher)?,
        skip_password_checks: body.skip_password_checks.unwrap_or(false),
        sign_out_of_other_sessions: body.sign_out_of_other_sessions.unwrap_or(false),
        delete_self_enabled: body.delete_self_enabled,
        create_organization_enabled: body.create_organization_enabled,
        create_organizations_limit: body.create_organizations_limit,
        legal_accepted_at: body
            .legal_accepted_at
            .map(|t| t.map(|t| rfc3339_ms("legal_accepted_at", &t)).transpose())
            .transpose()?,
        created_at: body
            .created_at
            .map(|t| rfc3339_ms("created_at", &t))
            .transpose()?,
    };
    let view = core.users().update(&id, patch).await?;
    Ok(Json(render(&core, &view)))
}

/// `DELETE /v1/users/{user_id}`
pub async fn delete_user(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let view = core.users().delete(&id).await?;
    let mut body = wire::deleted("user", view.user.id.as_str());
    body["external_id"] = json!(view.user.external_id);
    Ok(Json(body))
}

/// Body of the metadata endpoints.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetadataBody {
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
    unsafe_metadata: Option<Map<String, Value>>,
}

impl From<MetadataBody> for MetadataPatch {
    fn from(b: MetadataBody) -> Self {
        Self {
            public_metadata: b.public_metadata,
            private_metadata: b.private_metadata,
            unsafe_metadata: b.unsafe_metadata,
        }
    }
}

/// `PATCH /v1/users/{user_id}/metadata` (deep merge)
pub async fn merge_metadata(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MetadataBody>,
) -> ApiResult<Json<Value>> {
    let view = core
        .users()
        .update_metadata(&id, body.into(), false)
        .await?;
    Ok(Json(render(&core, &view)))
}

/// `PUT /v1/users/{user_id}/metadata` (replace given documents)
pub async fn replace_metadata(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MetadataBody>,
) -> ApiResult<Json<Value>> {
    let view = core.users().update_metadata(&id, body.into(), true).await?;
    Ok(Json(render(&core, &view)))
}
