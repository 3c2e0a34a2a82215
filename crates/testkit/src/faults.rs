//! Faults under the test's control: a TCP proxy in front of the database that can be cut and
//! restored, and an SMTP sink that can refuse mail and then accept it, answer slowly, and speak
//! STARTTLS or implicit TLS with a certificate made by the test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

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
    /// Whether it came over TLS (STARTTLS or implicit).
    pub tls: bool,
}

/// How the sink protects its connections.
#[derive(Clone, Default)]
pub enum SinkTls {
    /// Plain SMTP; STARTTLS is not offered.
    #[default]
    None,
    /// STARTTLS offered (and required before `MAIL`) with this certificate.
    Starttls(Arc<rustls::ServerConfig>),
    /// TLS from the first byte (SMTPS) with this certificate.
    Implicit(Arc<rustls::ServerConfig>),
}

/// How the sink behaves.
#[derive(Clone, Default)]
pub struct SinkOptions {
    /// Answer `451` to `MAIL FROM` until [`SmtpSink::accept`].
    pub refusing: bool,
    /// TLS.
    pub tls: SinkTls,
    /// How long the sink takes to answer the end of `DATA` (a slow relay); the message counts
    /// as received before the wait.
    pub data_delay: Duration,
}

/// A small SMTP server (RFC 5321 subset: EHLO/HELO, STARTTLS, MAIL, RCPT, DATA, RSET, NOOP,
/// QUIT) that answers `451` to `MAIL FROM` while refusing.
pub struct SmtpSink {
    pub port: u16,
    state: Arc<SinkState>,
    task: tokio::task::JoinHandle<()>,
}

struct SinkState {
    refusing: AtomicBool,
    refused: AtomicUsize,
    handshakes_failed: AtomicUsize,
    received: Mutex<Vec<Received>>,
    tls: SinkTls,
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
            handshakes_failed: AtomicUsize::new(0),
            received: Mutex::new(Vec::new()),
            tls: options.tls,
            data_delay: options.data_delay,
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, shared.clone()));
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

    /// How many TLS handshakes failed (the client did not trust the certificate).
    pub fn handshakes_failed(&self) -> usize {
        self.state.handshakes_failed.load(Ordering::SeqCst)
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

/// What a dialogue ended with.
enum End {
    Closed,
    StartTls,
}

async fn connection(stream: TcpStream, state: Arc<SinkState>) {
    match &state.tls {
        SinkTls::None => {
            dialogue(&mut BufReader::new(stream), &state, false, false).await;
        }
        SinkTls::Implicit(config) => {
            let Some(tls) = handshake(config, stream, &state).await else {
                return;
            };
            dialogue(&mut BufReader::new(tls), &state, false, true).await;
        }
        SinkTls::Starttls(config) => {
            let mut plain = BufReader::new(stream);
            if let End::StartTls = dialogue(&mut plain, &state, true, false).await {
                let Some(tls) = handshake(config, plain.into_inner(), &state).await else {
                    return;
                };
                dialogue(&mut BufReader::new(tls), &state, false, true).await;
            }
        }
    }
}

async fn handshake(
    config: &Arc<rustls::ServerConfig>,
    stream: TcpStream,
    state: &SinkState,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match TlsAcceptor::from(config.clone()).accept(stream).await {
        Ok(tls) => Some(tls),
        Err(_) => {
            state.handshakes_failed.fetch_add(1, Ordering::SeqCst);
            None
        }
    }
}

/// One SMTP dialogue; `offer_starttls` before TLS on a STARTTLS sink (mail is then refused
/// until the client upgrades), `tls` once the connection is encrypted.
async fn dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    state: &SinkState,
    offer_starttls: bool,
    tls: bool,
) -> End {
    // After STARTTLS the client starts again with EHLO, without a new greeting.
    let greet = !tls || !matches!(state.tls, SinkTls::Starttls(_));
    if greet
        && conn
            .get_mut()
            .write_all(b"220 sink ESMTP\r\n")
            .await
            .is_err()
    {
        return End::Closed;
    }
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match conn.read_line(&mut line).await {
            Ok(0) | Err(_) => return End::Closed,
            Ok(_) => {}
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if offer_starttls => b"250-sink\r\n250-8BITMIME\r\n250 STARTTLS\r\n",
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "STARTTLS" if offer_starttls => {
                if conn.get_mut().write_all(b"220 go ahead\r\n").await.is_err() {
                    return End::Closed;
                }
                return End::StartTls;
            }
            "HELO" | "RSET" | "NOOP" => {
                recipients.clear();
                b"250 OK\r\n"
            }
            "MAIL" if offer_starttls => b"530 5.7.0 must issue STARTTLS first\r\n",
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
                    return End::Closed;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    match conn.read_line(&mut line).await {
                        Ok(0) | Err(_) => return End::Closed,
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
                    tls,
                });
                // A slow relay: the message is in, the answer late.
                if !state.data_delay.is_zero() {
                    tokio::time::sleep(state.data_delay).await;
                }
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = conn.get_mut().write_all(b"221 bye\r\n").await;
                return End::Closed;
            }
            _ => b"502 not implemented\r\n",
        };
        if conn.get_mut().write_all(reply).await.is_err() {
            return End::Closed;
        }
    }
}

/// A certificate authority made for one test, and server certificates it signs.
pub struct TestCa {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl TestCa {
    /// A fresh CA (ECDSA P-256).
    pub fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// The CA certificate, PEM (what `mail.smtp_ca_file` holds).
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server configuration with a certificate for `names` (DNS names or IP addresses)
    /// signed by this CA.
    pub fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().copied().unwrap_or("sink"),
        );
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        Arc::new(config)
    }
}
