#![expect(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed, and should say where"
)]
//! Integration tests: each starts the real server on a loopback port and talks
//! HTTP to it, on SQLite and on PostgreSQL. One test binary, one module per area.

mod browser;
mod relay;
mod smtp;
mod support;

mod account;
mod bundles;
mod cli;
mod domains;
mod email_links;
mod errors;
mod fapi;
mod fapi_errors;
mod fapi_organizations;
mod handshake;
mod hardening;
mod identifications;
mod instance;
mod operations;
mod organizations;
mod passkeys;
mod reverification;
mod roles;
mod second_factor;
mod sessions;
mod tasks;
mod totp;
mod users;
mod webhooks;
