//! Pages and messages rendered with untrusted values: rendering never fails, and markup in a
//! value never comes out as markup.
#![no_main]

use gan_web::{Lang, Pages};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn pages() -> &'static Pages {
    static P: OnceLock<Pages> = OnceLock::new();
    P.get_or_init(|| Pages::new(None).unwrap_or_else(|_| std::process::abort()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    // Markers around the value: a raw occurrence of the whole can only come from the value.
    let value = format!("zq{raw}zq");
    let value = value.as_str();
    let p = pages();
    let ctx = minijinja::context! { identifier => value, error => value, csrf_token => value, path => value, masked => value };
    let page = p.render(http::StatusCode::OK, "login.html", Lang::Fr, ctx);
    assert_eq!(page.status, http::StatusCode::OK, "rendering failed");
    if value.contains('<') {
        assert!(!page.html.contains(value), "unescaped value in the page");
    }
    let vars = serde_json::json!({ "accounts": [{ "client_number": value, "label": value, "kind": "personal", "upgraded": false }] });
    let (_, _, html) = p
        .render_mail("identifier_reminder", Lang::En, &vars)
        .unwrap_or_else(|_| std::process::abort());
    if value.contains('<') {
        assert!(!html.contains(value), "unescaped value in the message");
    }
});
