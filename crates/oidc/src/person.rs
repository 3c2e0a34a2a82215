//! The person behind a user token, as one read of the identity domain gives it, and the claims
//! the provider may release about them (OpenID Connect Core §5.1, §5.4, and Gan Connect's
//! `accounts` scope).
//!
//! Claims are computed here, in memory, from a [`Person`] read once per request (with the token
//! itself on introspection and userinfo: one database statement): the same person seen by two
//! clients (the token's and an introspecting partner's) costs no second read.

use crate::model::Client;
use crate::scope::{self, Scopes};

/// The claims released, by name.
pub type Claims = serde_json::Map<String, serde_json::Value>;

/// A person who may sign in, as the identity domain knows them now. A source never returns one
/// for an identity that is gone, locked or disabled: such a person gets nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The login email (`email` claim).
    pub email: String,
    /// Whether that email was verified (`email_verified`).
    pub email_verified: bool,
    /// The identity's last change, Unix seconds.
    pub updated_at: i64,
    /// Every customer account attached, ordered by client number.
    pub accounts: Vec<HeldAccount>,
}

/// A customer account attached to a [`Person`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAccount {
    /// The legacy client number (`client_numbers`, `accounts[].client_number`).
    pub client_number: String,
    /// `personal` or `professional`; clients restricted to some kinds see only those.
    pub kind: String,
    /// The account's label, as shown to the customer.
    pub label: String,
    /// The holder's given name, when the legacy base had one.
    pub given_name: Option<String>,
    /// The holder's family name, when the legacy base had one.
    pub family_name: Option<String>,
    /// The account's last change, Unix seconds.
    pub updated_at: i64,
}

impl Person {
    /// The accounts `client` may see: all of them, or only those of the kinds it is restricted
    /// to.
    pub fn visible_to<'a>(&'a self, client: &'a Client) -> impl Iterator<Item = &'a HeldAccount> {
        self.accounts
            .iter()
            .filter(|a| client.account_kinds.is_empty() || client.account_kinds.contains(&a.kind))
    }

    /// May this person use `client` at all? A client restricted to some account kinds is refused
    /// to a person holding none of them (design.md §6: claims follow authorisation).
    pub fn may_use(&self, client: &Client) -> bool {
        client.account_kinds.is_empty() || self.visible_to(client).next().is_some()
    }

    /// The claims that `scopes` release about this person as `client` sees them (only the user
    /// scopes count: `email`, `accounts`, `profile`). The caller filters them further to what
    /// the client's registration and the claims request allow.
    ///
    /// - `email`: `email`, `email_verified`;
    /// - `accounts`: `accounts` (`[{client_number, kind, label}]`) and `client_numbers` (the same
    ///   numbers, flat), of the accounts `client` may see, by client number;
    /// - `profile` (OIDC Core §5.1): `given_name`, `family_name` and `name` (the two joined by a
    ///   space) of the first visible account that has a name — personal before professional,
    ///   then by client number — and `updated_at` (Unix seconds, the later of the identity's and
    ///   that account's last change). Nothing is invented: without a name, only `updated_at`.
    pub fn claims(&self, scopes: &Scopes, client: &Client) -> Claims {
        let mut claims = Claims::new();
        if scopes.contains(scope::EMAIL) {
            claims.insert("email".into(), self.email.clone().into());
            claims.insert("email_verified".into(), self.email_verified.into());
        }
        if scopes.contains(scope::ACCOUNTS) {
            let visible: Vec<&HeldAccount> = self.visible_to(client).collect();
            let accounts: Vec<serde_json::Value> = visible
                .iter()
                .map(|a| serde_json::json!({ "client_number": a.client_number, "kind": a.kind, "label": a.label }))
                .collect();
            let numbers: Vec<serde_json::Value> = visible
                .iter()
                .map(|a| a.client_number.clone().into())
                .collect();
            claims.insert("accounts".into(), accounts.into());
            claims.insert("client_numbers".into(), numbers.into());
        }
        if scopes.contains(scope::PROFILE) {
            self.profile_claims(&mut claims, client);
        }
        claims
    }

