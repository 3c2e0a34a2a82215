//! Step: the redirect URI is present and exactly one of the client's registered URIs — except,
//! for public clients (native apps), the port of a loopback IP literal, which they choose at run
//! time (RFC 8252 §7.3). A confidential client's loopback URI matches exactly.

use crate::error::OAuthError;
use crate::model::Client;
use crate::params::Params;

pub(super) fn check(params: &Params, client: &Client) -> Result<String, OAuthError> {
    let uri = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is missing"))?;
    if client
        .redirect_uris
        .iter()
        .any(|r| r == uri || (client.is_public() && same_loopback_but_port(r, uri)))
    {
        Ok(uri.to_string())
    } else {
        Err(OAuthError::invalid_request(
            "redirect_uri is not registered for this client",
        ))
    }
}

/// `registered` is an `http` URI on a loopback IP literal (`127.0.0.1`, `[::1]`; not
/// `localhost`, RFC 8252 §8.3) and `asked` is the same but for its port: scheme, host, path and
/// query match exactly, there is no fragment and no user info.
fn same_loopback_but_port(registered: &str, asked: &str) -> bool {
    let (Ok(r), Ok(a)) = (url::Url::parse(registered), url::Url::parse(asked)) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        let ip_literal = match u.host() {
            Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
            Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
            _ => false,
        };
        u.scheme() == "http" && ip_literal
    };
    loopback(&r)
        && loopback(&a)
        && r.host() == a.host()
        && r.path() == a.path()
        && r.query() == a.query()
        && a.port() != Some(0)
        && a.fragment().is_none()
        && a.username().is_empty()
        && a.password().is_none()
        // The asked string is what the client will send back: it must be the URL as written,
        // not something the parser normalised into a match.
        && a.as_str() == asked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ports_are_free_the_rest_is_exact() {
        let ok = |r: &str, a: &str| same_loopback_but_port(r, a);
        assert!(ok(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51004/callback"
        ));
        assert!(ok("http://127.0.0.1:8080/cb", "http://127.0.0.1:51004/cb"));
        assert!(ok("http://[::1]/callback", "http://[::1]:51004/callback"));
        assert!(!ok(
            "http://localhost/callback",
            "http://localhost:51004/callback"
        ));
        assert!(!ok(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51004/callback/x"
        ));
        assert!(!ok("http://127.0.0.1/cb?a=1", "http://127.0.0.1:5/cb?a=2"));
        assert!(!ok("http://127.0.0.1/cb", "http://127.0.0.1:5/cb#f"));
        assert!(!ok("http://127.0.0.1/cb", "http://u@127.0.0.1:5/cb"));
        assert!(!ok("https://127.0.0.1/cb", "https://127.0.0.1:5/cb"));
        assert!(!ok("http://127.0.0.1/cb", "http://[::1]:5/cb"));
        assert!(!ok(
            "https://portal.example.fr/cb",
            "https://portal.example.fr:444/cb"
        ));
        assert!(!ok("http://127.0.0.1/cb", "http://127.0.0.1:5/CB"));
    }
}
