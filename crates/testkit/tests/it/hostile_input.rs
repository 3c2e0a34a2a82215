//! Hostile input on every parameter that reaches a page, a message or a redirect: markup is
//! escaped, redirects stay on registered or local targets, no header can be injected, and
//! oversized requests are refused while the server keeps serving.

use gan_testkit::flows::authorize_url;
use gan_testkit::{each_backend, Browser, ClientSpec, Reply, REDIRECT};

const XSS: &str = "\"'><script>alert(1)</script><img src=x onerror=alert(1)><svg/onload=alert(1)>";

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The page shows no live markup from the payload (escaped text is fine).
fn inert(what: &str, r: &Reply) {
    for live in [
        "<script>alert",
        "<img src=x",
        "<svg/onload",
        "onerror=alert(1)>",
    ] {
        assert!(
            !r.body.contains(live),
            "{what}: {live} reached the page unescaped:\n{}",
            r.body
        );
    }
    if let Some(loc) = &r.location {
        assert!(
            !loc.contains('<') && !loc.contains('"') && !loc.contains(' '),
            "{what}: raw payload in Location {loc}"
        );
    }
}

#[tokio::test]
async fn markup_in_any_parameter_stays_text() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        let csv = format!("client_number,kind,label,contact_email,legacy_hash\n60000001,personal,{},famille@example.fr,sha256$s${}\n", XSS.replace(['"', ','], ""), "0".repeat(64));
        server.import(&csv).await;
        let mut b = Browser::new(&server.base);

        // Authorization parameters, before and after the redirect URI is known.
        for name in [
            "state",
            "nonce",
            "login_hint",
            "ui_locales",
            "scope",
            "prompt",
            "max_age",
            "claims",
            "acr_values",
            "display",
        ] {
            let url = format!(
                "{}&{name}={}",
                authorize_url(&server, "portal", &[]).replace(&format!("&{name}="), "&x-ignored="),
                enc(XSS)
            );
            let r = b.get(&url).await;
            inert(name, &r);
            let page = b.follow(r).await;
            inert(name, &page);
        }
        for (name, value) in [
            ("client_id", XSS.to_string()),
            ("redirect_uri", format!("{REDIRECT}{XSS}")),
            ("response_type", XSS.to_string()),
        ] {
            let url = format!(
                "/authorize?client_id=portal&response_type=code&redirect_uri={}&{name}={}",
                enc(REDIRECT),
                enc(&value)
            );
            inert(name, &b.get(&url).await);
        }

        // Form fields echoed back on the pages.
        let first = b.get(&authorize_url(&server, "portal", &[])).await;
        let page = b.follow(first).await;
        let (action, csrf) = (
            page.form_action().unwrap(),
            page.input("csrf_token").unwrap(),
        );
        inert(
            "identifier",
            &b.post_form(
                &action,
                &[
                    ("csrf_token", &csrf),
                    ("identifier", XSS),
                    ("password", "x"),
                ],
            )
            .await,
        );
        for (path, field) in [
            ("/forgot/identifier", "email"),
            ("/forgot/password", "identifier"),
        ] {
            let form = b.get(path).await;
            let csrf = form.input("csrf_token").unwrap();
            inert(
                path,
                &b.post_form(path, &[("csrf_token", &csrf), (field, XSS)])
                    .await,
            );
        }
        for path in [
            "/upgrade/verify?token=",
            "/password/reset?token=",
            "/account/email/verify?token=",
            "/upgrade/start?token=",
        ] {
            inert(path, &b.get(&format!("{path}{}", enc(XSS))).await);
        }
        inert("404", &b.get(&format!("/{}", enc(XSS))).await);
        inert(
            "end_session",
            &b.get(&format!(
                "/end_session?client_id=portal&state={}&ui_locales={}",
                enc(XSS),
                enc(XSS)
            ))
            .await,
        );

        // A customer label from the import file, shown on the sign-in flow and in a message.
        let forgot = b.get("/forgot/identifier").await;
        let csrf = forgot.input("csrf_token").unwrap();
        b.post_form(
            "/forgot/identifier",
            &[("csrf_token", &csrf), ("email", "famille@example.fr")],
        )
        .await;
        let mail = server.mail_to("famille@example.fr", 1).await;
        assert!(
            mail.html.contains("&lt;script&gt;") || mail.html.contains("&#x3c;script"),
            "the label is in the message, escaped: {}",
            mail.html
        );
        assert!(!mail.html.contains("<script>alert"));
    });
}

