//! The access service's own failure kinds — access control, authentication, org
//! administration and audit (see [`crate::error`]).

use crate::Error;
use crate::access::model::Op;
use crate::error::{Class, ErrorKinds, Named, named};
use weft_meta::Label;

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The user's roles do not grant the operation on the object.
    #[error("you may not {} {} records", .op.as_str(), .object.get(false))]
    Denied { op: Op, object: Label },
    /// An admin viewing as another user may look but not change anything.
    #[error("this is a read-only view as another user")]
    ReadOnlyView,
    /// Organization administration is for tenant admins.
    #[error("only tenant admins manage the organization")]
    OrgAdminOnly,
    /// The audit log is for tenant admins.
    #[error("only tenant admins can read the audit log")]
    AuditAdminOnly,
    /// Only admins create API keys for other users.
    #[error("only admins create keys for other users")]
    KeysForOthersAdminOnly,
    /// The e-mail signs in to several tenants: the sign-in must name one.
    #[error("this email belongs to several organizations; choose one")]
    ChooseTenant,
    /// An admin cannot take away their own admin right.
    #[error("you cannot remove your own admin right")]
    SelfDemotion,
    /// An admin cannot disable themselves.
    #[error("you cannot disable yourself")]
    SelfDisable,
    /// A department with members or sub-departments cannot be deleted.
    #[error("move the department's members and sub-departments first")]
    DepartmentNotEmpty,
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

fn op_zh(op: Op) -> &'static str {
    match op {
        Op::Create => "新建",
        Op::Read => "查看",
        Op::Update => "修改",
        Op::Delete => "删除",
        Op::Export => "导出",
        Op::Import => "导入",
    }
}

impl ErrorKinds for AccessError {
    fn named(&self) -> Option<Named> {
        match self {
            Self::Denied { op, object } => named(
                Class::Forbidden,
                "forbidden",
                format!(
                    "你没有{}「{}」记录的权限，请联系管理员",
                    op_zh(*op),
                    object.get(true)
                ),
            ),
            Self::ReadOnlyView => named(
                Class::Forbidden,
                "read_only_view",
                "正在以其他用户身份查看，只能看不能改",
            ),
            Self::OrgAdminOnly => named(
                Class::Forbidden,
                "admin_only",
                "只有租户管理员可以管理组织架构",
            ),
            Self::AuditAdminOnly => named(
                Class::Forbidden,
                "admin_only",
                "只有租户管理员可以查看审计日志",
            ),
            Self::KeysForOthersAdminOnly => named(
                Class::Forbidden,
                "admin_only",
                "只有管理员可以为其他用户创建密钥",
            ),
            Self::ChooseTenant => named(
                Class::Conflict,
                "choose_tenant",
                "这个邮箱属于多个组织，请选择要登录的组织",
            ),
            Self::SelfDemotion => named(
                Class::Conflict,
                "self_demotion",
                "不能取消你自己的管理员权限",
            ),
            Self::SelfDisable => named(Class::Conflict, "self_disable", "不能停用你自己"),
            Self::DepartmentNotEmpty => {
                named(Class::Conflict, "not_empty", "请先移走部门的成员和下级部门")
            }
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(AccessError);
