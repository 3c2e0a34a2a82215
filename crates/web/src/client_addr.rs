//! Who is calling: the one place that decides the caller's IP address, for the audit trail, the
//! request span, throttling and the list of sessions.
//!
//! The socket's peer is the caller unless it is one of `server.trusted_proxies`. A trusted
//! proxy's forwarding header is then read from right to left (the right end is what the nearest
//! proxy wrote, the left end is whatever the client sent and may be forged), skipping trusted
//! proxies; the first address that is not one of them is the caller.
//!
//! - `X-Forwarded-For`: every header line, in order, as one comma-separated list.
//! - `Forwarded` (RFC 7239 §4): the `for=` parameter of each element (§5.2, §6: a quoted
//!   `"[2001:db8::1]:4711"`, a port, `unknown` or an obfuscated `_identifier`).
//! - Both at once: neither is believed, and the caller is the trusted peer itself. Proxies
//!   commonly write one of the two and pass the other through from the client untouched, so
//!   preferring either one would let a client name its own address.
//! - A hop we cannot read (`unknown`, an obfuscated identifier, an element without `for=`,
//!   garbage, non-ASCII bytes): the walk stops and the caller is the last trusted hop, the
//!   nearest one we cannot see past. Nothing is ever made up from a malformed value.
//! - Every hop trusted: the leftmost one is the caller.
//! - IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) count as the IPv4 address, in the socket,
//!   in the headers and in the configuration.
//!
//! The walk borrows from the headers without allocating and looks at no more than [`MAX_HOPS`]
//! forwarded addresses. It splits at every comma (and a `Forwarded` element at every semicolon)
//! without regard to quoting: only elements written by trusted proxies are ever read (each one
//! lies left of a trusted address), and their `for=` nodes cannot hold either character (RFC
//! 7239 §6), so a quoted string that did would only make a hop unusable, never an address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::ControlFlow;

use axum::extract::ConnectInfo;
use axum::http::{header, Extensions, HeaderMap, HeaderName};
use ipnet::IpNet;

/// `X-Forwarded-For`: the de-facto list of the addresses a request was forwarded for.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Forwarded addresses looked at, at most, in one request. Past that the last trusted hop is the
/// caller: no real chain of proxies is this long.
pub const MAX_HOPS: usize = 32;

/// The reverse proxies whose forwarding headers are believed (`server.trusted_proxies`): IPv4
/// and IPv6 CIDR ranges. Empty (the default): no header is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// An entry of `server.trusted_proxies` that is neither an IP address nor a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not an IP address or a CIDR range (like 10.0.0.0/8 or 2001:db8::/32)")]
pub struct InvalidProxy {
    /// The entry as written.
    pub entry: String,
}

impl TrustedProxies {
    /// Parses CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`) and bare addresses (`/32` or `/128`).
    /// Entries are trimmed and empty ones skipped; host bits are cleared (`10.1.2.3/8` is
    /// `10.0.0.0/8`); an IPv4-mapped IPv6 range becomes the IPv4 range. The first entry that is
    /// neither an address nor a range is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, InvalidProxy> {
        let mut nets = Vec::with_capacity(entries.len());
        for entry in entries {
            let text = entry.as_ref().trim();
            if text.is_empty() {
                continue;
            }
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| InvalidProxy {
                    entry: text.to_string(),
                })?;
            nets.push(canonical_net(net.trunc()));
        }
        Ok(Self(nets))
    }

    /// Is `ip` one of the trusted proxies? (Always false when the list is empty.)
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// No proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A range covers every address (`0.0.0.0/0`, `::/0`): every caller could then name its own
    /// address. Allowed (a private network may want it) but warned about at start.
    pub fn trusts_everyone(&self) -> bool {
        self.0.iter().any(|net| net.prefix_len() == 0)
    }
}

