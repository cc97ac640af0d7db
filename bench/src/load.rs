//! Load shapes and figures: raw operations on OS threads, closed-loop and
//! open-loop HTTP load, percentiles, the load average and the result table.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{FutureExt, LocalBoxFuture};
use tokio::task::JoinSet;

/// Unmeasured time before every measured phase (connections, caches, pool fill).
pub const WARMUP: Duration = Duration::from_secs(2);
/// Unmeasured time before later rounds of an alternating measurement.
pub const SETTLE: Duration = Duration::from_millis(300);

/// The value at percentile `p` (0–100) of sorted samples (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Throughput and latencies of one measured phase.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Operations completed in the window.
    pub ops: usize,
    /// The window.
    pub elapsed: Duration,
    /// Latency of each operation, sorted (empty for raw runs).
    pub latencies: Vec<Duration>,
}

impl Measured {
    pub fn new(ops: usize, elapsed: Duration, mut latencies: Vec<Duration>) -> Self {
        latencies.sort();
        Self {
            ops,
            elapsed,
            latencies,
        }
    }

    /// The phases together: their operations, windows and latencies summed.
    pub fn combine(parts: Vec<Measured>) -> Self {
        let ops = parts.iter().map(|m| m.ops).sum();
        let elapsed = parts.iter().map(|m| m.elapsed).sum();
        let latencies = parts.into_iter().flat_map(|m| m.latencies).collect();
        Self::new(ops, elapsed, latencies)
    }

    /// Operations per second.
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Latency at percentile `p`, in ms.
    pub fn p(&self, p: f64) -> f64 {
        ms(percentile(&self.latencies, p))
    }

    /// The slowest operation, in ms.
    pub fn max(&self) -> f64 {
        self.latencies.last().copied().map_or(0.0, ms)
    }
}

/// Runs `op` in a loop on `threads` OS threads for `duration` (after `warmup`)
/// and counts completions: the raw cost of a CPU-bound operation.
pub async fn raw_threads<F>(
    threads: usize,
    warmup: Duration,
    duration: Duration,
    op: F,
) -> anyhow::Result<Measured>
where
    F: Fn() -> anyhow::Result<()> + Send + Sync + 'static,
{
    tokio::task::spawn_blocking(move || {
        let start = Instant::now() + warmup;
        let end = start + duration;
        let counts = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads.max(1))
                .map(|_| {
                    scope.spawn(|| -> anyhow::Result<usize> {
                        let mut done = 0;
                        loop {
                            op()?;
                            let now = Instant::now();
                            if now >= end {
                                return Ok(done);
                            }
                            if now >= start {
                                done += 1;
                            }
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("panicked")))
                })
                .collect::<anyhow::Result<Vec<usize>>>()
        })?;
        Ok(Measured::new(counts.iter().sum(), duration, Vec::new()))
    })
    .await?
}

/// One measured phase of an alternating measurement: `phase(warmup, slice)`
/// runs one slice.
pub type Phase<'a> =
    Box<dyn FnMut(Duration, Duration) -> LocalBoxFuture<'a, anyhow::Result<Measured>> + 'a>;

/// Measures `phases` in `rounds` rounds of slices of `duration / rounds` each
/// (the first phase, the second, …, then again), so that a change in the
/// machine's speed (other tenants, other processes) touches every phase alike.
/// The first round gets the full warm-up. Returns each phase's slices added up.
pub async fn alternate_all(
    rounds: u32,
    duration: Duration,
    mut phases: Vec<Phase<'_>>,
) -> anyhow::Result<Vec<Measured>> {
    let rounds = rounds.max(1);
    let slice = duration / rounds;
    let mut slices: Vec<Vec<Measured>> = phases.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        let warmup = if round == 0 { WARMUP } else { SETTLE };
        for (phase, measured) in phases.iter_mut().zip(&mut slices) {
            measured.push(phase(warmup, slice).await?);
        }
    }
    Ok(slices.into_iter().map(Measured::combine).collect())
}

