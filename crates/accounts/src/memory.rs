//! In-memory implementations of the accounts ports, for fast tests without I/O: one
//! [`MemoryStore`] for identities, customers, links and counters (with the same transactional
//! rules as the database store), and a [`MemoryMailer`] that keeps what it is given.
//! [`MemoryStore::set_unavailable`] makes every store call fail, to test the error paths.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::customer::{AccountKind, AccountStatus, CustomerAccount};
use crate::links::{LinkPurpose, LinkRecord};
use crate::password::{HashCost, Hasher};
use crate::ports::{
    AccessCut, AccessStore, AccountsStoreError, CounterStore, CustomerStore, IdentityStore,
    LinkStore, MailError, Mailer, OutgoingMail, Reservation, Rule, UpsertCounts,
};
use crate::service::{Accounts, AccountsPorts, JourneySettings};
use crate::Identity;

#[derive(Default)]
struct State {
    identities: HashMap<String, Identity>,
    customers: BTreeMap<String, CustomerAccount>,
    /// client number → identity id.
    attached: HashMap<String, String>,
    links: HashMap<String, LinkRecord>,
    /// key → (attempts, window end, blocked until).
    counters: HashMap<String, (u32, OffsetDateTime, OffsetDateTime)>,
    /// Every cut-off asked: (identity id, kept session).
    cut_offs: Vec<(String, Option<String>)>,
}

/// Identities, customer accounts, links and counters in memory. Each method holds one lock,
/// so the multi-step methods (`complete_upgrade`, `attach`, …) are atomic like the database's
/// transactions.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    unavailable: AtomicBool,
}

