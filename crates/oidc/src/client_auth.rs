//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt` and `none`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use josekit::jwk::Jwk;
use time::OffsetDateTime;

use crate::error::{EngineError, OAuthError};
use crate::keys::verifier_for;
use crate::model::{AuthMethod, Client};
use crate::params::Params;
use crate::ports::{AssertionStore, ClientStore};
use crate::secret::hash_handle;

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the client presented.
#[derive(Debug, PartialEq, Eq)]
pub enum Presented {
    /// A client secret, in the Authorization header or the form body.
    Secret {
        /// The client id (form-decoded from the Basic header, or `client_id`).
        client_id: String,
        /// The secret as presented; only its hash is compared.
        secret: String,
        /// Where it came from: `ClientSecretBasic` or `ClientSecretPost`.
        method: AuthMethod,
    },
    /// A signed JWT (`client_assertion`, RFC 7523 §2.2).
    Assertion {
        /// The `client_id` parameter, when sent; it must equal the assertion's `iss`.
        client_id: Option<String>,
        /// The compact JWT, not yet verified.
        assertion: String,
    },
    /// Only a `client_id`: a public client.
    IdOnly {
        /// The `client_id` parameter.
        client_id: String,
    },
}

fn form_decode(s: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
        .ok()?
        .into_iter()
        .next()
        .map(|(_, v)| v)
}

/// The `client_id` of an HTTP Basic `Authorization` header (RFC 6749 §2.3.1: form-decoded),
/// without checking the secret: to pick the client whose CORS origins apply.
pub fn basic_client_id(header: &str) -> Option<String> {
    parse_basic(header).map(|(id, _)| id)
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// The credentials a request presents (public for the fuzz targets).
pub fn presented(authorization: Option<&str>, params: &Params) -> Result<Presented, OAuthError> {
    let basic = authorization
        .filter(|h| h.len() > 6 && h.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("basic ")));
    let body_secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let methods = usize::from(basic.is_some())
        + usize::from(body_secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    if let Some(header) = basic {
        let (client_id, secret) = parse_basic(header).ok_or_else(OAuthError::invalid_client)?;
        if params.get("client_id").is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        return Ok(Presented::Secret {
            client_id,
            secret,
            method: AuthMethod::ClientSecretBasic,
        });
    }
    if let Some(assertion) = assertion {
        if params.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::invalid_request(
                "client_assertion_type must be jwt-bearer",
            ));
        }
        return Ok(Presented::Assertion {
            client_id: params.get("client_id").map(str::to_string),
            assertion: assertion.to_string(),
        });
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(OAuthError::invalid_client)?
        .to_string();
    match body_secret {
        Some(secret) => Ok(Presented::Secret {
            client_id,
            secret: secret.to_string(),
            method: AuthMethod::ClientSecretPost,
        }),
        None => Ok(Presented::IdOnly { client_id }),
    }
}

/// Authenticates the calling client. `audiences` are the values accepted as `aud` of a client
/// assertion (the issuer and the endpoint URL).
pub async fn authenticate(
    clients: &dyn ClientStore,
    assertions: &dyn AssertionStore,
    authorization: Option<&str>,
    params: &Params,
    audiences: &[String],
    now: OffsetDateTime,
) -> Result<Client, EngineError> {
    match presented(authorization, params)? {
        Presented::Secret {
            client_id,
            secret,
            method,
        } => {
            let client = known(clients, &client_id, method).await?;
            if !client.secret_matches(&hash_handle(&secret), now) {
                return Err(OAuthError::invalid_client().into());
            }
            Ok(client)
        }
        Presented::IdOnly { client_id } => known(clients, &client_id, AuthMethod::None).await,
        Presented::Assertion {
            client_id,
            assertion,
        } => {
            let claimed = unverified_issuer(&assertion).ok_or_else(OAuthError::invalid_client)?;
            if client_id.as_deref().is_some_and(|id| id != claimed) {
                return Err(OAuthError::invalid_client().into());
            }
            let client = known(clients, &claimed, AuthMethod::PrivateKeyJwt).await?;
            let claims = verify_assertion(&client, &assertion, audiences, now)
                .ok_or_else(OAuthError::invalid_client)?;
            let jti = claims
                .get("jti")
                .and_then(|v| v.as_str())
                .ok_or_else(OAuthError::invalid_client)?;
            let exp = claims
                .get("exp")
                .and_then(numeric_date)
                .and_then(|e| OffsetDateTime::from_unix_timestamp(e).ok())
                .ok_or_else(OAuthError::invalid_client)?;
            // Remembered as long as it could be accepted: until `exp` plus the skew.
            if !assertions
                .remember_jti(&client.id, jti, exp + CLOCK_SKEW)
                .await?
            {
                return Err(OAuthError::new(
                    crate::ErrorCode::InvalidClient,
                    "client assertion replayed",
                )
                .into());
            }
            Ok(client)
        }
    }
}

async fn known(
    clients: &dyn ClientStore,
    id: &str,
    method: AuthMethod,
) -> Result<Client, EngineError> {
    match clients.find_client(id).await? {
        Some(c) if c.enabled && c.auth_method == method => Ok(c),
        _ => Err(OAuthError::invalid_client().into()),
    }
}