/// [`alternate_all`] for a raw operation and an endpoint.
pub async fn alternate<'a, R, RF, E, EF>(
    rounds: u32,
    duration: Duration,
    mut raw: R,
    mut endpoint: E,
) -> anyhow::Result<(Measured, Measured)>
where
    R: FnMut(Duration, Duration) -> RF + 'a,
    RF: Future<Output = anyhow::Result<Measured>> + 'a,
    E: FnMut(Duration, Duration) -> EF + 'a,
    EF: Future<Output = anyhow::Result<Measured>> + 'a,
{
    let phases: Vec<Phase<'a>> = vec![
        Box::new(move |w, d| raw(w, d).boxed_local()),
        Box::new(move |w, d| endpoint(w, d).boxed_local()),
    ];
    let mut measured = alternate_all(rounds, duration, phases).await?.into_iter();
    match (measured.next(), measured.next()) {
        (Some(raw), Some(endpoint)) => Ok((raw, endpoint)),
        _ => anyhow::bail!("an alternating measurement lost a phase"),
    }
}

/// `SCHED_BATCH` at nice 0 for the calling thread (and the threads it starts):
/// a woken thread then waits for the end of the running thread's time slice
/// instead of preempting it.
pub fn schedule_as_batch() {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    use thread_priority::{ThreadPriority, ThreadPriorityOsValue};
    let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
    let nice = ThreadPriority::Os(ThreadPriorityOsValue::default());
    if let Err(e) = set_thread_priority_and_policy(thread_native_id(), nice, policy) {
        eprintln!("generator threads stay at the normal policy: {e:?}");
    }
}

/// Runs `job` on a new OS thread scheduled as `SCHED_BATCH`, on a runtime of
/// its own: a load generator that takes its share of the cores without
/// preempting the server in the middle of a request, as a generator on
/// another machine would not.
pub async fn on_batch_thread<F, Fut, T>(job: F) -> anyhow::Result<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<T>>,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-batch".to_owned())
        .spawn(move || {
            schedule_as_batch();
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|runtime| runtime.block_on(job()));
            let _ = tx.send(result);
        })?;
    rx.await
        .map_err(|_| anyhow::anyhow!("the generator thread panicked"))?
}

/// `concurrency` workers each send one request after the other for `duration`
/// (after `warmup`); `op(worker, n)` is one request. Counts the requests that
/// complete in the window, with their latencies.
pub async fn closed_loop<F, Fut>(
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    op: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now() + warmup;
    let end = start + duration;
    let mut workers = JoinSet::new();
    for worker in 0..concurrency.max(1) {
        let op = op.clone();
        workers.spawn(async move {
            let mut times = Vec::new();
            for n in 0.. {
                let t = Instant::now();
                if t >= end {
                    break;
                }
                op(worker, n).await?;
                let done = Instant::now();
                if done >= start && done <= end {
                    times.push(done - t);
                }
            }
            anyhow::Ok(times)
        });
    }
    let mut all = Vec::new();
    while let Some(times) = workers.join_next().await {
        all.extend(times??);
    }
    Ok(Measured::new(all.len(), duration, all))
}

/// Starts `op(n)` at a fixed `rate` per second for `duration`, whatever the
/// answers take; each latency counts from the request's scheduled start, so a
/// stalled server or generator shows up in the figures.
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, op: F) -> anyhow::Result<Measured>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Ok(open_loop_timed(rate, duration, op).await?.from_schedule)
}

/// Latencies of one open-loop run, counted two ways.
pub struct OpenLoop {
    /// From each request's scheduled start (timer granularity and generator
    /// stalls included).
    pub from_schedule: Measured,
    /// From the moment each request really started (the server's share).
    pub from_send: Measured,
    /// How late requests started against their schedule.
    pub lag: Measured,
}

