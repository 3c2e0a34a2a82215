//! Server-rendered pages: minijinja templates and translations from the theme, embedded at build
//! time and overridable from a folder at run time (`theme.dir`).

use std::collections::HashMap;
use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{context, Environment, Value};

/// The default theme (`themes/default`), embedded at build time: every template, email, locale
/// and static file in the folder, with no list to keep by hand. `build.rs` rebuilds the crate
/// when a file is added to it.
static THEME: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../../themes/default");

/// The embedded files of a theme folder (`templates`, `email`), as (file name, text).
fn embedded(folder: &str) -> Vec<(&'static str, &'static str)> {
    THEME
        .get_dir(folder)
        .map(|dir| {
            dir.files()
                .filter_map(|f| Some((f.path().file_name()?.to_str()?, f.contents_utf8()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// One embedded file of the default theme, by path (`static/style.css`); empty if absent.
fn embedded_file(path: &str) -> &'static str {
    THEME
        .get_file(path)
        .and_then(|f| f.contents_utf8())
        .unwrap_or_default()
}

/// A page language. The supported languages are listed here and nowhere else: the theme's
/// `locales/{code}.toml`, the switch and the negotiation all follow this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// French, the default.
    Fr,
    /// English.
    En,
}

impl Lang {
    /// Every supported language, the default first.
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    /// The language of a code (`fr`, `en`), if supported.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language's code, as in `<html lang>` and the locale file's name.
    pub fn code(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }

    /// The embedded translations (`themes/default/locales/{code}.toml`).
    fn embedded_locale(self) -> &'static str {
        embedded_file(&format!("locales/{}.toml", self.code()))
    }

    /// The first supported language of `ui_locales` (space-separated), then of `Accept-Language`;
    /// French by default.
    pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Self {
        let from_list = |list: &str, sep: char| {
            list.split(sep)
                .map(|t| {
                    t.split(';')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase()
                })
                .find_map(|t| t.split('-').next().and_then(Self::parse))
        };
        ui_locales
            .and_then(|l| from_list(l, ' '))
            .or_else(|| accept_language.and_then(|l| from_list(l, ',')))
            .unwrap_or(Self::Fr)
    }
}

/// A rendered page.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub html: String,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.html).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

/// The `datetime` filter: an RFC 3339 time as `2026-11-30 14:32 UTC` (anything else as it is).
fn datetime(value: String) -> String {
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let shown = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::parse(&value, rfc3339)
        .ok()
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(shown).ok())
        .unwrap_or(value)
}

/// The theme: templates, translations and the style sheet.
pub struct Pages {
    env: Environment<'static>,
    mail: Environment<'static>,
    messages: HashMap<&'static str, Value>,
    style: String,
    script: String,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages(..)")
    }
}

fn read_override(dir: &Option<PathBuf>, rel: &str) -> Option<String> {
    let path = dir.as_ref()?.join(rel);
    std::fs::read_to_string(path).ok()
}

impl Pages {
    /// Loads the theme; files in `theme_dir` (same layout as `themes/default`) win over the
    /// embedded ones.
    pub fn new(theme_dir: Option<PathBuf>) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_filter("datetime", datetime);
        for (name, source) in embedded("templates") {
            let text = read_override(&theme_dir, &format!("templates/{name}"))
                .unwrap_or_else(|| source.to_string());
            env.add_template_owned(name, text)
                .map_err(|e| format!("template {name}: {e}"))?;
        }
        let mut messages = HashMap::new();
        for lang in Lang::ALL {
            let code = lang.code();
            let text = read_override(&theme_dir, &format!("locales/{code}.toml"))
                .unwrap_or_else(|| lang.embedded_locale().to_string());
            let table: toml::Table =
                toml::from_str(&text).map_err(|e| format!("locale {code}: {e}"))?;
            messages.insert(code, Value::from_serialize(&table));
        }
        let mut mail = Environment::new();
        mail.set_auto_escape_callback(|name| {
            if name.ends_with(".txt") {
                minijinja::AutoEscape::None
            } else {
                minijinja::AutoEscape::Html
            }
        });
        for (name, source) in embedded("email") {
            let text = read_override(&theme_dir, &format!("email/{name}"))
                .unwrap_or_else(|| source.to_string());
            mail.add_template_owned(name, text)
                .map_err(|e| format!("email template {name}: {e}"))?;
        }
        let style = read_override(&theme_dir, "static/style.css")
            .unwrap_or_else(|| embedded_file("static/style.css").to_string());
        let script = read_override(&theme_dir, "static/password.js")
            .unwrap_or_else(|| embedded_file("static/password.js").to_string());
        Ok(Self {
            env,
            mail,
            messages,
            style,
            script,
        })
    }

    pub fn style(&self) -> &str {
        &self.style
    }

    pub fn script(&self) -> &str {
        &self.script
    }

    /// Renders an email: (subject, text, HTML).
    pub fn render_mail(
        &self,
        template: &str,
        lang: Lang,
        vars: &serde_json::Value,
    ) -> Result<(String, String, String), String> {
        let t = self.messages.get(lang.code()).cloned().unwrap_or_default();
        let subject = self.text(lang, &format!("mail_{template}_subject"));
        let ctx = context! { t => t, lang => lang.code(), subject => subject.clone(), ..Value::from_serialize(vars) };
        let render = |name: String| {
            self.mail
                .get_template(&name)
                .and_then(|tpl| tpl.render(&ctx))
                .map_err(|e| format!("{name}: {e}"))
        };
        Ok((
            subject,
            render(format!("{template}.txt"))?,
            render(format!("{template}.html"))?,
        ))
    }

    /// Renders `name` with `ctx`, the translations `t` and `lang`.
    pub fn render(&self, status: StatusCode, name: &str, lang: Lang, ctx: Value) -> Page {
        let t = self.messages.get(lang.code()).cloned().unwrap_or_default();
        let full = context! { t => t, lang => lang.code(), ..ctx };
        match self.env.get_template(name).and_then(|tpl| tpl.render(full)) {
            Ok(html) => Page { status, html },
            Err(e) => {
                tracing::error!(template = name, error = %e, "template rendering failed");
                Page {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    html: "<!doctype html><title>Erreur</title><p>Erreur interne.</p>".into(),
                }
            }
        }
    }

    /// A translated text of the theme (the key itself when missing).
    pub fn text(&self, lang: Lang, key: &str) -> String {
        self.messages
            .get(lang.code())
            .and_then(|m| m.get_attr(key).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| key.to_string())
    }

    /// An error page with a detail.
    pub fn error(&self, status: StatusCode, lang: Lang, detail: &str) -> Page {
        self.render(status, "error.html", lang, context! { detail => detail })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_to_the_minute_in_utc() {
        assert_eq!(
            datetime("2026-11-30T14:32:09+01:00".into()),
            "2026-11-30 13:32 UTC"
        );
        assert_eq!(datetime("soon".into()), "soon");
    }

    #[test]
    fn negotiation() {
        assert_eq!(Lang::negotiate(Some("de en"), None), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("de")), Lang::Fr);
        assert_eq!(Lang::negotiate(None, None), Lang::Fr);
    }

    #[test]
    fn a_theme_folder_overrides_texts_styles_and_templates() {
        let dir = std::env::temp_dir().join(format!("gc-theme-{}", std::process::id()));
        let _ = std::fs::create_dir_all(dir.join("locales"));
        let _ = std::fs::create_dir_all(dir.join("static"));
        let fr = Lang::Fr
            .embedded_locale()
            .replace("brand = \"Gan Connect\"", "brand = \"Assureur Exemple\"");
        let _ = std::fs::write(dir.join("locales/fr.toml"), fr);
        let _ = std::fs::write(dir.join("static/style.css"), "body{color:red}");
        let pages = Pages::new(Some(dir.clone())).map_err(|e| e.to_string());
        let Ok(pages) = pages else { unreachable!() };
        let page = pages.error(StatusCode::BAD_REQUEST, Lang::Fr, "x");
        assert!(page.html.contains("Assureur Exemple"));
        assert_eq!(pages.style(), "body{color:red}");
        let english = pages.error(StatusCode::BAD_REQUEST, Lang::En, "x");
        assert!(
            english.html.contains("Gan Connect"),
            "files not in the folder stay embedded"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn embedded_theme_renders_and_escapes() {
        let pages = Pages::new(None).map_err(|e| e.to_string());
        let Ok(pages) = pages else { unreachable!() };
        let page = pages.error(StatusCode::BAD_REQUEST, Lang::Fr, "<script>x</script>");
        assert!(page.html.contains("&lt;script&gt;"));
        assert!(page.html.contains("role=\"alert\""));
    }
}
