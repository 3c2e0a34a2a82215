//! A tiny browser: keeps cookies, never follows redirects, and reads forms, so tests see every
//! step of a flow.

use std::collections::HashMap;

/// One response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The value of a hidden or text input named `name` in the body.
    pub fn input(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\"");
        let at = self.body.find(&needle)?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let v = tag.find("value=\"")? + 7;
        let end = tag[v..].find('"')?;
        Some(html_unescape(&tag[v..v + end]))
    }

    /// The `action` of the first form.
    pub fn form_action(&self) -> Option<String> {
        let at = self.body.find("<form")?;
        let a = self.body[at..].find("action=\"")? + at + 8;
        let end = self.body[a..].find('"')?;
        Some(html_unescape(&self.body[a..a + end]))
    }

    /// A query parameter of the `Location` header.
    pub fn location_param(&self, name: &str) -> Option<String> {
        let url = url::Url::parse(self.location.as_deref()?).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
}

/// A browser with a cookie jar (one site: the test server).
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    pub cookies: HashMap<String, String>,
    base: String,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            http,
            cookies: HashMap::new(),
            base: base.to_string(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{}", self.base, url)
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Reply {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let res = req.send().await.unwrap();
        for sc in res.headers().get_all("set-cookie") {
            let sc = sc.to_str().unwrap();
            let pair = sc.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            let removed = sc.to_ascii_lowercase().contains("max-age=0") || v.is_empty();
            if removed {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|l| self.absolute(l.to_str().unwrap()));
        let headers = res.headers().clone();
        let body = res.text().await.unwrap();
        Reply {
            status,
            location,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, url: &str) -> Reply {
        let req = self.http.get(self.absolute(url));
        self.send(req).await
    }

    pub async fn post_form(&mut self, url: &str, fields: &[(&str, &str)]) -> Reply {
        let req = self.http.post(self.absolute(url)).form(fields);
        self.send(req).await
    }

    /// Follows redirects on our server; stops at the first response that is not a redirect, or
    /// at a redirect leaving the server (returned as is).
    pub async fn follow(&mut self, mut reply: Reply) -> Reply {
        for _ in 0..10 {
            match &reply.location {
                Some(loc) if (300..400).contains(&reply.status) && loc.starts_with(&self.base) => {
                    let loc = loc.clone();
                    reply = self.get(&loc).await;
                }
                _ => return reply,
            }
        }
        reply
    }

    /// From an authorization URL, through the sign-in page, to the redirect back to the client.
    pub async fn sign_in(&mut self, authorize_url: &str, email: &str, password: &str) -> Reply {
        let first = self.get(authorize_url).await;
        let page = self.follow(first).await;
        if page.location.is_some() {
            return page;
        }
        let action = page.form_action().expect("a sign-in form");
        let csrf = page.input("csrf_token").expect("a csrf token");
        let posted = self
            .post_form(
                &action,
                &[
                    ("csrf_token", &csrf),
                    ("identifier", email),
                    ("password", password),
                ],
            )
            .await;
        self.follow(posted).await
    }
}
