//! The console's overview pages: the migration dashboard (with its chart drawn here as SVG and
//! the stuck customers' CSV), the audit trail, and the diagnosis's sentences.

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gan_admin::diagnosis::Finding;
use gan_admin::MigrationReport;
use gan_audit::{AuditFilter, EventType};
use minijinja::context;
use time::OffsetDateTime;

use super::Console;
use super::ConsoleArg;
use crate::page::Ui;
use crate::{AppState, Lang};

/// The dashboard's query string, as typed (a number that does not parse gets the page's own
/// 400, in the agent's language).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct DashboardQuery {
    days: String,
    stuck_days: String,
}

/// A count of days typed in a query string; `default` when absent.
fn days_of(typed: &str, default: u32, field: &str) -> Result<u32, gan_admin::AdminError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(default);
    }
    typed
        .parse::<u32>()
        .ok()
        .filter(|_| typed.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| gan_admin::AdminError::invalid(field, "a whole number of days"))
}

/// `GET /console`: the migration dashboard.
pub(super) async fn dashboard(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Query(q)): ConsoleArg<Query<DashboardQuery>>,
) -> Response {
    let days = days_of(&q.days, 30, "days")
        .and_then(|days| Ok((days, days_of(&q.stuck_days, 7, "stuck_days")?)));
    let report = match days {
        Ok((days, stuck_days)) => state.admin.migration(days, stuck_days).await,
        Err(e) => Err(e),
    };
    let report = match report {
        Ok(report) => report,
        Err(e) => return console.failed("console: migration figures", e),
    };
    let chart = minijinja::Value::from_safe_string(chart_svg(&report, &console.ui));
    let funnel = funnel_steps(&report);
    console.render(
        &state,
        StatusCode::OK,
        "console_dashboard.html",
        context! { report => report, chart => chart, funnel => funnel },
    )
}

/// One step of the funnel with the share of the previous step that reached it.
#[derive(serde::Serialize)]
struct Step {
    key: &'static str,
    count: u64,
    /// Percent of the previous step (none for the first).
    kept: Option<u64>,
}

fn funnel_steps(r: &MigrationReport) -> Vec<Step> {
    let counts = [
        ("console_funnel_legacy", r.funnel.legacy_sign_ins),
        ("console_funnel_email", r.funnel.email_chosen),
        ("console_funnel_opened", r.funnel.link_opened),
        ("console_funnel_upgraded", r.funnel.upgraded),
    ];
    let mut previous: Option<u64> = None;
    counts
        .into_iter()
        .map(|(key, count)| {
            let kept = previous.map(|p| (count * 100).checked_div(p).unwrap_or(0));
            previous = Some(count);
            Step { key, count, kept }
        })
        .collect()
}

/// The daily upgrades and "email déjà utilisé" refusals of the period as an SVG bar chart, with
/// a title and a description for screen readers (the same figures are in the table below it).
fn chart_svg(r: &MigrationReport, ui: &Ui) -> String {
    const W: usize = 720;
    const H: usize = 200;
    const PAD: usize = 30;
    // The report lists every day of the period, oldest first, those without events included.
    let days = &r.per_day;
    let max = days
        .iter()
        .map(|d| d.upgrades.max(d.email_taken))
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (W - 2 * PAD) as f64 / days.len().max(1) as f64;
    let bar = (slot / 2.0 - 1.0).max(1.0);
    let scale = (H - 2 * PAD) as f64 / max as f64;
    let mut bars = String::new();
    for (i, d) in days.iter().enumerate() {
        let x = PAD as f64 + i as f64 * slot;
        for (n, (value, class)) in [(d.upgrades, "up"), (d.email_taken, "taken")]
            .into_iter()
            .enumerate()
        {
            let h = value as f64 * scale;
            let y = (H - PAD) as f64 - h;
            bars.push_str(&format!(
                r#"<rect class="{class}" x="{:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}"><title>{} {}: {value}</title></rect>"#,
                x + n as f64 * (bar + 1.0),
                escape(&d.day),
                escape(&ui.t(if n == 0 { "console_chart_upgrades" } else { "console_chart_taken" })),
            ));
        }
    }
    let first = days.first().map(|d| d.day.clone()).unwrap_or_default();
    let last = days.last().map(|d| d.day.clone()).unwrap_or_default();
    format!(
        r#"<svg class="chart" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{title}</title><desc id="chart-desc">{desc}</desc><line class="axis" x1="{PAD}" y1="{base}" x2="{right}" y2="{base}"/><text x="{PAD}" y="{label_y}">{first}</text><text x="{right}" y="{label_y}" text-anchor="end">{last}</text><text x="{PAD}" y="{top}">{max}</text>{bars}</svg>"#,
        title = escape(&ui.t("console_chart_title")),
        desc = escape(&ui.t("console_chart_desc")),
        base = H - PAD,
        right = W - PAD,
        label_y = H - PAD + 18,
        top = PAD - 8,
        first = escape(&first),
        last = escape(&last),
    )
}

