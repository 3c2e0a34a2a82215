//! gan-load: the scenarios of `bench/load.sh` that wrk cannot script — the full sign-in flow
//! (five requests with cookies, a CSRF token and PKCE), refresh-token rotation chains, a
//! fixed-rate introspection probe while sign-ins saturate argon2 — and the argon2 ceiling of
//! this machine, measured with the server's parameters.
//!
//! Each scenario prints one Markdown table row in the columns of `bench/load.sh`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use clap::{Args, Parser, Subcommand};
use hdrhistogram::Histogram;
use sha2::Digest as _;

#[derive(Parser)]
#[command(
    name = "gan-load",
    about = "Load scenarios of the Gan Connect benchmark that wrk cannot script"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// argon2id verifications per second with the server's parameters and pool size: the
    /// ceiling of password sign-ins on this machine. Prints the number.
    Argon2 {
        #[arg(long, default_value_t = 19 * 1024)]
        memory_kib: u32,
        #[arg(long, default_value_t = 2)]
        iterations: u32,
        #[arg(long, default_value_t = 1)]
        parallelism: u32,
        /// The server's `passwords.hash_workers` (0: one per core, as the server does).
        #[arg(long, default_value_t = 0)]
        workers: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Full sign-in flows: authorize → sign-in page → form POST → back to the client → token.
    Signin(Load),
    /// refresh_token grants; each connection follows its own rotation chain.
    Refresh {
        #[command(flatten)]
        load: Load,
        /// The row's name in the table (to tell two clients apart).
        #[arg(long, default_value = "token (refresh_token, rotating)")]
        row: String,
    },
    /// Sign-ins at full concurrency and, beside them, introspection requests at a fixed rate
    /// (latency counted from when each request was due, so a stalled server cannot hide).
    Probe {
        #[command(flatten)]
        load: Load,
        /// Client that introspects (client_secret_basic).
        #[arg(long)]
        introspect_client: String,
        #[arg(long)]
        introspect_secret: String,
        /// A live access token: every answer must say `"active":true`.
        #[arg(long)]
        token: String,
        /// Introspection requests per second.
        #[arg(long, default_value_t = 200)]
        rate: u32,
    },
}

#[derive(Args, Clone)]
struct Load {
    /// The issuer, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    base: String,
    /// A first-party client allowed the code and refresh_token grants.
    #[arg(long)]
    client: String,
    #[arg(long)]
    secret: String,
    #[arg(long)]
    redirect_uri: String,
    #[arg(long)]
    email: String,
    #[arg(long)]
    password: String,
    /// Flows running at once.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The server's process id: the row then says how much CPU the server spent per request.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The argon2 ceiling (from `gan-load argon2`): the sign-in row then says how close it came.
    #[arg(long)]
    argon2_limit: Option<f64>,
}

const VERIFIER: &str = "gan-load-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Argon2 {
            memory_kib,
            iterations,
            parallelism,
            workers,
            seconds,
        } => {
            let cost = gan_accounts::password::HashCost {
                memory_kib,
                iterations,
                parallelism,
            };
            let per_second = argon2_limit(cost, workers, Duration::from_secs(seconds)).await?;
            println!("{per_second:.1}");
        }
        Command::Signin(load) => {
            let site = Site::new(load)?;
            let tally = run_for(&site, site.load.connections, |site| async move {
                site.sign_in(SCOPE).await.map(|t| t.is_some())
            })
            .await;
            let limit = site.load.argon2_limit;
            print_row(
                "full sign-in (5 requests/flow)",
                &tally,
                limit.map(|l| {
                    format!(
                        "{:.0}% of argon2 limit {l:.1}/s",
                        100.0 * tally.per_second() / l
                    )
                }),
            );
        }
        Command::Refresh { load, row } => {
            let site = Site::new(load)?;
            let tally = refresh(&site).await;
            print_row(&row, &tally, None);
        }
        Command::Probe {
            load,
            introspect_client,
            introspect_secret,
            token,
            rate,
        } => {
            let site = Site::new(load)?;
            let probe = Probe {
                client: introspect_client,
                secret: introspect_secret,
                token,
                rate,
            };
            let (sign_ins, probes) = tokio::join!(
                run_for(&site, site.load.connections, |site| async move {
                    site.sign_in(SCOPE).await.map(|t| t.is_some())
                }),
                probe.run(&site),
            );
            print_row("full sign-in (beside the probe)", &sign_ins, None);
            print_row(
                &format!("introspection at {rate}/s during sign-ins"),
                &probes,
                None,
            );
        }
    }
    Ok(())
}

