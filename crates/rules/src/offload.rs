//! Slow evaluations leave the async worker (issue 12 §1).
//!
//! Most rules take microseconds and run where they are called: handing them to another thread
//! would cost more than they do. A script whose last evaluation took [`SLOW_AFTER`] or more is
//! *slow*: its next evaluations run under [`tokio::task::block_in_place`], which hands the
//! worker's other tasks to a fresh worker thread, so the server keeps answering while the rule
//! runs, and at most [`pool_size`] slow evaluations run at once (the bounded pool; the others
//! wait their turn in arrival order, charged nothing for the wait). This is possible only on a
//! multi-threaded tokio runtime, where the server's services run; elsewhere (a single-threaded
//! test runtime, a plain thread) the evaluation runs in place as before.
//!
//! The pool is a rayon thread pool: [`rayon::ThreadPool::install`] runs a borrowing closure
//! on a pool thread and blocks the caller until it returns, which is exactly "evaluate this,
//! elsewhere, while I wait", and its queue keeps the order of arrival. On Linux the pool's
//! threads run at nice 10: tenant rules yield the CPU to request handling, so on a busy
//! machine the rules wait, not the other tenants' reads and writes.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::{Handle, RuntimeFlavor};

/// An evaluation that took at least this long marks its script slow.
pub const SLOW_AFTER: Duration = Duration::from_millis(1);

/// The nice value of the pool's threads (Linux): below request handling (0).
pub const POOL_NICE: i32 = 10;

/// How many slow evaluations may run at once: one core is always left to everything else
/// (at least one evaluation runs, on a one-core machine too).
pub fn pool_size() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .saturating_sub(1)
        .max(1)
}

fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // `None`: the calling thread (Linux keeps the nice value per thread).
        if let Err(e) = rustix::process::setpriority_process(None, POOL_NICE) {
            tracing::debug!(error = %e, "rule pool thread keeps its priority");
        }
    }
}

fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(pool_size())
            .thread_name(|i| format!("weft-rules-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .ok()
    })
    .as_ref()
}

/// Whether this thread belongs to a multi-threaded tokio runtime (where `block_in_place` may
/// be called).
fn may_leave() -> bool {
    Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
}

/// Run `f` (a slow evaluation) off the async worker, in the bounded pool, when possible;
/// in place otherwise.
pub(crate) fn run_slow<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if !may_leave() {
        return f();
    }
    tokio::task::block_in_place(|| match pool() {
        Some(p) => p.install(f),
        None => f(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// On a multi-threaded runtime, slow work does not hold the worker: a task spawned next to
    /// it runs while it is still going; and no more than `pool_size()` run at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_work_leaves_the_worker_and_is_bounded() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut hogs = vec![];
        for _ in 0..4 {
            let (running, peak) = (running.clone(), peak.clone());
            hogs.push(tokio::spawn(async move {
                run_slow(|| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(150));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            }));
        }
        let started = std::time::Instant::now();
        let quick = tokio::spawn(async { 1 }).await.unwrap_or(0);
        assert_eq!(quick, 1);
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "a quick task waited {:?} behind slow evaluations",
            started.elapsed()
        );
        for h in hogs {
            assert!(h.await.is_ok());
        }
        assert!(peak.load(Ordering::SeqCst) <= pool_size());
    }

    /// On Linux the pool's threads run below request handling.
    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_runs_at_a_lower_priority() {
        let here = rustix::process::getpriority_process(None).unwrap_or(0);
        let there = run_slow(|| rustix::process::getpriority_process(None).unwrap_or(0));
        assert_eq!(
            there,
            POOL_NICE.max(here),
            "pool thread nice {there}, caller {here}"
        );
    }

    #[tokio::test]
    async fn runs_in_place_on_a_single_threaded_runtime() {
        assert_eq!(run_slow(|| 7), 7);
    }
}
