//! Outbound channels of automation, implementing `weft_runtime::automation::ports::Outbound`:
//! webhooks over HTTP(S) and e-mail over SMTP (lettre, rustls).
//!
//! **SSRF guard.** A webhook URL is resolved once, every address is checked, and the request
//! goes to the checked address only (DNS rebinding cannot swap it afterwards). Loopback,
//! private (RFC 1918, unique-local), link-local (including cloud metadata at
//! 169.254.169.254), CGNAT, unspecified, multicast and documentation ranges are refused unless
//! the operator allows them (`allow_loopback` / `allow_private`). Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use weft_runtime::automation::ports::{EmailMessage, Outbound, WebhookRequest, WebhookResponse};

/// How the SMTP connection is secured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or a test server).
    None,
    /// STARTTLS on the submission port (rustls).
    StartTls,
    /// TLS from the first byte (port 465, rustls).
    Tls,
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The `From` address.
    pub from: String,
}

#[derive(Clone, Debug)]
pub struct OutboundConfig {
    /// Let webhooks reach 127.0.0.0/8 and ::1 (tests, local integrations).
    pub allow_loopback: bool,
    /// Let webhooks reach private, link-local and other non-public ranges.
    pub allow_private: bool,
    /// The whole request, connect to last byte read.
    pub timeout: Duration,
    /// Connecting (TCP and TLS) to a receiver.
    pub connect_timeout: Duration,
    pub smtp: Option<SmtpConfig>,
}

/// At most this much of a receiver's response is read; the connection is dropped beyond it,
/// so a receiver answering with gigabytes costs this much memory and no more.
pub const RESPONSE_CAP: usize = 64 * 1024;
/// How much of the kept response is stored with the delivery (characters).
pub const EXCERPT_CHARS: usize = 512;

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            allow_private: false,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            smtp: None,
        }
    }
}

/// Why an address is not a public one, or `None` when it is.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            let seg = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Some("private")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
                Some("documentation")
            } else if seg[0] == 0x0064 && seg[1] == 0xff9b {
                // NAT64 can reach any IPv4 address, including private ones.
                Some("nat64")
            } else {
                None
            }
        }
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_multicast() || ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("shared (CGNAT)")
    } else if ip.is_documentation() || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) {
        Some("documentation/benchmark")
    } else {
        None
    }
}

pub struct Channels {
    cfg: OutboundConfig,
}

impl Channels {
    pub fn new(cfg: OutboundConfig) -> Self {
        install_tls();
        Self { cfg }
    }

    fn allowed(&self, ip: IpAddr) -> Result<(), String> {
        match non_public(ip) {
            None => Ok(()),
            Some("loopback") if self.cfg.allow_loopback || self.cfg.allow_private => Ok(()),
            Some(_) if self.cfg.allow_private => Ok(()),
            Some(why) => Err(format!(
                "blocked: {ip} is a {why} address (an operator can allow it)"
            )),
        }
    }

    /// Resolve and check the URL's host; the address to connect to.
    pub async fn vet(&self, url: &reqwest::Url) -> Result<SocketAddr, String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err("only http and https URLs are allowed".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("credentials in webhook URLs are not allowed".into());
        }
        let host = url.host_str().ok_or("the URL has no host")?;
        let port = url.port_or_known_default().ok_or("the URL has no port")?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(format!("{host} has no address"));
        }
        // Every address must pass: a name with one public and one private address is refused.
        for a in &addrs {
            self.allowed(a.ip())?;
        }
        Ok(addrs[0])
    }

    async fn smtp(&self) -> Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox), String> {
        let s = self
            .cfg
            .smtp
            .as_ref()
            .ok_or("e-mail is not configured (no SMTP server)")?;
        let mut b = match s.security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| e.to_string())?,
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(|e| e.to_string())?
            }
        }
        .port(s.port)
        .timeout(Some(self.cfg.timeout));
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            b = b.credentials(Credentials::new(u.clone(), p.clone()));
        }
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| format!("bad From address: {e}"))?;
        Ok((b.build(), from))
    }
}