/// `::ffff:a.b.c.d/n` (n ≥ 96) as `a.b.c.d/(n-96)`, so that it matches normalised addresses.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net {
        if let (Some(v4), Some(len)) = (
            v6.network().to_ipv4_mapped(),
            v6.prefix_len().checked_sub(96),
        ) {
            if let Ok(v4) = ipnet::Ipv4Net::new(v4, len) {
                return IpNet::V4(v4);
            }
        }
    }
    net
}

/// The caller's address of a request: its socket peer (`ConnectInfo<SocketAddr>`, set by
/// [`crate::serve::serve`]) resolved through `trusted` with [`resolve`]. `None` when the request
/// did not come through a socket (a router driven directly, as in tests).
pub fn client_ip(
    extensions: &Extensions,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(resolve(peer, headers, trusted))
}

/// The caller's address, from the socket's `peer` and the request's forwarding headers, by the
/// rule of this module: the peer when it is not a trusted proxy (headers ignored); else the
/// first untrusted address of `X-Forwarded-For` or `Forwarded` (RFC 7239) read from the right;
/// the last trusted hop when a hop is unreadable, both headers are present or every hop is
/// trusted. Never fails and never panics, whatever the headers hold.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let xff = headers.get_all(X_FORWARDED_FOR);
    let forwarded = headers.get_all(header::FORWARDED);
    let mut walk = Walk {
        trusted,
        last_trusted: peer,
        seen: 0,
    };
    let (lines, parse): (_, fn(&str) -> Hop) = match (
        xff.iter().next().is_some(),
        forwarded.iter().next().is_some(),
    ) {
        (true, true) => {
            tracing::debug!(%peer, "both X-Forwarded-For and Forwarded: neither is believed");
            return peer;
        }
        (true, false) => (xff, node),
        (false, true) => (forwarded, forwarded_hop),
        (false, false) => return peer,
    };
    // Header lines are one list, in order (RFC 9110 §5.3): the last line holds the right end.
    // Split as bytes: a client may put anything at the left of its own list, and bytes a hop
    // further left cannot make the hops to its right unreadable.
    for line in lines.iter().rev() {
        for element in line.as_bytes().rsplit(|b| *b == b',') {
            let Ok(element) = std::str::from_utf8(element) else {
                return walk.last_trusted;
            };
            let element = element.trim();
            // Empty list elements are allowed and mean nothing (RFC 9110 §5.6.1).
            if element.is_empty() {
                continue;
            }
            if let ControlFlow::Break(client) = walk.step(parse(element)) {
                return client;
            }
        }
    }
    walk.last_trusted
}

/// One forwarded hop: an address, or something we cannot use.
type Hop = Option<IpAddr>;

/// The walk from the right: the nearest trusted hop so far.
struct Walk<'a> {
    trusted: &'a TrustedProxies,
    last_trusted: IpAddr,
    seen: usize,
}

impl Walk<'_> {
    /// Looks at the next hop to the left; `Break(caller)` when the walk ends there.
    fn step(&mut self, hop: Hop) -> ControlFlow<IpAddr> {
        self.seen += 1;
        match hop {
            _ if self.seen > MAX_HOPS => ControlFlow::Break(self.last_trusted),
            None => ControlFlow::Break(self.last_trusted),
            Some(ip) if self.trusted.contains(ip) => {
                self.last_trusted = ip;
                ControlFlow::Continue(())
            }
            Some(ip) => ControlFlow::Break(ip),
        }
    }
}

/// A `Forwarded` element (RFC 7239 §4): `pair *( ";" pair )`; its single `for=` value, as a
/// token or a quoted string, is the hop. No `for=`, two of them, or an unreadable value: unusable.
fn forwarded_hop(element: &str) -> Hop {
    let mut found = None;
    for pair in element.split(';') {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            continue;
        }
        if found.is_some() {
            return None;
        }
        found = Some(value.trim());
    }
    let value = found?;
    let value = match value.strip_prefix('"') {
        // A quoted node never needs an escape (§4, §6); one means something else is going on.
        Some(quoted) => quoted
            .strip_suffix('"')
            .filter(|v| !v.contains(['"', '\\']))?,
        None => value,
    };
    node(value)
}

