//! Managing webhook endpoints: create, change, delete, enable, secrets and
//! their rotation, the messages and attempts log, resending and recovery.

use serde_json::Value;
use tessera_domain::ids::{DeliveryId, EndpointId, EndpointSecretId};
use tessera_domain::kinds::DeliveryStatus;
use tessera_store::webhooks::{self as store, Attempt, Delivery, Endpoint, Message};

use super::signature::{new_secret, valid_secret};
use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};

/// How long the previous secret keeps signing after a rotation (as Svix).
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;

/// Fields of a new endpoint.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    /// Where to POST.
    pub url: String,
    /// Free text.
    pub description: Option<String>,
    /// Event types to receive; `None` or empty for all.
    pub filter_types: Option<Vec<String>>,
    /// A `whsec_` secret to use instead of a generated one.
    pub secret: Option<String>,
    /// Created disabled.
    pub disabled: bool,
}

/// Changes to an endpoint (`None` = unchanged).
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    /// New URL.
    pub url: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New filter (`Some(None)` or an empty list = all types).
    pub filter_types: Option<Option<Vec<String>>>,
    /// Disable (`true`) or re-enable (`false`, also clears the failure streak).
    pub disabled: Option<bool>,
}

fn check_url(raw: &str) -> CoreResult<String> {
    let url = url::Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| CoreError::value("url", "must be an absolute http(s) URL"))?;
    Ok(url.to_string())
}

fn filter_text(types: Option<Vec<String>>) -> CoreResult<Option<String>> {
    let Some(types) = types.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    for t in &types {
        let ok = !t.is_empty()
            && t.len() <= 100
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(CoreError::value(
                "filter_types",
                format!("{t:?} is not an event type"),
            ));
        }
    }
    serde_json::to_string(&types)
        .map(Some)
        .map_err(|e| CoreError::Internal(e.to_string()))
}