type Result<T> = std::result::Result<T, AccountsStoreError>;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// From now on every call fails with `Unavailable` (`true`) or works again (`false`).
    pub fn set_unavailable(&self, down: bool) {
        self.unavailable.store(down, Ordering::SeqCst);
    }

    fn state(&self) -> Result<MutexGuard<'_, State>> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(AccountsStoreError::Unavailable(
                "memory store set down".into(),
            ));
        }
        self.state
            .lock()
            .map_err(|_| AccountsStoreError::Unavailable("poisoned".into()))
    }

    /// Every customer account, by client number (for assertions).
    pub fn customers(&self) -> Vec<CustomerAccount> {
        self.state
            .lock()
            .map(|s| s.customers.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every throttle counter's key (for assertions: only keyed hashes, never what was typed).
    pub fn counter_keys(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.counters.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every link stored (for assertions: only hashes, never tokens).
    pub fn links(&self) -> Vec<LinkRecord> {
        self.state
            .lock()
            .map(|s| s.links.values().cloned().collect())
            .unwrap_or_default()
    }
}

fn use_link_in(state: &mut State, token_hash: &str, now: OffsetDateTime) -> bool {
    match state.links.get_mut(token_hash) {
        Some(link) if link.used_at.is_none() => {
            link.used_at = Some(now);
            true
        }
        _ => false,
    }
}

/// Marks used the pending links `which` picks; returns how many.
fn cancel_where(
    state: &mut State,
    now: OffsetDateTime,
    which: impl Fn(&LinkRecord) -> bool,
) -> u64 {
    let mut n = 0;
    for link in state.links.values_mut() {
        if link.used_at.is_none() && which(link) {
            link.used_at = Some(now);
            n += 1;
        }
    }
    n
}

fn email_taken(state: &State, login_email: &str, except: Option<&str>) -> bool {
    state
        .identities
        .values()
        .any(|i| i.login_email == login_email && Some(i.id.as_str()) != except)
}

/// Attaches a legacy account and retires its legacy password; `AccountTaken` otherwise.
fn attach_in(state: &mut State, identity_id: &str, client_number: &str) -> Result<()> {
    if state.attached.contains_key(client_number) {
        return Err(AccountsStoreError::AccountTaken);
    }
    match state.customers.get(client_number) {
        Some(c) if c.status == AccountStatus::Legacy => {}
        _ => return Err(AccountsStoreError::AccountTaken),
    }
    state
        .attached
        .insert(client_number.to_string(), identity_id.to_string());
    if let Some(c) = state.customers.get_mut(client_number) {
        c.legacy_hash = None;
        c.status = AccountStatus::Upgraded;
    }
    Ok(())
}

#[async_trait]
impl IdentityStore for MemoryStore {
    async fn find_identity(&self, id: &str) -> Result<Option<Identity>> {
        Ok(self.state()?.identities.get(id).cloned())
    }

    async fn find_identity_by_email(&self, normalized_email: &str) -> Result<Option<Identity>> {
        Ok(self
            .state()?
            .identities
            .values()
            .find(|i| i.login_email == normalized_email)
            .cloned())
    }

    async fn insert_identity(&self, identity: &Identity) -> Result<()> {
        let mut state = self.state()?;
        if email_taken(&state, &identity.login_email, None) {
            return Err(AccountsStoreError::EmailTaken);
        }
        state
            .identities
            .insert(identity.id.clone(), identity.clone());
        Ok(())
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        if let Some(i) = self.state()?.identities.get_mut(id) {
            i.password_hash = hash.to_string();
        }
        Ok(())
    }
}

#[async_trait]
impl CustomerStore for MemoryStore {
    async fn find_customer(&self, client_number: &str) -> Result<Option<CustomerAccount>> {
        Ok(self.state()?.customers.get(client_number).cloned())
    }

    async fn customers_by_contact_email(
        &self,
        normalized_email: &str,
    ) -> Result<Vec<CustomerAccount>> {
        Ok(self
            .state()?
            .customers
            .values()
            .filter(|c| c.contact_email == normalized_email)
            .cloned()
            .collect())
    }

    async fn owner_of(&self, client_number: &str) -> Result<Option<Identity>> {
        let state = self.state()?;
        Ok(state
            .attached
            .get(client_number)
            .and_then(|id| state.identities.get(id))
            .cloned())
    }

    async fn accounts_of(&self, identity_id: &str) -> Result<Vec<CustomerAccount>> {
        let state = self.state()?;
        Ok(state
            .customers
            .values()
            .filter(|c| {
                state.attached.get(&c.client_number).map(String::as_str) == Some(identity_id)
            })
            .cloned()
            .collect())
    }

    async fn upsert_customers(
        &self,
        batch: &[CustomerAccount],
        now: OffsetDateTime,
    ) -> Result<UpsertCounts> {
        let mut state = self.state()?;
        let mut counts = UpsertCounts::default();
        for c in batch {
            match state.customers.get_mut(&c.client_number) {
                None => {
                    counts.created += 1;
                    state.customers.insert(
                        c.client_number.clone(),
                        CustomerAccount {
                            status: AccountStatus::Legacy,
                            created_at: now,
                            ..c.clone()
                        },
                    );
                }
                Some(existing) => {
                    counts.updated += 1;
                    existing.kind = c.kind;
                    existing.label = c.label.clone();
                    existing.contact_email = c.contact_email.clone();
                    // A name the file does not give keeps the one on record.
                    if c.given_name.is_some() {
                        existing.given_name = c.given_name.clone();
                    }
                    if c.family_name.is_some() {
                        existing.family_name = c.family_name.clone();
                    }
                    // An upgraded account never gets a legacy password back.
                    if existing.status != AccountStatus::Upgraded {
                        existing.legacy_hash = c.legacy_hash.clone();
                    }
                }
            }
        }
        Ok(counts)
    }

    async fn attach(
        &self,
        identity_id: &str,
        client_number: &str,
        kind: AccountKind,
        limit: usize,
        _now: OffsetDateTime,
    ) -> Result<()> {
        let mut state = self.state()?;
        let held = state
            .attached
            .iter()
            .filter(|(_, owner)| owner.as_str() == identity_id)
            .filter(|(number, _)| state.customers.get(*number).is_some_and(|c| c.kind == kind))
            .count();
        if held >= limit {
            return Err(AccountsStoreError::LimitReached);
        }
        attach_in(&mut state, identity_id, client_number)
    }

    async fn change_login_email(
        &self,
        link_hash: &str,
        identity_id: &str,
        new_email: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut state = self.state()?;
        if email_taken(&state, new_email, Some(identity_id)) {
            return Err(AccountsStoreError::EmailTaken);
        }
        if !use_link_in(&mut state, link_hash, now) {
            return Err(AccountsStoreError::LinkUsed);
        }
        if let Some(i) = state.identities.get_mut(identity_id) {
            i.login_email = new_email.to_string();
            i.email_verified_at = Some(now);
        }
        Ok(())
    }

    async fn complete_upgrade(
        &self,
        link_hash: &str,
        identity: &Identity,
        client_number: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut state = self.state()?;
        // All or nothing: check everything before changing anything.
        if state
            .links
            .get(link_hash)
            .is_none_or(|l| l.used_at.is_some())
        {
            return Err(AccountsStoreError::LinkUsed);
        }
        if email_taken(&state, &identity.login_email, None) {
            return Err(AccountsStoreError::EmailTaken);
        }
        let legacy = state
            .customers
            .get(client_number)
            .is_some_and(|c| c.status == AccountStatus::Legacy);
        if !legacy || state.attached.contains_key(client_number) {
            return Err(AccountsStoreError::AccountTaken);
        }
        use_link_in(&mut state, link_hash, now);
        state
            .identities
            .insert(identity.id.clone(), identity.clone());
        attach_in(&mut state, &identity.id, client_number)
    }
}

#[async_trait]
impl LinkStore for MemoryStore {
    async fn insert_link(&self, link: &LinkRecord) -> Result<()> {
        self.state()?
            .links
            .insert(link.token_hash.clone(), link.clone());
        Ok(())
    }

    async fn find_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
    ) -> Result<Option<LinkRecord>> {
        Ok(self
            .state()?
            .links
            .get(token_hash)
            .filter(|l| l.purpose == purpose)
            .cloned())
    }

    async fn use_link(&self, token_hash: &str, now: OffsetDateTime) -> Result<bool> {
        Ok(use_link_in(&mut *self.state()?, token_hash, now))
    }

    async fn cancel_links_of(&self, identity_id: &str, now: OffsetDateTime) -> Result<u64> {
        Ok(cancel_where(&mut *self.state()?, now, |l| {
            l.data.identity_id.as_deref() == Some(identity_id)
        }))
    }

    async fn cancel_account_links(
        &self,
        client_number: &str,
        purposes: &[LinkPurpose],
        now: OffsetDateTime,
    ) -> Result<u64> {
        Ok(cancel_where(&mut *self.state()?, now, |l| {
            l.data.client_number.as_deref() == Some(client_number) && purposes.contains(&l.purpose)
        }))
    }

    async fn purge_links(&self, before: OffsetDateTime) -> Result<u64> {
        let mut state = self.state()?;
        let n = state.links.len();
        state.links.retain(|_, l| l.expires_at > before);
        Ok((n - state.links.len()) as u64)
    }
}

#[async_trait]
impl CounterStore for MemoryStore {
    async fn reserve(&self, key: &str, rule: &Rule, now: OffsetDateTime) -> Result<Reservation> {
        let mut state = self.state()?;
        let fresh = (0, now + rule.window, now);
        let (n, window_ends, blocked) = state.counters.get(key).copied().unwrap_or(fresh);
        let (n, window_ends, blocked) = if window_ends <= now {
            (0, now + rule.window, now)
        } else {
            (n, window_ends, blocked)
        };
        if blocked > now {
            return Ok(Reservation::Refused { until: blocked });
        }
        if n >= rule.limit() {
            return Ok(Reservation::Refused {
                until: now + time::Duration::seconds(1),
            });
        }
        state
            .counters
            .insert(key.to_string(), (n + 1, window_ends, blocked));
        Ok(Reservation::Granted(n + 1))
    }

    async fn penalize(&self, key: &str, rule: &Rule, now: OffsetDateTime) -> Result<u32> {
        let mut state = self.state()?;
        let Some(c) = state.counters.get_mut(key) else {
            return Ok(0);
        };
        c.2 = c.2.max(now + rule.delay_after(c.0));
        Ok(c.0)
    }

    async fn release(&self, key: &str) -> Result<()> {
        if let Some(c) = self.state()?.counters.get_mut(key) {
            c.0 = c.0.saturating_sub(1);
        }
        Ok(())
    }

    async fn clear_counter(&self, key: &str) -> Result<()> {
        self.state()?.counters.remove(key);
        Ok(())
    }

    async fn peek_counter(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(u32, OffsetDateTime)>> {
        Ok(self
            .state()?
            .counters
            .get(key)
            .filter(|(_, window_ends, blocked)| *window_ends > now || *blocked > now)
            .map(|(n, _, blocked)| (*n, *blocked)))
    }

    async fn purge_counters(&self, now: OffsetDateTime) -> Result<u64> {
        let mut state = self.state()?;
        let before = state.counters.len();
        state
            .counters
            .retain(|_, (_, window_ends, blocked)| *window_ends > now || *blocked > now);
        Ok((before - state.counters.len()) as u64)
    }
}

#[async_trait]
impl AccessStore for MemoryStore {
    async fn cut_off(&self, identity_id: &str, keep_sid: Option<&str>) -> Result<AccessCut> {
        self.state()?
            .cut_offs
            .push((identity_id.to_string(), keep_sid.map(str::to_string)));
        Ok(AccessCut::default())
    }
}

impl MemoryStore {
    /// Every cut-off asked so far, oldest first: (identity id, kept session).
    pub fn cut_offs(&self) -> Vec<(String, Option<String>)> {
        self.state
            .lock()
            .map(|s| s.cut_offs.clone())
            .unwrap_or_default()
    }
}

/// Keeps every message it is given, in order.
#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<OutgoingMail>>,
}

impl MemoryMailer {
    /// An empty mailbox.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Every message queued so far, oldest first.
    pub fn sent(&self) -> Vec<OutgoingMail> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The messages queued to `to`, oldest first.
    pub fn sent_to(&self, to: &str) -> Vec<OutgoingMail> {
        self.sent().into_iter().filter(|m| m.to == to).collect()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: OutgoingMail) -> std::result::Result<(), MailError> {
        self.sent
            .lock()
            .map_err(|_| MailError::Unavailable("poisoned".into()))?
            .push(mail);
        Ok(())
    }
}

/// argon2id parameters cheap enough for tests (1 MiB, 1 pass).
pub fn cheap_hash_cost() -> HashCost {
    HashCost {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    }
}

/// An engine over in-memory ports, with its store, mailbox and audit trail.
pub struct MemoryAccounts {
    /// The engine over the in-memory ports.
    pub accounts: Accounts,
    /// Its identities, customers, links and counters.
    pub store: Arc<MemoryStore>,
    /// The messages it queued.
    pub mailer: Arc<MemoryMailer>,
    /// The audit events written (after a flush).
    pub audit: Arc<gan_audit::MemoryAuditStore>,
    /// The auditor the engine records through.
    pub auditor: Arc<gan_audit::Auditor>,
}

impl MemoryAccounts {
    /// A fresh engine with `settings` and a cheap hasher (2 threads). Needs a tokio runtime
    /// (the audit writer runs on it).
    ///
    /// Errors: the hashing threads could not start.
    pub fn start(
        settings: JourneySettings,
    ) -> std::result::Result<Self, crate::password::HashError> {
        let store = MemoryStore::new();
        let mailer = MemoryMailer::new();
        let audit = Arc::new(gan_audit::MemoryAuditStore::default());
        let auditor = gan_audit::Auditor::start(audit.clone());
        let ports = AccountsPorts {
            identities: store.clone(),
            customers: store.clone(),
            links: store.clone(),
            counters: store.clone(),
            mailer: mailer.clone(),
            access: store.clone(),
            audit: auditor.clone(),
        };
        let accounts = Accounts::new(ports, Hasher::new(cheap_hash_cost(), 2)?, settings);
        Ok(Self {
            accounts,
            store,
            mailer,
            audit,
            auditor,
        })
    }

    /// Every audit event recorded so far, oldest first.
    pub async fn events(&self) -> Vec<gan_audit::AuditEvent> {
        self.auditor.flush().await;
        self.audit.all()
    }
}