const SCOPE: &str = "openid email";

/// Outcomes and latencies of one scenario.
struct Tally {
    latency: Histogram<u64>,
    ok: u64,
    /// Transport failures (connect, reset, timeout).
    errors: u64,
    /// Answers that were not the expected one.
    bad: u64,
    elapsed: Duration,
    /// CPU time the server spent meanwhile (user + system, all threads).
    server_cpu: Option<Duration>,
}

impl Tally {
    fn new() -> Self {
        // 1 µs to 60 s at 3 significant digits: constant, valid bounds.
        let latency = Histogram::new_with_bounds(1, 60_000_000, 3)
            .unwrap_or_else(|_| unreachable!("valid constant bounds"));
        Self {
            latency,
            ok: 0,
            errors: 0,
            bad: 0,
            elapsed: Duration::ZERO,
            server_cpu: None,
        }
    }

    fn record(&mut self, started: Instant, outcome: anyhow::Result<bool>) {
        let _ = self
            .latency
            .record(started.elapsed().as_micros().max(1) as u64);
        match outcome {
            Ok(true) => self.ok += 1,
            Ok(false) => self.bad += 1,
            Err(_) => self.errors += 1,
        }
    }

    fn merge(&mut self, other: &Tally) {
        let _ = self.latency.add(&other.latency);
        self.ok += other.ok;
        self.errors += other.errors;
        self.bad += other.bad;
    }

    fn per_second(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn requests(&self) -> u64 {
        self.ok + self.bad + self.errors
    }
}

/// The span of a scenario: wall time, and the server's CPU time when its pid is known.
struct Clock {
    started: Instant,
    pid: Option<u32>,
    cpu: Option<Duration>,
}

impl Clock {
    fn start(site: &Site) -> Self {
        let pid = site.load.server_pid;
        Self {
            started: Instant::now(),
            pid,
            cpu: pid.and_then(cpu_time),
        }
    }

    fn finish(&self, tally: &mut Tally) {
        tally.elapsed = self.started.elapsed();
        tally.server_cpu = self
            .pid
            .and_then(cpu_time)
            .zip(self.cpu)
            .map(|(end, start)| end.saturating_sub(start));
    }
}

/// User + system CPU time of a process, from /proc (Linux; clock ticks of 1/100 s).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses: utime and stime are the 12th and 13th.
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let ticks = rest.next()?.parse::<u64>().ok()? + rest.next()?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn ms(micros: u64) -> String {
    format!("{:.2}ms", micros as f64 / 1000.0)
}

fn print_row(name: &str, t: &Tally, remark: Option<String>) {
    let cpu = t
        .server_cpu
        .map(|c| {
            format!(
                "{:.3}",
                c.as_secs_f64() * 1000.0 / t.requests().max(1) as f64
            )
        })
        .unwrap_or_else(|| "-".into());
    println!(
        "| {:<34} | {:>10.2} | {:>8} | {:>8} | {:>8} | {:>6} | {:>6} | {:>7} |{}",
        name,
        t.per_second(),
        ms(t.latency.value_at_quantile(0.5)),
        ms(t.latency.value_at_quantile(0.99)),
        ms(t.latency.max()),
        t.errors,
        t.bad,
        cpu,
        remark.map(|r| format!(" {r}")).unwrap_or_default()
    );
}

/// Runs `step` in `workers` loops until the deadline.
async fn run_for<F, Fut>(site: &Arc<Site>, workers: usize, step: F) -> Tally
where
    F: Fn(Arc<Site>) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = anyhow::Result<bool>> + Send,
{
    let clock = Clock::start(site);
    let deadline = clock.started + Duration::from_secs(site.load.seconds);
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (site, step) = (site.clone(), step.clone());
            tokio::spawn(async move {
                let mut tally = Tally::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let outcome = step(site.clone()).await;
                    tally.record(t, outcome);
                }
                tally
            })
        })
        .collect();
    gather(tasks, &clock).await
}

/// The workers' tallies as one, over the clock's span.
async fn gather(tasks: Vec<tokio::task::JoinHandle<Tally>>, clock: &Clock) -> Tally {
    let mut all = Tally::new();
    for task in tasks {
        if let Ok(t) = task.await {
            all.merge(&t);
        }
    }
    clock.finish(&mut all);
    all
}

