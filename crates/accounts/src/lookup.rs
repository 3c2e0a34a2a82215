//! Read-only lookups for the account page, the admin service and the CLI: what they need to show,
//! without reaching the storage ports.

use crate::customer::{normalize_client_number, CustomerAccount};
use crate::email;
use crate::service::{Accounts, Unavailable};
use crate::Identity;

impl Accounts {
    /// The identity with this id (`sub`), if any.
    ///
    /// Errors: `Unavailable`.
    pub async fn identity(&self, id: &str) -> Result<Option<Identity>, Unavailable> {
        Ok(self.ports.identities.find_identity(id).await?)
    }

    /// The identity whose login email is `login_email` (trimmed, compared case-insensitively).
    ///
    /// Errors: `Unavailable`.
    pub async fn identity_by_email(
        &self,
        login_email: &str,
    ) -> Result<Option<Identity>, Unavailable> {
        Ok(self
            .ports
            .identities
            .find_identity_by_email(&email::normalize(login_email))
            .await?)
    }

    /// The customer account with this client number (normalised: spaces removed,
    /// upper-cased); `None` for an unknown or malformed number.
    ///
    /// Errors: `Unavailable`.
    pub async fn customer(
        &self,
        client_number: &str,
    ) -> Result<Option<CustomerAccount>, Unavailable> {
        let Some(number) = normalize_client_number(client_number) else {
            return Ok(None);
        };
        Ok(self.ports.customers.find_customer(&number).await?)
    }

    /// The identity the account `client_number` (normalised) is attached to, if any.
    ///
    /// Errors: `Unavailable`.
    pub async fn owner_of(&self, client_number: &str) -> Result<Option<Identity>, Unavailable> {
        let Some(number) = normalize_client_number(client_number) else {
            return Ok(None);
        };
        Ok(self.ports.customers.owner_of(&number).await?)
    }

    /// The customer accounts attached to an identity, by client number.
    ///
    /// Errors: `Unavailable`.
    pub async fn accounts_of(
        &self,
        identity_id: &str,
    ) -> Result<Vec<CustomerAccount>, Unavailable> {
        Ok(self.ports.customers.accounts_of(identity_id).await?)
    }
}
