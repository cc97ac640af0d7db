#![expect(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed, and should say where"
)]
//! The integration tests of `tessera-sdk`, one binary with a module per area.
//! Most start the real Tessera server in-process on a loopback port.

mod extract;
mod keys;
mod offline;
mod support;
mod verify;
