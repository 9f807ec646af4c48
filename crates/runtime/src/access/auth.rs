//! Authentication: password login with server-side sessions for the web app, API keys for
//! integrations, login throttling. Passwords are argon2id (the crate's defaults: m = 19 MiB,
//! t = 2, p = 1), hashed off the async workers on two threads of their own: a sign-in storm
//! queues there. (On tokio's blocking pool every verification could land on another thread,
//! and each thread's allocator arena kept its 19 MiB: a storm of 11,000 attempts in 20 s
//! raised the process's peak memory from 64 to 734 MiB; on two threads it stays flat.)

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Duration as ChronoDuration;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;
use weft_meta::{ApiKeyId, Problem, TenantId, UserId};

use super::AccessError;
use super::audit::Audit;
use super::audit::Event;
use super::keys::KeyCache;
use super::ports::SessionRow;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::ids::{new_api_key, sha256_hex};
use crate::ports::{ApiKeyRow, TxMode};
use crate::principal::{Principal, Source};

pub const SESSION_IDLE: i64 = 30 * 60;
pub const SESSION_ABSOLUTE: i64 = 12 * 60 * 60;
const MAX_PASSWORD_BYTES: usize = 1024;
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The two threads passwords are hashed and verified on.
fn hashing() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .thread_name(|i| format!("weft-argon2-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Run `f` on the hashing threads and wait for it without blocking the caller.
async fn on_hashing_threads<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let Some(pool) = hashing() else {
        return tokio::task::spawn_blocking(f)
            .await
            .map_err(Error::internal);
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.spawn(move || {
        let _ = tx.send(f());
    });
    rx.await.map_err(Error::internal)
}

pub async fn hash_password(pw: &str) -> Result<String> {
    if pw.chars().count() < MIN_PASSWORD_CHARS || pw.len() > MAX_PASSWORD_BYTES {
        return Err(Error::one(
            "/password",
            "weak_password",
            format!("a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} characters"),
        ));
    }
    let pw = pw.to_owned();
    on_hashing_threads(move || hash_sync(&pw)).await?
}

fn hash_sync(pw: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
    Argon2::default()
        .hash_password_with_salt(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

async fn verify_password(pw: &str, phc: Option<String>) -> Result<bool> {
    if pw.len() > MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    let pw = pw.to_owned();
    on_hashing_threads(move || {
        // Unknown users still cost one verification, so timing does not reveal who exists.
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let stored = match phc {
            Some(h) => h,
            None => DUMMY
                .get_or_init(|| hash_sync("not-a-real-password").unwrap_or_default())
                .clone(),
        };
        let ok = Argon2::default()
            .verify_password(pw.as_bytes(), stored.as_str())
            .is_ok();
        ok && !stored.is_empty()
    })
    .await
}

use super::throttle::{self, LoginThrottle};

#[derive(Debug, Clone, Serialize)]
pub struct LoginOk {
    /// The session token: goes in the cookie, never in a response body the UI keeps.
    #[serde(skip)]
    pub token: String,
    pub csrf_token: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub user_name: String,
    pub is_admin: bool,
    /// For the device cookie: this browser signed in to this account (see `throttle`).
    #[serde(skip)]
    pub device: Option<String>,
}

/// A new API key.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewApiKey {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// Shown once; only its hash is stored.
    pub key: String,
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    hex::encode(b)
}

/// A new session of `user`, stored by its token's hash: the token (for the cookie) and the
/// session's CSRF token.
async fn open_session(
    tx: &mut crate::core::TxCtx,
    user: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(String, String)> {
    let token = random_token();
    let csrf = random_token();
    tx.insert_session(&SessionRow {
        id: Uuid::now_v7(),
        user_id: user,
        token_hash: sha256_hex(&token),
        csrf_token: csrf.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + ChronoDuration::seconds(SESSION_ABSOLUTE),
        revoked_at: None,
    })
    .await?;
    Ok((token, csrf))
}

/// Sign-in, sessions and API keys.
#[derive(Clone)]
pub struct Auth {
    pub(crate) core: Arc<Core>,
    throttle: Arc<LoginThrottle>,
    pub(crate) keys: Arc<KeyCache>,
    audit: Audit,
}

/// The signed-in user as the web app shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionUser {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub is_admin: bool,
    /// The departments the user belongs to.
    pub departments: Vec<Uuid>,
}

/// The tenant a session belongs to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionTenant {
    pub id: Uuid,
    pub name: String,
}

/// Who is signed in, where, and with which token for state-changing requests.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub user: Option<SessionUser>,
    pub tenant: Option<SessionTenant>,
    /// Send back as `X-CSRF-Token` on state-changing requests made with the session cookie.
    pub csrf_token: Option<String>,
    /// True while an admin views the app as another user (read-only).
    pub view_as: bool,
    pub permissions: super::MyPermissions,
}

impl Auth {
    /// The principal of an API key (`Authorization: Bearer wft_…`).
    pub async fn authenticate_api_key(&self, token: &str) -> Result<Principal, AccessError> {
        Ok(self.api_key_principal(token).await?)
    }

    /// An admin's principal narrowed to another user of the tenant, for "view as" (read-only).
    pub async fn view_as(&self, p: &Principal, target: Uuid) -> Result<Principal, AccessError> {
        let org = self.core.org(p.tenant).await?;
        let u = org
            .users
            .get(&target)
            .ok_or_else(|| Error::not_found("user"))?;
        let mut v = p.clone();
        v.user = UserId(target);
        v.is_admin = u.is_admin;
        v.department = org.primary_department(target);
        Ok(v)
    }

    /// The session view for the web app; `csrf` is the token of the session cookie, if any.
    pub async fn session(
        &self,
        p: &Principal,
        csrf: Option<String>,
        permissions: super::MyPermissions,
    ) -> Result<SessionView, AccessError> {
        let org = self.core.org(p.tenant).await?;
        let user = org.users.get(&p.user.0).map(|u| SessionUser {
            id: u.id,
            name: u.name.clone(),
            email: u.email.clone(),
            is_admin: u.is_admin,
            departments: org
                .memberships
                .get(&u.id)
                .map(|m| m.iter().map(|(d, _)| *d).collect())
                .unwrap_or_default(),
        });
        let tenant = self
            .core
            .store
            .tenant(p.tenant)
            .await?
            .map(|t| SessionTenant {
                id: t.id.0,
                name: t.name,
            });
        Ok(SessionView {
            user,
            tenant,
            csrf_token: csrf,
            view_as: p.view_as,
            permissions,
        })
    }

    pub fn new(core: Arc<Core>, keys: Arc<KeyCache>, audit: Audit) -> Self {
        Self {
            core,
            throttle: Arc::new(LoginThrottle::default()),
            keys,
            audit,
        }
    }

    /// Password login. `tenant` picks the organization when one email exists in several.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        tenant: Option<TenantId>,
        client: &str,
        device: Option<&str>,
    ) -> Result<LoginOk, AccessError> {
        // 1 to 254 characters once trimmed, as the API document states it.
        let email = email.trim();
        if email.is_empty() || email.chars().count() > 254 {
            return Err(Error::one("/email", "required", "enter your email").into());
        }
        let email = email.to_lowercase();
        // Reserved before the hash is verified: parallel guesses are counted, not raced.
        let keys = match device.and_then(|d| self.throttle.device_of(&email, d)) {
            Some(d) => vec![(format!("device:{d}"), throttle::DEVICE)],
            None => vec![
                (format!("pair:{email}|{client}"), throttle::PAIR),
                (format!("email:{email}"), throttle::ACCOUNT),
                (format!("ip:{client}"), throttle::ADDRESS),
            ],
        };
        self.throttle.reserve(&keys)?;
        let mut candidates = self.core.store().find_logins(&email).await?;
        if let Some(t) = tenant {
            candidates.retain(|(tr, _)| tr.id == t);
        }
        if candidates.len() > 1 {
            return Err(AccessError::ChooseTenant);
        }
        let found = candidates.pop();
        let ok = verify_password(
            password,
            found.as_ref().and_then(|(_, u)| u.password_hash.clone()),
        )
        .await?;
        let Some((tenant_row, user)) = found.filter(|(_, u)| ok && u.status == "active") else {
            if let Some((t, u)) = self
                .core
                .store()
                .find_logins(&email)
                .await?
                .into_iter()
                .find(|(t, _)| tenant.is_none_or(|x| x == t.id))
            {
                self.audit
                    .audit_now(
                        t.id,
                        Some(u.id),
                        Event {
                            action: "auth.login_failed",
                            object: None,
                            record_id: None,
                            detail: json!({"client": client}),
                        },
                    )
                    .await?;
            } else {
                tracing::info!(client, "login failed for an unknown email");
            }
            return Err(Error::Unauthenticated.into());
        };
        // The account's own keys start over; the address keeps its count (other accounts).
        let owned: Vec<String> = keys
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| !k.starts_with("ip:"))
            .collect();
        self.throttle.succeeded(&owned);
        let now = self.core.clock.now();
        let mut tx = self.core.begin(tenant_row.id, TxMode::Write).await?;
        let (token, csrf) = open_session(&mut tx, user.id, now).await?;
        self.core
            .audit(
                tx.as_mut(),
                Some(user.id),
                Event {
                    action: "auth.login",
                    object: None,
                    record_id: None,
                    detail: json!({"client": client}),
                },
            )
            .await?;
        tx.commit().await?;
        Ok(LoginOk {
            token,
            csrf_token: csrf,
            tenant_id: tenant_row.id,
            user_id: UserId(user.id),
            user_name: user.name,
            is_admin: user.is_admin,
            device: self.throttle.device_token(&email),
        })
    }

    /// Resolve a session cookie: the principal and the session's CSRF token.
    pub async fn authenticate_session(
        &self,
        token: &str,
    ) -> Result<(Principal, String, Uuid), AccessError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Unauthenticated.into());
        }
        let (tenant, s) = self
            .core
            .store()
            .find_session(&sha256_hex(token))
            .await?
            .ok_or(Error::Unauthenticated)?;
        let now = self.core.clock.now();
        if s.revoked_at.is_some()
            || s.expires_at <= now
            || (now - s.last_seen_at).num_seconds() > SESSION_IDLE
        {
            return Err(Error::Unauthenticated.into());
        }
        let mut tx = self.core.begin(tenant, TxMode::Read).await?;
        let user = tx.user(s.user_id).await?.ok_or(Error::Unauthenticated)?;
        tx.commit().await?;
        if user.status != "active" {
            return Err(Error::Unauthenticated.into());
        }
        if (now - s.last_seen_at).num_seconds() >= 60 {
            let mut tx = self.core.begin(tenant, TxMode::Write).await?;
            tx.touch_session(s.id, now).await?;
            tx.commit().await?;
        }
        let org = self.core.org(tenant).await?;
        Ok((
            Principal {
                tenant,
                user: UserId(user.id),
                is_admin: user.is_admin,
                department: org.primary_department(user.id).or(user.primary_department),
                source: Source::Ui,
                api_key: None,
                cascade_depth: 0,
                view_as: false,
                session: Some(s.id),
            },
            s.csrf_token,
            s.id,
        ))
    }

    pub async fn logout(&self, p: &Principal) -> Result<(), AccessError> {
        let Some(sid) = p.session else { return Ok(()) };
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.revoke_sessions(None, Some(sid), self.core.clock.now())
            .await?;
        self.core
            .audit(
                tx.as_mut(),
                Some(p.user.0),
                Event {
                    action: "auth.logout",
                    object: None,
                    record_id: None,
                    detail: json!({}),
                },
            )
            .await?;
        Ok(tx.commit().await?)
    }

    /// The caller changes their own password: the current one is required (and throttled like
    /// a sign-in), every session of the user ends, and a caller signed in with a session gets a
    /// new one (returned) so this browser stays signed in.
    pub async fn change_password(
        &self,
        p: &Principal,
        current: &str,
        new: &str,
    ) -> Result<Option<LoginOk>, AccessError> {
        if p.view_as {
            return Err(AccessError::ReadOnlyView);
        }
        let keys = [(format!("password:{}", p.user.0), throttle::PAIR)];
        self.throttle.reserve(&keys)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let mut user = tx
            .user(p.user.0)
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        if !verify_password(current, user.password_hash.clone()).await? {
            return Err(Error::Validation(vec![
                Problem::new(
                    "/current_password",
                    "wrong_password",
                    "the current password is not right",
                )
                .zh("当前密码不正确"),
            ])
            .into());
        }
        if new == current {
            return Err(Error::Validation(vec![
                Problem::new(
                    "/new_password",
                    "same_password",
                    "choose a password different from the current one",
                )
                .zh("新密码不能与当前密码相同"),
            ])
            .into());
        }
        user.password_hash = Some(hash_password(new).await.map_err(|e| {
            match e {
                Error::Validation(ps) => Error::Validation(
                    ps.into_iter()
                        .map(|x| Problem {
                            path: "/new_password".into(),
                            zh: Some(format!(
                                "密码长度应为 {MIN_PASSWORD_CHARS} 到 {MAX_PASSWORD_BYTES} 个字符"
                            )),
                            ..x
                        })
                        .collect(),
                ),
                e => e,
            }
        })?);
        let now = self.core.clock.now();
        tx.update_user(&user).await?;
        let ended = tx.revoke_sessions(Some(user.id), None, now).await?;
        self.core
            .audit(
                tx.as_mut(),
                Some(user.id),
                Event {
                    action: "auth.password_changed",
                    object: None,
                    record_id: None,
                    detail: json!({"sessions_ended": ended}),
                },
            )
            .await?;
        let fresh = if p.session.is_some() {
            let (token, csrf) = open_session(&mut tx, user.id, now).await?;
            Some(LoginOk {
                token,
                csrf_token: csrf,
                tenant_id: p.tenant,
                user_id: p.user,
                user_name: user.name.clone(),
                is_admin: user.is_admin,
                device: None,
            })
        } else {
            None
        };
        tx.commit().await?;
        self.throttle.succeeded(&[keys[0].0.clone()]);
        Ok(fresh)
    }

    /// Create an API key for `for_user` (admins) or for the caller.
    pub async fn create_api_key(
        &self,
        p: &Principal,
        name: &str,
        for_user: Option<Uuid>,
    ) -> Result<NewApiKey, AccessError> {
        let owner = for_user.unwrap_or(p.user.0);
        if owner != p.user.0 && !p.is_admin {
            return Err(AccessError::KeysForOthersAdminOnly);
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::one("/name", "length", "a key name is 1 to 100 characters").into());
        }
        let key = new_api_key();
        let row = ApiKeyRow {
            tenant: p.tenant,
            id: Uuid::now_v7(),
            user_id: owner,
            name: name.to_owned(),
            prefix: key.chars().take(12).collect(),
            key_hash: sha256_hex(&key),
            created_at: self.core.clock.now(),
            last_used_at: None,
            revoked_at: None,
            expires_at: None,
        };
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        if tx.user(owner).await?.is_none() {
            return Err(Error::one("/user_id", "not_found", "no such user").into());
        }
        tx.insert_api_key(&row).await?;
        self.core
            .audit(
                tx.as_mut(),
                Some(p.user.0),
                Event {
                    action: "auth.key_created",
                    object: None,
                    record_id: Some(row.id),
                    detail: json!({"name": name, "user": owner, "prefix": row.prefix}),
                },
            )
            .await?;
        tx.commit().await?;
        Ok(NewApiKey {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            key,
        })
    }

    pub async fn list_api_keys(
        &self,
        p: &Principal,
    ) -> Result<super::views::ApiKeyList, AccessError> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let keys = tx
            .api_keys(if p.is_admin { None } else { Some(p.user.0) })
            .await?;
        tx.commit().await?;
        let keys = keys
            .into_iter()
            .map(|k| super::views::ApiKeyView {
                id: k.id,
                name: k.name,
                prefix: k.prefix,
                user_id: k.user_id,
                created_at: k.created_at,
                last_used_at: k.last_used_at,
                revoked_at: k.revoked_at,
            })
            .collect();
        Ok(super::views::ApiKeyList { keys })
    }

    pub async fn revoke_api_key(&self, p: &Principal, id: Uuid) -> Result<(), AccessError> {
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let keys = tx
            .api_keys(if p.is_admin { None } else { Some(p.user.0) })
            .await?;
        if !keys.iter().any(|k| k.id == id) {
            return Err(Error::not_found("API key").into());
        }
        tx.revoke_api_key(id, self.core.clock.now()).await?;
        self.core
            .audit(
                tx.as_mut(),
                Some(p.user.0),
                Event {
                    action: "auth.key_revoked",
                    object: None,
                    record_id: Some(id),
                    detail: json!({}),
                },
            )
            .await?;
        tx.commit().await?;
        self.auth_revoked(p.tenant);
        Ok(())
    }

    /// Hook for credential caches: a key was revoked or a user disabled in `tenant`.
    pub(crate) fn auth_revoked(&self, tenant: TenantId) {
        self.keys.forget_tenant(tenant);
    }

    /// The key id of a principal, if it came from a key.
    pub fn key_of(p: &Principal) -> Option<ApiKeyId> {
        p.api_key
    }
}
