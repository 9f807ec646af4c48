//! Automation's outbound channels from the configuration: webhooks (SSRF guard on unless the
//! operator allows loopback or private targets) and SMTP.

use std::sync::Arc;

use anyhow::bail;
use weft_outbound::{Channels, OutboundConfig, SmtpConfig, SmtpSecurity};
use weft_runtime::automation::ports::Outbound;

use crate::config::Config;

fn security(s: &str) -> Option<SmtpSecurity> {
    match s {
        "none" => Some(SmtpSecurity::None),
        "starttls" => Some(SmtpSecurity::StartTls),
        "tls" => Some(SmtpSecurity::Tls),
        _ => None,
    }
}

pub fn validate(cfg: &Config) -> anyhow::Result<()> {
    if security(&cfg.smtp_security).is_none() {
        bail!("smtp_security must be none, starttls or tls");
    }
    if !cfg.smtp_host.is_empty() && !cfg.mail_from.contains('@') {
        bail!("mail_from must be an e-mail address");
    }
    Ok(())
}

pub fn channels(cfg: &Config) -> Arc<dyn Outbound> {
    let smtp = (!cfg.smtp_host.is_empty()).then(|| SmtpConfig {
        host: cfg.smtp_host.clone(),
        port: cfg.smtp_port,
        security: security(&cfg.smtp_security).unwrap_or(SmtpSecurity::StartTls),
        username: (!cfg.smtp_username.is_empty()).then(|| cfg.smtp_username.clone()),
        password: (!cfg.smtp_password.is_empty()).then(|| cfg.smtp_password.clone()),
        from: cfg.mail_from.clone(),
    });
    Arc::new(Channels::new(OutboundConfig {
        allow_loopback: cfg.webhook_allow_loopback,
        allow_private: cfg.webhook_allow_private,
        smtp,
        ..OutboundConfig::default()
    }))
}