/// Make ring the process's default rustls provider (idempotent). reqwest is built without a
/// provider of its own, so every `reqwest::Client` in the process needs one: the server calls
/// this at start-up, `Channels::new` does too, and so does the test kit.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The Mozilla root store (webpki-roots) on the process's ring provider: HTTPS webhooks
/// verify the receiver's certificate the same way on every machine.
fn tls_config() -> rustls::ClientConfig {
    install_tls();
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[async_trait]
impl Outbound for Channels {
    async fn post_webhook(&self, req: &WebhookRequest) -> Result<WebhookResponse, String> {
        let url = reqwest::Url::parse(&req.url).map_err(|e| format!("bad URL: {e}"))?;
        let addr = self.vet(&url).await?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.cfg.timeout)
            .connect_timeout(self.cfg.connect_timeout)
            .no_proxy()
            .resolve(&host, addr)
            .build()
            .map_err(|e| e.to_string())?;
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| format!("bad method: {e}"))?;
        let mut rb = client.request(method, url).body(req.body.clone());
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status().as_u16();
        let kept = read_capped(resp, RESPONSE_CAP).await;
        let excerpt: String = String::from_utf8_lossy(&kept)
            .chars()
            .take(EXCERPT_CHARS)
            .collect();
        Ok(WebhookResponse { status, excerpt })
    }

    async fn send_email(&self, msg: &EmailMessage) -> Result<(), String> {
        let (transport, from) = self.smtp().await?;
        let mut b = Message::builder()
            .from(from)
            .subject(msg.subject.replace(['\r', '\n'], " "))
            .message_id(Some(msg.message_id.clone()))
            .header(ContentType::TEXT_HTML);
        for to in &msg.to {
            let mb: Mailbox = to.parse().map_err(|e| format!("bad address {to}: {e}"))?;
            b = b.to(mb);
        }
        let m = b.body(msg.html.clone()).map_err(|e| e.to_string())?;
        transport.send(m).await.map_err(|e| format!("SMTP: {e}"))?;
        Ok(())
    }
}

/// The first `cap` bytes of a response body, read chunk by chunk; the rest is never read
/// (dropping the response closes the connection). A body that breaks off keeps what came.
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    while kept.len() < cap {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let room = cap - kept.len();
                kept.extend_from_slice(&c[..c.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    /// An `https://` webhook speaks TLS: the receiver's first bytes are a TLS handshake
    /// record (0x16, version 3.x), and a receiver that is not a trusted TLS server fails the
    /// delivery with a TLS error rather than receiving the signed body in clear.
    #[tokio::test]
    async fn https_webhooks_speak_tls() {
        use tokio::io::AsyncReadExt;
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = l.accept().await.expect("accept");
            let mut first = [0u8; 3];
            sock.read_exact(&mut first).await.expect("read");
            first
        });
        let ch = Channels::new(OutboundConfig {
            allow_loopback: true,
            timeout: Duration::from_secs(5),
            ..OutboundConfig::default()
        });
        let res = ch
            .post_webhook(&WebhookRequest {
                method: "POST".into(),
                url: format!("https://127.0.0.1:{port}/hook"),
                body: "{\"secret\": true}".into(),
                headers: vec![],
            })
            .await;
        let first = server.await.expect("server");
        assert_eq!(first[0], 0x16, "a TLS handshake record");
        assert_eq!(first[1], 3, "TLS major version 3");
        assert!(res.is_err(), "no TLS server answered: {res:?}");
    }

    /// A receiver answering with 256 MiB: 64 KiB are read, the connection is dropped, and the
    /// receiver manages to write only a small part of its answer.
    #[tokio::test]
    async fn responses_are_capped() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut sock, _) = l.accept().await.expect("accept");
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let total: u64 = 256 * 1024 * 1024;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {total}\r\n\r\n"
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent: u64 = 0;
            while sent < total {
                match tokio::time::timeout(Duration::from_secs(2), sock.write_all(&chunk)).await {
                    Ok(Ok(())) => sent += chunk.len() as u64,
                    _ => break,
                }
            }
            sent
        });
        let ch = Channels::new(OutboundConfig {
            allow_loopback: true,
            timeout: Duration::from_secs(20),
            ..OutboundConfig::default()
        });
        let res = ch
            .post_webhook(&WebhookRequest {
                method: "POST".into(),
                url: format!("http://127.0.0.1:{port}/hook"),
                body: "{}".into(),
                headers: vec![],
            })
            .await
            .expect("delivered");
        let sent = server.await.expect("server");
        assert_eq!(res.status, 200);
        assert_eq!(res.excerpt.len(), EXCERPT_CHARS);
        assert!(
            sent < 32 * 1024 * 1024,
            "the client kept reading: the receiver wrote {sent} bytes"
        );
    }

    #[test]
    fn classifies_addresses() {
        for (ip, public) in [
            ("8.8.8.8", true),
            ("127.0.0.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("::1", false),
            ("fe80::1", false),
            ("fd00::1", false),
            ("::ffff:127.0.0.1", false),
            ("2606:4700::1111", true),
        ] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
            assert_eq!(non_public(ip).is_none(), public, "{ip}");
        }
    }
}
