//! Behind a reverse proxy: the address a trusted proxy forwards is the customer's, in the audit
//! trail and in the list of sessions; what an untrusted peer claims is ignored. Requests go
//! straight to the router with the socket's peer set as `serve` sets it, so the peers can be
//! any address.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use gan_audit::{AuditFilter, EventType};
use gan_testkit::flows::authorize_url;
use gan_testkit::{Backend, ClientSpec, Reply, TestDb, TestServer};
use tower::ServiceExt;

const PASSWORD: &str = "a-good-password-1";

/// A browser whose requests reach the router from `peer`, with an `X-Forwarded-For` header.
struct Visitor {
    app: Router,
    peer: SocketAddr,
    forwarded_for: &'static str,
    cookies: HashMap<String, String>,
}

impl Visitor {
    async fn send(&mut self, method: &str, uri: &str, form: Option<&[(&str, &str)]>) -> Reply {
        let path = uri
            .find("://")
            .and_then(|at| uri[at + 3..].find('/').map(|p| &uri[at + 3 + p..]))
            .unwrap_or(uri);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("x-forwarded-for", self.forwarded_for)
            .extension(ConnectInfo(self.peer));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", jar.join("; "));
        }
        let body = match form {
            Some(fields) => {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                let mut encoded = url::form_urlencoded::Serializer::new(String::new());
                encoded.extend_pairs(fields);
                Body::from(encoded.finish())
            }
            None => Body::empty(),
        };
        let res = self
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        for set in res.headers().get_all("set-cookie") {
            let (k, v) = set
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .split_once('=')
                .unwrap();
            self.cookies.insert(k.to_string(), v.to_string());
        }
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        Reply {
            status,
            location,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Signs in to `portal`; returns the redirect back to it.
    async fn sign_in(&mut self, server: &TestServer, email: &str) -> Reply {
        self.sign_in_with(server, email, PASSWORD).await
    }

    /// Posts the sign-in form of `portal` with `email` and `password`.
    async fn sign_in_with(&mut self, server: &TestServer, email: &str, password: &str) -> Reply {
        let to_page = self
            .send("GET", &authorize_url(server, "portal", &[]), None)
            .await;
        let page = self
            .send("GET", to_page.location.as_deref().unwrap(), None)
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let action = page.form_action().unwrap();
        let csrf = page.input("csrf_token").unwrap();
        let fields = [
            ("csrf_token", csrf.as_str()),
            ("identifier", email),
            ("password", password),
        ];
        self.send("POST", &action, Some(&fields)).await
    }
}

#[tokio::test]
async fn the_forwarded_address_is_the_customers_only_through_a_trusted_proxy() {
    let db = TestDb::create(&Backend::Sqlite).await;
    let server = TestServer::start(
        &db,
        &[(
            "GAN_CONNECT__SERVER__TRUSTED_PROXIES",
            "10.0.0.0/8, 2001:db8:ffff::/48",
        )],
    )
    .await;
    server.add_client(ClientSpec::portal("portal")).await;
    let app = gan_web::app(server.state.clone());
    let cases = [
        // Through the load balancer (an IPv4-mapped socket address), which appended the
        // customer's address to what the customer sent.
        (
            "through@example.fr",
            "[::ffff:10.0.0.5]:443",
            "198.51.100.66, 203.0.113.7",
            "203.0.113.7",
        ),
        // Straight to the server, claiming an address: the socket's peer.
        (
            "direct@example.fr",
            "192.0.2.99:50000",
            "203.0.113.50",
            "192.0.2.99",
        ),
    ];
    for (email, peer, forwarded_for, want) in cases {
        let sub = server.add_identity(email, PASSWORD).await;
        let mut visitor = Visitor {
            app: app.clone(),
            peer: peer.parse().unwrap(),
            forwarded_for,
            cookies: HashMap::new(),
        };
        let back = visitor.sign_in(&server, email).await;
        assert_eq!(back.status, 303, "{email}: {}", back.body);

        let sessions = server.state.provider.sessions_of(&sub).await.unwrap();
        let ips: Vec<_> = sessions.iter().map(|s| s.ip.as_deref()).collect();
        assert_eq!(ips, [Some(want)], "{email}: the session list");
        let filter = AuditFilter {
            identity_id: Some(sub.clone()),
            event_type: Some(EventType::SignInSucceeded),
            ..Default::default()
        };
        let events = server.audit_events(filter).await;
        let ips: Vec<_> = events.iter().map(|e| e.ip.as_deref()).collect();
        assert_eq!(ips, [Some(want)], "{email}: the audit trail");
    }
    drop(server);
    db.drop_db().await;
}

/// Issue 13 §2: behind the proxy every request comes from the proxy's address; the counters
/// must count the customers it forwards, or one guesser locks everyone out.
#[tokio::test]
async fn one_guesser_behind_the_proxy_does_not_lock_the_other_customers_out() {
    let db = TestDb::create(&Backend::Sqlite).await;
    let server = TestServer::start(
        &db,
        &[("GAN_CONNECT__SERVER__TRUSTED_PROXIES", "10.0.0.0/8")],
    )
    .await;
    server.add_client(ClientSpec::portal("portal")).await;
    server.add_identity("client@example.fr", PASSWORD).await;
    let app = gan_web::app(server.state.clone());
    let visitor = |forwarded_for: &'static str| Visitor {
        app: app.clone(),
        peer: "10.0.0.5:443".parse().unwrap(),
        forwarded_for,
        cookies: HashMap::new(),
    };
    // One guesser tries many identifiers (one guess each: no identifier counter trips).
    let mut guesser = visitor("203.0.113.66");
    let mut statuses = Vec::new();
    for i in 0..55 {
        let r = guesser
            .sign_in_with(&server, &format!("inconnu{i}@example.fr"), "devine-1234")
            .await;
        statuses.push(r.status);
    }
    assert!(statuses.contains(&401), "{statuses:?}");
    assert_eq!(
        statuses.last(),
        Some(&429),
        "the guesser's address is held back: {statuses:?}"
    );
    // Another customer behind the same proxy signs in.
    let back = visitor("198.51.100.7")
        .sign_in(&server, "client@example.fr")
        .await;
    assert_eq!(back.status, 303, "{}", back.body);
    drop(server);
    db.drop_db().await;
}
