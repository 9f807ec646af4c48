//! The metadata service's own failure kinds (see [`crate::error`]).

use crate::Error;
use crate::error::{Class, ErrorKinds, Named, named};
use weft_meta::Label;

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// Metadata changes are for tenant admins.
    #[error("only tenant admins can change metadata")]
    AdminOnly,
    /// A background job is rewriting the field's column.
    #[error("a job is rewriting this field")]
    FieldLocked,
    /// The tenant has as many objects as allowed.
    #[error("at most {max} objects per tenant")]
    TooManyObjects { max: usize },
    /// A lookup on another object points at the object being deleted.
    #[error("the field '{}' of '{}' points at this object; delete that field first", .field.get(false), .object.get(false))]
    ObjectReferenced { object: Label, field: Label },
    /// Deleting an object with records needs `force`.
    #[error("the object has {count} records; pass force=true to delete them with it")]
    ObjectNotEmpty { count: i64 },
    /// Only a deleted field can be purged.
    #[error("delete the field before purging it")]
    FieldNotDeleted,
    /// The name (title) field cannot be deleted.
    #[error("the object's name field cannot be deleted; choose another name field first")]
    NameField,
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl ErrorKinds for MetaError {
    fn named(&self) -> Option<Named> {
        match self {
            Self::AdminOnly => named(
                Class::Forbidden,
                "admin_only",
                "只有租户管理员可以修改对象和字段",
            ),
            Self::FieldLocked => named(
                Class::Conflict,
                "field_locked",
                "后台任务正在改写这个字段，请等它完成后再试",
            ),
            Self::TooManyObjects { max } => named(
                Class::Conflict,
                "limit",
                format!("每个租户最多 {max} 个对象"),
            ),
            Self::ObjectReferenced { object, field } => named(
                Class::Conflict,
                "referenced",
                format!(
                    "「{}」的字段「{}」引用了这个对象，请先删除该字段",
                    object.get(true),
                    field.get(true)
                ),
            ),
            Self::ObjectNotEmpty { count } => named(
                Class::Conflict,
                "not_empty",
                format!("这个对象还有 {count} 条记录；确认连同记录一起删除时请使用 force=true"),
            ),
            Self::FieldNotDeleted => {
                named(Class::Conflict, "not_deleted", "请先删除字段，再彻底清除")
            }
            Self::NameField => named(
                Class::Conflict,
                "name_field",
                "对象的标题字段不能删除；请先选择另一个标题字段",
            ),
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(MetaError);
