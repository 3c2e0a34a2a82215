//! `gan-connect serve`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use gan_connect::settings::Settings;
use gan_connect::wiring;

use super::demo;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Demo mode: a demo relying party, identity and customers, printed at start. Loopback
    /// only, in data/demo.db unless database.url is given (then a new or demo database only).
    #[arg(long)]
    demo: bool,
    /// Do not apply migrations at start.
    #[arg(long)]
    no_migrate: bool,
}

pub async fn run(settings: Settings, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let demo = args.demo || settings.server.demo;
    let (settings, demo_database) = if demo {
        let (settings, database) = settings.for_demo().map_err(anyhow::Error::msg)?;
        (settings, Some(database))
    } else {
        (settings, None)
    };
    if settings.insecure_http_issuer() {
        tracing::warn!(
            issuer = %settings.server.issuer,
            "INSECURE: server.allow_insecure_http_issuer is set and the issuer is plain http on a \
             host that is not loopback: cookies are not Secure, and sessions, codes and tokens \
             cross the network in clear. Use an https issuer in production."
        );
    }
    let store = wiring::connect_store(&settings).await?;
    if settings.server.migrate_on_start && !args.no_migrate {
        store.migrate().await.context("migrations failed")?;
    } else {
        wiring::require_current_schema(&store, &settings).await?;
    }
    match demo_database {
        Some(database) => demo::claim(&store, &settings, database).await?,
        None => demo::refuse_demo_database(&store, &settings).await?,
    }
    let key = wiring::encryption_key(&settings)?;
    let built = wiring::build(
        &settings,
        store,
        Arc::new(gan_oidc::clock::SystemClock),
        &key,
    )
    .await?;
    // The support console signs staff in as a client of this provider.
    built
        .state
        .admin
        .ensure_console_client()
        .await
        .context("cannot register the console's client")?;
    // Histogram observations are folded every few seconds, scraped or not (memory stays flat).
    tokio::spawn(gan_web::metrics::upkeep(gan_web::metrics::UPKEEP_PERIOD));
    let mut built = built;
    let demo_secret = if demo {
        // The demo mailbox shows what this process delivers, from its memory only.
        built.postman.keep_delivered(50);
        built.state.mailbox = Some(built.postman.clone());
        Some(demo::seed(&built.state).await?)
    } else {
        None
    };

    let listener = tokio::net::TcpListener::bind(&settings.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
    let local = listener.local_addr()?;
    let metrics = match settings.server.metrics_listen.as_str() {
        "" => None,
        address => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (server.metrics_listen)"))?,
        ),
    };
    let metrics_local = metrics.as_ref().map(|l| l.local_addr()).transpose()?;
    tracing::info!(issuer = %settings.server.issuer, listen = %local, metrics = ?metrics_local, "gan-connect is ready");
    println!("Gan Connect is running.");
    println!("  issuer:    {}", settings.server.issuer);
    println!(
        "  discovery: {}/.well-known/openid-configuration",
        settings.server.issuer.trim_end_matches('/')
    );
    println!("  listening: {local}");
    if let Some(m) = metrics_local {
        println!("  metrics:   http://{m}/metrics");
    }
    if let Some(secret) = demo_secret {
        demo::print(&settings, &secret);
    }
    let retention = time::Duration::days(settings.admin.audit_retention_days.max(1));
    let mail_retention = time::Duration::days(settings.mail.retention_days.max(0));
    tokio::spawn(purge_loop(
        built.state.provider.clone(),
        built.state.accounts.clone(),
        retention,
        (built.postman.clone(), mail_retention),
    ));
    let audit = built.state.provider.audit.clone();
    tokio::spawn(wiring::deliver_logouts(built.state.provider.clone()));
    tokio::spawn(wiring::migration_gauges(built.state.admin.clone()));
    tokio::spawn(built.postman.clone().run(std::time::Duration::from_secs(
        settings.mail.retry_seconds.max(1),
    )));
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = metrics.map(|l| {
        tokio::spawn(gan_web::serve::serve(l, gan_web::metrics_app(), async {
            let _ = metrics_stopped.await;
        }))
    });
    gan_web::serve::serve(listener, gan_web::app(built.state), shutdown()).await?;
    let _ = stop_metrics.send(());
    if let Some(task) = metrics {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the metrics listener failed"),
            Err(e) => tracing::error!(error = %e, "the metrics listener stopped"),
        }
    }
    audit.flush().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Every ten minutes, removes expired interactions, codes, sessions and tokens, throttle
/// counters and one-time links, audit events past their retention, and sent or given-up mail
/// past `mail.retention_days`. Several processes may do it at once: the deletes are idempotent.
async fn purge_loop(
    provider: Arc<gan_oidc::Provider>,
    accounts: Arc<gan_accounts::Accounts>,
    audit_retention: time::Duration,
    (postman, mail_retention): (Arc<gan_mail::Postman>, time::Duration),
) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        match provider.purge_expired().await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired records purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of expired records failed"),
        }
        match accounts.purge_expired(provider.now()).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired counters and links purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of expired counters and links failed"),
        }
        match provider.audit.purge(provider.now() - audit_retention).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "audit events past retention purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of old audit events failed"),
        }
        match postman.purge(provider.now() - mail_retention).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "sent and given-up mail purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge of sent and given-up mail failed"),
        }
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
