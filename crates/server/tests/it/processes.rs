//! Three `gan-connect serve` processes on one PostgreSQL, no sticky routing: a browser flow
//! that hops between them completes, a key rotated from the command line is served by all
//! within `keys.reload_seconds`, and sign-in throttling counts across them. Needs
//! `DATABASE_URL=postgres://…` (the PostgreSQL pass of `.ci/run`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gan_oidc::pkce::challenge_s256;
use gan_testkit::Browser;

use crate::support;

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const VERIFIER: &str = "processes-verifier-0123456789-abcdefghijklmnop";
const SECRET: &str = "processes-secret-0123456789-abcdefghijklmnop";
const EMAIL: &str = "multi@example.fr";
const PASSWORD: &str = "Trois-serveurs-2026";

struct Cluster {
    env: Vec<(String, String)>,
    ports: Vec<u16>,
    children: Vec<Child>,
    admin_url: String,
    db: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("psql")
            .args([
                &self.admin_url,
                "-qc",
                &format!("drop database if exists {} with (force)", self.db),
            ])
            .status();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    fn cli(&self, args: &[&str], stdin: &str) -> String {
        let (ok, out, err) = support::gan_connect(args, &self.env, stdin);
        assert!(ok, "{args:?}: {err}");
        out
    }

    fn base(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }
}

async fn until_ok(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reqwest::get(url)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "{url} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn kids(base: &str) -> Vec<String> {
    let jwks: serde_json::Value = reqwest::get(format!("{base}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn three_processes_share_flows_keys_and_throttling() {
    let Ok(admin_url) = std::env::var("DATABASE_URL").map(|u| u.to_string()) else {
        eprintln!(
            "this test needs PostgreSQL (DATABASE_URL); it runs in the PostgreSQL pass of .ci/run"
        );
        return;
    };
    if !admin_url.starts_with("postgres")
        || std::env::var("GAN_TEST_BACKENDS").as_deref() == Ok("sqlite")
    {
        eprintln!("PostgreSQL pass only");
        return;
    }
    let db = format!("gc_t_proc_{}", std::process::id());
    assert!(Command::new("psql")
        .args([&admin_url, "-qc", &format!("create database {db}")])
        .status()
        .unwrap()
        .success());
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{db}"));
    let ports = vec![free_port(), free_port(), free_port()];
    let dir = std::env::temp_dir().join(format!("gan-processes-{}", std::process::id()));
    let env: Vec<(String, String)> = [
        ("GAN_CONNECT__DATABASE__URL", url.to_string()),
        (
            "GAN_CONNECT__SERVER__ISSUER",
            format!("http://127.0.0.1:{}", ports[0]),
        ),
        (
            "GAN_CONNECT__KEYS__ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=".to_string(),
        ),
        ("GAN_CONNECT__KEYS__RELOAD_SECONDS", "1".to_string()),
        (
            "GAN_CONNECT__PASSWORDS__ARGON2_MEMORY_KIB",
            "1024".to_string(),
        ),
        ("GAN_CONNECT__PASSWORDS__ARGON2_ITERATIONS", "1".to_string()),
        (
            "GAN_CONNECT__MAIL__OUTBOX_DIR",
            dir.join("outbox").display().to_string(),
        ),
        ("GAN_CONNECT__LOG__LEVEL", "error".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut cluster = Cluster {
        env,
        ports,
        children: vec![],
        admin_url,
        db,
    };
    cluster.cli(&["migrate"], "");
    cluster.cli(
        &[
            "client",
            "add",
            "--id",
            "portal",
            "--name",
            "Portal",
            "--redirect-uri",
            REDIRECT,
            "--first-party",
            "--secret-stdin",
        ],
        &format!("{SECRET}\n"),
    );
    cluster.cli(
        &["identity", "add", "--email", EMAIL],
        &format!("{PASSWORD}\n"),
    );
    for i in 0..3 {
        let child = Command::new(env!("CARGO_BIN_EXE_gan-connect"))
            .args(["serve", "--no-migrate"])
            .envs(cluster.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(
                "GAN_CONNECT__SERVER__LISTEN",
                format!("127.0.0.1:{}", cluster.ports[i]),
            )
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        cluster.children.push(child);
    }
    for i in 0..3 {
        until_ok(&format!("{}/readyz", cluster.base(i))).await;
    }
    let (a, b, c) = (cluster.base(0), cluster.base(1), cluster.base(2));
    // One browser: its cookies go to every process (one site behind a load balancer).
    let mut browser = Browser::new(&a);

    // The flow hops: authorize on A, the sign-in page from B, the form posted to C, resume on A,
    // the code redeemed on B, userinfo on C.
    let mut authorize = url::Url::parse(&format!("{a}/authorize")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "portal")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email")
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge_s256(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    let interaction = browser.get(authorize.as_str()).await;
    assert_eq!(interaction.status, 303);
    let path = interaction
        .location
        .unwrap()
        .trim_start_matches(&a)
        .to_string();
    let page = browser.get(&format!("{b}{path}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let action = page.form_action().unwrap();
    let csrf = page.input("csrf_token").unwrap();
    let form = [
        ("csrf_token", csrf.as_str()),
        ("identifier", EMAIL),
        ("password", PASSWORD),
    ];
    let resume = browser.post_form(&format!("{c}{action}"), &form).await;
    assert_eq!(resume.status, 303, "{}", resume.body);
    let resume = resume.location.unwrap().replace(&c, "").replace(&a, "");
    let back = browser.get(&format!("{a}{resume}")).await;
    assert_eq!(back.status, 303);
    let back = url::Url::parse(&back.location.unwrap()).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();
    let http = reqwest::Client::new();
    let tokens: serde_json::Value = http
        .post(format!("{b}/token"))
        .basic_auth("portal", Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tokens}"));
    let info = http
        .get(format!("{c}/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        info.json::<serde_json::Value>().await.unwrap()["email"],
        EMAIL
    );

    // A key rotated from the command line (a fourth process) is served by all within the delay.
    let before = kids(&a).await;
    cluster.cli(&["keys", "rotate"], "");
    let deadline = Instant::now() + Duration::from_secs(10);
    for base in [&a, &b, &c] {
        loop {
            let now = kids(base).await;
            if now.len() == before.len() * 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{base} did not publish the new keys: {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Wrong passwords spread over the three count together: the fourth is held back everywhere.
    let mut held = false;
    for attempt in 0..6 {
        let base = [&a, &b, &c][attempt % 3];
        let mut other = Browser::new(base);
        let interaction = other.get(&authorize.as_str().replace(&a, base)).await;
        // Locations are under the issuer (A, the load balancer's address here).
        let path = interaction.location.unwrap().replace(&a, "");
        let page = other.get(&format!("{base}{path}")).await;
        let action = page.form_action().unwrap();
        let csrf = page.input("csrf_token").unwrap();
        let form = [
            ("csrf_token", csrf.as_str()),
            ("identifier", EMAIL),
            ("password", "wrong-password"),
        ];
        let answer = other.post_form(&format!("{base}{action}"), &form).await;
        if answer.status == 429 {
            held = attempt >= 3;
            break;
        }
    }
    assert!(
        held,
        "throttling counted the failures of all three processes"
    );
}