/// Text inside the chart's markup, escaped as the templates escape it.
fn escape(text: &str) -> String {
    minijinja::HtmlEscape(text).to_string()
}

/// The CSV export's query string.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct StuckQuery {
    stuck_days: String,
    delimiter: String,
}

/// `GET /console/stuck.csv`: customers stuck in an activation, for a reminder campaign (the
/// CLI's `customers stuck --csv`, `;` by default for French spreadsheets).
pub(super) async fn stuck_csv(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Query(q)): ConsoleArg<Query<StuckQuery>>,
) -> Response {
    let delimiter = if q.delimiter == "," { b',' } else { b';' };
    let rows = match days_of(&q.stuck_days, 7, "stuck_days") {
        Ok(days) => state.admin.all_stuck_customers(days).await,
        Err(e) => Err(e),
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return console.failed("console: stuck customers", e),
    };
    let mut body = Vec::new();
    if let Err(e) = gan_admin::write_stuck_csv(&rows, delimiter, &mut body) {
        return console.failed(
            "console: write the CSV",
            gan_admin::AdminError::Unavailable(e.to_string()),
        );
    }
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"stuck-customers.csv\""),
    );
    res
}

/// The audit page's filters.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct AuditQuery {
    client_number: String,
    identity_id: String,
    client_id: String,
    event_type: String,
    from: String,
    to: String,
    before: String,
}

