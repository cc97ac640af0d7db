//! The dispatcher: a background loop per server that fans new messages out to
//! the endpoints subscribed to them, sends due deliveries and queued
//! emails/SMS, and purges what has aged out.
//!
//! Work is leased in the database (`locked_until`), so several replicas on one
//! PostgreSQL share it without sending a message twice at the same time, and
//! a server killed mid-send leaves its leases to expire and be taken again:
//! delivery is at least once, with a stable `svix-id` per message.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};
use tessera_domain::ids::{AttemptId, JobId};
use tessera_domain::kinds::{AttemptTrigger, DeliveryStatus, JobKind};
use tessera_store::webhooks::{self as store, Attempt, Delivery, Job};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::signature;
use crate::clock::now_ms;
use crate::error::CoreResult;
use crate::mailer::Email;
use crate::Core;

/// Messages fanned out per round.
const FAN_OUT_BATCH: i64 = 200;
/// Outcomes written per transaction at most.
const RECORD_BATCH: usize = 200;
/// Bytes of a response body kept with its attempt.
const RESPONSE_EXCERPT: usize = 1024;
/// Retries of an email or SMS after its first failure.
const JOB_RETRIES: [u64; 4] = [5, 30, 120, 300];
/// How often old rows are purged.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// A delay with ±10 % jitter, so retries of many messages spread out.
fn jittered(base: Duration) -> i64 {
    let ms = base.as_millis() as f64;
    let factor = rand::thread_rng().gen_range(0.9..1.1);
    (ms * factor) as i64
}

