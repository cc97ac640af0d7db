//! The Frontend API: what clerk-js in the browser talks to. Callers are
//! identified by their client (the `__client` cookie), never by the secret key.

pub mod client;
pub mod context;
pub mod cookies;
pub mod domains;
pub mod environment;
pub mod error_client;
pub mod handshake;
pub mod identifications;
pub mod me;
pub mod mfa;
pub mod organizations;
pub mod passkeys;
pub mod router;
pub mod sign_ins;
pub mod sign_ups;
pub mod transport;
pub mod wire;
