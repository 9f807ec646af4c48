//! Real receivers for automation tests, on loopback ports: an HTTP server (actix-web) that
//! records webhook calls and can be told to fail, and a small SMTP server over TCP.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Hook {
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

#[derive(Clone, Default)]
struct HookState {
    got: Arc<Mutex<Vec<Hook>>>,
    fail_next: Arc<AtomicUsize>,
    /// Milliseconds to wait before answering (a slow receiver).
    delay_ms: Arc<AtomicUsize>,
}

/// An HTTP receiver: `POST /hook` records the request and answers 200, or 500 while
/// `fail_next` is above zero.
pub struct HookReceiver {
    pub url: String,
    state: HookState,
    handle: actix_web::dev::ServerHandle,
}

async fn hook(st: web::Data<HookState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = String::from_utf8_lossy(&body).into_owned();
    let delay = st.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay as u64)).await;
    }
    if st
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return HttpResponse::InternalServerError().body("try later");
    }
    st.got.lock().unwrap().push(Hook { headers, body });
    HttpResponse::Ok().body("thanks")
}

impl HookReceiver {
    pub async fn start() -> Self {
        let state = HookState::default();
        let st = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(st.clone()))
                .route("/hook", web::post().to(hook))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        let running = server.run();
        let handle = running.handle();
        tokio::spawn(running);
        Self {
            url: format!("http://{addr}/hook"),
            state,
            handle,
        }
    }

    pub fn got(&self) -> Vec<Hook> {
        self.state.got.lock().unwrap().clone()
    }

    pub fn fail_next(&self, n: usize) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// Answer every call only after `ms` milliseconds.
    pub fn set_delay(&self, ms: usize) {
        self.state.delay_ms.store(ms, Ordering::SeqCst);
    }
}

impl Drop for HookReceiver {
    fn drop(&mut self) {
        let h = self.handle.clone();
        tokio::spawn(async move { h.stop(false).await });
    }
}

#[derive(Clone, Debug, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
pub struct SmtpReceiver {
    pub port: u16,
    got: Arc<Mutex<Vec<Mail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let g = got.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let g = g.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 test.local ESMTP\r\n").await;
                    let mut mail = Mail::default();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let up = line.to_ascii_uppercase();
                        let reply: &[u8] = if up.starts_with("EHLO") || up.starts_with("HELO") {
                            b"250 test.local\r\n"
                        } else if up.starts_with("MAIL FROM:") {
                            mail.from = line[10..].trim().to_owned();
                            b"250 OK\r\n"
                        } else if up.starts_with("RCPT TO:") {
                            mail.to.push(line[8..].trim().to_owned());
                            b"250 OK\r\n"
                        } else if up == "DATA" {
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(&l);
                                data.push('\n');
                            }
                            mail.data = data;
                            g.lock().unwrap().push(std::mem::take(&mut mail));
                            b"250 queued\r\n"
                        } else if up == "QUIT" {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        } else if up.starts_with("RSET") || up.starts_with("NOOP") {
                            b"250 OK\r\n"
                        } else {
                            b"502 not implemented\r\n"
                        };
                        if w.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { port, got, task }
    }

    pub fn got(&self) -> Vec<Mail> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
