//! Criterion benchmarks of the hot functions: ID-token signing per algorithm, access-token
//! minting (handle + hash), client-secret checking, PKCE, argon2id hashing, and the
//! authorization-request validation pipeline.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use gan_accounts::password::{HashCost, Hasher};
use gan_oidc::authorize::validate;
use gan_oidc::keys::{new_key, KeyRing, KeySealer};
use gan_oidc::model::{AuthMethod, Client, SigningAlg};
use gan_oidc::params::Params;
use gan_oidc::secret::{constant_time_eq, hash_handle, new_handle};
use gan_oidc::ProviderConfig;
use time::OffsetDateTime;

fn ring() -> KeyRing {
    let sealer = KeySealer::new(&[3u8; 32]);
    let now = OffsetDateTime::now_utc();
    let keys = SigningAlg::ALL
        .iter()
        .map(|a| new_key(&sealer, *a, now, now).unwrap())
        .collect();
    KeyRing::load(keys, &sealer, now).unwrap()
}

fn id_token_signing(c: &mut Criterion) {
    let ring = ring();
    let now = OffsetDateTime::now_utc();
    let claims = serde_json::json!({
        "iss": "https://connect.example.fr", "sub": "gc-0123456789abcdef", "aud": "portal",
        "exp": 1_900_000_000, "iat": 1_800_000_000, "auth_time": 1_800_000_000, "nonce": "n-0123456789",
        "acr": "urn:gan-connect:acr:password", "amr": ["pwd"], "sid": "s-0123456789", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
        "email": "jean.dupont@example.fr", "email_verified": true
    });
    let mut g = c.benchmark_group("id_token_sign");
    for alg in SigningAlg::ALL {
        g.bench_function(alg.as_str(), |b| {
            b.iter(|| ring.sign(alg, black_box(&claims), now).unwrap())
        });
    }
    g.finish();
}

fn tokens_and_clients(c: &mut Criterion) {
    c.bench_function("access_token_mint", |b| {
        b.iter(|| {
            let t = new_handle("gca_");
            black_box(hash_handle(&t))
        })
    });
    let secret = new_handle("");
    let stored = hash_handle(&secret);
    c.bench_function("client_secret_check", |b| {
        b.iter(|| {
            constant_time_eq(
                hash_handle(black_box(&secret)).as_bytes(),
                stored.as_bytes(),
            )
        })
    });
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = gan_oidc::pkce::challenge_s256(verifier);
    c.bench_function("pkce_verify", |b| {
        b.iter(|| gan_oidc::pkce::verify_s256(black_box(verifier), &challenge))
    });
}

fn authorization_request(c: &mut Criterion) {
    let ring = ring();
    let config = ProviderConfig::new(url::Url::parse("https://connect.example.fr").unwrap());
    let client = Client {
        redirect_uris: vec!["https://portal.example.fr/cb".into()],
        scopes: ["openid", "email", "profile", "offline_access", "accounts"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: AuthMethod::ClientSecretBasic,
        first_party: true,
        created_at: OffsetDateTime::now_utc(),
        ..Client::bare("portal", "Portal")
    };
    let query = "response_type=code&client_id=portal&redirect_uri=https%3A%2F%2Fportal.example.fr%2Fcb&scope=openid%20email%20accounts&state=abc&nonce=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&ui_locales=fr&max_age=3600";
    c.bench_function("authorize_validate", |b| {
        b.iter(|| {
            let p = Params::from_urlencoded(black_box(query)).unwrap();
            validate(&p, Some(&client), &config, &ring).is_ok()
        })
    });
}

fn password_hashing(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hasher = Hasher::new(HashCost::default(), 1).unwrap();
    let stored = rt
        .block_on(hasher.hash("correct horse battery staple"))
        .unwrap();
    let mut g = c.benchmark_group("argon2id_default_cost");
    g.sample_size(20);
    g.bench_function("hash", |b| {
        b.iter(|| {
            rt.block_on(hasher.hash(black_box("correct horse battery staple")))
                .unwrap()
        })
    });
    g.bench_function("verify", |b| {
        b.iter(|| {
            rt.block_on(hasher.verify(black_box("correct horse battery staple"), Some(&stored)))
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    id_token_signing,
    tokens_and_clients,
    authorization_request,
    password_hashing
);
criterion_main!(benches);