/// A node (RFC 7239 §6), or an `X-Forwarded-For` element, which some proxies write the same way:
/// `IPv4`, `IPv4:port`, `[IPv6]`, `[IPv6]:port`, or a bare IPv6 address. `unknown`, obfuscated
/// names (`_hidden`) and anything else: `None`. Ports may be numbers or obfuscated (`_port`);
/// they are not used.
fn node(text: &str) -> Hop {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(inner) = text.strip_prefix('[') {
        let (v6, rest) = inner.split_once(']')?;
        let v6 = v6.parse::<Ipv6Addr>().ok()?;
        let port_ok = rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port);
        return port_ok.then(|| IpAddr::V6(v6).to_canonical());
    }
    let (v4, port) = text.split_once(':')?;
    let v4 = v4.parse::<Ipv4Addr>().ok()?;
    is_port(port).then_some(IpAddr::V4(v4))
}

/// `node-port = port / obfport` (RFC 7239 §6): 1 to 5 digits, or `_` and 1+ of `ALPHA DIGIT . _ -`.
fn is_port(port: &str) -> bool {
    match port.strip_prefix('_') {
        Some(obf) => {
            !obf.is_empty()
                && obf
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
        None => (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::http::HeaderValue;

    use super::*;

    const PROXIES: &[&str] = &["10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.10"];

    fn headers(lines: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in lines {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    /// The caller seen from `peer` with `trusted` proxies and these header lines.
    fn caller(peer: &str, trusted: &[&str], lines: &[(&str, &str)]) -> String {
        let lines: Vec<(&str, &[u8])> = lines.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        let trusted = TrustedProxies::parse(trusted).unwrap();
        resolve(peer.parse().unwrap(), &headers(&lines), &trusted).to_string()
    }

    #[test]
    fn an_untrusted_peer_is_the_caller_whatever_it_forwards() {
        let spoofed = [
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.8"),
        ];
        assert_eq!(
            caller("198.51.100.1", PROXIES, &spoofed[..1]),
            "198.51.100.1"
        );
        assert_eq!(
            caller("198.51.100.1", PROXIES, &spoofed[1..]),
            "198.51.100.1"
        );
        // No proxy trusted (the default): the socket only.
        assert_eq!(caller("10.0.0.1", &[], &spoofed[..1]), "10.0.0.1");
        assert_eq!(caller("10.0.0.1", &[], &spoofed[1..]), "10.0.0.1");
        assert!(TrustedProxies::default().is_empty());
    }

    #[test]
    fn a_range_of_every_address_is_noticed() {
        assert!(TrustedProxies::parse(&["10.0.0.0/8", "0.0.0.0/0"])
            .unwrap()
            .trusts_everyone());
        assert!(TrustedProxies::parse(&["::/0"]).unwrap().trusts_everyone());
        assert!(!TrustedProxies::parse(PROXIES).unwrap().trusts_everyone());
    }

    #[test]
    fn bytes_a_client_writes_at_the_left_do_not_hide_the_hop_to_their_right() {
        let trusted = TrustedProxies::parse(PROXIES).unwrap();
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        for line in [
            &b"\xc3\xa9, 203.0.113.7"[..],
            &b"\xff\xfe, 203.0.113.7"[..],
            &b"for=\xc3\xa9, 203.0.113.7"[..],
        ] {
            let h = headers(&[("x-forwarded-for", line)]);
            assert_eq!(resolve(peer, &h, &trusted).to_string(), "203.0.113.7");
        }
        let h = headers(&[("forwarded", &b"for=\xc3\xa9, for=203.0.113.8"[..])]);
        assert_eq!(resolve(peer, &h, &trusted).to_string(), "203.0.113.8");
        // Unreadable bytes in the hop being read: the nearest trusted hop, as for any garbage.
        let h = headers(&[("x-forwarded-for", &b"203.0.113.7, \xff"[..])]);
        assert_eq!(resolve(peer, &h, &trusted).to_string(), "10.0.0.5");
    }

    #[test]
    fn one_trusted_proxy_names_the_caller() {
        let xff = [("x-forwarded-for", "203.0.113.7")];
        assert_eq!(caller("10.0.0.1", PROXIES, &xff), "203.0.113.7");
        assert_eq!(caller("192.0.2.10", PROXIES, &xff), "203.0.113.7");
        // The bare address means that address only.
        assert_eq!(caller("192.0.2.11", PROXIES, &xff), "192.0.2.11");
        // No header at all, or an empty one: the proxy itself.
        assert_eq!(caller("10.0.0.1", PROXIES, &[]), "10.0.0.1");
        assert_eq!(
            caller("10.0.0.1", PROXIES, &[("x-forwarded-for", " , ")]),
            "10.0.0.1"
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked_from_the_right() {
        // CDN (2001:db8:ffff::5) → load balancer (10.0.0.2) → us, from 10.0.0.2.
        let xff = [("x-forwarded-for", "2001:db8:abcd::1, 2001:db8:ffff::5")];
        assert_eq!(caller("10.0.0.2", PROXIES, &xff), "2001:db8:abcd::1");
        // Every hop trusted: the leftmost.
        let xff = [("x-forwarded-for", "10.9.9.9, 10.0.0.3")];
        assert_eq!(caller("10.0.0.2", PROXIES, &xff), "10.9.9.9");
    }

    #[test]
    fn entries_prepended_by_the_client_are_ignored() {
        // The client sent "X-Forwarded-For: 1.1.1.1, 10.0.0.9"; the proxy appended its peer.
        let xff = [("x-forwarded-for", "1.1.1.1, 10.0.0.9, 203.0.113.7")];
        assert_eq!(caller("10.0.0.1", PROXIES, &xff), "203.0.113.7");
        // The same over several header lines, which are one list in order.
        let lines = [
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "10.0.0.9, 203.0.113.7"),
            ("x-forwarded-for", "10.0.0.4"),
        ];
        assert_eq!(caller("10.0.0.1", PROXIES, &lines), "203.0.113.7");
    }

    #[test]
    fn forwarded_for_values_of_rfc_7239() {
        let cases = [
            (r#"for="[2001:db8:cafe::17]:4711""#, "2001:db8:cafe::17"),
            (r#"for="[2001:db8:cafe::17]""#, "2001:db8:cafe::17"),
            ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            (r#"For="198.51.100.17:8080""#, "198.51.100.17"),
            (r#"for="198.51.100.17:_port""#, "198.51.100.17"),
            (
                "proto=https; for=198.51.100.17 ;host=example.fr",
                "198.51.100.17",
            ),
            // Attacker first, then what the proxies appended.
            (
                r#"for=1.1.1.1, for=203.0.113.7;proto=https, for="[2001:db8:ffff::9]""#,
                "203.0.113.7",
            ),
        ];
        for (value, want) in cases {
            assert_eq!(
                caller("10.0.0.1", PROXIES, &[("forwarded", value)]),
                want,
                "{value}"
            );
        }
    }

    #[test]
    fn a_hop_that_cannot_be_read_stops_at_the_last_trusted_one() {
        let cases = [
            ("forwarded", "for=unknown"),
            ("forwarded", "for=_hidden"),
            ("forwarded", r#"for="_gazonk""#),
            ("forwarded", "proto=https;by=10.0.0.1"),
            ("forwarded", "for=198.51.100.1;for=198.51.100.2"),
            ("forwarded", r#"for="[2001:db8::1"#),
            ("forwarded", r#"for="198.51.100.1\"""#),
            ("forwarded", "for=198.51.100.1:123456"),
            ("forwarded", "garbage"),
            ("x-forwarded-for", "not-an-address"),
            ("x-forwarded-for", "198.51.100.1:80:80"),
            ("x-forwarded-for", "fe80::1%eth0"),
            ("x-forwarded-for", "[198.51.100.1]"),
            ("x-forwarded-for", "999.1.1.1"),
        ];
        for (name, value) in cases {
            assert_eq!(
                caller("10.0.0.1", PROXIES, &[(name, value)]),
                "10.0.0.1",
                "{value}"
            );
        }
        // Past a trusted hop: that hop.
        let xff = [("x-forwarded-for", "203.0.113.7, unknown, 10.0.0.7")];
        assert_eq!(caller("10.0.0.1", PROXIES, &xff), "10.0.0.7");
        // Bytes that are not visible ASCII.
        let lines: [(&str, &[u8]); 2] = [
            ("x-forwarded-for", b"203.0.113.7\xff"),
            ("x-forwarded-for", b"10.0.0.7"),
        ];
        let trusted = TrustedProxies::parse(PROXIES).unwrap();
        let peer = "10.0.0.1".parse().unwrap();
        assert_eq!(
            resolve(peer, &headers(&lines), &trusted).to_string(),
            "10.0.0.7"
        );
    }

    #[test]
    fn both_headers_at_once_are_not_believed() {
        let lines = [
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=198.51.100.1"),
        ];
        assert_eq!(caller("10.0.0.1", PROXIES, &lines), "10.0.0.1");
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let xff = [("x-forwarded-for", "::ffff:203.0.113.7")];
        assert_eq!(caller("::ffff:10.0.0.1", PROXIES, &xff), "203.0.113.7");
        assert_eq!(caller("::ffff:198.51.100.1", PROXIES, &xff), "198.51.100.1");
        let fwd = [("forwarded", r#"for="[::ffff:10.0.0.5]:80", for=10.0.0.6"#)];
        assert_eq!(caller("10.0.0.1", &["10.0.0.0/8"], &fwd), "10.0.0.5");
        assert_eq!(
            caller("10.0.0.1", &["10.0.0.1", "::ffff:10.0.0.0/104"], &fwd),
            "10.0.0.5"
        );
    }

    #[test]
    fn a_long_chain_stops_at_the_bound() {
        let long = vec!["10.0.0.3"; MAX_HOPS + 5].join(", ");
        let xff = format!("203.0.113.7, {long}");
        assert_eq!(
            caller("10.0.0.1", PROXIES, &[("x-forwarded-for", &xff)]),
            "10.0.0.3"
        );
        let within = vec!["10.0.0.3"; MAX_HOPS - 1].join(",");
        let xff = format!("203.0.113.7,{within}");
        assert_eq!(
            caller("10.0.0.1", PROXIES, &[("x-forwarded-for", &xff)]),
            "203.0.113.7"
        );
    }

    #[test]
    fn trusted_proxies_parse_ranges_and_addresses() {
        let t = TrustedProxies::parse(&[" 10.1.2.3/8 ", "", "::1", "2001:db8::/32"]).unwrap();
        assert!(t.contains("10.200.0.1".parse().unwrap()));
        assert!(t.contains("::1".parse().unwrap()));
        assert!(!t.contains("::2".parse().unwrap()));
        assert!(t.contains("2001:db8:1::1".parse().unwrap()));
        assert!(t.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!t.contains("11.0.0.1".parse().unwrap()));
        assert!(TrustedProxies::parse(&["", " "]).unwrap().is_empty());
        for bad in [
            "10.0.0.0/33",
            "10.0.0",
            "example.fr",
            "10.0.0.0/8,10.1.0.0/16",
            "::1/129",
        ] {
            assert_eq!(
                TrustedProxies::parse(&[bad]),
                Err(InvalidProxy { entry: bad.into() }),
                "{bad}"
            );
        }
    }
}
