//! Faults under the test's control: a TCP proxy in front of the database that can be cut and
//! restored, and an SMTP sink that can refuse mail and then accept it, and answer slowly.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy: while cut, open connections are closed and new ones dropped at once.
pub struct FaultProxy {
    pub port: u16,
    down: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let (cuts, _) = watch::channel(0u64);
        let (flag, sender) = (down.clone(), cuts.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let mut cut = sender.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self {
            port,
            down,
            cuts,
            task,
        }
    }

    /// The database goes away: live connections break, new ones fail.
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// The database is back.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: String,
}

/// How the sink behaves.
#[derive(Clone, Default)]
pub struct SinkOptions {
    /// Answer `451` to `MAIL FROM` until [`SmtpSink::accept`].
    pub refusing: bool,
    /// How long the sink takes to answer the end of `DATA` (a slow relay); the message counts
    /// as received before the wait.
    pub data_delay: Duration,
}

/// A small SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that
/// answers `451` to `MAIL FROM` while refusing.
pub struct SmtpSink {
    pub port: u16,
    state: Arc<SinkState>,
    task: tokio::task::JoinHandle<()>,
}

struct SinkState {
    refusing: AtomicBool,
    refused: AtomicUsize,
    received: Mutex<Vec<Received>>,
    data_delay: Duration,
}

impl SmtpSink {
    /// A plain sink, refusing or not.
    pub async fn start(refusing: bool) -> Self {
        Self::start_with(SinkOptions {
            refusing,
            ..SinkOptions::default()
        })
        .await
    }

    pub async fn start_with(options: SinkOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(SinkState {
            refusing: AtomicBool::new(options.refusing),
            refused: AtomicUsize::new(0),
            received: Mutex::new(Vec::new()),
            data_delay: options.data_delay,
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(dialogue(BufReader::new(stream), shared.clone()));
            }
        });
        Self { port, state, task }
    }

    pub fn accept(&self) {
        self.state.refusing.store(false, Ordering::SeqCst);
    }

    /// How many transactions were refused.
    pub fn refused(&self) -> usize {
        self.state.refused.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One SMTP dialogue.
async fn dialogue(mut conn: BufReader<TcpStream>, state: Arc<SinkState>) {
    if conn
        .get_mut()
        .write_all(b"220 sink ESMTP\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match conn.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "HELO" | "RSET" | "NOOP" => {
                recipients.clear();
                b"250 OK\r\n"
            }
            "MAIL" if state.refusing.load(Ordering::SeqCst) => {
                state.refused.fetch_add(1, Ordering::SeqCst);
                b"451 4.3.0 try again later\r\n"
            }
            "MAIL" => b"250 OK\r\n",
            "RCPT" => {
                let to = line
                    .trim_end()
                    .split_once(':')
                    .map(|(_, a)| a.trim().trim_matches(['<', '>']).to_string())
                    .unwrap_or_default();
                recipients.push(to);
                b"250 OK\r\n"
            }
            "DATA" => {
                if conn.get_mut().write_all(b"354 go ahead\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    match conn.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let l = line.trim_end_matches(['\r', '\n']);
                    if l == "." {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(l));
                    data.push('\n');
                }
                state.received.lock().unwrap().push(Received {
                    recipients: std::mem::take(&mut recipients),
                    data,
                });
                // A slow relay: the message is in, the answer late.
                if !state.data_delay.is_zero() {
                    tokio::time::sleep(state.data_delay).await;
                }
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = conn.get_mut().write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 not implemented\r\n",
        };
        if conn.get_mut().write_all(reply).await.is_err() {
            return;
        }
    }
}
