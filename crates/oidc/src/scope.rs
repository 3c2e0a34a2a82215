//! Scopes: parsing, the set we know, and what each releases.

use std::collections::BTreeSet;

/// Required in every authorization request; grants an ID token (OIDC Core §3.1.2.1).
pub const OPENID: &str = "openid";
/// OIDC Core §5.4's profile scope: `name`, `given_name`, `family_name` where the customer
/// records hold them, and `updated_at`.
pub const PROFILE: &str = "profile";
/// Releases `email` and `email_verified` (OIDC Core §5.4).
pub const EMAIL: &str = "email";
/// Asks for a refresh token (OIDC Core §11), granted only to clients allowed `refresh_token`.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// Releases claims `accounts` (the attached client numbers, their kind and label) and
/// `client_numbers` (the same numbers as a flat array of strings, for relying parties that
/// cannot read an array of objects, such as `mod_auth_openidc`'s environment variables).
pub const ACCOUNTS: &str = "accounts";
/// Admin API: read access (a `client_credentials` scope).
pub const ADMIN_READ: &str = "admin:read";
/// Admin API: changes (a `client_credentials` scope).
pub const ADMIN_WRITE: &str = "admin:write";

/// Scopes a person can grant to a relying party.
pub const USER_SCOPES: &[&str] = &[OPENID, PROFILE, EMAIL, OFFLINE_ACCESS, ACCOUNTS];

/// The claims each user scope releases (OpenID Connect Core §5.4 plus ours).
pub fn claims_of(scope: &str) -> &'static [&'static str] {
    match scope {
        PROFILE => &["name", "given_name", "family_name", "updated_at"],
        EMAIL => &["email", "email_verified"],
        ACCOUNTS => &["accounts", "client_numbers"],
        _ => &[],
    }
}

/// The user scope whose consent releases `claim`, if any.
pub fn owner_of(claim: &str) -> Option<&'static str> {
    USER_SCOPES
        .iter()
        .copied()
        .find(|s| claims_of(s).contains(&claim))
}

/// Whether `client`'s registration lets it have `claim`: the scope that releases it is one of
/// the client's (design.md §6: a claim reaches a client only when its registration allows it).
pub fn client_may_have(client: &crate::model::Client, claim: &str) -> bool {
    owner_of(claim).is_some_and(|s| client.scopes.iter().any(|c| c == s))
}

/// An ordered set of scope tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses a space-delimited scope string; `None` when a token has characters RFC 6749 §3.3
    /// forbids.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut set = BTreeSet::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return None;
            }
            set.insert(token.to_string());
        }
        Some(Self(set))
    }

    /// Is `scope` in the set?
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Does the set hold no scope at all?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes in order (byte-wise ascending).
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Keeps only the scopes also in `allowed`.
    pub fn intersect(&self, allowed: &Scopes) -> Scopes {
        Scopes(self.0.intersection(&allowed.0).cloned().collect())
    }

    /// Adds `scope` (no validation: callers pass known scope names).
    pub fn insert(&mut self, scope: &str) {
        self.0.insert(scope.to_string());
    }

    /// Removes `scope`, if present.
    pub fn remove(&mut self, scope: &str) {
        self.0.remove(scope);
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let joined: Vec<&str> = self.iter().collect();
        f.write_str(&joined.join(" "))
    }
}

impl<'a> FromIterator<&'a str> for Scopes {
    fn from_iter<I: IntoIterator<Item = &'a str>>(items: I) -> Self {
        Self(items.into_iter().map(str::to_string).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let s = Scopes::parse("openid  email openid").unwrap_or_default();
        assert_eq!(s.to_string(), "email openid");
        assert!(Scopes::parse("bad\"scope").is_none());
        assert!(Scopes::parse("a\\b").is_none());
    }

    #[test]
    fn subset_and_intersection() {
        let a = Scopes::from_iter(["openid", "email"]);
        let b = Scopes::from_iter(["openid", "email", "profile"]);
        assert!(a.is_subset(&b));
        assert!(!b.is_subset(&a));
        assert_eq!(b.intersect(&a), a);
    }
}
