// Fixtures shared by the targets: a registered client, the provider's configuration and key
// ring, built once per process.

use std::sync::OnceLock;

use gan_oidc::keys::{new_key, KeyRing, KeySealer};
use gan_oidc::model::{AuthMethod, Client, SigningAlg};
use gan_oidc::ProviderConfig;
use time::OffsetDateTime;

#[allow(dead_code)]
pub struct Fixture {
    pub config: ProviderConfig,
    pub ring: KeyRing,
    pub client: Client,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let now = OffsetDateTime::now_utc();
        let sealer = KeySealer::new(&[7u8; 32]);
        let keys = SigningAlg::ALL
            .iter()
            .filter_map(|alg| new_key(&sealer, *alg, now, now).ok())
            .collect();
        let ring = KeyRing::load(keys, &sealer, now).unwrap_or_else(|_| std::process::abort());
        let config = ProviderConfig::new(
            url::Url::parse("https://connect.example.fr").unwrap_or_else(|_| std::process::abort()),
        );
        let pair = josekit::jws::ES256
            .generate_key_pair()
            .unwrap_or_else(|_| std::process::abort());
        let public = pair.to_jwk_public_key();
        let client = Client {
            redirect_uris: vec!["https://portal.example.fr/cb".into()],
            scopes: ["openid", "email", "profile", "offline_access", "accounts"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            auth_method: AuthMethod::PrivateKeyJwt,
            jwks: Some(
                serde_json::json!({ "keys": [serde_json::Value::Object(public.as_ref().clone())] }),
            ),
            first_party: true,
            created_at: now,
            ..Client::bare("portal", "Portal")
        };
        Fixture {
            config,
            ring,
            client,
        }
    })
}