impl crate::Webhooks<'_> {
    /// Creates an endpoint; returns it and its secret.
    pub async fn create_endpoint(&self, input: NewEndpoint) -> CoreResult<(Endpoint, String)> {
        let now = now_ms();
        let secret = match input.secret {
            Some(s) if valid_secret(&s) => s,
            Some(_) => {
                return Err(CoreError::value(
                    "secret",
                    "must be whsec_ followed by the base64 of 24 to 64 bytes",
                ))
            }
            None => new_secret(),
        };
        let endpoint = Endpoint {
            id: EndpointId::generate(now).as_str().to_owned(),
            url: check_url(&input.url)?,
            description: input.description.unwrap_or_default(),
            filter_types: filter_text(input.filter_types)?,
            disabled: input.disabled,
            disabled_reason: input.disabled.then(|| "disabled on creation".to_owned()),
            failing_since: None,
            enabled_at: now,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.begin().await?;
        store::insert_endpoint(&mut tx, &endpoint).await?;
        store::insert_secret(
            &mut tx,
            &store::Secret {
                id: EndpointSecretId::generate(now).as_str().to_owned(),
                endpoint_id: endpoint.id.clone(),
                secret: secret.clone(),
                created_at: now,
                expires_at: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok((endpoint, secret))
    }

    /// Every endpoint, oldest first.
    pub async fn list_endpoints(&self) -> CoreResult<Vec<Endpoint>> {
        let mut conn = self.store.read().await?;
        Ok(store::list_endpoints(&mut conn).await?)
    }

    /// One endpoint.
    pub async fn get_endpoint(&self, id: &str) -> CoreResult<Endpoint> {
        let mut conn = self.store.read().await?;
        Ok(store::get_endpoint(&mut conn, id).await?)
    }

    /// Changes an endpoint.
    pub async fn update_endpoint(&self, id: &str, patch: EndpointPatch) -> CoreResult<Endpoint> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut e = store::get_endpoint(&mut tx, id).await?;
        if let Some(url) = patch.url {
            e.url = check_url(&url)?;
        }
        if let Some(d) = patch.description {
            e.description = d;
        }
        if let Some(f) = patch.filter_types {
            e.filter_types = filter_text(f)?;
        }
        match patch.disabled {
            Some(true) => {
                e.disabled = true;
                e.disabled_reason = Some("disabled by an operator".to_owned());
            }
            Some(false) => {
                if e.disabled {
                    e.enabled_at = now;
                }
                e.disabled = false;
                e.disabled_reason = None;
                e.failing_since = None;
            }
            None => {}
        }
        e.updated_at = now;
        store::update_endpoint(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(e)
    }

    /// Deletes an endpoint and everything queued for it.
    pub async fn delete_endpoint(&self, id: &str) -> CoreResult<()> {
        let mut tx = self.begin().await?;
        store::delete_endpoint(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The endpoint's current secret.
    pub async fn endpoint_secret(&self, id: &str) -> CoreResult<String> {
        let mut conn = self.store.read().await?;
        store::get_endpoint(&mut conn, id).await?;
        let secrets = store::signing_secrets(&mut conn, id, now_ms()).await?;
        secrets
            .into_iter()
            .find(|s| s.expires_at.is_none())
            .map(|s| s.secret)
            .ok_or_else(|| CoreError::Internal(format!("endpoint {id} has no current secret")))
    }

    /// Rotates the secret: `new` (or a generated one) signs from now on, and
    /// the previous one keeps signing for 24 hours beside it.
    pub async fn rotate_endpoint_secret(
        &self,
        id: &str,
        new: Option<String>,
    ) -> CoreResult<String> {
        let now = now_ms();
        let secret = match new {
            Some(s) if valid_secret(&s) => s,
            Some(_) => {
                return Err(CoreError::value(
                    "key",
                    "must be whsec_ followed by the base64 of 24 to 64 bytes",
                ))
            }
            None => new_secret(),
        };
        let mut tx = self.begin().await?;
        store::get_endpoint(&mut tx, id).await?;
        store::retire_secrets(&mut tx, id, now + ROTATION_OVERLAP_MS, now).await?;
        store::insert_secret(
            &mut tx,
            &store::Secret {
                id: EndpointSecretId::generate(now).as_str().to_owned(),
                endpoint_id: id.to_owned(),
                secret: secret.clone(),
                created_at: now,
                expires_at: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Messages, newest first.
    pub async fn list_messages(
        &self,
        event_type: Option<&str>,
        limit: i64,
    ) -> CoreResult<Vec<Message>> {
        let mut conn = self.store.read().await?;
        Ok(store::list_messages(&mut conn, event_type, limit).await?)
    }

    /// One message, with its payload parsed.
    pub async fn get_message(&self, id: &str) -> CoreResult<(Message, Value)> {
        let mut conn = self.store.read().await?;
        let m = store::get_message(&mut conn, id).await?;
        let payload = serde_json::from_str(&m.payload).unwrap_or(Value::Null);
        Ok((m, payload))
    }

    /// Attempts, newest first, of an endpoint and/or a message.
    pub async fn list_attempts(
        &self,
        endpoint_id: Option<&str>,
        message_id: Option<&str>,
        limit: i64,
    ) -> CoreResult<Vec<Attempt>> {
        let mut conn = self.store.read().await?;
        if let Some(id) = endpoint_id {
            store::get_endpoint(&mut conn, id).await?;
        }
        Ok(store::list_attempts(&mut conn, endpoint_id, message_id, limit).await?)
    }

    /// Sends a message to an endpoint again now (one more attempt, whatever
    /// happened before), also when it was never queued for it.
    pub async fn resend_message(&self, message_id: &str, endpoint_id: &str) -> CoreResult<()> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        store::get_endpoint(&mut tx, endpoint_id).await?;
        store::get_message(&mut tx, message_id).await?;
        match store::find_delivery(&mut tx, message_id, endpoint_id).await? {
            Some(d) => {
                // One more try: the attempt counter steps back so the schedule allows it.
                let attempts = (d.attempts - 1).max(0);
                store::finish_delivery(&mut tx, &d.id, DeliveryStatus::Pending, attempts, now, now)
                    .await?
            }
            None => {
                store::insert_delivery(
                    &mut tx,
                    &Delivery {
                        id: DeliveryId::generate(now).as_str().to_owned(),
                        message_id: message_id.to_owned(),
                        endpoint_id: endpoint_id.to_owned(),
                        status: DeliveryStatus::Pending,
                        attempts: 0,
                        next_attempt_at: now,
                    },
                    now,
                )
                .await?
            }
        }
        tx.commit().await
    }

    /// Queues again every failed delivery to an endpoint since `since` (ms),
    /// with a fresh schedule; returns how many.
    pub async fn recover_endpoint(&self, endpoint_id: &str, since: i64) -> CoreResult<u64> {
        let mut tx = self.begin().await?;
        store::get_endpoint(&mut tx, endpoint_id).await?;
        let n = store::recover_failed(&mut tx, endpoint_id, since, now_ms()).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Deliveries of an endpoint by state: (pending, succeeded, failed).
    pub async fn endpoint_stats(&self, endpoint_id: &str) -> CoreResult<(i64, i64, i64)> {
        let mut conn = self.store.read().await?;
        let mut counts = [0; 3];
        for (slot, st) in counts.iter_mut().zip([
            DeliveryStatus::Pending,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
        ]) {
            *slot = store::count_deliveries(&mut conn, endpoint_id, st).await?;
        }
        Ok((counts[0], counts[1], counts[2]))
    }
}
