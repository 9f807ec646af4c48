//! The saved views service's own failure kinds (see [`crate::error`]).

use crate::Error;
use crate::error::{Class, ErrorKinds, Named, named};

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// An admin viewing as another user may look but not save views.
    #[error("this is a read-only view as another user")]
    ReadOnlyView,
    /// Sharing a view with everyone is for those who manage shared views.
    #[error("only tenant admins share views")]
    ShareAdminOnly,
    /// Changing a shared view is for those who manage shared views.
    #[error("only tenant admins change shared views")]
    ChangeSharedAdminOnly,
    /// Deleting a shared view is for those who manage shared views.
    #[error("only tenant admins delete shared views")]
    DeleteSharedAdminOnly,
    /// The view was saved by someone else since the caller read it.
    #[error("the view changed since version {seen}; current version is {current}")]
    Stale { seen: i64, current: i64 },
    /// The view changed between reading and writing it.
    #[error("the view changed meanwhile; reload it")]
    ChangedMeanwhile,
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl ErrorKinds for ViewError {
    fn named(&self) -> Option<Named> {
        match self {
            Self::ReadOnlyView => named(
                Class::Forbidden,
                "read_only_view",
                "正在以其他用户身份查看，不能保存视图",
            ),
            Self::ShareAdminOnly => {
                named(Class::Forbidden, "forbidden", "只有租户管理员可以共享视图")
            }
            Self::ChangeSharedAdminOnly => named(
                Class::Forbidden,
                "forbidden",
                "只有租户管理员可以修改共享视图",
            ),
            Self::DeleteSharedAdminOnly => named(
                Class::Forbidden,
                "forbidden",
                "只有租户管理员可以删除共享视图",
            ),
            Self::Stale { seen, current } => named(
                Class::Conflict,
                "stale_view",
                format!(
                    "视图已被他人修改（你看到的是第 {seen} 版，当前是第 {current} 版），请刷新后重试"
                ),
            ),
            Self::ChangedMeanwhile => named(
                Class::Conflict,
                "stale_view",
                "视图刚刚被他人修改，请刷新后重试",
            ),
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(ViewError);