    fn profile_claims(&self, claims: &mut Claims, client: &Client) {
        let named = |a: &&HeldAccount| a.given_name.is_some() || a.family_name.is_some();
        let holder = self
            .visible_to(client)
            .filter(|a| a.kind == "personal")
            .find(named)
            .or_else(|| self.visible_to(client).find(named));
        let mut updated_at = self.updated_at;
        if let Some(a) = holder {
            updated_at = updated_at.max(a.updated_at);
            let parts: Vec<&str> = [&a.given_name, &a.family_name]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            if let Some(given) = &a.given_name {
                claims.insert("given_name".into(), given.clone().into());
            }
            if let Some(family) = &a.family_name {
                claims.insert("family_name".into(), family.clone().into());
            }
            claims.insert("name".into(), parts.join(" ").into());
        }
        claims.insert("updated_at".into(), updated_at.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(number: &str, kind: &str, given: Option<&str>, updated_at: i64) -> HeldAccount {
        HeldAccount {
            client_number: number.into(),
            kind: kind.into(),
            label: format!("Contrat {number}"),
            given_name: given.map(str::to_string),
            family_name: given.map(|_| "Martin".to_string()),
            updated_at,
        }
    }

    fn marie() -> Person {
        Person {
            email: "marie@example.fr".into(),
            email_verified: true,
            updated_at: 100,
            accounts: vec![
                account("10000001", "professional", Some("Marie-Pro"), 300),
                account("10000002", "personal", None, 400),
                account("10000003", "personal", Some("Marie"), 200),
            ],
        }
    }

    fn client(kinds: &[&str]) -> Client {
        Client {
            account_kinds: kinds.iter().map(|k| k.to_string()).collect(),
            ..Client::bare("c", "C")
        }
    }

    fn scopes(s: &str) -> Scopes {
        Scopes::parse(s).unwrap()
    }

    #[test]
    fn each_scope_releases_its_own_claims_only() {
        let all = client(&[]);
        let email = marie().claims(&scopes("email"), &all);
        assert_eq!(
            email.keys().collect::<Vec<_>>(),
            ["email", "email_verified"]
        );
        let accounts = marie().claims(&scopes("accounts"), &all);
        assert_eq!(
            accounts["client_numbers"],
            serde_json::json!(["10000001", "10000002", "10000003"])
        );
        assert_eq!(accounts["accounts"][0]["label"], "Contrat 10000001");
        assert!(accounts.get("email").is_none());
        assert!(marie().claims(&scopes("openid"), &all).is_empty());
    }

    #[test]
    fn a_restricted_client_sees_its_kinds_only() {
        let pro = client(&["professional"]);
        let claims = marie().claims(&scopes("accounts profile"), &pro);
        assert_eq!(claims["client_numbers"], serde_json::json!(["10000001"]));
        assert_eq!(
            claims["given_name"], "Marie-Pro",
            "the name of a visible account"
        );
        assert!(marie().may_use(&pro));
        let nobody = Person {
            accounts: vec![],
            ..marie()
        };
        assert!(!nobody.may_use(&pro));
        assert!(nobody.may_use(&client(&[])));
    }

    #[test]
    fn profile_prefers_a_named_personal_account() {
        let claims = marie().claims(&scopes("profile"), &client(&[]));
        assert_eq!(claims["name"], "Marie Martin");
        assert_eq!(
            claims["updated_at"], 200,
            "the later of identity and holder"
        );
        let unnamed = Person {
            accounts: vec![account("1", "personal", None, 900)],
            ..marie()
        };
        let claims = unnamed.claims(&scopes("profile"), &client(&[]));
        assert_eq!(claims.keys().collect::<Vec<_>>(), ["updated_at"]);
        assert_eq!(claims["updated_at"], 100, "nothing invented");
    }
}
