// A single-page app on oidc-client-ts (public client, code + PKCE) served from its own origin,
// in headless Chromium: sign-in, the tokens and userinfo read across origins (CORS), a refresh,
// a renewal in a hidden iframe (`prompt=none`), and sign-out. The app is what a portal team would write; nothing in it knows Gan Connect.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startSmtp, startServer, launchBrowser, freePort, until } from "../lib/harness.js";

const here = dirname(fileURLToPath(import.meta.url));
const library = readFileSync(join(here, "..", "node_modules", "oidc-client-ts", "dist", "browser", "oidc-client-ts.min.js"));
const EMAIL = "spa.user@example.fr";
const PASSWORD = "Page-unique-2026";

let smtp, server, app, appUrl, browser;

/** The app: one page that signs in, one callback page; the UserManager as its docs show it. */
function page(issuer, origin, body) {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>SPA</title>
<script src="/oidc-client-ts.min.js"></script></head><body><main><pre id="out"></pre></main><script>
const mgr = new oidc.UserManager({
  authority: ${JSON.stringify(issuer)},
  client_id: "spa",
  redirect_uri: ${JSON.stringify(origin + "/callback.html")},
  post_logout_redirect_uri: ${JSON.stringify(origin + "/")},
  silent_redirect_uri: ${JSON.stringify(origin + "/silent.html")},
  scope: "openid email accounts offline_access",
  loadUserInfo: true,
});
window.mgr = mgr;
${body}
</script></body></html>`;
}

before(async () => {
  smtp = await startSmtp();
  server = await startServer({ smtpPort: smtp.port, customersCsv: "client_number,kind,label,contact_email,legacy_hash\n" });
  server.run(["identity", "add", "--email", EMAIL], PASSWORD + "\n");
  const port = await freePort();
  appUrl = `http://127.0.0.1:${port}`;
  // A public client; its redirect URI's origin is allowed for CORS without anything more.
  server.run(["client", "add", "--id", "spa", "--name", "Appli SPA", "--public", "--first-party",
    "--redirect-uri", `${appUrl}/callback.html`, "--redirect-uri", `${appUrl}/silent.html`,
    "--post-logout-redirect-uri", `${appUrl}/`,
    "--grant-type", "authorization_code", "--grant-type", "refresh_token"]);
  app = createServer((req, res) => {
    const path = new URL(req.url, appUrl).pathname;
    if (path === "/oidc-client-ts.min.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end(library);
    } else if (path === "/callback.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(server.issuer, appUrl, `
mgr.signinCallback().then((user) => {
  document.getElementById("out").textContent = JSON.stringify(user.profile);
  document.body.dataset.done = "yes";
}).catch((e) => { document.getElementById("out").textContent = "ERROR " + e.message; document.body.dataset.done = "error"; });`));
    } else if (path === "/silent.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(server.issuer, appUrl, "mgr.signinSilentCallback();"));
    } else if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(server.issuer, appUrl, ""));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => app.listen(port, "127.0.0.1", r));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await new Promise((r) => app?.close(r) ?? r());
  server?.stop();
  await smtp?.close();
});

test("an oidc-client-ts app on its own origin signs in, reads userinfo, refreshes and signs out", async () => {
  const context = await browser.newContext({ locale: "fr-FR" });
  const tab = await context.newPage();
  await tab.goto(`${appUrl}/`);
  // The page navigates away: start it without waiting on the page's promise.
  await tab.evaluate(() => { window.mgr.signinRedirect(); });
  await tab.waitForSelector("#identifier");
  await tab.fill("#identifier", EMAIL);
  await tab.fill("#password", PASSWORD);
  await tab.click("button[type=submit]");
  await tab.waitForSelector("body[data-done]", { timeout: 15000 });
  const out = await tab.textContent("#out");
  assert.equal(await tab.getAttribute("body", "data-done"), "yes", out);
  const profile = JSON.parse(out);
  assert.equal(profile.email, EMAIL, "userinfo was read across origins");
  assert.ok(profile.sub);
  assert.deepEqual(profile.client_numbers, []);

  // The token endpoint answered the app (CORS): it holds tokens, a refresh renews them.
  const first = await tab.evaluate(async () => (await window.mgr.getUser()).access_token);
  assert.ok(first);
  const renewed = await tab.evaluate(async () => {
    const user = await window.mgr.signinSilent();
    return { access: user.access_token, email: user.profile.email };
  });
  assert.notEqual(renewed.access, first, "a new access token");
  assert.equal(renewed.email, EMAIL);
  // Without a refresh token the library renews in a hidden iframe with prompt=none, riding on
  // the session at the provider.
  const iframed = await tab.evaluate(async () => {
    const user = await window.mgr.getUser();
    user.refresh_token = undefined;
    await window.mgr.storeUser(user);
    const again = await window.mgr.signinSilent();
    return { access: again.access_token, email: again.profile.email };
  });
  assert.notEqual(iframed.access, renewed.access, "renewed through the iframe");
  assert.equal(iframed.email, EMAIL);

  // Sign-out: back to the app, the session at the provider ended.
  // The tab is on the app already: wait for the provider's answer to the logout request first
  // (the library fetches its metadata before it navigates), then for the way back.
  const ended = tab.waitForResponse((r) => r.url().startsWith(`${server.issuer}/end_session`), { timeout: 15000 });
  await tab.evaluate(() => { window.mgr.signoutRedirect(); });
  await ended;
  await until(async () => tab.url().startsWith(`${appUrl}/`) && !tab.url().includes("end_session"), 15000, "the way back to the app");
  const account = await context.request.get(`${server.issuer}/account`, { maxRedirects: 0 });
  assert.notEqual(account.status(), 200, "no session left at the provider");
  await context.close();
});
