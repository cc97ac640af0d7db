//! `tessera-bench orgs`: one organization with N members (created through the
//! Backend API), then the member lists timed one request after the other,
//! and session tokens with an active organization (as admin, and with a role
//! of 50 custom permissions) against tokens without.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::load::percentile;
use crate::server::{self, BenchServer, ServerArgs};

/// Benchmark organizations through the Backend API.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Members of the organization.
    #[arg(long, default_value_t = 10_000)]
    pub members: usize,
    /// Concurrent requests while creating.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Requests per read scenario.
    #[arg(long, default_value_t = 300)]
    pub samples: usize,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// A member-list scenario: its name and the query string for sample `k`.
type ListScenario = (&'static str, Box<dyn Fn(usize) -> String>);

fn p(times: &[Duration], q: f64) -> f64 {
    percentile(times, q).as_secs_f64() * 1e3
}

fn report(name: &str, mut times: Vec<Duration>) -> f64 {
    times.sort();
    println!(
        "{name:<52} n={:<6} p50={:>8.2} ms  p99={:>8.2} ms",
        times.len(),
        p(&times, 50.0),
        p(&times, 99.0),
    );
    p(&times, 50.0)
}

async fn timed_get(
    http: &reqwest::Client,
    server: &BenchServer,
    path: &str,
) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let resp = http
        .get(format!("{}/{path}", server.base))
        .bearer_auth(&server.secret)
        .send()
        .await?;
    let status = resp.status();
    let _: Value = resp.json().await?;
    if !status.is_success() {
        bail!("GET {path}: {status}");
    }
    Ok(t.elapsed())
}

