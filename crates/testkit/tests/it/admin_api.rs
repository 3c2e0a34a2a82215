//! The admin API (`/admin/api/v1`) through a real server: authorization, each endpoint, its
//! validation errors, pagination, and the audit events each action writes. SQLite, and
//! PostgreSQL when `DATABASE_URL` is set.

use gan_testkit::flows::{authorize_url, exchange, token};
use gan_testkit::{each_backend, Browser, ClientSpec, TestServer};
use serde_json::{json, Value};

const ADMIN: &str = "ops-console";
const PASSWORD: &str = "Cle-de-voute-2026";

/// An admin client holding both scopes; returns a token for `scope`.
async fn admin_token(server: &TestServer, scope: &str) -> String {
    let mut spec = ClientSpec::partner(ADMIN);
    spec.scopes = vec!["admin:read".into(), "admin:write".into()];
    if server.state.provider.client(ADMIN).await.unwrap().is_none() {
        server.add_client(spec).await;
    }
    let secret = format!("secret-of-{ADMIN}-0123456789abcdefghijklmnop");
    let (status, body, _) = token(
        server,
        ADMIN,
        &secret,
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut req = reqwest::Client::new().request(
        method.parse().unwrap(),
        server.url(&format!("/admin/api/v1{path}")),
    );
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        body,
        headers,
    }
}

fn content_type(a: &Answer) -> &str {
    a.headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Asserts a problem+json answer with this status (and field, for validation errors).
fn problem(a: &Answer, status: u16, field: Option<&str>) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(content_type(a), "application/problem+json");
    assert_eq!(a.body["status"], status);
    assert!(a.body["title"].is_string());
    if let Some(f) = field {
        assert_eq!(a.body["field"], f, "{}", a.body);
    }
}