/// A day typed in a date field (`2026-11-30`), as the start of that UTC day.
fn day_start(typed: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(typed.trim(), format)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// `GET /console/audit`: the audit trail, filtered by customer, identity, client, event type
/// and days, newest first, 50 per page.
pub(super) async fn audit(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Query(q)): ConsoleArg<Query<AuditQuery>>,
) -> Response {
    let mut errors: Vec<String> = Vec::new();
    let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let event_type = match text(&q.event_type) {
        None => None,
        Some(t) => match EventType::parse(&t) {
            Some(t) => Some(t),
            None => {
                errors.push(console.ui.t("console_audit_bad_type"));
                None
            }
        },
    };
    let mut day = |typed: &str, end: bool| match text(typed) {
        None => None,
        Some(t) => match day_start(&t) {
            Some(d) if end => Some(d + time::Duration::days(1)),
            Some(d) => Some(d),
            None => {
                errors.push(console.ui.t("console_audit_bad_date"));
                None
            }
        },
    };
    let from = day(&q.from, false);
    let to = day(&q.to, true);
    let filter = AuditFilter {
        client_number: text(&q.client_number).map(|n| n.to_uppercase()),
        identity_id: text(&q.identity_id),
        client_id: text(&q.client_id),
        event_type,
        from,
        to,
        before: text(&q.before),
        limit: 50,
        ..Default::default()
    };
    let page = if errors.is_empty() {
        match state.admin.audit_events(&filter).await {
            Ok(page) => Some(page),
            Err(e) => return console.failed("console: audit events", e),
        }
    } else {
        None
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let next = page
        .as_ref()
        .and_then(|p| p.next_cursor.clone())
        .map(|cursor| {
            serde_urlencoded::to_string([
                ("client_number", q.client_number.as_str()),
                ("identity_id", q.identity_id.as_str()),
                ("client_id", q.client_id.as_str()),
                ("event_type", q.event_type.as_str()),
                ("from", q.from.as_str()),
                ("to", q.to.as_str()),
                ("before", cursor.as_str()),
            ])
            .unwrap_or_default()
        });
    let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    console.render(
        &state,
        status,
        "console_audit.html",
        context! {
            q => context! {
                client_number => q.client_number,
                identity_id => q.identity_id,
                client_id => q.client_id,
                event_type => q.event_type,
                from => q.from,
                to => q.to,
            },
            types => types,
            events => page.map(|p| p.items).unwrap_or_default(),
            next => next,
            errors => errors,
        },
    )
}

/// A date and time for a French or English reader (UTC).
fn when(at: OffsetDateTime, lang: Lang) -> String {
    let format = match lang {
        Lang::Fr => time::macros::format_description!("[day]/[month]/[year] à [hour]:[minute] UTC"),
        Lang::En => {
            time::macros::format_description!("[year]-[month]-[day] at [hour]:[minute] UTC")
        }
    };
    at.format(format).unwrap_or_default()
}

/// A finding of the diagnosis as a sentence in the agent's language, with its severity
/// (`problem` or `info`) for the page.
pub(super) fn finding_text(ui: &Ui, f: &Finding, lang: Lang) -> minijinja::Value {
    let fill = |key: &str, pairs: &[(&str, String)]| {
        pairs.iter().fold(ui.t(key), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
    };
    let (severity, text) = match f {
        Finding::LegacyRetired {
            upgraded_at,
            login_email,
        } => (
            "info",
            match upgraded_at {
                Some(at) => fill(
                    "console_dx_retired_on",
                    &[("date", when(*at, lang)), ("email", login_email.clone())],
                ),
                None => fill("console_dx_retired", &[("email", login_email.clone())]),
            },
        ),
        Finding::IdentityLocked => ("problem", ui.t("console_dx_locked")),
        Finding::Throttled { failures, until } => (
            "problem",
            fill(
                "console_dx_throttled",
                &[("n", failures.to_string()), ("until", when(*until, lang))],
            ),
        ),
        Finding::RecentFailures { failures } => (
            "info",
            fill("console_dx_failures", &[("n", failures.to_string())]),
        ),
        Finding::ActivationPending {
            sent_at,
            expires_at,
            days,
            expired,
            opened_at,
            login_email,
        } => {
            let key = match (expired, opened_at) {
                (true, None) => "console_dx_activation_expired",
                (true, Some(_)) => "console_dx_activation_expired_opened",
                (false, None) => "console_dx_activation_pending",
                (false, Some(_)) => "console_dx_activation_opened",
            };
            let opened = opened_at.map(|at| when(at, lang)).unwrap_or_default();
            (
                "problem",
                fill(
                    key,
                    &[
                        ("days", days.to_string()),
                        ("sent", when(*sent_at, lang)),
                        ("expires", when(*expires_at, lang)),
                        ("opened", opened),
                        ("email", login_email.clone().unwrap_or_default()),
                    ],
                ),
            )
        }
        Finding::NoLegacyPassword { contact_email } => (
            "problem",
            fill(
                "console_dx_no_password",
                &[("email", contact_email.clone())],
            ),
        ),
        Finding::NotUpgradedYet => ("info", ui.t("console_dx_not_upgraded")),
        Finding::NothingWrong { login_email } => (
            "info",
            fill("console_dx_nothing", &[("email", login_email.clone())]),
        ),
    };
    context! { severity => severity, text => text }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use gan_admin::{AccountsByStatus, Funnel, MigrationDay, Stuck};

    fn report() -> MigrationReport {
        MigrationReport {
            at: OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap(),
            days: 3,
            accounts: AccountsByStatus {
                legacy: 3,
                activation_pending: 1,
                upgraded: 2,
            },
            funnel: Funnel {
                legacy_sign_ins: 10,
                email_chosen: 5,
                link_opened: 5,
                upgraded: 4,
            },
            per_day: vec![MigrationDay {
                day: "2026-05-28".into(),
                upgrades: 2,
                email_taken: 1,
            }],
            stuck: Stuck {
                older_than_days: 7,
                count: 0,
            },
        }
    }

    #[test]
    fn the_funnel_says_what_share_of_each_step_went_on() {
        let steps = funnel_steps(&report());
        assert_eq!(steps[0].kept, None);
        assert_eq!(steps[1].kept, Some(50));
        assert_eq!(steps[2].kept, Some(100));
        assert_eq!(steps[3].kept, Some(80));
    }

    #[test]
    fn days_are_whole_numbers() {
        assert_eq!(days_of("", 30, "days").unwrap(), 30);
        assert_eq!(days_of(" 12 ", 30, "days").unwrap(), 12);
        assert!(days_of("+5", 30, "days").is_err());
        assert!(days_of("-1", 30, "days").is_err());
        assert!(days_of("x", 30, "days").is_err());
    }

    #[test]
    fn text_in_the_chart_is_escaped() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