/// Runs until `stop` turns true; in-flight sends finish first.
pub async fn run(core: Core, mut stop: watch::Receiver<bool>) {
    let cfg = core.webhooks.clone();
    let http = match reqwest::Client::builder()
        .timeout(cfg.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("webhook HTTP client: {e}; webhooks and queued email are stopped");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    // Sends finish in any order; their outcomes are written in batches, so a
    // busy dispatcher costs the database one transaction per batch, not per send.
    let (done_tx, mut done_rx) =
        tokio::sync::mpsc::unbounded_channel::<(Outcome, OwnedSemaphorePermit)>();
    let recorder_core = core.clone();
    let recorder = tokio::spawn(async move {
        while let Some(first) = done_rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < RECORD_BATCH {
                match done_rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let (outcomes, permits): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            if let Err(e) = recorder_core.record_outcomes(outcomes).await {
                tracing::warn!("recording webhook attempts failed: {e}; the leases lapse and the deliveries are retried");
            }
            // Slots free up once recorded, so the next claim sees settled rows.
            drop(permits);
            recorder_core.outbox.notify_one();
        }
    });
    let mut last_purge = Instant::now();
    loop {
        if *stop.borrow() {
            break;
        }
        let mut busy = false;
        match core.fan_out(FAN_OUT_BATCH).await {
            Ok(n) => busy |= n > 0,
            Err(e) => tracing::warn!("webhook fan-out failed: {e}"),
        }
        let free = slots.available_permits() as i64;
        if free > 0 {
            match core.claim_due(free).await {
                Ok((deliveries, jobs)) => {
                    busy |= !deliveries.is_empty() || !jobs.is_empty();
                    for d in deliveries {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let (core, http, done) = (core.clone(), http.clone(), done_tx.clone());
                        tokio::spawn(async move {
                            match core
                                .send_delivery(&http, d, AttemptTrigger::Scheduled)
                                .await
                            {
                                Ok(outcome) => {
                                    let _ = done.send((outcome, permit));
                                }
                                Err(e) => tracing::warn!(
                                    "webhook delivery failed: {e}; it will be retried"
                                ),
                            }
                        });
                    }
                    for job in jobs {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let core = core.clone();
                        tokio::spawn(async move {
                            if let Err(e) = core.run_job(job).await {
                                tracing::warn!("queued send failed to record: {e}");
                            }
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!("claiming webhook work failed: {e}"),
            }
        }
        if last_purge.elapsed() >= PURGE_EVERY {
            last_purge = Instant::now();
            if let Err(e) = core.purge_outbox().await {
                tracing::warn!("purging old webhook rows failed: {e}");
            }
        }
        if !busy {
            tokio::select! {
                () = core.outbox.notified() => {}
                () = tokio::time::sleep(cfg.poll) => {}
                _ = stop.changed() => {}
            }
        }
    }
    // Let sends in flight finish and be recorded (each is bounded by the timeout).
    drop(done_tx);
    let _ = tokio::time::timeout(cfg.timeout + Duration::from_secs(1), recorder).await;
}

fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(RESPONSE_EXCERPT)];
    String::from_utf8_lossy(cut).into_owned()
}

/// One attempt, sent and waiting to be recorded.
#[derive(Debug)]
pub struct Outcome {
    /// The leased delivery it was for.
    pub delivery: Delivery,
    /// When it started (ms).
    pub attempted_at: i64,
    /// HTTP status, when a response came.
    pub status_code: Option<i64>,
    /// Time to the response or the failure (ms).
    pub latency_ms: i64,
    /// Start of the response body.
    pub response: String,
    /// Transport error, when no response came.
    pub error: Option<String>,
    /// What made it happen.
    pub trigger: AttemptTrigger,
    /// Not sent: the endpoint was disabled meanwhile.
    pub skipped: bool,
}

impl Core {
    /// Queues deliveries of up to `limit` new messages for the endpoints that
    /// want them and were enabled when the message was written (not for one
    /// disabled then and enabled since the fan-out fell behind); returns how
    /// many messages were handled.
    pub async fn fan_out(&self, limit: i64) -> CoreResult<usize> {
        let now = now_ms();
        let mut tx = self.begin_bookkeeping().await?;
        let messages = store::take_unfanned(&mut tx, self.store.backend(), limit).await?;
        if messages.is_empty() {
            return Ok(0);
        }
        let endpoints = store::list_endpoints(&mut tx).await?;
        for (message_id, event_type, written_at) in &messages {
            for e in endpoints
                .iter()
                .filter(|e| !e.disabled && e.enabled_at <= *written_at && e.wants(event_type))
            {
                store::insert_delivery(
                    &mut tx,
                    &Delivery {
                        id: tessera_domain::ids::DeliveryId::generate(now)
                            .as_str()
                            .to_owned(),
                        message_id: message_id.clone(),
                        endpoint_id: e.id.clone(),
                        status: DeliveryStatus::Pending,
                        attempts: 0,
                        next_attempt_at: now,
                    },
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(messages.len())
    }

    /// How long claimed work stays leased to one server.
    fn lease_ms(&self) -> i64 {
        (self.webhooks.timeout.as_millis() as i64 * 2).max(5_000)
    }

    /// Leases due deliveries and jobs (up to `limit` of each).
    pub async fn claim_due(&self, limit: i64) -> CoreResult<(Vec<Delivery>, Vec<Job>)> {
        let now = now_ms();
        let backend = self.store.backend();
        let mut tx = self.begin_bookkeeping().await?;
        // A lease outlives any request of its holder (twice the timeout), so
        // no two servers send one delivery at once; after a crash it lapses
        // and another server, or this one restarted, takes the work over.
        let lease_ms = self.lease_ms();
        let deliveries =
            store::claim_deliveries(&mut tx, backend, now, now + lease_ms, limit).await?;
        let jobs = store::claim_jobs(&mut tx, backend, now, now + lease_ms, limit).await?;
        tx.commit().await?;
        Ok((deliveries, jobs))
    }

    /// Makes one attempt of a leased delivery; the outcome is recorded later,
    /// in a batch with others (see [`Core::record_outcomes`]).
    pub async fn send_delivery(
        &self,
        http: &reqwest::Client,
        d: Delivery,
        trigger: AttemptTrigger,
    ) -> CoreResult<Outcome> {
        let started_at = now_ms();
        let (message, endpoint, secrets) = {
            let mut conn = self.store.read().await?;
            let message = store::get_message(&mut conn, &d.message_id).await?;
            let endpoint = store::get_endpoint(&mut conn, &d.endpoint_id).await?;
            let secrets = store::signing_secrets(&mut conn, &d.endpoint_id, started_at).await?;
            (message, endpoint, secrets)
        };
        let mut outcome = Outcome {
            delivery: d,
            attempted_at: started_at,
            status_code: None,
            latency_ms: 0,
            response: String::new(),
            error: None,
            trigger,
            skipped: endpoint.disabled,
        };
        if outcome.skipped {
            // Disabled after this was queued: it waits for a recovery.
            return Ok(outcome);
        }
        let timestamp = started_at / 1000;
        let signatures = signature::header(
            secrets.iter().map(|s| s.secret.as_str()),
            &message.id,
            timestamp,
            &message.payload,
        );
        let clock = Instant::now();
        let sent = http
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("svix-id", &message.id)
            .header("svix-timestamp", timestamp.to_string())
            .header("svix-signature", signatures)
            .body(message.payload)
            .send()
            .await;
        match sent {
            Ok(mut resp) => {
                outcome.status_code = Some(i64::from(resp.status().as_u16()));
                let mut body = Vec::new();
                while body.len() < RESPONSE_EXCERPT {
                    match resp.chunk().await {
                        Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                        _ => break,
                    }
                }
                outcome.response = excerpt(&body);
            }
            Err(e) => outcome.error = Some(e.without_url().to_string()),
        }
        outcome.latency_ms = clock.elapsed().as_millis() as i64;
        Ok(outcome)
    }

    /// Records attempts in one transaction: each attempt row, each delivery's
    /// next state (done, retried at the next step of the schedule, or failed),
    /// and each endpoint's failure streak, which disables it once too long.
    pub async fn record_outcomes(&self, outcomes: Vec<Outcome>) -> CoreResult<()> {
        let now = now_ms();
        let schedule = &self.webhooks.schedule;
        let limit = self.webhooks.disable_after.as_millis() as i64;
        let mut tx = self.begin_bookkeeping().await?;
        let mut endpoints: Vec<(store::Endpoint, (Option<i64>, bool))> = Vec::new();
        for o in outcomes {
            let d = &o.delivery;
            if o.skipped {
                store::finish_delivery(
                    &mut tx,
                    &d.id,
                    DeliveryStatus::Failed,
                    d.attempts,
                    now,
                    now,
                )
                .await?;
                continue;
            }
            let ok = o.status_code.is_some_and(|c| (200..300).contains(&c));
            let attempts = d.attempts + 1;
            let (state, next) = if ok {
                (DeliveryStatus::Succeeded, now)
            } else if let Some(delay) = usize::try_from(attempts).ok().and_then(|i| schedule.get(i))
            {
                (DeliveryStatus::Pending, now + jittered(*delay))
            } else {
                (DeliveryStatus::Failed, now)
            };
            store::insert_attempt(
                &mut tx,
                &Attempt {
                    id: AttemptId::generate(now).as_str().to_owned(),
                    delivery_id: d.id.clone(),
                    message_id: d.message_id.clone(),
                    endpoint_id: d.endpoint_id.clone(),
                    attempted_at: o.attempted_at,
                    status_code: o.status_code,
                    latency_ms: o.latency_ms,
                    response: o.response,
                    error: o.error,
                    trigger_type: o.trigger,
                },
            )
            .await?;
            store::finish_delivery(&mut tx, &d.id, state, attempts, next, now).await?;
            // The endpoint's failure streak: a success ends it; long enough, it disables.
            let slot = match endpoints.iter().position(|(e, _)| e.id == d.endpoint_id) {
                Some(i) => i,
                None => {
                    let e = store::get_endpoint(&mut tx, &d.endpoint_id).await?;
                    let before = (e.failing_since, e.disabled);
                    endpoints.push((e, before));
                    endpoints.len() - 1
                }
            };
            let e = &mut endpoints[slot].0;
            if ok {
                e.failing_since = None;
            } else {
                let since = *e.failing_since.get_or_insert(o.attempted_at);
                if !e.disabled && now - since >= limit {
                    e.disabled = true;
                    e.disabled_reason = Some(format!(
                        "every delivery failed for {}",
                        humantime::format_duration(Duration::from_secs(
                            ((now - since) / 1000) as u64
                        ))
                    ));
                    tracing::warn!(endpoint = %e.id, "webhook endpoint disabled: deliveries kept failing");
                }
            }
        }
        for (mut e, before) in endpoints {
            if (e.failing_since, e.disabled) != before {
                e.updated_at = now;
                store::update_endpoint(&mut tx, &e).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sends one queued email or SMS and records the outcome.
    pub async fn run_job(&self, job: Job) -> CoreResult<()> {
        let text = |k: &str| job.payload[k].as_str().unwrap_or_default().to_owned();
        let result = match job.kind {
            JobKind::Email => {
                self.mailer
                    .send(Email {
                        to: text("to"),
                        subject: text("subject"),
                        text: text("text"),
                        html: text("html"),
                    })
                    .await
            }
            JobKind::Sms => {
                self.sms
                    .send(&text("to"), &text("body"), &text("purpose"))
                    .await
            }
        };
        let now = now_ms();
        let attempts = job.attempts + 1;
        let (state, next, error) = match &result {
            Ok(()) => (DeliveryStatus::Succeeded, now, None),
            Err(e) => {
                let retry = usize::try_from(job.attempts)
                    .ok()
                    .and_then(|i| JOB_RETRIES.get(i));
                tracing::error!(job = %job.id, kind = %job.kind, "queued send failed: {e}");
                match retry {
                    Some(secs) => (
                        DeliveryStatus::Pending,
                        now + jittered(Duration::from_secs(*secs)),
                        Some(e.to_string()),
                    ),
                    None => (DeliveryStatus::Failed, now, Some(e.to_string())),
                }
            }
        };
        let mut tx = self.begin_bookkeeping().await?;
        store::finish_job(
            &mut tx,
            &job.id,
            state,
            attempts,
            next,
            error.as_deref(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues an email (announced with `email.created`) and sends it now.
    pub async fn queue_email(&self, email: Email, slug: &str) -> CoreResult<()> {
        let now = now_ms();
        let id = tessera_domain::ids::EmailMessageId::generate(now);
        let data = json!({
            "object": "email",
            "id": id.as_str(),
            "slug": slug,
            "from_email_name": "",
            "to_email_address": email.to,
            "email_address_id": null,
            "user_id": null,
            "subject": email.subject,
            "body": email.html,
            "body_plain": email.text,
            "status": "queued",
            "data": {},
            "delivered_by_clerk": true,
        });
        let payload = json!({
            "to": email.to, "subject": email.subject, "text": email.text, "html": email.html,
        });
        self.queue_and_send(JobKind::Email, payload, data).await
    }

    /// Queues an SMS (announced with `sms.created`) and sends it now.
    pub async fn queue_sms(&self, to: &str, body: &str, slug: &str) -> CoreResult<()> {
        let now = now_ms();
        let id = tessera_domain::ids::SmsMessageId::generate(now);
        let data = json!({
            "object": "sms_message",
            "id": id.as_str(),
            "slug": slug,
            "from_phone_number": "",
            "to_phone_number": to,
            "phone_number_id": null,
            "user_id": null,
            "message": body,
            "status": "queued",
            "data": {},
            "delivered_by_clerk": true,
        });
        let payload = json!({ "to": to, "body": body, "purpose": slug });
        self.queue_and_send(JobKind::Sms, payload, data).await
    }

    /// Queues a job with its `<kind>.created` event in one transaction, then
    /// sends it at once: this server holds the job's lease, so no dispatcher
    /// takes it meanwhile; if the send fails or the server dies, the
    /// dispatcher retries once the lease lapses.
    async fn queue_and_send(&self, kind: JobKind, payload: Value, data: Value) -> CoreResult<()> {
        let now = now_ms();
        let job = Job {
            id: JobId::generate(now).as_str().to_owned(),
            kind,
            payload,
            status: DeliveryStatus::Pending,
            attempts: 0,
        };
        // Emits `email.created` / `sms.created`: a unit of work that wakes the dispatcher.
        let mut tx = self.begin().await?;
        store::insert_job(
            &mut tx,
            &job.id,
            job.kind,
            &job.payload,
            now,
            now + self.lease_ms(),
        )
        .await?;
        self.emit(&mut tx, &format!("{kind}.created"), data, None)
            .await?;
        tx.commit().await?;
        self.run_job(job).await
    }

    /// Drops messages past the retention, finished jobs older than a day,
    /// redeemed-or-expired handshakes and old rate-limit windows.
    pub async fn purge_outbox(&self) -> CoreResult<()> {
        let now = now_ms();
        let retention = self.webhooks.retention.as_millis() as i64;
        let mut tx = self.begin_bookkeeping().await?;
        store::purge_messages(&mut tx, now - retention).await?;
        store::purge_jobs(&mut tx, now - 24 * 3600 * 1000).await?;
        tessera_store::handshakes::purge(&mut tx, now).await?;
        tessera_store::rate_limits::purge(&mut tx, now - 3600 * 1000).await?;
        tx.commit().await?;
        Ok(())
    }
}