/// The claims of a JWT (its payload, not verified).
fn claims(jwt: &str) -> anyhow::Result<Value> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).context("a JWT has three parts")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// Runs the scenario.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let server = BenchServer::start(&args.server).await?;
    let http = server::http_client()?;
    println!(
        "backend: {}  members: {}  concurrency: {}",
        server.backend, args.members, args.concurrency
    );
    let admin = server
        .bapi_post(
            &http,
            "users",
            &json!({"email_address": ["admin@bench.example.com"], "skip_password_requirement": true}),
        )
        .await?;
    let admin_id = admin["id"].as_str().context("admin id")?.to_owned();
    let org = server
        .bapi_post(
            &http,
            "organizations",
            &json!({"name": "Bench", "created_by": admin_id, "max_allowed_memberships": 0}),
        )
        .await?;
    let org_id = org["id"].as_str().context("org id")?.to_owned();

    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = stream::iter(0..args.members.saturating_sub(1))
        .map(|i| {
            let (http, server, org_id) = (http.clone(), &server, org_id.clone());
            async move {
                let user = server
                    .bapi_post(
                        &http,
                        "users",
                        &json!({
                            "email_address": [format!("member{i}@bench.example.com")],
                            "first_name": format!("Member{i}"),
                            "skip_password_requirement": true,
                        }),
                    )
                    .await?;
                let role = if i % 50 == 0 {
                    "org:admin"
                } else {
                    "org:member"
                };
                server
                    .bapi_post(
                        &http,
                        &format!("organizations/{org_id}/memberships"),
                        &json!({"user_id": user["id"], "role": role}),
                    )
                    .await?;
                Ok(())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    println!(
        "added {} members in {:.1} s",
        args.members,
        started.elapsed().as_secs_f64()
    );

    let n = args.members.max(1);
    let lists: Vec<ListScenario> = vec![
        (
            "GET …/memberships?limit=10 (first page)",
            Box::new(|_| "limit=10".to_owned()),
        ),
        (
            "GET …/memberships?limit=100&offset=k (deep pages)",
            Box::new(move |k| {
                format!(
                    "limit=100&offset={}",
                    (k * 7919) % n.saturating_sub(100).max(1)
                )
            }),
        ),
        (
            "GET …/memberships?role=org:admin",
            Box::new(|_| "role=org:admin&limit=100".to_owned()),
        ),
        (
            "GET …/memberships?query=… (substring)",
            Box::new(move |k| format!("query=member{}%40&limit=10", (k * 53) % n)),
        ),
        (
            "GET …/memberships?order_by=first_name&limit=10",
            Box::new(|_| "order_by=first_name&limit=10".to_owned()),
        ),
    ];
    for (name, query) in lists {
        let mut times = Vec::with_capacity(args.samples);
        for k in 0..args.samples {
            let path = format!("organizations/{org_id}/memberships?{}", query(k));
            times.push(timed_get(&http, &server, &path).await?);
        }
        report(name, times);
    }
    let mut times = Vec::with_capacity(args.samples);
    for _ in 0..args.samples {
        let path = format!("organizations/{org_id}?include_members_count=true");
        times.push(timed_get(&http, &server, &path).await?);
    }
    report("GET /organizations/{id}?include_members_count", times);

    // A role granting 50 custom permissions (10 features x 5 actions), given
    // to one more member.
    let mut permission_ids = Vec::with_capacity(50);
    for feature in 0..10 {
        for action in ["read", "create", "update", "delete", "export"] {
            let p = server
                .bapi_post(
                    &http,
                    "organization_permissions",
                    &json!({"name": format!("f{feature} {action}"), "key": format!("org:feature{feature}:{action}")}),
                )
                .await?;
            permission_ids.push(p["id"].clone());
        }
    }
    server
        .bapi_post(
            &http,
            "organization_roles",
            &json!({"name": "Fifty", "key": "org:fifty", "permissions": permission_ids,
                    "include_in_initial_role_set": true}),
        )
        .await?;
    let fifty = server
        .bapi_post(
            &http,
            "users",
            &json!({"email_address": ["fifty@bench.example.com"], "skip_password_requirement": true}),
        )
        .await?;
    server
        .bapi_post(
            &http,
            &format!("organizations/{org_id}/memberships"),
            &json!({"user_id": fifty["id"], "role": "org:fifty"}),
        )
        .await?;

    // Tokens with the organization active (as admin, and with 50 custom
    // permissions) against tokens without, alternated.
    let mut sessions = Vec::new();
    for body in [
        json!({"user_id": admin_id, "active_organization_id": org_id}),
        json!({"user_id": fifty["id"], "active_organization_id": org_id}),
        json!({"user_id": admin_id}),
    ] {
        let session = server.bapi_post(&http, "sessions", &body).await?;
        sessions.push(session["id"].as_str().context("sid")?.to_owned());
    }
    let mut times = vec![Vec::new(), Vec::new(), Vec::new()];
    let mut fifty_claims = Value::Null;
    for k in 0..args.samples * 3 {
        let which = k % 3;
        let sid = &sessions[which];
        let t = Instant::now();
        let token = server
            .bapi_post(&http, &format!("sessions/{sid}/tokens"), &json!({}))
            .await?;
        times[which].push(t.elapsed());
        let Some(jwt) = token["jwt"].as_str() else {
            bail!("no token: {token}");
        };
        if which == 1 {
            fifty_claims = claims(jwt)?;
        }
    }
    let [t_org, t_fifty, t_plain] =
        <[Vec<Duration>; 3]>::try_from(times).map_err(|_| anyhow::anyhow!("three scenarios"))?;
    let a = report("POST /sessions/{id}/tokens, organization active", t_org);
    let f = report(
        "POST /sessions/{id}/tokens, active org, 50 custom perms",
        t_fifty,
    );
    let b = report("POST /sessions/{id}/tokens, personal account", t_plain);
    println!("token p50 ratio (organization / personal): {:.3}", a / b);
    println!(
        "token p50 ratio (50 custom permissions / personal): {:.3}",
        f / b
    );
    println!(
        "claims with 50 custom permissions: fea={} per={} fpm={}",
        fifty_claims["fea"], fifty_claims["o"]["per"], fifty_claims["o"]["fpm"]
    );
    server.stop().await
}
