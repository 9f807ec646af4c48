//! The one sandboxed rhai engine.
//!
//! Built from `Engine::new_raw()` (no packages, no module resolver, no print sink) plus the
//! packages a rule needs; never `Engine::new()`, which is not a sandbox (security.md §3.1).
//! Not included, on purpose: the language-core package (`sleep`, `exit`, `parse_json`,
//! `Fn`/`call`/`curry`), the time package (`timestamp`: clocks come only from `today()` and
//! `now()`, which read the evaluation context), blobs, bit fields and iterators.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicMapPackage, BasicMathPackage, BasicStringPackage,
    LogicPackage, MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, OptimizationLevel, Shared};

use crate::limits::Limits;

/// Keywords and functions a rule may not use. The engine disables the keywords; the
/// compiler reports all of them with the stable code `forbidden` before rhai sees the source.
pub(crate) const FORBIDDEN: &[&str] = &[
    "eval",
    "import",
    "export",
    "fn",
    "private",
    "Fn",
    "call",
    "curry",
    "is_def_fn",
    "is_def_var",
    "is_shared",
    "print",
    "debug",
    "sleep",
    "exit",
    "timestamp",
    "parse_json",
    "throw",
    "try",
    "catch",
    "while",
    "loop",
    "for",
    "do",
    "this",
    "global",
];

/// The token `on_progress` returns when the wall-clock budget is spent.
pub(crate) const TIMEOUT_TOKEN: &str = "weft:timeout";
/// The token `on_progress` returns when the write's shared [`crate::Budget`] is spent.
pub(crate) const BUDGET_TOKEN: &str = "weft:budget";

/// The clock is read every this many operations: cheap, yet no single operation is slow
/// enough (all sizes are capped) for 16 of them to overshoot the budget noticeably.
const CLOCK_EVERY: u64 = 16;

thread_local! {
    /// When the evaluation running on this thread reached its first clock check.
    static RUN_STARTED: Cell<Option<Instant>> = const { Cell::new(None) };
    /// What is left of the write's shared budget when the evaluation running on this thread
    /// began (`None`: no shared budget). Set and cleared around each run by the evaluator.
    pub(crate) static BUDGET_LEFT: Cell<Option<Duration>> = const { Cell::new(None) };
}

fn packages() -> &'static [Shared<rhai::Module>] {
    static PACKAGES: OnceLock<Vec<Shared<rhai::Module>>> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        vec![
            ArithmeticPackage::new().as_shared_module(),
            LogicPackage::new().as_shared_module(),
            BasicStringPackage::new().as_shared_module(),
            MoreStringPackage::new().as_shared_module(),
            BasicArrayPackage::new().as_shared_module(),
            BasicMapPackage::new().as_shared_module(),
            BasicMathPackage::new().as_shared_module(),
        ]
    })
}

/// THE engine constructor: every limit set, every dangerous symbol off.
///
/// The wall-clock budget is per evaluation: the progress callback notes the time at the
/// 16th operation of each run (rhai restarts its operation count at every `eval_*` call)
/// and terminates the run once `limits.timeout` (at most 250 ms) has passed since, or earlier
/// when what is left of the write's shared [`crate::Budget`] is less. Never enable
/// rhai's `unchecked` or `internals` features: they remove these guards.
pub fn engine(limits: &Limits) -> Engine {
    let l = limits.clamped();
    let mut e = Engine::new_raw();
    for p in packages() {
        e.register_global_module(p.clone());
    }
    crate::datetime::register(&mut e);
    crate::functions::register(&mut e);

    e.set_max_operations(l.max_operations)
        .set_max_expr_depths(l.max_expr_depth, l.max_fn_expr_depth)
        .set_max_call_levels(l.max_call_levels)
        .set_max_string_size(l.max_string_size)
        .set_max_array_size(l.max_array_size)
        .set_max_map_size(l.max_map_size)
        .set_max_variables(l.max_variables)
        .set_max_functions(l.max_functions)
        .set_strict_variables(true)
        .set_allow_looping(false)
        .set_allow_shadowing(true)
        .set_fail_on_invalid_map_property(true)
        .set_optimization_level(OptimizationLevel::Simple);
    for s in FORBIDDEN {
        e.disable_symbol(*s);
    }

    let timeout = l.timeout;
    e.on_progress(move |ops| {
        if ops % CLOCK_EVERY != 0 {
            return None;
        }
        // The clock starts at the first check, so a short rule never reads it at all; the
        // operations before it are too few to matter.
        if ops == CLOCK_EVERY {
            RUN_STARTED.with(|s| s.set(Some(Instant::now())));
            return None;
        }
        let started = RUN_STARTED.with(Cell::get)?;
        let elapsed = started.elapsed();
        // Whichever ends first: this evaluation's own limit or the write's shared budget.
        match BUDGET_LEFT.with(Cell::get) {
            Some(left) if left < timeout && elapsed > left => Some(Dynamic::from(BUDGET_TOKEN)),
            _ => (elapsed > timeout).then(|| Dynamic::from(TIMEOUT_TOKEN)),
        }
    });
    e
}

/// Names of every function callable from a script, to reject typos when a rule is saved.
pub(crate) fn function_names(e: &Engine) -> HashSet<String> {
    e.gen_fn_signatures(true)
        .iter()
        .filter_map(|sig| sig.split_once('(').map(|(name, _)| name.trim().to_string()))
        .filter(|name| !name.is_empty() && !name.contains('$'))
        .filter(|name| !FORBIDDEN.contains(&name.as_str()))
        .chain(["type_of".to_string()])
        .collect()
}

/// An engine with its limits and function table: build one per limit profile and share it
/// (it is `Send + Sync`); [`Sandbox::shared`] is the default profile.
pub struct Sandbox {
    engine: Engine,
    limits: Limits,
    function_names: HashSet<String>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    pub fn new(limits: Limits) -> Self {
        let engine = engine(&limits);
        let function_names = function_names(&engine);
        Self {
            engine,
            limits,
            function_names,
        }
    }

    /// The process-wide sandbox with [`Limits::default`].
    pub fn shared() -> &'static Sandbox {
        static SHARED: OnceLock<Sandbox> = OnceLock::new();
        SHARED.get_or_init(|| Sandbox::new(Limits::default()))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn function_names(&self) -> &HashSet<String> {
        &self.function_names
    }
}