/// [`open_loop`], with the latency also counted from each request's real start
/// and the generator's lag against its schedule.
pub async fn open_loop_timed<F, Fut>(
    rate: f64,
    duration: Duration,
    op: F,
) -> anyhow::Result<OpenLoop>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = tokio::time::Instant::now();
    let total = (duration.as_secs_f64() * rate).round() as usize;
    let mut requests = JoinSet::new();
    for n in 0..total {
        let due = start + period.mul_f64(n as f64);
        tokio::time::sleep_until(due).await;
        let fut = op(n);
        requests.spawn(async move {
            let sent = tokio::time::Instant::now();
            fut.await?;
            anyhow::Ok((due.elapsed(), sent.elapsed(), sent - due))
        });
    }
    let (mut scheduled, mut sent, mut lag) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    while let Some(times) = requests.join_next().await {
        let (s, t, l) = times??;
        scheduled.push(s);
        sent.push(t);
        lag.push(l);
    }
    let elapsed = start.elapsed();
    Ok(OpenLoop {
        from_schedule: Measured::new(scheduled.len(), elapsed, scheduled),
        from_send: Measured::new(sent.len(), elapsed, sent),
        lag: Measured::new(lag.len(), elapsed, lag),
    })
}

/// The 1-, 5- and 15-minute load averages, as the kernel reports them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// One row of the result table.
pub struct Row {
    /// What was measured.
    pub name: String,
    /// The raw operation's rate, if compared with one.
    pub raw: Option<f64>,
    /// The endpoint's figures.
    pub endpoint: Measured,
    /// The goal, in words.
    pub goal: String,
}

/// Prints the result table.
pub fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<40} {:>10} {:>12} {:>7} {:>9} {:>9} {:>9}  goal",
        "scenario", "raw ops/s", "endpoint/s", "ratio", "p50 ms", "p99 ms", "max ms"
    );
    for row in rows {
        let raw = row
            .raw
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.0}"));
        let ratio = row.raw.map_or_else(
            || "-".to_owned(),
            |r| format!("{:.3}", row.endpoint.rate() / r),
        );
        let e = &row.endpoint;
        let (p50, p99, max) = if e.latencies.is_empty() {
            ("-".to_owned(), "-".to_owned(), "-".to_owned())
        } else {
            (
                format!("{:.2}", e.p(50.0)),
                format!("{:.2}", e.p(99.0)),
                format!("{:.2}", e.max()),
            )
        };
        println!(
            "{:<40} {:>10} {:>12.1} {:>7} {:>9} {:>9} {:>9}  {}",
            row.name,
            raw,
            e.rate(),
            ratio,
            p50,
            p99,
            max,
            row.goal
        );
    }
    println!("load average now: {}", load_average());
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[tokio::test]
    async fn phases_alternate_and_their_slices_add_up() {
        let order = RefCell::new(Vec::new());
        let phases: Vec<Phase<'_>> = (0..3)
            .map(|phase| -> Phase<'_> {
                let order = &order;
                Box::new(move |warmup, slice| {
                    order.borrow_mut().push((phase, warmup));
                    async move { Ok(Measured::new(phase + 1, slice, Vec::new())) }.boxed_local()
                })
            })
            .collect();
        let measured = alternate_all(2, Duration::from_secs(4), phases)
            .await
            .unwrap();
        let phases: Vec<usize> = order.borrow().iter().map(|(p, _)| *p).collect();
        assert_eq!(phases, [0, 1, 2, 0, 1, 2]);
        assert!(order.borrow()[..3].iter().all(|(_, w)| *w == WARMUP));
        assert!(order.borrow()[3..].iter().all(|(_, w)| *w == SETTLE));
        let ops: Vec<usize> = measured.iter().map(|m| m.ops).collect();
        assert_eq!(ops, [2, 4, 6]);
        assert!(measured.iter().all(|m| m.elapsed == Duration::from_secs(4)));
    }

    #[tokio::test]
    async fn a_batch_thread_runs_its_own_runtime() {
        let answer = on_batch_thread(|| async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            anyhow::Ok(std::thread::current().name().map(str::to_owned))
        })
        .await
        .unwrap();
        assert_eq!(answer.as_deref(), Some("bench-batch"));
    }
}
