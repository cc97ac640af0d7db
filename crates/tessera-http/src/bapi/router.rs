//! Every Backend API route in one place.

use axum::routing::{delete, get, post, put};
use axum::Router;
use tessera_core::Core;

use super::{
    domains, identifications as idn, instance, instance_extra as ix, organizations as orgs, roles,
    sessions, user_actions as ua, users, webhooks as wh,
};

/// The BAPI routes (under `/v1`).
pub fn routes() -> Router<Core> {
    Router::new()
        .route("/v1/users", get(users::list_users).post(users::create_user))
        .route("/v1/users/count", get(users::count_users))
        .route(
            "/v1/organization_memberships",
            get(orgs::list_instance_memberships),
        )
        .route(
            "/v1/webhooks/svix",
            post(wh::svix_app).delete(wh::delete_svix_app),
        )
        .route("/v1/webhooks/svix_url", post(wh::svix_app))
        .route(
            "/v1/webhooks/endpoints",
            get(wh::list_endpoints).post(wh::create_endpoint),
        )
        .route(
            "/v1/webhooks/endpoints/{id}",
            get(wh::get_endpoint)
                .patch(wh::update_endpoint)
                .delete(wh::delete_endpoint),
        )
        .route(
            "/v1/webhooks/endpoints/{id}/enable",
            post(wh::enable_endpoint),
        )
        .route(
            "/v1/webhooks/endpoints/{id}/disable",
            post(wh::disable_endpoint),
        )
        .route("/v1/webhooks/endpoints/{id}/secret", get(wh::get_secret))
        .route(
            "/v1/webhooks/endpoints/{id}/secret/rotate",
            post(wh::rotate_secret),
        )
        .route(
            "/v1/webhooks/endpoints/{id}/attempts",
            get(wh::endpoint_attempts),
        )
        .route("/v1/webhooks/endpoints/{id}/recover", post(wh::recover))
        .route("/v1/webhooks/messages", get(wh::list_messages))
        .route("/v1/webhooks/messages/{id}", get(wh::get_message))
        .route(
            "/v1/webhooks/messages/{id}/attempts",
            get(wh::message_attempts),
        )
        .route(
            "/v1/webhooks/messages/{id}/endpoints/{endpoint_id}/resend",
            post(wh::resend),
        )
        .route("/v1/users/ban", post(ua::ban_users))
        .route("/v1/users/unban", post(ua::unban_users))
        .route(
            "/v1/users/{user_id}",
            get(users::get_user)
                .patch(users::update_user)
                .delete(users::delete_user),
        )
        .route(
            "/v1/users/{user_id}/metadata",
            axum::routing::patch(users::merge_metadata).put(users::replace_metadata),
        )
        .route("/v1/users/{user_id}/ban", post(ua::ban_user))
        .route("/v1/users/{user_id}/unban", post(ua::unban_user))
        .route("/v1/users/{user_id}/lock", post(ua::lock_user))
        .route("/v1/users/{user_id}/unlock", post(ua::unlock_user))
        .route(
            "/v1/users/{user_id}/verify_password",
            post(ua::verify_password),
        )
        .route(
            "/v1/users/{user_id}/remove_password",
            post(ua::remove_password),
        )
        .route(
            "/v1/users/{user_id}/password/set_compromised",
            post(ua::set_password_compromised),
        )
        .route(
            "/v1/users/{user_id}/password/unset_compromised",
            post(ua::unset_password_compromised),
        )
        .route(
            "/v1/users/{user_id}/profile_image",
            post(ua::set_profile_image).delete(ua::delete_profile_image),
        )
        .route(
            "/v1/users/{user_id}/organization_memberships",
            get(orgs::list_user_memberships),
        )
        .route(
            "/v1/users/{user_id}/organization_invitations",
            get(orgs::list_user_invitations),
        )
        .route(
            "/v1/organization_invitations",
            get(orgs::list_instance_invitations),
        )
        .route(
            "/v1/users/{user_id}/oauth_access_tokens/{provider}",
            get(ua::list_oauth_access_tokens),
        )
        .route("/v1/users/{user_id}/mfa", delete(ua::disable_mfa))
        .route("/v1/users/{user_id}/totp", delete(ua::delete_totp))
        .route(
            "/v1/users/{user_id}/backup_code",
            delete(ua::delete_backup_codes),
        )
        .route("/v1/users/{user_id}/verify_totp", post(ua::verify_totp))
        .route(
            "/v1/users/{user_id}/passkeys/{id}",
            delete(ua::delete_passkey),
        )
        .route(
            "/v1/users/{user_id}/web3_wallets/{id}",
            delete(ua::missing_sub_resource),
        )
        .route(
            "/v1/users/{user_id}/external_accounts/{id}",
            delete(ua::missing_sub_resource),
        )
        .route(
            "/v1/users/{user_id}/trusted_devices",
            get(ua::list_trusted_devices),
        )
        .route(
            "/v1/users/{user_id}/trusted_devices/{id}",
            delete(ua::missing_sub_resource),
        )
        .route(
            "/v1/users/{user_id}/billing/subscription",
            get(ua::billing_not_enabled),
        )
        .route(
            "/v1/users/{user_id}/billing/credits",
            get(ua::billing_not_enabled).post(ua::billing_not_enabled),
        )
        .route(
            "/v1/users/{user_id}/email_address",
            put(idn::replace_email_address),
        )
        .route(
            "/v1/users/{user_id}/phone_number",
            put(idn::replace_phone_number),
        )
        .route("/v1/email_addresses", post(idn::create_email_address))
        .route(
            "/v1/email_addresses/{id}/prepare_verification",
            post(idn::prepare_email_verification),
        )
        .route(
            "/v1/email_addresses/{id}/attempt_verification",
            post(idn::attempt_email_verification),
        )
        .route(
            "/v1/phone_numbers/{id}/prepare_verification",
            post(idn::prepare_phone_verification),
        )
        .route(
            "/v1/phone_numbers/{id}/attempt_verification",
            post(idn::attempt_phone_verification),
        )
        .route(
            "/v1/email_addresses/{id}",
            get(idn::get_email_address)
                .patch(idn::update_email_address)
                .delete(idn::delete_email_address),
        )
        .route("/v1/phone_numbers", post(idn::create_phone_number))
        .route(
            "/v1/phone_numbers/{id}",
            get(idn::get_phone_number)
                .patch(idn::update_phone_number)
                .delete(idn::delete_phone_number),
        )
        .route(
            "/v1/sessions",
            get(sessions::list_sessions).post(sessions::create_session),
        )
        .route("/v1/sessions/{session_id}", get(sessions::get_session))
        .route(
            "/v1/sessions/{session_id}/revoke",
            post(sessions::revoke_session),
        )
        .route(
            "/v1/sessions/{session_id}/verify",
            post(sessions::verify_session),
        )
        .route(
            "/v1/sessions/{session_id}/tokens",
            post(sessions::create_session_token),
        )
        .route(
            "/v1/sessions/{session_id}/tokens/{template}",
            post(sessions::create_session_token_from_template),
        )
        .route("/v1/clients", get(sessions::list_clients))
        .route("/v1/clients/verify", post(sessions::verify_client))
        .route(
            "/v1/clients/handshake_payload",
            get(sessions::handshake_payload),
        )
        .route("/v1/clients/{client_id}", get(sessions::get_client))
        .route("/v1/jwks", get(instance::get_jwks))
        .route(
            "/v1/instance",
            get(instance::get_instance).patch(instance::update_instance),
        )
        .route(
            "/v1/instance/restrictions",
            axum::routing::patch(instance::update_restrictions),
        )
        .route("/v1/organization_domains", get(domains::list_all))
        .route(
            "/v1/organization_permissions",
            get(roles::list_permissions).post(roles::create_permission),
        )
        .route(
            "/v1/organization_permissions/{permission_id}",
            get(roles::get_permission)
                .patch(roles::update_permission)
                .delete(roles::delete_permission),
        )
        .route(
            "/v1/organization_roles",
            get(roles::list_roles).post(roles::create_role),
        )
        .route(
            "/v1/organization_roles/{role_id}",
            get(roles::get_role)
                .patch(roles::update_role)
                .delete(roles::delete_role),
        )
        .route(
            "/v1/organization_roles/{role_id}/permissions/{permission_id}",
            post(roles::assign_permission).delete(roles::remove_permission),
        )
        .route(
            "/v1/role_sets",
            get(roles::list_role_sets).post(roles::create_role_set),
        )
        .route(
            "/v1/role_sets/{role_set}",
            get(roles::get_role_set).patch(roles::update_role_set),
        )
        .route(
            "/v1/role_sets/{role_set}/replace",
            post(roles::replace_role_set),
        )
        .route("/v1/role_sets/{role_set}/roles", post(roles::add_roles))
        .route(
            "/v1/role_sets/{role_set}/roles/replace",
            post(roles::replace_role),
        )
        .route(
            "/v1/instance/organization_settings",
            get(instance::get_organization_settings).patch(instance::update_organization_settings),
        )
        .route(
            "/v1/instance/protect",
            get(ix::get_protect).patch(ix::update_protect),
        )
        .route(
            "/v1/instance/communication",
            get(ix::get_communication).patch(ix::update_communication),
        )
        .route(
            "/v1/instance/oauth_application_settings",
            get(ix::get_oauth_applications).patch(ix::update_oauth_applications),
        )
        .route(
            "/v1/instance/settings",
            get(ix::get_settings).patch(ix::patch_settings),
        )
        .route("/v1/instance/change_domain", post(ix::change_domain))
        .route("/v1/beta_features/change_domain", post(ix::change_domain))
        .route("/v1/beta_features/domain", put(ix::change_domain))
        .route(
            "/v1/beta_features/instance_settings",
            axum::routing::patch(ix::update_beta_settings),
        )
}