fn unverified_issuer(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_string)
}

/// How far a client's clock may be from ours for every time claim of an assertion (`exp`,
/// `nbf`, `iat`): 60 seconds.
pub const CLOCK_SKEW: time::Duration = time::Duration::seconds(60);

/// The longest an assertion may live: its `exp` at most an hour ahead (it is remembered by `jti`
/// until then).
const MAX_ASSERTION_LIFETIME: i64 = 3600;

/// Checks an RFC 7523 client assertion (§3): signature by a registered key, `iss` = `sub` =
/// client_id, an `aud` we accept (our issuer, the token endpoint, or the endpoint called), a
/// live and bounded `exp`, and `nbf` / `iat` (when present) not in the future — each within
/// [`CLOCK_SKEW`]. `jti` is required and remembered by the caller (replay).
pub fn verify_assertion(
    client: &Client,
    jwt: &str,
    audiences: &[String],
    now: OffsetDateTime,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let keys = client.jwks.as_ref()?.get("keys")?.as_array()?;
    // Each registered key verifies with its own `alg`, or its key type's usual one.
    let verifiers: Vec<(Option<String>, String, Box<dyn josekit::jws::JwsVerifier>)> = keys
        .iter()
        .filter_map(|k| k.as_object().cloned())
        .filter_map(|m| Jwk::from_map(m).ok())
        .filter_map(|jwk| {
            let alg = jwk.algorithm().map(str::to_string).or_else(|| {
                match jwk.key_type() {
                    "RSA" => Some("RS256"),
                    "EC" => Some("ES256"),
                    "OKP" => Some("EdDSA"),
                    _ => None,
                }
                .map(str::to_string)
            })?;
            // The verifier itself ignores `kid` (josekit would demand one in the header when
            // the key has one): the choice below matches it when the assertion names a key,
            // and `kid` is optional when the key is known (RFC 7515 §4.1.4).
            let mut bare = jwk.clone();
            bare.set_parameter("kid", None).ok()?;
            let verifier = verifier_for(&bare, &alg)?;
            Some((jwk.key_id().map(str::to_string), alg, verifier))
        })
        .collect();
    let header = jws_header(jwt)?;
    let alg = header.get("alg")?.as_str()?;
    let kid = header.get("kid").and_then(|k| k.as_str());
    // Without a `kid`, every registered key of the algorithm is tried.
    let payload = verifiers
        .iter()
        .filter(|(k, a, _)| a == alg && (kid.is_none() || k.as_deref() == kid))
        .find_map(|(_, _, v)| josekit::jws::deserialize_compact(jwt, v.as_ref()).ok())
        .map(|(payload, _)| payload)?;
    let claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&payload).ok()?;
    let s = |k: &str| claims.get(k).and_then(|v| v.as_str());
    if s("iss") != Some(client.id.as_str()) || s("sub") != Some(client.id.as_str()) {
        return None;
    }
    let aud_ok = match claims.get("aud")? {
        serde_json::Value::String(a) => audiences.iter().any(|x| x == a),
        serde_json::Value::Array(list) => list
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.iter().any(|x| x == a))),
        _ => false,
    };
    // NumericDate may carry fractions of a second (RFC 7519 §2). One clock skew for every
    // time claim: a client whose clock is a little ahead or behind is not refused.
    let now_ts = now.unix_timestamp();
    let skew = CLOCK_SKEW.whole_seconds();
    let exp = numeric_date(claims.get("exp")?)?;
    let not_before = |k: &str| match claims.get(k) {
        None => Some(true),
        Some(v) => numeric_date(v).map(|t| t <= now_ts + skew),
    };
    let lives = exp > now_ts - skew && exp <= now_ts + MAX_ASSERTION_LIFETIME + skew;
    if !aud_ok || !lives || !not_before("nbf")? || !not_before("iat")? {
        return None;
    }
    Some(claims)
}

/// The protected header of a compact JWS, decoded (not verified).
fn jws_header(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let part = jwt.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn numeric_date(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_header_with_multibyte_characters_is_not_basic() {
        // Found by the token_request fuzz target: slicing at byte 6 inside a character panicked.
        let params = crate::params::Params::from_urlencoded("grant_type=client_credentials")
            .unwrap_or_else(|_| crate::params::Params::new(vec![]));
        assert!(
            super::presented(Some("Basiс é"), &params).is_err(),
            "not Basic, and no client_id: refused, without a panic"
        );
    }

    use super::*;

    #[test]
    fn basic_header_is_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20client:s%3Acret+x"));
        assert_eq!(
            parse_basic(&header),
            Some(("my client".into(), "s:cret x".into()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
    }

    #[test]
    fn two_methods_are_refused() {
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        let params = Params::from_urlencoded("client_id=a&client_secret=b").unwrap_or_default();
        assert!(presented(Some(&header), &params).is_err());
        let params = Params::from_urlencoded("client_id=a").unwrap_or_default();
        assert_eq!(
            presented(None, &params),
            Ok(Presented::IdOnly {
                client_id: "a".into()
            })
        );
    }
}
