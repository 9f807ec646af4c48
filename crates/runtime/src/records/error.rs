//! The records service's own failure kinds (see [`crate::error`]). Objects and fields are named
//! by their labels, in the language of the text.

use crate::Error;
use crate::error::{Class, ErrorKinds, Named, named};
use weft_meta::Label;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A retried create with the same `Idempotency-Key` but another body.
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    /// A lookup with on-delete "restrict" points at the record being deleted.
    #[error("{count} {} record(s) point at this record through '{}'; delete or re-link them first", .object.get(false), .field.get(false))]
    Restricted {
        count: usize,
        object: Label,
        field: Label,
    },
    /// A cascading delete would reach more records than the configured limit.
    #[error("the delete would cascade to more than {max} records")]
    CascadeTooLarge { max: usize },
    /// A purge cascades through more levels than allowed.
    #[error("the purge cascades too deep")]
    CascadeTooDeep,
    /// A restored record's unique value has been taken meanwhile.
    #[error("cannot restore: another {} record now has the same {}", .object.get(false), .field.get(false))]
    RestoreTaken { object: Label, field: Label },
    /// Records in the recycle bin still point at a record being purged.
    #[error("{count} {} record(s) in the recycle bin still point here through '{}'; purge them first", .object.get(false), .field.get(false))]
    ReferencedFromBin {
        count: usize,
        object: Label,
        field: Label,
    },
    /// Only tenant admins may explain access.
    #[error("only tenant admins can explain access")]
    ExplainAdminOnly,
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl ErrorKinds for RecordError {
    fn named(&self) -> Option<Named> {
        match self {
            Self::IdempotencyKeyReused => named(
                Class::Conflict,
                "idempotency_key_reused",
                "这个 Idempotency-Key 已用于另一个不同的请求",
            ),
            Self::Restricted {
                count,
                object,
                field,
            } => named(
                Class::Conflict,
                "restricted",
                format!(
                    "有 {count} 条{}通过「{}」引用了这条记录，请先删除它们或改为引用其他记录",
                    object.get(true),
                    field.get(true)
                ),
            ),
            Self::CascadeTooLarge { max } => named(
                Class::Conflict,
                "cascade_too_large",
                format!("这次删除会连带删除超过 {max} 条记录，已停止"),
            ),
            Self::CascadeTooDeep => named(
                Class::Conflict,
                "cascade_too_deep",
                "彻底删除连带的层级过深，已停止",
            ),
            Self::RestoreTaken { object, field } => named(
                Class::Conflict,
                "unique",
                format!(
                    "无法恢复：另一条{}的「{}」已经使用了相同的值",
                    object.get(true),
                    field.get(true)
                ),
            ),
            Self::ReferencedFromBin {
                count,
                object,
                field,
            } => named(
                Class::Conflict,
                "referenced",
                format!(
                    "回收站中还有 {count} 条{}通过「{}」引用这条记录，请先彻底删除它们",
                    object.get(true),
                    field.get(true)
                ),
            ),
            Self::ExplainAdminOnly => named(
                Class::Forbidden,
                "admin_only",
                "只有租户管理员可以查看权限说明",
            ),
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(RecordError);
