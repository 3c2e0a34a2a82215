//! Request parameters of every endpoint (authorize, token, introspection, revocation, logout) as
//! the protocol reads them: empty values are absent (RFC 6749 §3.1), and a
//! parameter sent twice is an error.

use std::collections::HashMap;

/// Parameters of one request.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: HashMap<String, String>,
    duplicated: Option<String>,
}

impl Params {
    /// From decoded name/value pairs: empty values are dropped, the first of repeated names kept
    /// and the repetition remembered.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let mut values = HashMap::with_capacity(pairs.len());
        let mut duplicated = None;
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            if values.contains_key(&k) {
                duplicated.get_or_insert(k);
                continue;
            }
            values.insert(k, v);
        }
        Self { values, duplicated }
    }

    /// Parses an `application/x-www-form-urlencoded` string (query or body).
    pub fn from_urlencoded(raw: &str) -> Result<Self, String> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
            .map(Self::new)
            .map_err(|e| format!("malformed parameters: {e}"))
    }

    /// The value of parameter `name`; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The first parameter that appeared more than once.
    pub fn duplicated(&self) -> Option<&str> {
        self.duplicated.as_deref()
    }

    /// Every parameter at most once (RFC 6749 §3.1, §3.2: "request and response parameters
    /// MUST NOT be included more than once"): `invalid_request` naming the first repeated one.
    /// Every endpoint that reads parameters calls it first.
    pub fn each_once(&self) -> Result<(), crate::OAuthError> {
        match self.duplicated() {
            Some(name) => Err(crate::OAuthError::invalid_request(format!(
                "parameter {name} was sent more than once"
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_absent_and_duplicates_are_seen() {
        let p = Params::from_urlencoded("a=1&b=&a=2&c=x%20y").unwrap_or_default();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert_eq!(p.duplicated(), Some("a"));
    }
}
