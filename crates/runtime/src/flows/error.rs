//! The workflows and business calendars service's own failure kinds (see [`crate::error`]).

use uuid::Uuid;
use weft_flow::{CommandError, ErrorKind, Status, TaskStatus};
use weft_meta::Problem;

use crate::Error;
use crate::error::{Class, ErrorKinds, Named, named};

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// Definitions, calendars, the admin instance list and admin instance operations are for
    /// tenant admins (not while viewing as another user).
    #[error("only tenant admins manage flow definitions")]
    AdminOnly,
    /// Viewing as another user is read-only: no starting, deciding or withdrawing.
    #[error("this is a read-only view as another user")]
    ReadOnlyView,
    /// A new draft names a flow key that exists.
    #[error("flow '{key}' already exists")]
    Exists { key: String },
    /// Instances (running or finished) still reference the flow.
    #[error("instances reference flow '{key}'; it cannot be deleted")]
    InUse { key: String },
    /// Starting or migrating needs a published version.
    #[error("flow '{key}' has no published version")]
    NotPublished { key: String },
    /// The record already has a running instance of this flow.
    #[error("this record is already under approval by flow '{key}'")]
    AlreadyRunning { key: String },
    /// A write to a record under approval changes fields the current node does not open.
    #[error("the record is under approval ({flow} instance {instance}); not editable now: {}", .fields.join(", "))]
    RecordLocked {
        flow: String,
        instance: Uuid,
        fields: Vec<String>,
    },
    /// An instance changed while a migration applied; nothing was migrated.
    #[error("instance {instance} changed while migrating; nothing was migrated, retry")]
    MigrationConflict { instance: Uuid },
    /// The inbox asked for is not one of todo, done, started, cc.
    #[error("box must be todo, done, started or cc")]
    UnknownInbox,
    /// The instance status filter is not a status.
    #[error("unknown status (running, incident, approved, rejected, withdrawn, terminated)")]
    UnknownStatus,
    /// Listing a record's instances names the record but not its object.
    #[error("`record` needs `object`")]
    RecordWithoutObject,
    /// A flow's draft or latest version uses the calendar being deleted.
    #[error("flow '{flow}' uses this calendar")]
    CalendarInUse { flow: String },
    /// The engine core refused a command (not the assignee, already decided, finished, timer
    /// not due, ...): the core's own code, 403 or 409. Built through `From<CommandError>`,
    /// which turns the core's not-found and invalid kinds into the shared ones.
    #[error(transparent)]
    Refused(CommandError),
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl ErrorKinds for FlowError {
    fn named(&self) -> Option<Named> {
        match self {
            Self::AdminOnly => named(Class::Forbidden, "forbidden", "只有租户管理员可以管理流程"),
            Self::ReadOnlyView => named(
                Class::Forbidden,
                "read_only_view",
                "你正在以其他用户的身份只读查看，不能执行此操作",
            ),
            Self::Exists { key } => named(
                Class::Conflict,
                "flow.exists",
                format!("流程「{key}」已存在"),
            ),
            Self::InUse { key } => named(
                Class::Conflict,
                "flow.in_use",
                format!("还有流程实例引用流程「{key}」，不能删除"),
            ),
            Self::NotPublished { key } => named(
                Class::Conflict,
                "flow.not_published",
                format!("流程「{key}」还没有已发布的版本"),
            ),
            Self::AlreadyRunning { key } => named(
                Class::Conflict,
                "flow.already_running",
                format!("这条记录已经在流程「{key}」的审批中"),
            ),
            Self::RecordLocked {
                flow,
                instance,
                fields,
            } => named(
                Class::Conflict,
                "flow.record_locked",
                format!(
                    "记录正在审批中（流程「{flow}」，实例 {instance}），现在不能修改：{}",
                    fields.join("、")
                ),
            ),
            Self::MigrationConflict { instance } => named(
                Class::Conflict,
                "migration.conflict",
                format!("迁移期间实例 {instance} 发生了变化，所有实例均未迁移，请重试"),
            ),
            Self::UnknownInbox => named(
                Class::BadRequest,
                "bad_query",
                "box 只能是 todo、done、started 或 cc",
            ),
            Self::UnknownStatus => named(
                Class::BadRequest,
                "bad_query",
                "未知的状态（可选 running、incident、approved、rejected、withdrawn、terminated）",
            ),
            Self::RecordWithoutObject => named(
                Class::BadRequest,
                "bad_query",
                "按记录查询时需要同时给出 object",
            ),
            Self::CalendarInUse { flow } => named(
                Class::Conflict,
                "calendar.in_use",
                format!("流程「{flow}」正在使用这个日历"),
            ),
            Self::Refused(e) => named(refused_class(e), e.code(), refused_zh(e)),
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(FlowError);

/// The engine's refusals are named kinds; a task or incident it cannot find is the shared
/// not-found, and a malformed command a validation problem with the core's code (as before
/// the service had its own kinds).
impl From<CommandError> for FlowError {
    fn from(e: CommandError) -> Self {
        match e.kind() {
            ErrorKind::Forbidden | ErrorKind::Conflict => Self::Refused(e),
            ErrorKind::NotFound => Self::Other(Error::not_found(match e {
                CommandError::IncidentNotFound(_) => "incident",
                _ => "task",
            })),
            ErrorKind::Invalid => Self::Other(Error::Validation(vec![Problem::new(
                "",
                e.code(),
                e.to_string(),
            )])),
        }
    }
}

/// The class of a refusal: the core's forbidden kind is 403, the rest 409 (an invalid
/// command only reaches here when the variant is built by hand: 422).
fn refused_class(e: &CommandError) -> Class {
    match e.kind() {
        ErrorKind::Forbidden => Class::Forbidden,
        ErrorKind::Invalid => Class::Unprocessable,
        ErrorKind::Conflict | ErrorKind::NotFound => Class::Conflict,
    }
}

/// The Chinese text of an engine refusal.
fn refused_zh(e: &CommandError) -> String {
    match e {
        CommandError::NotStarted => "流程实例尚未启动".into(),
        CommandError::AlreadyStarted => "流程实例已经启动".into(),
        CommandError::Finished(s) => format!("流程已结束（{}）", status_zh(*s)),
        CommandError::TaskNotFound(_) => "找不到这项审批任务".into(),
        CommandError::AlreadyDecided(_) => "这项审批任务已经处理过了".into(),
        CommandError::TaskClosed { status, .. } => {
            format!("这项审批任务已关闭（{}）", task_status_zh(*status))
        }
        CommandError::NotAssignee { .. } => "你不是这项审批任务的处理人".into(),
        CommandError::NotInitiator => "只有发起人可以执行此操作".into(),
        CommandError::NotAllowed(why) => format!("不允许此操作：{}", reason_zh(why)),
        CommandError::WithdrawNotAllowed(why) => format!("不能撤回：{}", reason_zh(why)),
        CommandError::InvalidReturnTarget(node) => format!("不能退回到节点「{node}」"),
        CommandError::TimerNotDue { due, .. } => {
            format!("定时器要到 {} 才到期", due.format("%Y-%m-%d %H:%M:%S UTC"))
        }
        CommandError::UnknownNodeInstance(_) => "这个节点没有在等待动作结果".into(),
        CommandError::IncidentNotFound(_) => "找不到这个异常".into(),
        CommandError::Invalid(_) => "无效的流程命令".into(),
    }
}

fn status_zh(s: Status) -> &'static str {
    match s {
        Status::Running => "进行中",
        Status::Incident => "异常待处理",
        Status::Approved => "已通过",
        Status::Rejected => "已驳回",
        Status::Withdrawn => "已撤回",
        Status::Terminated => "已终止",
    }
}

fn task_status_zh(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Open => "待处理",
        TaskStatus::Approved => "已同意",
        TaskStatus::Rejected => "已拒绝",
        TaskStatus::Transferred => "已转交",
        TaskStatus::Cancelled => "已取消",
        TaskStatus::Suspended => "已挂起",
    }
}

/// The engine's reasons for refusing an operation (English, from `weft_flow`) in Chinese;
/// a reason not listed here gets a general text.
fn reason_zh(why: &str) -> &'static str {
    match why {
        "no open task to urge" => "没有可以催办的待办任务",
        "this flow cannot be withdrawn" => "这个流程不允许撤回",
        "an approver has already acted" => "已有审批人处理过",
        "not an approval task" => "这不是审批任务",
        "the initiator resubmits this task" => "这项任务由发起人重新提交",
        "delegation is disabled on this node" => "这个节点不允许委托",
        "transfer is disabled on this node" => "这个节点不允许转交",
        "an added signer cannot add signers" => "加签人不能再加签",
        "not a resubmit task" => "这不是重新提交的任务",
        w if w.ends_with("add-signer is not enabled on this node") => "这个节点不允许这种加签",
        _ => "当前节点不允许此操作",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reason the engine gives today has its own Chinese text.
    #[test]
    fn engine_reasons_are_translated() {
        for why in [
            "no open task to urge",
            "this flow cannot be withdrawn",
            "an approver has already acted",
            "not an approval task",
            "the initiator resubmits this task",
            "delegation is disabled on this node",
            "transfer is disabled on this node",
            "Before add-signer is not enabled on this node",
            "an added signer cannot add signers",
            "not a resubmit task",
        ] {
            assert_ne!(reason_zh(why), "当前节点不允许此操作", "{why}");
        }
    }

    /// A refusal keeps the core's code and class through the shared error and back.
    #[test]
    fn refusal_round_trip() {
        let e: Error = FlowError::from(CommandError::AlreadyDecided(3)).into();
        assert_eq!(e.code(), Some("flow.already_decided"));
        assert_eq!(e.class(), Some(Class::Conflict));
        assert!(matches!(
            FlowError::from(e),
            FlowError::Refused(CommandError::AlreadyDecided(3))
        ));
        let e: Error = FlowError::from(CommandError::TaskNotFound(1)).into();
        assert!(matches!(e, Error::NotFound { .. }));
        let e: Error = FlowError::from(CommandError::Invalid("x".into())).into();
        assert!(matches!(&e, Error::Validation(ps) if ps[0].code == "flow.invalid_command"));
    }
}
