//! The automation (rules, runs, schedules, dry runs) service's own failure kinds (see [`crate::error`]).

use super::ports::RunStatus;
use crate::Error;
use crate::error::{Class, ErrorKinds, Named, named};
use weft_meta::Problem;
use weft_meta::problem::pointer_segment;

#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    /// Rules, runs and deliveries are managed by tenant admins (not while viewing as another user).
    #[error("only tenant admins manage rules and automation")]
    AdminOnly,
    /// Another rule of the tenant has this `api_name`.
    #[error("a rule named '{name}' exists")]
    DuplicateRule { name: String },
    /// Only a failed or skipped run can be queued again.
    #[error("the run is {status}; only failed or skipped runs are retried")]
    RunNotRetryable { status: RunStatus },
    /// The rule named in a manual run is not an active rule with `on: ["manual"]`.
    #[error("this rule is not an active manual action")]
    NotManual,
    /// A manual run's rule condition is false for the record.
    #[error("the rule's condition does not hold for this record")]
    ConditionFalse,
    /// A manual run's rule condition failed to evaluate (the script's own error text).
    #[error("the condition could not run: {reason}")]
    ConditionFailed { reason: String },
    /// The rules of one write (or one bulk call, or one automation run) used up the
    /// evaluation time they share ([`crate::RuntimeConfig::rules_budget_per_write`]); nothing
    /// was written. `rule` is the rule that was running, `at` where (a record and field path).
    #[error("the rules of this write ran out of time while rule '{rule}' was running{}; nothing was saved. Write fewer records at once or simplify the rule", at_en(.at))]
    CpuBudget { rule: String, at: String },
    /// Someone viewing as another user cannot mark notifications read.
    #[error("viewing as another user is read-only")]
    ReadOnlyView,
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

fn at_en(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(" (at {at})")
    }
}

/// A run's status as the run log shows it in Chinese.
fn status_zh(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Queued => "排队中",
        RunStatus::Running => "运行中",
        RunStatus::Done => "已完成",
        RunStatus::Failed => "已失败",
        RunStatus::Skipped => "已跳过",
    }
}

impl ErrorKinds for AutomationError {
    fn named(&self) -> Option<Named> {
        match self {
            Self::AdminOnly => named(
                Class::Forbidden,
                "admin_only",
                "只有租户管理员可以管理规则和自动化",
            ),
            Self::DuplicateRule { name } => named(
                Class::Conflict,
                "duplicate_api_name",
                format!("已存在名为「{name}」的规则"),
            ),
            Self::RunNotRetryable { status } => named(
                Class::Conflict,
                "not_failed",
                format!(
                    "该运行当前为「{}」，只有失败或已跳过的运行可以重试",
                    status_zh(*status)
                ),
            ),
            Self::NotManual => named(Class::Conflict, "not_manual", "此规则不是已启用的手动操作"),
            Self::ConditionFalse => named(
                Class::Conflict,
                "condition_false",
                "这条记录不满足该规则的条件",
            ),
            Self::ConditionFailed { reason } => named(
                Class::Conflict,
                "condition_error",
                format!("规则条件无法执行：{reason}"),
            ),
            Self::CpuBudget { rule, at } => named(
                Class::Unprocessable,
                "limit.cpu",
                format!(
                    "本次写入的规则运行时间超出上限，当时正在运行规则「{rule}」{}；未保存任何内容。请减少单次写入的记录数，或简化该规则",
                    if at.is_empty() {
                        String::new()
                    } else {
                        format!("（位置 {at}）")
                    }
                ),
            ),
            Self::ReadOnlyView => {
                named(Class::Forbidden, "read_only", "以其他用户身份查看时为只读")
            }
            Self::Other(_) => None,
        }
    }

    fn details(&self) -> Vec<Problem> {
        match self {
            Self::CpuBudget { rule, .. } => vec![
                Problem::new(
                    format!("/rules/{}", pointer_segment(rule)),
                    "limit.cpu",
                    format!("rule '{rule}' was running when the write's time budget ran out"),
                )
                .zh(format!("写入的时间预算用完时，正在运行规则「{rule}」")),
            ],
            _ => Vec::new(),
        }
    }
}

crate::service_error!(AutomationError);