#[tokio::test]
async fn redirects_go_only_where_they_may() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        let mut b = Browser::new(&server.base);
        // The language switch follows local paths only.
        for evil in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "/\t/evil.example/",
            "/%09/evil.example",
            "javascript:alert(1)",
        ] {
            let r = b.get(&format!("/lang?to=en&back={}", enc(evil))).await;
            assert_eq!(r.status, 303, "{evil}");
            let loc = url::Url::parse(&r.location.unwrap()).unwrap();
            assert_eq!(loc.host_str(), Some("127.0.0.1"), "{evil} → {loc}");
        }
        // Unregistered redirect URIs (other hosts, lookalikes) never receive a redirect.
        for evil in [
            "https://evil.example/cb",
            "http://127.0.0.1:9/cb/../evil",
            "http://127.0.0.1:9/cb?x=1",
            "http://127.0.0.1:9@evil.example/cb",
            "HTTP://127.0.0.1:9/cb",
        ] {
            let r = b.get(&format!("/authorize?client_id=portal&response_type=code&redirect_uri={}&code_challenge=x&code_challenge_method=S256", enc(evil))).await;
            assert_eq!(r.status, 400, "{evil}");
            assert!(r.location.is_none(), "{evil}");
        }
        // Logout: only a registered post-logout URI, else our own page.
        let r = b
            .get(&format!(
                "/end_session?client_id=portal&post_logout_redirect_uri={}",
                enc("https://evil.example/")
            ))
            .await;
        assert!(
            r.location.is_none() && r.status == 400,
            "{} {:?}",
            r.status,
            r.location
        );
    });
}

#[tokio::test]
async fn no_header_can_be_injected_and_limits_hold() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // CR/LF in a parameter that goes into a Location header stays encoded.
        let url = format!(
            "{}&state={}",
            authorize_url(&server, "portal", &[("prompt", "none")])
                .replace("&state=", "&x-ignored="),
            enc("a\r\nSet-Cookie: injected=1")
        );
        let r = client.get(&url).send().await.unwrap();
        assert!(r
            .headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().contains("injected")));
        let loc = r
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            loc.starts_with(REDIRECT) && loc.contains("state=a%0D%0ASet-Cookie"),
            "{loc}"
        );
        // A caller's request id is echoed only when it is a plain token.
        let r = client
            .get(server.url("/healthz"))
            .header("x-request-id", "abc-123")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-request-id"], "abc-123");
        let r = client
            .get(server.url("/healthz"))
            .header("x-request-id", "<script>")
            .send()
            .await
            .unwrap();
        assert_ne!(r.headers()["x-request-id"], "<script>");

        // Oversized requests: body, URL, headers. Each is refused; the server goes on.
        let big = "a".repeat(200 * 1024);
        let r = client
            .post(server.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type={big}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let r = client
            .get(server.url(&format!("/authorize?state={big}")))
            .send()
            .await;
        assert!(
            r.map(|r| r.status().is_client_error()).unwrap_or(true),
            "a 200 KiB URL is refused"
        );
        let r = client
            .get(server.url("/healthz"))
            .header("x-filler", "b".repeat(200 * 1024))
            .send()
            .await;
        assert!(
            r.map(|r| r.status().is_client_error()).unwrap_or(true),
            "200 KiB of headers are refused"
        );
        let many = (0..200).fold(client.get(server.url("/healthz")), |req, i| {
            req.header(format!("x-h{i}"), "v")
        });
        assert!(many
            .send()
            .await
            .map(|r| r.status().as_u16() != 500)
            .unwrap_or(true));
        assert_eq!(
            client
                .get(server.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "still serving"
        );
    });
}

#[tokio::test]
async fn a_client_too_slow_to_send_its_request_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = gan_testkit::TestDb::create(&gan_testkit::Backend::Sqlite).await;
    let server = gan_testkit::TestServer::start(&db, &[]).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // Half a request head, then nothing (slow loris).
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(
        gan_web::serve::HEAD_TIMEOUT * 2,
        stream.read_to_end(&mut buf),
    )
    .await;
    assert!(
        closed.is_ok(),
        "the connection was still open after twice the head timeout"
    );
    assert!(started.elapsed() >= gan_web::serve::HEAD_TIMEOUT / 2);
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_oversized_body_gets_a_clear_answer_in_the_callers_format() {
    each_backend!(|server| {
        let client = reqwest::Client::new();
        let big = "a".repeat(200 * 1024);

        // Protocol endpoints: a JSON OAuth error, not text.
        for path in ["/token", "/introspect", "/revoke", "/userinfo"] {
            let r = client
                .post(server.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("token={big}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 413, "{path}");
            assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"], "invalid_request", "{path}");
        }

        // Pages: our error page, in the person's language.
        let r = client
            .post(server.url("/forgot/password"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-language", "en")
            .body(format!("identifier={big}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let page = r.text().await.unwrap();
        assert!(page.contains("<html lang=\"en\">"), "{page}");
        assert!(page.contains("The request is too large."), "{page}");

        // The server goes on.
        let r = client.get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    });
}
