//! Every Frontend API route in one place.

use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use tessera_core::Core;

use super::{
    client, domains, environment, identifications, me, mfa, organizations as orgs, passkeys,
    sign_ins, sign_ups,
};

/// The FAPI routes (under `/v1`).
pub fn routes() -> Router<Core> {
    Router::new()
        .route(
            "/v1/environment",
            get(environment::get_environment).patch(environment::get_environment),
        )
        .route(
            "/v1/client",
            get(client::get_client)
                .put(client::create_client)
                .post(client::create_client)
                .delete(client::delete_client),
        )
        .route("/v1/client/handshake", get(super::handshake::handshake))
        .route("/v1/client/touch", get(client::touch_client))
        .route("/v1/client/sessions", delete(client::end_all_sessions))
        .route("/v1/client/sessions/{id}", get(client::get_session))
        .route(
            "/v1/client/sessions/{id}/touch",
            post(client::touch_session),
        )
        .route(
            "/v1/client/sessions/{id}/tokens",
            post(client::create_token),
        )
        .route(
            "/v1/client/sessions/{id}/tokens/{template}",
            post(client::create_template_token),
        )
        .route("/v1/client/sessions/{id}/end", post(client::end_session))
        .route(
            "/v1/client/sessions/{id}/verify",
            post(client::start_verification),
        )
        .route(
            "/v1/client/sessions/{id}/verify/prepare_first_factor",
            post(client::prepare_first_factor_verification),
        )
        .route(
            "/v1/client/sessions/{id}/verify/attempt_first_factor",
            post(client::attempt_first_factor_verification),
        )
        .route(
            "/v1/client/sessions/{id}/verify/prepare_second_factor",
            post(client::prepare_second_factor_verification),
        )
        .route(
            "/v1/client/sessions/{id}/verify/attempt_second_factor",
            post(client::attempt_second_factor_verification),
        )
        .route(
            "/v1/client/sessions/{id}/remove",
            post(client::remove_session),
        )
        .route("/v1/client/sign_ups", post(sign_ups::create_sign_up))
        .route(
            "/v1/client/sign_ups/{id}",
            get(sign_ups::get_sign_up).patch(sign_ups::update_sign_up),
        )
        .route(
            "/v1/client/sign_ups/{id}/prepare_verification",
            post(sign_ups::prepare_verification),
        )
        .route(
            "/v1/client/sign_ups/{id}/attempt_verification",
            post(sign_ups::attempt_verification),
        )
        .route("/v1/client/sign_ins", post(sign_ins::create_sign_in))
        .route("/v1/client/sign_ins/{id}", get(sign_ins::get_sign_in))
        .route(
            "/v1/client/sign_ins/{id}/prepare_first_factor",
            post(sign_ins::prepare_first_factor),
        )
        .route(
            "/v1/client/sign_ins/{id}/attempt_first_factor",
            post(sign_ins::attempt_first_factor),
        )
        .route(
            "/v1/client/sign_ins/{id}/prepare_second_factor",
            post(sign_ins::prepare_second_factor),
        )
        .route(
            "/v1/client/sign_ins/{id}/attempt_second_factor",
            post(sign_ins::attempt_second_factor),
        )
        .route(
            "/v1/client/sign_ins/{id}/reset_password",
            post(sign_ins::reset_password),
        )
        .route("/v1/dev_browser", post(client::create_dev_browser))
        .route("/v1/verify", get(sign_ins::open_email_link))
        .route(
            "/v1/me",
            get(me::get_me).patch(me::update_me).delete(me::delete_me),
        )
        .route(
            "/v1/me/metadata",
            axum::routing::patch(me::merge_my_metadata),
        )
        .route("/v1/me/change_password", post(me::change_password))
        .route(
            "/v1/me/totp",
            post(mfa::create_totp).delete(mfa::delete_totp),
        )
        .route("/v1/me/totp/attempt_verification", post(mfa::verify_totp))
        .route("/v1/me/backup_codes", post(mfa::create_backup_codes))
        .route("/v1/me/passkeys", post(passkeys::create_passkey))
        .route(
            "/v1/me/passkeys/{id}",
            get(passkeys::get_passkey)
                .patch(passkeys::update_passkey)
                .delete(passkeys::delete_passkey),
        )
        .route(
            "/v1/me/passkeys/{id}/attempt_verification",
            post(passkeys::attempt_passkey_verification),
        )
        .route(
            "/v1/me/email_addresses",
            post(identifications::create_email_address),
        )
        .route(
            "/v1/me/email_addresses/{id}",
            get(identifications::get_email_address).delete(identifications::delete_email_address),
        )
        .route(
            "/v1/me/email_addresses/{id}/prepare_verification",
            post(identifications::prepare_email_verification),
        )
        .route(
            "/v1/me/email_addresses/{id}/attempt_verification",
            post(identifications::attempt_email_verification),
        )
        .route(
            "/v1/me/phone_numbers",
            get(identifications::list_phone_numbers).post(identifications::create_phone_number),
        )
        .route(
            "/v1/me/phone_numbers/{id}",
            get(identifications::get_phone_number)
                .patch(identifications::update_phone_number)
                .delete(identifications::delete_phone_number),
        )
        .route(
            "/v1/me/phone_numbers/{id}/prepare_verification",
            post(identifications::prepare_phone_verification),
        )
        .route(
            "/v1/me/phone_numbers/{id}/attempt_verification",
            post(identifications::attempt_phone_verification),
        )
        .route("/v1/me/sessions/active", get(me::active_sessions))
        .route("/v1/me/sessions/{id}/revoke", post(me::revoke_session))
        .route(
            "/v1/me/profile_image",
            post(me::set_profile_image).delete(me::delete_profile_image),
        )
        .route("/v1/me/organization_memberships", get(orgs::my_memberships))
        .route(
            "/v1/me/organization_memberships/{organization_id}",
            delete(orgs::leave),
        )
        .route("/v1/me/organization_invitations", get(orgs::my_invitations))
        .route(
            "/v1/me/organization_invitations/{invitation_id}/accept",
            post(orgs::accept_invitation),
        )
        .route(
            "/v1/me/organization_suggestions",
            get(domains::my_suggestions),
        )
        .route(
            "/v1/me/organization_suggestions/{suggestion_id}/accept",
            post(domains::accept_suggestion),
        )
}

