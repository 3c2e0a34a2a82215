// Browser security in headless Chromium: the sign-in page cannot be framed by another site
// (clickjacking), pages run no inline script (CSP holds with no violation), cookies are
// HttpOnly and SameSite, and the session cookie is renewed at every sign-in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startSmtp, startServer, startRp, launchBrowser, freePort } from "../lib/harness.js";

const CSV = "client_number,kind,label,contact_email,legacy_hash\n";
let smtp, server, rp, browser, attacker;

before(async () => {
  smtp = await startSmtp();
  server = await startServer({ smtpPort: smtp.port, customersCsv: CSV });
  server.run(["identity", "add", "--email", "lea@example.fr"], "Trois-pommes-vertes\n");
  rp = await startRp({ issuer: server.issuer, port: server.rpPort, clientId: "portal", secret: server.secret });
  // Another site that frames the sign-in page under a decoy.
  const port = await freePort();
  attacker = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(
      `<!doctype html><html lang="en"><title>Win a prize</title><button id="decoy">Claim</button>` +
      `<iframe id="victim" src="${rp.url}/login" width="600" height="600"></iframe>`);
  });
  await new Promise((r) => attacker.listen(port, "127.0.0.1", r));
  attacker.url = `http://127.0.0.1:${port}/`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await rp?.close();
  attacker?.close();
  server?.stop();
  await smtp?.close();
});

test("clickjacking: another site cannot show the sign-in page in a frame", async () => {
  const page = await (await browser.newContext()).newPage();
  const blocked = [];
  page.on("console", (m) => { if (/frame-ancestors|X-Frame-Options|refused to display/i.test(m.text())) blocked.push(m.text()); });
  await page.goto(attacker.url);
  const frame = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(frame, "the iframe exists");
  // Give the frame its chance to load the sign-in page (polled, bounded).
  const deadline = Date.now() + 10000;
  let loaded = false;
  while (Date.now() < deadline) {
    loaded = await frame.locator("input[name=password]").count().then((n) => n > 0).catch(() => false);
    if (loaded || blocked.length > 0) break;
    await page.waitForTimeout(100);
  }
  assert.equal(loaded, false, "the sign-in form must not render inside another site's frame");
  assert.ok(blocked.length > 0 || frame.url().startsWith("chrome-error:"), `the browser refused the frame (${frame.url()})`);
  await page.screenshot({ path: "artifacts/40-clickjacking-refused.png" });
});

test("no inline script runs: the pages load with their CSP and no violation", async () => {
  const context = await browser.newContext({ locale: "fr-FR" });
  const page = await context.newPage();
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await page.goto(`${rp.url}/login`);
  await page.waitForSelector("#identifier");
  const csp = (await page.request.get(page.url())).headers()["content-security-policy"] || "";
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.ok(!/unsafe-inline/.test(csp.split(";").find((d) => d.includes("script-src")) || ""), csp);
  assert.equal(await page.locator("script:not([src])").count(), 0, "no inline script element");
  // The password criteria script is an external file and runs under the CSP.
  await page.fill("#password", "x");
  for (const path of ["/help", "/forgot/identifier", "/forgot/password"]) {
    await page.goto(`${server.issuer}${path}`);
    assert.equal(await page.locator("script:not([src])").count(), 0, path);
  }
  assert.deepEqual(violations, []);
});

test("cookies are HttpOnly and SameSite, and the session is renewed at each sign-in", async () => {
  const context = await browser.newContext({ locale: "fr-FR" });
  const page = await context.newPage();
  const signIn = async () => {
    await page.goto(`${rp.url}/login`);
    await page.fill("#identifier", "lea@example.fr");
    await page.fill("#password", "Trois-pommes-vertes");
    await page.click("button[type=submit]");
    await page.waitForSelector("#email");
  };
  await signIn();
  const ours = (await context.cookies(server.issuer)).filter((c) => c.name.startsWith("gc_") || c.name.startsWith("__Host-gc_"));
  const session = ours.find((c) => c.name.endsWith("gc_session"));
  assert.ok(session, ours.map((c) => c.name).join(","));
  for (const c of ours.filter((c) => c.name !== "gc_lang")) {
    assert.equal(c.httpOnly, true, `${c.name} HttpOnly`);
    assert.ok(["Lax", "Strict"].includes(c.sameSite), `${c.name} SameSite=${c.sameSite}`);
  }
  // Session fixation: a session id planted before sign-in is never the one after it.
  await context.clearCookies({ name: session.name });
  await context.addCookies([{ name: session.name, value: "planted-by-an-attacker", url: server.issuer }]);
  await signIn();
  const renewed = (await context.cookies(server.issuer)).find((c) => c.name === session.name);
  assert.ok(renewed && renewed.value !== "planted-by-an-attacker" && renewed.value !== session.value, "a new session id at sign-in");
});
