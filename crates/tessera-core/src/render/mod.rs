//! Clerk-shaped JSON of the objects the Backend API returns and events carry
//! (`user`, `email_address`, `phone_number`, `session`, `client`, `organization`,
//! `organization_membership`). Field names,
//! object types and field order follow Clerk's OpenAPI description;
//! timestamps are epoch milliseconds; nullable fields are sent as `null`.

pub mod domains;
pub mod identification;
pub mod organization;
pub mod roles;
pub mod session;
pub mod user;