/// The organization routes, which the Backend API shares
/// ([`crate::shared`] sends Backend API calls to the Backend API's).
pub fn organization_routes() -> Router<Core> {
    Router::new()
        .route("/v1/organizations", post(orgs::create))
        .route(
            "/v1/organizations/{organization_id}",
            get(orgs::get).patch(orgs::update).delete(orgs::delete),
        )
        .route(
            "/v1/organizations/{organization_id}/logo",
            put(orgs::set_logo).delete(orgs::delete_logo),
        )
        .route(
            "/v1/organizations/{organization_id}/memberships",
            get(orgs::list_members).post(orgs::add_member),
        )
        .route(
            "/v1/organizations/{organization_id}/memberships/{user_id}",
            patch(orgs::update_member).delete(orgs::remove_member),
        )
        .route(
            "/v1/organizations/{organization_id}/roles",
            get(orgs::list_roles),
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
            "/v1/organizations/{organization_id}/invitations/{invitation_id}/revoke",
            post(orgs::revoke_invitation),
        )
        .route(
            "/v1/organizations/{organization_id}/membership_requests",
            get(domains::list_requests),
        )
        .route(
            "/v1/organizations/{organization_id}/membership_requests/{request_id}/accept",
            post(domains::accept_request),
        )
        .route(
            "/v1/organizations/{organization_id}/membership_requests/{request_id}/reject",
            post(domains::reject_request),
        )
        .route(
            "/v1/organizations/{organization_id}/domains",
            get(domains::list).post(domains::create),
        )
        .route(
            "/v1/organizations/{organization_id}/domains/{domain_id}",
            get(domains::get).delete(domains::delete),
        )
        .route(
            "/v1/organizations/{organization_id}/domains/{domain_id}/prepare_affiliation_verification",
            post(domains::prepare_affiliation),
        )
        .route(
            "/v1/organizations/{organization_id}/domains/{domain_id}/attempt_affiliation_verification",
            post(domains::attempt_affiliation),
        )
        .route(
            "/v1/organizations/{organization_id}/domains/{domain_id}/update_enrollment_mode",
            post(domains::update_enrollment_mode),
        )
}
