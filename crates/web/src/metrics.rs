//! Prometheus metrics: one recorder per process, request counts and latencies per route.
//!
//! The recorder keeps every histogram observation until it is folded into its summary, which
//! happens at a scrape or at an upkeep: [`upkeep`] runs in every serving process, so memory stays
//! bounded whether or not anyone scrapes `/metrics`. Label values come from fixed sets only (the
//! matched route, a known method, a status code): a value chosen by the caller would add a series
//! per request.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How often [`upkeep`] folds the observations recorded since the last one: what waits in
/// between is a few seconds' requests (16 bytes each).
pub const UPKEEP_PERIOD: Duration = Duration::from_secs(5);

/// The process's Prometheus handle, installing the recorder on first use.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .as_ref()
}

/// Folds the histogram observations recorded since the last time into their summaries, every
/// `period`, forever. `install_recorder` runs no upkeep of its own: without this, observations
/// pile up until the next scrape, that is without end when nobody scrapes.
pub async fn upkeep(period: Duration) {
    let Some(handle) = handle() else {
        return;
    };
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}

/// The method as a label: the standard ones by name, any other (`FOO`, chosen by the caller)
/// as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Counts one request of `route` (routes served outside [`track`]).
pub fn count(route: &'static str, method: &Method, status: StatusCode) {
    metrics::counter!("http_requests_total", "route" => route, "method" => method_label(method), "status" => status.as_str().to_owned()).increment(1);
}

pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = method_label(req.method());
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_standard_methods_name_a_series() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        for made_up in ["FOO", "GET2", "BREW"] {
            let m = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(method_label(&m), "other", "{made_up}");
        }
    }

    #[test]
    fn upkeep_folds_observations_without_losing_any() {
        let h = handle().unwrap();
        let hist = metrics::histogram!("upkeep_test_seconds");
        for _ in 0..3 {
            hist.record(0.5);
        }
        h.run_upkeep();
        hist.record(1.5);
        h.run_upkeep();
        hist.record(2.0);
        let text = h.render();
        assert!(text.contains("upkeep_test_seconds_count 5"), "{text}");
        assert!(text.contains("upkeep_test_seconds_sum 5\n"), "{text}");
    }
}