/// Each worker signs in for a refresh token before the clock starts, then rotates it until the
/// deadline; a broken chain counts as a bad answer and the worker signs in again.
async fn refresh(site: &Arc<Site>) -> Tally {
    let first = |site: Arc<Site>| async move {
        site.sign_in("openid email offline_access")
            .await
            .ok()
            .flatten()
            .and_then(|t| t["refresh_token"].as_str().map(str::to_string))
    };
    // One sign-in at a time: a burst of sign-ins to one identity from one address is what the
    // throttle reserves against (each attempt is reserved before its password is checked), and
    // chains seeded by refused sign-ins would measure sign-ins again, not refreshes.
    let mut chains = Vec::new();
    for _ in 0..site.load.connections {
        chains.push(first(site.clone()).await);
    }
    let clock = Clock::start(site);
    let deadline = clock.started + Duration::from_secs(site.load.seconds);
    let tasks: Vec<_> = chains
        .into_iter()
        .map(|mut current| {
            let site = site.clone();
            tokio::spawn(async move {
                let mut tally = Tally::new();
                while Instant::now() < deadline {
                    let Some(token) = current.take() else {
                        tally.bad += 1;
                        current = first(site.clone()).await;
                        continue;
                    };
                    let t = Instant::now();
                    let answer = site
                        .token(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                        .await;
                    current = answer
                        .as_ref()
                        .ok()
                        .and_then(|a| a.as_ref())
                        .and_then(|a| a["refresh_token"].as_str().map(str::to_string));
                    tally.record(t, answer.map(|a| a.is_some()));
                }
                tally
            })
        })
        .collect();
    gather(tasks, &clock).await
}

struct Probe {
    client: String,
    secret: String,
    token: String,
    rate: u32,
}

impl Probe {
    async fn run(&self, site: &Arc<Site>) -> Tally {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(site.load.seconds);
        let period = Duration::from_secs_f64(1.0 / f64::from(self.rate.max(1)));
        let tally = Arc::new(Mutex::new(Tally::new()));
        let mut due = started;
        let mut in_flight = Vec::new();
        while due < deadline {
            tokio::time::sleep_until(due.into()).await;
            let (site, tally) = (site.clone(), tally.clone());
            let (client, secret, token) =
                (self.client.clone(), self.secret.clone(), self.token.clone());
            let scheduled = due;
            in_flight.push(tokio::spawn(async move {
                let outcome = async {
                    let res = site
                        .http
                        .post(format!("{}/introspect", site.load.base))
                        .basic_auth(client, Some(secret))
                        .form(&[("token", token)])
                        .send()
                        .await?;
                    let ok = res.status() == 200;
                    let body = res.text().await?;
                    Ok(ok && body.contains("\"active\":true"))
                }
                .await;
                if let Ok(mut t) = tally.lock() {
                    t.record(scheduled, outcome);
                }
            }));
            due += period;
        }
        for task in in_flight {
            let _ = task.await;
        }
        let mut all = Tally::new();
        if let Ok(t) = tally.lock() {
            all.merge(&t);
        }
        all.elapsed = started.elapsed(); // the server's CPU is the sign-ins' row
        all
    }
}

/// argon2id verifications per second, `workers` at a time, as the server's bounded pool runs them.
async fn argon2_limit(
    cost: gan_accounts::password::HashCost,
    workers: usize,
    span: Duration,
) -> anyhow::Result<f64> {
    let workers = if workers == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    } else {
        workers
    };
    let hasher = gan_accounts::password::Hasher::new(cost, workers)?;
    let stored = hasher.hash("a password of the benchmark").await?;
    let started = Instant::now();
    let deadline = started + span;
    let tasks: Vec<_> = (0..workers * 2)
        .map(|_| {
            let (hasher, stored) = (hasher.clone(), stored.clone());
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    hasher
                        .verify("a password of the benchmark", Some(&stored))
                        .await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        done += task.await.unwrap_or(0);
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// The provider under load, and the relying party's side of the flows.
struct Site {
    http: reqwest::Client,
    load: Load,
    challenge: String,
}

/// One response of the provider.
struct Reply {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Site {
    fn new(load: Load) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(load.connections * 2)
            .build()?;
        let challenge =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER));
        Ok(Arc::new(Self {
            http,
            load,
            challenge,
        }))
    }

    fn authorize_url(&self, scope: &str) -> anyhow::Result<String> {
        let mut url = url::Url::parse(&format!("{}/authorize", self.load.base))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.load.client)
            .append_pair("redirect_uri", &self.load.redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", "gan-load")
            .append_pair("code_challenge", &self.challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Sends with the flow's cookies and keeps the ones the provider sets.
    async fn send(
        &self,
        jar: &mut HashMap<String, String>,
        req: reqwest::RequestBuilder,
    ) -> anyhow::Result<Reply> {
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let res = if cookie.is_empty() {
            req
        } else {
            req.header("cookie", cookie)
        }
        .send()
        .await?;
        for set in res.headers().get_all("set-cookie") {
            if let Some((name, value)) = set
                .to_str()
                .ok()
                .and_then(|s| s.split(';').next())
                .and_then(|p| p.split_once('='))
            {
                jar.insert(name.to_string(), value.to_string());
            }
        }
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(|l| self.absolute(l));
        let body = res.text().await?;
        Ok(Reply {
            status,
            location,
            body,
        })
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.load.base)
        } else {
            url.to_string()
        }
    }

    /// Follows redirects while they stay on the provider.
    async fn follow(
        &self,
        jar: &mut HashMap<String, String>,
        mut reply: Reply,
    ) -> anyhow::Result<Reply> {
        for _ in 0..10 {
            match reply.location.clone() {
                Some(next)
                    if (300..400).contains(&reply.status) && next.starts_with(&self.load.base) =>
                {
                    reply = self.send(jar, self.http.get(next)).await?;
                }
                _ => break,
            }
        }
        Ok(reply)
    }

    /// One whole sign-in, as a new browser would do it; the token response, or None when an
    /// answer was not the expected one.
    async fn sign_in(&self, scope: &str) -> anyhow::Result<Option<serde_json::Value>> {
        let mut jar = HashMap::new();
        let first = self
            .send(&mut jar, self.http.get(self.authorize_url(scope)?))
            .await?;
        let page = self.follow(&mut jar, first).await?;
        let (Some(action), Some(csrf)) = (
            form_action(&page.body),
            input_value(&page.body, "csrf_token"),
        ) else {
            return Ok(None);
        };
        let form = [
            ("csrf_token", csrf.as_str()),
            ("identifier", self.load.email.as_str()),
            ("password", self.load.password.as_str()),
        ];
        let posted = self
            .send(&mut jar, self.http.post(self.absolute(&action)).form(&form))
            .await?;
        let back = self.follow(&mut jar, posted).await?;
        let code = back
            .location
            .filter(|l| l.starts_with(&self.load.redirect_uri))
            .and_then(|l| url::Url::parse(&l).ok())
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned())
            });
        let Some(code) = code else { return Ok(None) };
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &self.load.redirect_uri),
            ("code_verifier", VERIFIER),
        ];
        self.token(&grant).await
    }

    /// A token request with client_secret_basic; the answer when it is a 200 with tokens.
    async fn token(&self, form: &[(&str, &str)]) -> anyhow::Result<Option<serde_json::Value>> {
        let res = self
            .http
            .post(format!("{}/token", self.load.base))
            .basic_auth(&self.load.client, Some(&self.load.secret))
            .form(form)
            .send()
            .await?;
        let status = res.status();
        let body: serde_json::Value = res.json().await.context("token answer")?;
        Ok((status == 200 && body["access_token"].is_string()).then_some(body))
    }
}

/// The `value` of the input named `name` (the pages are ours: attributes in double quotes).
fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag = &html[html[..at].rfind('<')?..at + html[at..].find('>')?];
    let value = tag.split("value=\"").nth(1)?.split('"').next()?;
    Some(unescape(value))
}

/// The `action` of the first form.
fn form_action(html: &str) -> Option<String> {
    let form = &html[html.find("<form")?..];
    let action = form.split("action=\"").nth(1)?.split('"').next()?;
    Some(unescape(action))
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sign_in_form() {
        let page = r#"<form method="post" action="&#x2f;interaction&#x2f;abc?x=1&amp;y=2"><input type="hidden" name="csrf_token" value="t&#x2f;k"></form>"#;
        assert_eq!(
            form_action(page).as_deref(),
            Some("/interaction/abc?x=1&y=2")
        );
        assert_eq!(input_value(page, "csrf_token").as_deref(), Some("t/k"));
        assert_eq!(input_value(page, "missing"), None);
    }
}
