//! The request an event happens in, carried by the task that serves it.

use std::future::Future;

use crate::event::Actor;

/// Where a request comes from.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The caller's IP address, from the TCP connection; `None` for the CLI.
    pub ip: Option<String>,
    /// The request's correlation id: a sane `X-Request-Id` it sent, else a fresh UUID; `cli-<pid>`
    /// for the CLI.
    pub correlation_id: Option<String>,
    /// Who acts, when the caller knows it better than the engine (an admin client, the CLI).
    pub actor: Option<Actor>,
    /// Why the actor acts, as they typed it (a console action's reason), recorded in
    /// `detail.reason` of the events the action leaves.
    pub reason: Option<String>,
}

tokio::task_local! {
    static CONTEXT: Context;
}

/// Runs `fut` with `context` as the current request context.
pub async fn scope<F: Future>(context: Context, fut: F) -> F::Output {
    CONTEXT.scope(context, fut).await
}

/// The current request context (empty outside a request).
pub fn current() -> Context {
    CONTEXT.try_with(Context::clone).unwrap_or_default()
}
