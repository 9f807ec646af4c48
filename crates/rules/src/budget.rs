//! A CPU budget shared by every evaluation of one write (issue 12).
//!
//! The per-evaluation limit ([`crate::Limits::timeout`]) bounds one script; it does not bound
//! a write that runs many of them (ten 15 ms validations over a bulk of 100 records hold a
//! worker for 15 s). A [`Budget`] is created once per write (the runtime keeps one in each
//! transaction) and handed to every evaluation of that write: each draws the time it took
//! from the budget, and a run is stopped as soon as the budget is spent, whichever limit comes
//! first. A spent budget refuses further evaluations at once with the code `budget`.
//!
//! Time is wall-clock time spent inside evaluations (converting the inputs and running the
//! script), not the write's total: waiting for the database is not charged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

thread_local! {
    static AMBIENT: std::cell::RefCell<Option<Budget>> = const { std::cell::RefCell::new(None) };
}

/// Remaining evaluation time of one write, shared by clones (`Arc`), `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Budget(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    total: Duration,
    /// Microseconds left.
    left_us: AtomicU64,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Budget {
    /// A budget of `total` evaluation time.
    pub fn new(total: Duration) -> Self {
        Self(Arc::new(Inner {
            total,
            left_us: AtomicU64::new(micros(total)),
        }))
    }

    /// A budget that no write of the platform can spend (roughly 584 000 years): for code
    /// that is bounded otherwise, such as a dry run over one record.
    pub fn unlimited() -> Self {
        Self::new(Duration::from_micros(u64::MAX))
    }

    /// What the budget started with.
    pub fn total(&self) -> Duration {
        self.0.total
    }

    /// What is left.
    pub fn remaining(&self) -> Duration {
        Duration::from_micros(self.0.left_us.load(Ordering::Relaxed))
    }

    pub fn is_spent(&self) -> bool {
        self.0.left_us.load(Ordering::Relaxed) == 0
    }

    /// Draw the time an evaluation took (saturating at zero).
    pub(crate) fn charge(&self, took: Duration) {
        let took = micros(took);
        // `fetch_update` with a closure that always returns `Some` cannot fail.
        let _ = self
            .0
            .left_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_sub(took))
            });
    }

    /// Run `f` with this budget as the thread's ambient budget: evaluations made through
    /// [`crate::Sandbox::eval_bool_ambient`] inside `f` draw from it. For engines that call
    /// conditions through an interface of their own (the flow engine) and cannot pass the
    /// budget along. `f` must not await: the budget belongs to this thread until it returns.
    pub fn within<T>(&self, f: impl FnOnce() -> T) -> T {
        let prev = AMBIENT.with(|a| a.replace(Some(self.clone())));
        let out = f();
        AMBIENT.with(|a| *a.borrow_mut() = prev);
        out
    }

    /// The ambient budget of this thread, if any (see [`Budget::within`]).
    pub(crate) fn ambient() -> Option<Self> {
        AMBIENT.with(|a| a.borrow().clone())
    }

    /// Time `f` and charge it.
    pub(crate) fn measure<T>(&self, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        self.charge(started.elapsed());
        out
    }
}