/// The organization routes, which the Frontend API shares
/// ([`crate::shared`] sends Backend API calls here).
pub fn organization_routes() -> Router<Core> {
    Router::new()
        .route(
            "/v1/organizations",
            get(orgs::list_organizations).post(orgs::create_organization),
        )
        .route(
            "/v1/organizations/{organization_id}",
            get(orgs::get_organization)
                .patch(orgs::update_organization)
                .delete(orgs::delete_organization),
        )
        .route(
            "/v1/organizations/{organization_id}/metadata",
            axum::routing::patch(orgs::merge_metadata).put(orgs::replace_metadata),
        )
        .route(
            "/v1/organizations/{organization_id}/logo",
            put(orgs::upload_logo).delete(orgs::delete_logo),
        )
        .route(
            "/v1/organizations/{organization_id}/memberships",
            get(orgs::list_memberships).post(orgs::create_membership),
        )
        .route(
            "/v1/organizations/{organization_id}/memberships/{user_id}",
            axum::routing::patch(orgs::update_membership).delete(orgs::delete_membership),
        )
        .route(
            "/v1/organizations/{organization_id}/memberships/{user_id}/metadata",
            axum::routing::patch(orgs::merge_membership_metadata),
        )
        .route(
            "/v1/organizations/{organization_id}/invitations",
            get(orgs::list_invitations).post(orgs::create_invitation),
        )
        .route(
            "/v1/organizations/{organization_id}/invitations/bulk",
            post(orgs::create_invitations),
        )
        .route(
            "/v1/organizations/{organization_id}/invitations/pending",
            get(orgs::list_pending_invitations),
        )
        .route(
            "/v1/organizations/{organization_id}/invitations/{invitation_id}",
            get(orgs::get_invitation),
        )
        .route(
            "/v1/organizations/{organization_id}/invitations/{invitation_id}/revoke",
            post(orgs::revoke_invitation),
        )
        .route(
            "/v1/organizations/{organization_id}/domains",
            get(domains::list).post(domains::create),
        )
        .route(
            "/v1/organizations/{organization_id}/domains/{domain_id}",
            axum::routing::patch(domains::update).delete(domains::delete),
        )
        .route(
            "/v1/organizations/{organization_id}/domains/{domain_id}/verify_ownership",
            post(domains::verify_ownership),
        )
}