/// Audit events of one type, newest first.
async fn events(server: &TestServer, bearer: &str, query: &str) -> Vec<Value> {
    let a = call(
        server,
        "GET",
        &format!("/audit-events?{query}"),
        Some(bearer),
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn only_admin_tokens_with_the_right_scope_get_in() {
    each_backend!(|server| {
        // The document is public and OpenAPI 3.1.
        let doc: Value = reqwest::get(server.url("/admin/api/v1/openapi.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(doc["paths"]["/admin/api/v1/clients"]["post"].is_object());
        assert!(doc["components"]["securitySchemes"]["admin_token"].is_object());

        // No token, a malformed header, an unknown token: 401 with a challenge and no detail.
        let none = call(&server, "GET", "/clients", None, None).await;
        problem(&none, 401, None);
        assert!(none
            .headers
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        assert!(none.body.get("detail").is_none());
        problem(
            &call(&server, "GET", "/clients", Some("gca_not-a-token"), None).await,
            401,
            None,
        );
        let basic = reqwest::Client::new()
            .get(server.url("/admin/api/v1/clients"))
            .basic_auth("a", Some("b"))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 401);

        // A read token reads but cannot write: 403 naming the scope in the challenge.
        let read = admin_token(&server, "admin:read").await;
        assert_eq!(
            call(&server, "GET", "/clients", Some(&read), None)
                .await
                .status,
            200
        );
        let denied = call(&server, "POST", "/keys/rotate", Some(&read), None).await;
        problem(&denied, 403, None);
        assert!(denied
            .headers
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("admin:write"));
        // A write token does not read.
        let write = admin_token(&server, "admin:write").await;
        problem(
            &call(&server, "GET", "/keys", Some(&write), None).await,
            403,
            None,
        );

        // A token of a client without admin scopes, a user's token, an expired one: no entry.
        let partner = server
            .add_client(ClientSpec::partner("partner"))
            .await
            .unwrap();
        let (_, body, _) = token(
            &server,
            "partner",
            &partner,
            &[("grant_type", "client_credentials")],
        )
        .await;
        problem(
            &call(
                &server,
                "GET",
                "/clients",
                body["access_token"].as_str(),
                None,
            )
            .await,
            403,
            None,
        );
        let portal = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity("agent@example.fr", PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let code =
            gan_testkit::flows::code(&server, &mut b, "portal", "agent@example.fr", PASSWORD).await;
        let (_, user_tokens) = exchange(&server, "portal", &portal, &code).await;
        problem(
            &call(
                &server,
                "GET",
                "/clients",
                user_tokens["access_token"].as_str(),
                None,
            )
            .await,
            401,
            None,
        );
        server.clock.advance(601);
        problem(
            &call(&server, "GET", "/clients", Some(&read), None).await,
            401,
            None,
        );

        // Unknown admin paths answer 404 problems (after authorization).
        let fresh = admin_token(&server, "admin:read").await;
        problem(
            &call(&server, "GET", "/nothing-here", Some(&fresh), None).await,
            404,
            None,
        );
    });
}

#[tokio::test]
async fn relying_parties_are_managed_and_each_change_is_audited() {
    each_backend!(|server| {
        let read = admin_token(&server, "admin:read").await;
        let write = admin_token(&server, "admin:write").await;
        let input = json!({ "client_id": "partner-app", "client_name": "Partner app", "scopes": ["partner:read"] });

        // Validation: each error names its field; wrong media type and broken JSON too.
        let missing = call(
            &server,
            "POST",
            "/clients",
            Some(&write),
            Some(json!({ "client_id": "x" })),
        )
        .await;
        problem(&missing, 400, Some("client_name"));
        let bad_uri =
            json!({ "client_id": "web", "client_name": "Web", "redirect_uris": ["not a uri"] });
        problem(
            &call(&server, "POST", "/clients", Some(&write), Some(bad_uri)).await,
            400,
            Some("redirect_uris"),
        );
        let bad_type = json!({ "client_id": "web", "client_name": "Web", "redirect_uris": "https://x.example/cb" });
        problem(
            &call(&server, "POST", "/clients", Some(&write), Some(bad_type)).await,
            400,
            Some("redirect_uris"),
        );
        let unknown = json!({ "client_id": "web", "client_name": "Web", "colour": "blue" });
        problem(
            &call(&server, "POST", "/clients", Some(&write), Some(unknown)).await,
            400,
            Some("colour"),
        );
        let text = reqwest::Client::new()
            .post(server.url("/admin/api/v1/clients"))
            .bearer_auth(&write)
            .body("client_id=x")
            .send()
            .await
            .unwrap();
        assert_eq!(text.status(), 415);
        let broken = reqwest::Client::new()
            .post(server.url("/admin/api/v1/clients"))
            .bearer_auth(&write)
            .header("content-type", "application/json")
            .body("{\"client_id\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(broken.status(), 400);
        let big = json!({ "client_id": "web", "client_name": "x".repeat(200_000) });
        assert_eq!(
            call(&server, "POST", "/clients", Some(&write), Some(big))
                .await
                .status,
            413
        );

        // Create: 201, Location, the secret once; it works at the token endpoint.
        let created = call(
            &server,
            "POST",
            "/clients",
            Some(&write),
            Some(input.clone()),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(
            created.headers.get("location").unwrap(),
            "/admin/api/v1/clients/partner-app"
        );
        assert_eq!(
            created.body["client"]["grant_types"],
            json!(["client_credentials"])
        );
        let secret = created.body["client_secret"].as_str().unwrap().to_string();
        assert_eq!(
            token(
                &server,
                "partner-app",
                &secret,
                &[("grant_type", "client_credentials")]
            )
            .await
            .0,
            200
        );
        problem(
            &call(&server, "POST", "/clients", Some(&write), Some(input)).await,
            409,
            None,
        );

        // Read one, list, 404.
        let one = call(&server, "GET", "/clients/partner-app", Some(&read), None).await;
        assert_eq!(one.body["client_name"], "Partner app");
        assert!(one.body.get("client_secret").is_none());
        let all = call(&server, "GET", "/clients", Some(&read), None).await;
        assert!(all.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == "partner-app"));
        problem(
            &call(&server, "GET", "/clients/nobody", Some(&read), None).await,
            404,
            None,
        );

        // Update: only what is sent changes; the rules still hold.
        let patched = call(
            &server,
            "PATCH",
            "/clients/partner-app",
            Some(&write),
            Some(json!({ "client_name": "Partner", "account_kinds": ["professional"] })),
        )
        .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(patched.body["client_name"], "Partner");
        assert_eq!(patched.body["scopes"], json!(["partner:read"]));
        let invalid = call(
            &server,
            "PATCH",
            "/clients/partner-app",
            Some(&write),
            Some(json!({ "grant_types": ["authorization_code"] })),
        )
        .await;
        problem(&invalid, 400, Some("redirect_uris"));

        // Rotate: the new secret works, the old one too until the grace period ends.
        let rotated = call(
            &server,
            "POST",
            "/clients/partner-app/secret",
            Some(&write),
            None,
        )
        .await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        let new_secret = rotated.body["client_secret"].as_str().unwrap().to_string();
        assert_eq!(
            token(
                &server,
                "partner-app",
                &new_secret,
                &[("grant_type", "client_credentials")]
            )
            .await
            .0,
            200
        );
        let (_, old_token, _) = token(
            &server,
            "partner-app",
            &secret,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert!(old_token["access_token"].is_string());
        server.clock.advance(25 * 3600);
        assert_eq!(
            token(
                &server,
                "partner-app",
                &secret,
                &[("grant_type", "client_credentials")]
            )
            .await
            .0,
            401
        );
        let (_, live, _) = token(
            &server,
            "partner-app",
            &new_secret,
            &[("grant_type", "client_credentials")],
        )
        .await;
        let live = live["access_token"].as_str().unwrap().to_string();
        let read = admin_token(&server, "admin:read").await;
        let write = admin_token(&server, "admin:write").await;

        // Disable: no more tokens, and the live ones die.
        let disabled = call(
            &server,
            "POST",
            "/clients/partner-app/disable",
            Some(&write),
            None,
        )
        .await;
        assert_eq!(disabled.body["enabled"], false);
        assert_eq!(
            token(
                &server,
                "partner-app",
                &new_secret,
                &[("grant_type", "client_credentials")]
            )
            .await
            .0,
            401
        );
        let inspector = server
            .add_client(ClientSpec::partner("inspector"))
            .await
            .unwrap();
        assert!(!gan_testkit::flows::active(&server, "inspector", &inspector, &live).await);

        // Delete: 204, then 404.
        assert_eq!(
            call(
                &server,
                "DELETE",
                "/clients/partner-app",
                Some(&write),
                None
            )
            .await
            .status,
            204
        );
        problem(
            &call(&server, "GET", "/clients/partner-app", Some(&read), None).await,
            404,
            None,
        );
        problem(
            &call(
                &server,
                "DELETE",
                "/clients/partner-app",
                Some(&write),
                None,
            )
            .await,
            404,
            None,
        );

        // Each change left one event, by this admin, from this address, with a correlation id.
        for kind in [
            "client.created",
            "client.updated",
            "client.secret_rotated",
            "client.disabled",
            "client.deleted",
        ] {
            let found = events(
                &server,
                &read,
                &format!("client_id=partner-app&event_type={kind}"),
            )
            .await;
            assert_eq!(found.len(), 1, "{kind}: {found:?}");
            let e = &found[0];
            assert_eq!(
                e["actor"],
                json!({ "kind": "admin", "id": ADMIN }),
                "{kind}"
            );
            assert_eq!(e["ip"], "127.0.0.1");
            assert!(e["correlation_id"].as_str().is_some_and(|c| !c.is_empty()));
            assert!(!e.to_string().contains(&new_secret) && !e.to_string().contains(&secret));
        }
    });
}

const LEGACY: &str = "ancien mot de passe";

fn legacy_hash(salt: &str) -> String {
    gan_testkit::legacy_sha256(salt, LEGACY)
}

async fn seed(server: &TestServer) {
    let csv = format!(
        "client_number,kind,label,contact_email,legacy_hash\n\
         20000001,personal,Jean Martin,famille.martin@example.fr,{}\n\
         20000002,professional,Garage Martin,famille.martin@example.fr,{}\n\
         20000003,personal,Lucie MARTIN,famille.martin@example.fr,{}\n\
         20000004,personal,Paul Durand,paul.durand@example.fr,{}\n",
        legacy_hash("a"),
        legacy_hash("b"),
        legacy_hash("c"),
        legacy_hash("d")
    );
    server.import(&csv).await;
}

#[tokio::test]
async fn support_finds_customers_locks_detaches_and_handles_activations() {
    each_backend!(|server| {
        use gan_accounts::ports::CustomerStore;
        seed(&server).await;
        let read = admin_token(&server, "admin:read").await;
        let write = admin_token(&server, "admin:write").await;
        let portal = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let jean = server.add_identity("jean@example.fr", PASSWORD).await;
        server
            .store
            .attach(
                &jean,
                "20000001",
                gan_accounts::customer::AccountKind::Personal,
                1,
                server.state.provider.now(),
            )
            .await
            .unwrap();

        // Search by client number, login email, contact email, part of a name; pages.
        let numbers = |a: &Answer| {
            a.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["client_number"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            numbers(
                &call(
                    &server,
                    "GET",
                    "/customers?q=2000%200004",
                    Some(&read),
                    None
                )
                .await
            ),
            ["20000004"]
        );
        let by_login = call(
            &server,
            "GET",
            "/customers?q=JEAN@example.fr",
            Some(&read),
            None,
        )
        .await;
        assert_eq!(numbers(&by_login), ["20000001"]);
        assert_eq!(by_login.body["items"][0]["identity_id"], jean.as_str());
        assert_eq!(
            numbers(
                &call(
                    &server,
                    "GET",
                    "/customers?q=famille.martin@example.fr",
                    Some(&read),
                    None
                )
                .await
            )
            .len(),
            3
        );
        let first = call(
            &server,
            "GET",
            "/customers?q=martin&limit=2",
            Some(&read),
            None,
        )
        .await;
        assert_eq!(numbers(&first), ["20000001", "20000002"]);
        let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
        let rest = call(
            &server,
            "GET",
            &format!("/customers?q=martin&limit=2&cursor={cursor}"),
            Some(&read),
            None,
        )
        .await;
        assert_eq!(numbers(&rest), ["20000003"]);
        assert!(rest.body["next_cursor"].is_null());
        assert!(
            numbers(&call(&server, "GET", "/customers?q=100%25", Some(&read), None).await)
                .is_empty()
        );
        problem(
            &call(
                &server,
                "GET",
                "/customers?q=martin&limit=0",
                Some(&read),
                None,
            )
            .await,
            400,
            Some("limit"),
        );
        problem(
            &call(
                &server,
                "GET",
                "/customers?q=martin&limit=abc",
                Some(&read),
                None,
            )
            .await,
            400,
            Some("limit"),
        );
        problem(
            &call(&server, "GET", "/customers", Some(&read), None).await,
            400,
            Some("q"),
        );
        problem(
            &call(&server, "GET", "/customers/ab", Some(&read), None).await,
            400,
            Some("client_number"),
        );
        problem(
            &call(&server, "GET", "/customers/99999999", Some(&read), None).await,
            404,
            None,
        );

        // The identity with its accounts, sessions and recent sign-ins (a failure, a success).
        let mut b = Browser::new(&server.base);
        let failed = b
            .sign_in(
                &authorize_url(&server, "portal", &[]),
                "jean@example.fr",
                "wrong password",
            )
            .await;
        assert!(failed.location_param("code").is_none());
        let code =
            gan_testkit::flows::code(&server, &mut b, "portal", "jean@example.fr", PASSWORD).await;
        let (_, tokens) = exchange(&server, "portal", &portal, &code).await;
        let identity = call(
            &server,
            "GET",
            &format!("/identities/{jean}"),
            Some(&read),
            None,
        )
        .await;
        assert_eq!(identity.status, 200, "{}", identity.body);
        assert_eq!(identity.body["accounts"][0]["client_number"], "20000001");
        assert_eq!(identity.body["sessions"].as_array().unwrap().len(), 1);
        let outcomes: Vec<&str> = identity.body["recent_sign_ins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["success", "failure"]);
        assert!(
            !identity.body.to_string().contains("wrong password")
                && !identity.body.to_string().contains(PASSWORD)
        );
        problem(
            &call(&server, "GET", "/identities/gc-nobody", Some(&read), None).await,
            404,
            None,
        );

        // Lock: sessions end, tokens die, sign-in refused; unlock: sign-in works again.
        let locked = call(
            &server,
            "POST",
            &format!("/identities/{jean}/lock"),
            Some(&write),
            None,
        )
        .await;
        assert_eq!(locked.body["status"], "locked");
        assert!(locked.body["sessions"].as_array().unwrap().is_empty());
        let inspector = server
            .add_client(ClientSpec::partner("inspector"))
            .await
            .unwrap();
        assert!(
            !gan_testkit::flows::active(
                &server,
                "inspector",
                &inspector,
                tokens["access_token"].as_str().unwrap()
            )
            .await
        );
        let mut other = Browser::new(&server.base);
        assert!(other
            .sign_in(
                &authorize_url(&server, "portal", &[]),
                "jean@example.fr",
                PASSWORD
            )
            .await
            .location_param("code")
            .is_none());
        assert_eq!(
            call(
                &server,
                "POST",
                &format!("/identities/{jean}/unlock"),
                Some(&write),
                None
            )
            .await
            .body["status"],
            "active"
        );
        let mut again = Browser::new(&server.base);
        gan_testkit::flows::code(&server, &mut again, "portal", "jean@example.fr", PASSWORD).await;
        assert_eq!(
            call(
                &server,
                "DELETE",
                &format!("/identities/{jean}/sessions"),
                Some(&write),
                None
            )
            .await
            .status,
            204
        );
        assert!(server
            .state
            .provider
            .sessions_of(&jean)
            .await
            .unwrap()
            .is_empty());

        // Detach: the account is free again; detaching twice is a 404.
        let detached = call(
            &server,
            "POST",
            "/customers/20000001/detach",
            Some(&write),
            None,
        )
        .await;
        assert_eq!(detached.status, 200, "{}", detached.body);
        assert!(detached.body["customer"]["identity_id"].is_null());
        assert_eq!(detached.body["customer"]["status"], "legacy");
        problem(
            &call(
                &server,
                "POST",
                "/customers/20000001/detach",
                Some(&write),
                None,
            )
            .await,
            404,
            None,
        );

        // An activation in progress: visible, resent (the old link dies), cancelled.
        let mut c = Browser::new(&server.base);
        let first = c.get(&authorize_url(&server, "portal", &[])).await;
        let page = c.follow(first).await;
        let (action, csrf) = (
            page.form_action().unwrap(),
            page.input("csrf_token").unwrap(),
        );
        let step2 = c
            .post_form(
                &action,
                &[
                    ("csrf_token", &csrf),
                    ("identifier", "20000004"),
                    ("password", LEGACY),
                ],
            )
            .await;
        assert_eq!(step2.status, 303, "{}", step2.body);
        let form = c.get("/upgrade/email").await;
        let csrf = form.input("csrf_token").unwrap();
        c.post_form(
            "/upgrade/email",
            &[("csrf_token", &csrf), ("email", "paul@example.fr")],
        )
        .await;
        let first_link = server
            .mail_to("paul@example.fr", 1)
            .await
            .link(&server.url("/upgrade/verify"))
            .unwrap();
        let pending = call(&server, "GET", "/customers/20000004", Some(&read), None).await;
        assert_eq!(
            pending.body["pending_activation"]["login_email"],
            "p***@example.fr"
        );
        assert_eq!(pending.body["pending_activation"]["expired"], false);
        let resent = call(
            &server,
            "POST",
            "/customers/20000004/activation/resend",
            Some(&write),
            None,
        )
        .await;
        assert_eq!(resent.status, 200, "{}", resent.body);
        let second_link = server
            .mail_to("paul@example.fr", 2)
            .await
            .link(&server.url("/upgrade/verify"))
            .unwrap();
        assert_ne!(first_link, second_link);
        assert_eq!(c.get(&first_link).await.status, 410);
        assert_eq!(
            call(
                &server,
                "DELETE",
                "/customers/20000004/activation",
                Some(&write),
                None
            )
            .await
            .status,
            200
        );
        assert_eq!(c.get(&second_link).await.status, 410);
        problem(
            &call(
                &server,
                "DELETE",
                "/customers/20000004/activation",
                Some(&write),
                None,
            )
            .await,
            404,
            None,
        );
        problem(
            &call(
                &server,
                "POST",
                "/customers/20000003/activation/resend",
                Some(&write),
                None,
            )
            .await,
            404,
            None,
        );

        // The trail: each action once, by the admin.
        for (kind, filter) in [
            ("identity.locked", format!("identity_id={jean}")),
            ("identity.unlocked", format!("identity_id={jean}")),
            ("account.detached", "client_number=20000001".to_string()),
            ("activation.resent", "client_number=20000004".to_string()),
            ("activation.cancelled", "client_number=20000004".to_string()),
        ] {
            let found = events(&server, &read, &format!("{filter}&event_type={kind}")).await;
            assert_eq!(found.len(), 1, "{kind}");
            assert_eq!(found[0]["actor"]["kind"], "admin");
        }
        let ended = events(
            &server,
            &read,
            &format!("identity_id={jean}&event_type=access.cut_off"),
        )
        .await;
        let reasons: Vec<&str> = ended
            .iter()
            .map(|e| e["detail"]["reason"].as_str().unwrap())
            .collect();
        assert!(
            reasons.contains(&"identity_locked")
                && reasons.contains(&"ended_by_admin")
                && reasons.contains(&"account_detached"),
            "{reasons:?}"
        );
        let upgrade = events(
            &server,
            &read,
            "client_number=20000004&event_type=upgrade.started",
        )
        .await;
        assert_eq!(upgrade.len(), 1);
        assert_eq!(upgrade[0]["actor"]["kind"], "anonymous");
    });
}

#[tokio::test]
async fn the_trail_records_protocol_events_filters_and_pages() {
    each_backend!(|server| {
        let read = admin_token(&server, "admin:read").await;
        let portal = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let sub = server.add_identity("anne@example.fr", PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let code =
            gan_testkit::flows::code(&server, &mut b, "portal", "anne@example.fr", PASSWORD).await;
        let (_, first) = exchange(&server, "portal", &portal, &code).await;
        let old_refresh = first["refresh_token"].as_str().unwrap().to_string();
        let (s, _, _) = token(
            &server,
            "portal",
            &portal,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &old_refresh),
            ],
        )
        .await;
        assert_eq!(s, 200);
        // Reuse of the old refresh token, a replayed code, a revocation.
        assert_eq!(
            token(
                &server,
                "portal",
                &portal,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &old_refresh)
                ]
            )
            .await
            .0,
            400
        );
        assert_eq!(exchange(&server, "portal", &portal, &code).await.0, 400);
        let revoked = reqwest::Client::new()
            .post(server.url("/revoke"))
            .basic_auth("portal", Some(&portal))
            .form(&[("token", first["access_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);

        let of = |t: &str| format!("identity_id={sub}&event_type={t}");
        let issued = events(&server, &read, &of("token.issued")).await;
        let grants: Vec<&str> = issued
            .iter()
            .map(|e| e["detail"]["grant_type"].as_str().unwrap())
            .collect();
        assert_eq!(grants, ["refresh_token", "authorization_code"]);
        assert_eq!(issued[0]["client_id"], "portal");
        for t in [
            "token.refresh_reuse",
            "token.code_replay",
            "token.revoked",
            "signin.succeeded",
        ] {
            assert_eq!(events(&server, &read, &of(t)).await.len(), 1, "{t}");
        }

        // No event holds a token, a code or the password.
        let everything = events(&server, &read, "limit=200")
            .await
            .iter()
            .map(Value::to_string)
            .collect::<String>();
        for secret in [
            first["access_token"].as_str().unwrap(),
            &old_refresh,
            &code,
            PASSWORD,
            &portal,
        ] {
            assert!(!everything.contains(secret));
        }

        // Paging newest first, time ranges, and validation.
        let all = events(&server, &read, &format!("identity_id={sub}")).await;
        assert!(all.len() >= 6);
        let page = call(
            &server,
            "GET",
            &format!("/audit-events?identity_id={sub}&limit=2"),
            Some(&read),
            None,
        )
        .await;
        let ids = |a: &Answer| {
            a.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&page),
            all[..2]
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        );
        let next = page.body["next_cursor"].as_str().unwrap();
        let page2 = call(
            &server,
            "GET",
            &format!("/audit-events?identity_id={sub}&limit=2&cursor={next}"),
            Some(&read),
            None,
        )
        .await;
        assert_eq!(ids(&page2)[0], all[2]["id"].as_str().unwrap());
        let later = (server.state.provider.now() + time::Duration::minutes(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let later = later.replace('+', "%2B");
        assert!(
            events(&server, &read, &format!("identity_id={sub}&from={later}"))
                .await
                .is_empty()
        );
        assert_eq!(
            events(&server, &read, &format!("identity_id={sub}&to={later}"))
                .await
                .len(),
            all.len().min(50)
        );
        problem(
            &call(
                &server,
                "GET",
                "/audit-events?event_type=nonsense",
                Some(&read),
                None,
            )
            .await,
            400,
            Some("event_type"),
        );
        problem(
            &call(
                &server,
                "GET",
                "/audit-events?from=yesterday",
                Some(&read),
                None,
            )
            .await,
            400,
            Some("from"),
        );
        problem(
            &call(&server, "GET", "/audit-events?limit=201", Some(&read), None).await,
            400,
            Some("limit"),
        );
    });
}

#[tokio::test]
async fn keys_are_listed_and_rotated() {
    each_backend!(|server| {
        let read = admin_token(&server, "admin:read").await;
        let write = admin_token(&server, "admin:write").await;
        let keys = call(&server, "GET", "/keys", Some(&read), None).await;
        assert_eq!(keys.body["items"].as_array().unwrap().len(), 3);
        assert!(!keys.body.to_string().contains("private"));
        let rotated = call(&server, "POST", "/keys/rotate", Some(&write), None).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        assert_eq!(rotated.body["items"].as_array().unwrap().len(), 6);
        let jwks: Value = reqwest::get(server.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 6);
        let found = events(&server, &read, "event_type=keys.rotated").await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["detail"]["added"].as_array().unwrap().len(), 3);
    });
}

/// A second admin client, holding both scopes; returns its secret.
async fn other_admin(server: &TestServer) -> String {
    let mut spec = ClientSpec::partner("root-ops");
    spec.scopes = vec!["admin:read".into(), "admin:write".into()];
    server.add_client(spec).await.unwrap()
}

async fn client_token(server: &TestServer, id: &str, secret: &str, scope: &str) -> (u16, Value) {
    let (status, body, _) = token(
        server,
        id,
        secret,
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn admin_rights_are_those_of_the_registration_now() {
    each_backend!(|server| {
        let write = admin_token(&server, "admin:write").await;
        let read = admin_token(&server, "admin:read").await;
        let root = other_admin(&server).await;
        let (_, root_token) =
            client_token(&server, "root-ops", &root, "admin:read admin:write").await;
        let root_token = root_token["access_token"].as_str().unwrap().to_string();

        // No admin client takes away its own authority, by any field.
        let path = format!("/clients/{ADMIN}");
        for patch in [
            json!({"scopes": ["admin:read"]}),
            json!({"scopes": ["admin:write"]}),
            json!({"scopes": []}),
            json!({"grant_types": ["authorization_code"]}),
            json!({"enabled": false}),
        ] {
            let refused = call(&server, "PATCH", &path, Some(&write), Some(patch.clone())).await;
            problem(&refused, 409, None);
        }
        problem(
            &call(
                &server,
                "POST",
                &format!("{path}/disable"),
                Some(&write),
                None,
            )
            .await,
            409,
            None,
        );
        problem(
            &call(&server, "DELETE", &path, Some(&write), None).await,
            409,
            None,
        );
        let unchanged = call(&server, "GET", &path, Some(&read), None).await;
        assert_eq!(
            unchanged.body["scopes"],
            json!(["admin:read", "admin:write"])
        );
        assert_eq!(unchanged.body["enabled"], json!(true));

        // Another admin takes admin:write away: the token issued before is refused at once
        // (no foothold: it cannot register a client holding admin:write).
        let narrowed = call(
            &server,
            "PATCH",
            &path,
            Some(&root_token),
            Some(json!({"scopes": ["admin:read"]})),
        )
        .await;
        assert_eq!(narrowed.status, 200, "{}", narrowed.body);
        let foothold = json!({
            "client_id": "backdoor",
            "client_name": "Backdoor",
            "scopes": ["admin:read", "admin:write"],
            "grant_types": ["client_credentials"],
        });
        problem(
            &call(
                &server,
                "POST",
                "/clients",
                Some(&write),
                Some(foothold.clone()),
            )
            .await,
            403,
            None,
        );
        problem(
            &call(&server, "POST", "/keys/rotate", Some(&write), None).await,
            403,
            None,
        );
        // Reading, still registered, still works.
        assert_eq!(
            call(&server, "GET", "/clients", Some(&read), None)
                .await
                .status,
            200
        );
        // The grant taken away: nothing works, reads included.
        let no_grant = call(
            &server,
            "PATCH",
            &path,
            Some(&root_token),
            Some(json!({"grant_types": ["authorization_code"], "redirect_uris": ["https://ops.example/cb"]})),
        )
        .await;
        assert_eq!(no_grant.status, 200, "{}", no_grant.body);
        problem(
            &call(&server, "GET", "/clients", Some(&read), None).await,
            401,
            None,
        );
        assert!(
            call(&server, "GET", "/clients/backdoor", Some(&root_token), None)
                .await
                .status
                == 404,
            "the foothold was never created"
        );
    });
}

#[tokio::test]
async fn a_leaked_secret_is_revoked_now_with_what_it_obtained() {
    each_backend!(|server| {
        let write = admin_token(&server, "admin:write").await;
        let old = server
            .add_client(ClientSpec::partner("partner"))
            .await
            .unwrap();
        let (s, issued) = client_token(&server, "partner", &old, "partner:read").await;
        assert_eq!(s, 200, "{issued}");
        let issued = issued["access_token"].as_str().unwrap().to_string();
        let introspect = |secret: String, tok: String| {
            let server = &server;
            async move {
                let res = reqwest::Client::new()
                    .post(server.url("/introspect"))
                    .basic_auth("partner", Some(secret))
                    .form(&[("token", tok)])
                    .send()
                    .await
                    .unwrap();
                res.json::<Value>().await.unwrap()
            }
        };

        // A plain rotation: the old secret keeps working for the grace period.
        let graceful = call(
            &server,
            "POST",
            "/clients/partner/secret",
            Some(&write),
            None,
        )
        .await;
        assert_eq!(graceful.status, 200, "{}", graceful.body);
        assert!(
            graceful.body["client"]["previous_secret_expires_at"].is_string(),
            "{}",
            graceful.body
        );
        assert_eq!(
            client_token(&server, "partner", &old, "partner:read")
                .await
                .0,
            200
        );

        // revoke_previous: the previous secret stops now and every token it got is revoked.
        let now = call(
            &server,
            "POST",
            "/clients/partner/secret?revoke_previous=true",
            Some(&write),
            None,
        )
        .await;
        assert_eq!(now.status, 200, "{}", now.body);
        let fresh = now.body["client_secret"].as_str().unwrap().to_string();
        let graceful_secret = graceful.body["client_secret"].as_str().unwrap().to_string();
        for stale in [&old, &graceful_secret] {
            assert_eq!(
                client_token(&server, "partner", stale, "partner:read")
                    .await
                    .0,
                401
            );
        }
        assert_eq!(
            introspect(fresh.clone(), issued).await,
            json!({"active": false})
        );
        let (s, renewed) = client_token(&server, "partner", &fresh, "partner:read").await;
        assert_eq!(s, 200, "{renewed}");
        let renewed = renewed["access_token"].as_str().unwrap().to_string();
        assert_eq!(introspect(fresh, renewed).await["active"], json!(true));
        problem(
            &call(
                &server,
                "POST",
                "/clients/partner/secret?revoke_previous=maybe",
                Some(&write),
                None,
            )
            .await,
            400,
            None,
        );
        let found = events(
            &server,
            &admin_token(&server, "admin:read").await,
            "event_type=client.secret_rotated",
        )
        .await;
        assert_eq!(
            found[0]["detail"]["tokens_revoked"],
            json!(2),
            "{:?}",
            found[0]
        );
    });
}

#[tokio::test]
async fn a_narrowed_registration_narrows_live_tokens() {
    each_backend!(|server| {
        let write = admin_token(&server, "admin:write").await;
        let portal = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity("agent@example.fr", PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let code =
            gan_testkit::flows::code(&server, &mut b, "portal", "agent@example.fr", PASSWORD).await;
        let (_, tokens) = exchange(&server, "portal", &portal, &code).await;
        let access = tokens["access_token"].as_str().unwrap().to_string();
        let info = gan_testkit::flows::userinfo(&server, &access).await;
        assert_eq!(info["email"], "agent@example.fr");

        let narrowed = call(
            &server,
            "PATCH",
            "/clients/portal",
            Some(&write),
            Some(json!({"scopes": ["openid", "offline_access"]})),
        )
        .await;
        assert_eq!(narrowed.status, 200, "{}", narrowed.body);
        let info = gan_testkit::flows::userinfo(&server, &access).await;
        assert!(info.get("email").is_none(), "{info}");
        assert!(info["sub"].is_string());
        let seen: Value = reqwest::Client::new()
            .post(server.url("/introspect"))
            .basic_auth("portal", Some(&portal))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(seen["active"], json!(true));
        let mut scope: Vec<&str> = seen["scope"].as_str().unwrap().split(' ').collect();
        scope.sort();
        assert_eq!(scope, ["offline_access", "openid"], "{seen}");
        assert!(seen.get("email").is_none(), "{seen}");
    });
}

/// A client id or name that looks like another (zero-width, bidirectional, invisible
/// characters) is refused, and so are URIs holding them.
#[tokio::test]
async fn names_that_pass_for_others_are_refused() {
    each_backend!(|server| {
        let write = admin_token(&server, "admin:write").await;
        let base = || {
            json!({
                "client_id": "rp",
                "client_name": "RP",
                "redirect_uris": ["https://rp.example.fr/cb"],
            })
        };
        let cases = [
            ("client_id", json!("ev\u{200b}il")),
            ("client_id", json!("evil\u{202e}di")),
            ("client_id", json!("\u{feff}evil")),
            ("client_name", json!("Portail\u{202e}lapitroP")),
            ("client_name", json!("Por\u{00ad}tail")),
            ("client_name", json!("A\u{061c}B")),
            ("redirect_uris", json!(["https://rp.example.fr/c\u{202e}b"])),
        ];
        for (field, value) in cases {
            let mut body = base();
            body[field] = value.clone();
            let answer = call(&server, "POST", "/clients", Some(&write), Some(body)).await;
            problem(&answer, 400, Some(field));
        }
        assert_eq!(
            call(&server, "POST", "/clients", Some(&write), Some(base()))
                .await
                .status,
            201
        );
    });
}

/// Issue 17 (the migration dashboard's figures): accounts by status, the funnel over the
/// period, upgrades and "email déjà utilisé" refusals per day, customers stuck in an
/// activation, as the data of the test makes them; out-of-range periods are refused.
#[tokio::test]
async fn the_migration_figures_match_the_data() {
    each_backend!(|server| {
        use gan_accounts::interaction::SignInOutcome;
        use gan_accounts::upgrade::ChooseEmail;
        seed(&server).await;
        let read = admin_token(&server, "admin:read").await;
        let accounts = server.state.accounts.clone();
        let now = || gan_testkit::ClockExt::now_value(server.clock.as_ref());
        let start = |number: &'static str| {
            let accounts = accounts.clone();
            async move {
                match accounts
                    .sign_in_any(number, LEGACY, None, now())
                    .await
                    .unwrap()
                {
                    SignInOutcome::UpgradeStarted { handle } => handle,
                    other => panic!("{number}: {other:?}"),
                }
            }
        };
        let choose = |handle: String, email: &'static str| {
            let accounts = accounts.clone();
            let base = server.base.clone();
            async move {
                accounts
                    .choose_login_email(&handle, email, None, "fr", &base, now())
                    .await
                    .unwrap()
            }
        };
        // 20000004 chose an email nine days ago and never opened the link: stuck (and back to
        // legacy: the link has expired).
        server.clock.advance(-9 * 86_400);
        let h = start("20000004").await;
        assert!(matches!(
            choose(h, "paul@example.fr").await,
            ChooseEmail::Sent { .. }
        ));
        server.clock.advance(9 * 86_400);
        // 20000001 upgrades today; 20000003 meets an email already used, then chooses another
        // and has its link pending.
        server.add_identity("pris@example.fr", PASSWORD).await;
        let h = start("20000001").await;
        assert!(matches!(
            choose(h, "jean@example.fr").await,
            ChooseEmail::Sent { .. }
        ));
        let link = server
            .mail_to("jean@example.fr", 1)
            .await
            .link(&server.url("/upgrade/verify?token="))
            .unwrap();
        let token = link.rsplit_once("token=").unwrap().1.to_string();
        accounts
            .complete_upgrade(&token, PASSWORD, PASSWORD, now())
            .await
            .unwrap();
        let h = start("20000003").await;
        assert!(matches!(
            choose(h.clone(), "pris@example.fr").await,
            ChooseEmail::Taken
        ));
        assert!(matches!(
            choose(h, "lucie@example.fr").await,
            ChooseEmail::Sent { .. }
        ));
        server.state.provider.audit.flush().await;
        // The expired link is purged, as the server does every ten minutes: the customer it
        // was sent to is still stuck (the audit trail says so).
        server.state.accounts.purge_expired(now()).await.unwrap();

        let figures = call(&server, "GET", "/migration?days=14", Some(&read), None).await;
        assert_eq!(figures.status, 200, "{}", figures.body);
        let b = &figures.body;
        assert_eq!(
            b["accounts"],
            json!({"legacy": 2, "activation_pending": 1, "upgraded": 1}),
            "{b}"
        );
        assert_eq!(
            b["funnel"],
            json!({"legacy_sign_ins": 3, "email_chosen": 3, "link_opened": 1, "upgraded": 1}),
            "{b}"
        );
        assert_eq!(b["stuck"], json!({"older_than_days": 7, "count": 1}), "{b}");
        let days = b["per_day"].as_array().unwrap();
        assert_eq!(days.len(), 14);
        let today = days.last().unwrap();
        assert_eq!(
            (today["upgrades"].as_u64(), today["email_taken"].as_u64()),
            (Some(1), Some(1))
        );
        let day = now().date();
        assert_eq!(
            today["day"],
            format!(
                "{:04}-{:02}-{:02}",
                day.year(),
                u8::from(day.month()),
                day.day()
            )
        );
        assert!(days[..13]
            .iter()
            .all(|d| d["upgrades"] == 0 && d["email_taken"] == 0));
        // A shorter period leaves the old choice out of the funnel; a longer threshold, the
        // stuck customer out.
        let short = call(
            &server,
            "GET",
            "/migration?days=1&stuck_days=10",
            Some(&read),
            None,
        )
        .await;
        assert_eq!(short.body["funnel"]["legacy_sign_ins"], 2, "{}", short.body);
        assert_eq!(short.body["stuck"]["count"], 0);
        for bad in ["days=0", "days=367", "stuck_days=0", "days=x"] {
            let refused = call(
                &server,
                "GET",
                &format!("/migration?{bad}"),
                Some(&read),
                None,
            )
            .await;
            assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        }
        // The stuck customers, for a reminder campaign: paged by client number.
        let stuck = call(
            &server,
            "GET",
            "/migration/stuck?limit=1",
            Some(&read),
            None,
        )
        .await;
        assert_eq!(stuck.status, 200, "{}", stuck.body);
        let items = stuck.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["client_number"], "20000004");
        assert_eq!(items[0]["contact_email"], "paul.durand@example.fr");
        assert_eq!(stuck.body["next_cursor"], Value::Null);
        let none = call(
            &server,
            "GET",
            "/migration/stuck?stuck_days=10",
            Some(&read),
            None,
        )
        .await;
        assert_eq!(none.body["items"], json!([]));
        for bad in ["limit=0", "limit=201", "stuck_days=400"] {
            let refused = call(
                &server,
                "GET",
                &format!("/migration/stuck?{bad}"),
                Some(&read),
                None,
            )
            .await;
            assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        }
        let write_only = admin_token(&server, "admin:write").await;
        let refused = call(&server, "GET", "/migration", Some(&write_only), None).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
    });
}

/// Issue 17's staff: added with a role (the identity created when there is none), invited by
/// mail with a link that sets their password; added twice → conflict; disabled → listed so,
/// with every session ended; each change audited.
#[tokio::test]
async fn staff_are_invited_listed_and_disabled() {
    each_backend!(|server| {
        use gan_accounts::interaction::SignInOutcome;
        use gan_admin::StaffRole;
        let admin = server.state.admin.clone();
        let now = || gan_testkit::ClockExt::now_value(server.clock.as_ref());
        let (added, invited) = admin
            .add_staff("Agent.Dupont@Example.fr", StaffRole::Support)
            .await
            .unwrap();
        assert!(invited);
        assert_eq!(
            (added.email.as_str(), added.role, added.status.as_str()),
            ("agent.dupont@example.fr", StaffRole::Support, "active")
        );
        assert!(!added.totp_enrolled);
        let mail = server.mail_to("agent.dupont@example.fr", 1).await;
        assert!(mail.subject.contains("console"), "{}", mail.subject);
        let link = mail.link(&server.url("/password/reset?token=")).unwrap();
        let token = link.rsplit_once("token=").unwrap().1.to_string();
        server
            .state
            .accounts
            .reset_password(&token, PASSWORD, PASSWORD, now())
            .await
            .unwrap();
        assert!(matches!(
            server
                .state
                .accounts
                .sign_in_any("agent.dupont@example.fr", PASSWORD, None, now())
                .await
                .unwrap(),
            SignInOutcome::Identity(_)
        ));
        // An existing identity becomes staff as it is.
        let existing = server.add_identity("chef@example.fr", PASSWORD).await;
        let (chef, invited) = admin
            .add_staff("chef@example.fr", StaffRole::Admin)
            .await
            .unwrap();
        assert_eq!(chef.identity_id, existing);
        assert!(!invited, "an existing identity keeps its password: no mail");
        assert!(matches!(
            admin.add_staff("chef@example.fr", StaffRole::Support).await,
            Err(gan_admin::AdminError::Conflict(_))
        ));
        assert!(matches!(
            admin.add_staff("pas une adresse", StaffRole::Support).await,
            Err(gan_admin::AdminError::Invalid { .. })
        ));
        let listed = admin.list_staff().await.unwrap();
        let emails: Vec<&str> = listed.iter().map(|s| s.email.as_str()).collect();
        assert_eq!(emails, ["agent.dupont@example.fr", "chef@example.fr"]);

        let disabled = admin
            .disable_staff("agent.dupont@example.fr")
            .await
            .unwrap();
        assert_eq!(disabled.status, "disabled");
        assert!(matches!(
            admin.disable_staff("agent.dupont@example.fr").await,
            Err(gan_admin::AdminError::Conflict(_))
        ));
        assert!(matches!(
            admin.disable_staff("personne@example.fr").await,
            Err(gan_admin::AdminError::NotFound(_))
        ));
        server.state.provider.audit.flush().await;
        let read = admin_token(&server, "admin:read").await;
        let added = events(&server, &read, "event_type=staff.added").await;
        assert_eq!(added.len(), 2);
        assert_eq!(added[0]["detail"]["role"], "admin");
        let gone = events(&server, &read, "event_type=staff.disabled").await;
        assert_eq!(gone.len(), 1);
    });
}
