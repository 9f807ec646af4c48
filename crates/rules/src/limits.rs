//! Every limit the sandbox enforces, in one place.

use std::time::Duration;

/// No evaluation may run longer than this, whatever a caller configures.
pub const HARD_MAX_TIMEOUT: Duration = Duration::from_millis(250);
/// Scripts longer than this are rejected when saved (bytes of UTF-8).
pub const MAX_SOURCE_LEN: usize = 16 * 1024;
/// The largest string any helper will build, whatever the configured limit.
pub(crate) const HARD_MAX_STRING: usize = 1024 * 1024;

/// Limits for one sandboxed engine. [`Limits::default`] is the profile for conditions,
/// validations, formulas and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget of one evaluation; clamped to [`HARD_MAX_TIMEOUT`].
    pub timeout: Duration,
    /// Operations (roughly: expression nodes evaluated) per evaluation.
    pub max_operations: u64,
    /// Nesting depth of expressions at the top level.
    pub max_expr_depth: usize,
    /// Nesting depth of expressions inside closures.
    pub max_fn_expr_depth: usize,
    /// Nested calls (closures calling helpers calling closures…).
    pub max_call_levels: usize,
    /// Characters in one string.
    pub max_string_size: usize,
    /// Elements in one array.
    pub max_array_size: usize,
    /// Entries in one object map.
    pub max_map_size: usize,
    /// Variables alive at once.
    pub max_variables: usize,
    /// Closures defined by one script.
    pub max_functions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(50),
            max_operations: 100_000,
            max_expr_depth: 64,
            max_fn_expr_depth: 32,
            max_call_levels: 16,
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 1_000,
            max_variables: 256,
            max_functions: 16,
        }
    }
}

impl Limits {
    /// The timeout actually enforced.
    pub fn effective_timeout(&self) -> Duration {
        self.timeout.min(HARD_MAX_TIMEOUT)
    }

    /// Limits with every size clamped to what the sandbox can guarantee; zero means "as
    /// small as possible", never "unlimited" (rhai reads 0 as unlimited for some limits).
    pub(crate) fn clamped(&self) -> Self {
        Self {
            timeout: self.effective_timeout(),
            max_operations: self.max_operations.clamp(1, 10_000_000),
            max_expr_depth: self.max_expr_depth.clamp(1, 64),
            max_fn_expr_depth: self.max_fn_expr_depth.clamp(1, 32),
            max_call_levels: self.max_call_levels.clamp(1, 32),
            max_string_size: self.max_string_size.clamp(1, HARD_MAX_STRING),
            max_array_size: self.max_array_size.clamp(1, 100_000),
            max_map_size: self.max_map_size.clamp(1, 10_000),
            max_variables: self.max_variables.clamp(1, 1_024),
            max_functions: self.max_functions.min(64),
        }
    }
}
