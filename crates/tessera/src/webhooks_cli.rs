//! `tessera webhooks …`: manage webhook endpoints from the shell, straight on
//! the database (the running server picks changes up; no secret key needed,
//! database access is the authority). Every command prints JSON.

use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};
use tessera::config::Settings;
use tessera_core::webhooks::endpoints::{EndpointPatch, NewEndpoint};
use tessera_core::Core;

/// What `tessera webhooks` can do.
#[derive(Subcommand, Debug)]
pub enum WebhooksAction {
    /// List endpoints.
    List,
    /// Add an endpoint; prints it with its signing secret.
    Add {
        /// Where to POST events.
        url: String,
        /// Event types to send (comma-separated); default all.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete an endpoint.
    Remove {
        /// Endpoint id (ep_…).
        id: String,
    },
    /// Re-enable an endpoint (also clears its failure streak).
    Enable {
        /// Endpoint id.
        id: String,
    },
    /// Disable an endpoint.
    Disable {
        /// Endpoint id.
        id: String,
    },
    /// Print an endpoint's signing secret, or rotate it.
    Secret {
        /// Endpoint id.
        id: String,
        /// Make a new secret current (the old one keeps signing for 24 hours).
        #[arg(long)]
        rotate: bool,
    },
    /// Recent delivery attempts of an endpoint.
    Attempts {
        /// Endpoint id.
        id: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Recent messages (events).
    Messages {
        /// Only this event type.
        #[arg(long = "type")]
        event_type: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Send a message to an endpoint again.
    Resend {
        /// Message id (msg_…).
        message: String,
        /// Endpoint id (ep_…).
        endpoint: String,
    },
    /// Queue again an endpoint's failed deliveries of the last DURATION (e.g. 24h).
    Recover {
        /// Endpoint id.
        id: String,
        /// How far back.
        #[arg(long, default_value = "24h")]
        since: humantime::Duration,
    },
}

fn endpoint(e: &tessera_store::webhooks::Endpoint) -> Value {
    json!({
        "id": e.id, "url": e.url, "description": e.description, "filter_types": e.filter(),
        "disabled": e.disabled, "disabled_reason": e.disabled_reason,
    })
}

async fn open(settings: &Settings) -> anyhow::Result<Core> {
    let store = tessera::open_store(settings).await?;
    let frontend = settings.frontend_url_for(settings.addr);
    tessera_core::instance::open(store, tessera_core::passwords::Hasher::new(1), frontend)
        .await?
        .context("no instance yet: run `tessera serve` once first")
}

/// Runs one action; returns what to print.
pub async fn run(settings: &Settings, action: WebhooksAction) -> anyhow::Result<Value> {
    let core = open(settings).await?;
    let out = match action {
        WebhooksAction::List => {
            let list = core.webhooks().list_endpoints().await?;
            Value::Array(list.iter().map(endpoint).collect())
        }
        WebhooksAction::Add {
            url,
            events,
            description,
        } => {
            let (e, secret) = core
                .webhooks()
                .create_endpoint(NewEndpoint {
                    url,
                    description,
                    filter_types: Some(events),
                    ..Default::default()
                })
                .await?;
            let mut v = endpoint(&e);
            v["secret"] = Value::String(secret);
            v
        }
        WebhooksAction::Remove { id } => {
            core.webhooks().delete_endpoint(&id).await?;
            json!({ "id": id, "deleted": true })
        }
        WebhooksAction::Enable { id } => {
            let patch = EndpointPatch {
                disabled: Some(false),
                ..Default::default()
            };
            endpoint(&core.webhooks().update_endpoint(&id, patch).await?)
        }
        WebhooksAction::Disable { id } => {
            let patch = EndpointPatch {
                disabled: Some(true),
                ..Default::default()
            };
            endpoint(&core.webhooks().update_endpoint(&id, patch).await?)
        }
        WebhooksAction::Secret { id, rotate } => {
            let key = if rotate {
                core.webhooks().rotate_endpoint_secret(&id, None).await?
            } else {
                core.webhooks().endpoint_secret(&id).await?
            };
            json!({ "id": id, "key": key, "rotated": rotate })
        }
        WebhooksAction::Attempts { id, limit } => {
            let list = core
                .webhooks()
                .list_attempts(Some(&id), None, limit)
                .await?;
            Value::Array(
                list.iter()
                    .map(|a| {
                        json!({
                            "id": a.id, "message_id": a.message_id, "attempted_at": a.attempted_at,
                            "status_code": a.status_code, "latency_ms": a.latency_ms,
                            "error": a.error, "response": a.response,
                        })
                    })
                    .collect(),
            )
        }
        WebhooksAction::Messages { event_type, limit } => {
            let list = core
                .webhooks()
                .list_messages(event_type.as_deref(), limit)
                .await?;
            Value::Array(
                list.iter()
                    .map(
                        |m| json!({ "id": m.id, "type": m.event_type, "created_at": m.created_at }),
                    )
                    .collect(),
            )
        }
        WebhooksAction::Resend { message, endpoint } => {
            core.webhooks().resend_message(&message, &endpoint).await?;
            json!({ "message": message, "endpoint": endpoint, "resent": true })
        }
        WebhooksAction::Recover { id, since } => {
            let from = tessera_core::clock::now_ms() - since.as_millis() as i64;
            let n = core.webhooks().recover_endpoint(&id, from).await?;
            json!({ "id": id, "recovered": n })
        }
    };
    core.store.close().await;
    Ok(out)
}
