//! The Backend API: `/v1/…` authenticated by the instance's secret key.

pub mod domains;
pub mod identifications;
pub mod instance;
pub mod instance_extra;
pub mod organizations;
pub mod roles;
pub mod router;
pub mod sessions;
pub mod user_actions;
pub mod users;
pub mod webhooks;
