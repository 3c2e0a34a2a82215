// J3 and J4 in headless Chromium: attach accounts and see them in the example portal (the
// openidconnect-crate relying party), and change the login email with mail over real SMTP.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { startSmtp, startServer, launchBrowser, checkpoint, legacySha256, until, bin } from "../lib/harness.js";

const LEGACY = "ancien-secret";
const CSV = [
  "client_number,kind,label,contact_email,legacy_hash",
  `30000001,personal,Habitation Dupuis,dupuis@example.fr,${legacySha256("a", LEGACY)}`,
  `30000002,professional,Dupuis Menuiserie,dupuis@example.fr,${legacySha256("b", LEGACY)}`,
].join("\n") + "\n";

let smtp, server, portal, browser;

before(async () => {
  smtp = await startSmtp();
  server = await startServer({ smtpPort: smtp.port, customersCsv: CSV });
  server.run(["identity", "add", "--email", "marc.dupuis@example.fr"], "Copeaux-de-bois-42\n");
  const portalBin = join(dirname(bin), "portal");
  portal = spawn(portalBin, [], {
    env: { ...process.env, GAN_ISSUER: server.issuer, PORTAL_CLIENT_ID: "portal", PORTAL_CLIENT_SECRET: server.secret, PORTAL_LISTEN: `127.0.0.1:${server.rpPort}` },
    stdio: "ignore",
  });
  await until(async () => {
    try { return (await fetch(`http://127.0.0.1:${server.rpPort}/`)).ok; } catch { return false; }
  }, 15000, "the example portal");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  portal?.kill("SIGTERM");
  server?.stop();
  await smtp?.close();
});

test("J3: attach the private and the professional account; the example portal shows both", async () => {
  const context = await browser.newContext({ bypassCSP: true, locale: "fr-FR" });
  const page = await context.newPage();
  const portalUrl = `http://127.0.0.1:${server.rpPort}`;
  await page.goto(portalUrl);
  await page.click("text=Se connecter");
  await page.fill("#identifier", "marc.dupuis@example.fr");
  await page.fill("#password", "Copeaux-de-bois-42");
  await page.click("button[type=submit]");
  await page.waitForSelector("#email");
  assert.equal(await page.locator(".card").count(), 0, "no account attached yet");

  await page.goto(`${server.issuer}/account`);
  await checkpoint(page, "20-account", assert);
  for (const number of ["30000001", "30000002"]) {
    await page.fill("#client_number", number);
    await page.fill("#attach_password", LEGACY);
    await page.click("form[action='/account/attach'] button");
    await page.waitForSelector(`text=Le compte ${number} est rattaché.`);
  }
  await checkpoint(page, "21-accounts-attached", assert);

  await page.goto(`${portalUrl}/login`);
  await page.waitForSelector("#email");
  const cards = await page.locator(".card").allTextContents();
  assert.equal(cards.length, 2, cards.join(" | "));
  assert.ok(cards.some((c) => c.includes("30000001") && c.includes("Particulier")));
  assert.ok(cards.some((c) => c.includes("30000002") && c.includes("Professionnel")));
  assert.equal(await page.textContent("#active"), "actif", "introspection as a partner app");
  await page.screenshot({ path: "artifacts/22-portal-cards.png", fullPage: true });
});

test("J4: change the login email through the link sent to the new address", async () => {
  const context = await browser.newContext({ bypassCSP: true, locale: "fr-FR" });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${server.rpPort}/login`);
  await page.fill("#identifier", "marc.dupuis@example.fr");
  await page.fill("#password", "Copeaux-de-bois-42");
  await page.click("button[type=submit]");
  await page.waitForSelector("#email");
  await page.goto(`${server.issuer}/account`);
  await page.fill("#new_email", "marc@menuiserie-dupuis.fr");
  await page.fill("#email_current_password", "Copeaux-de-bois-42");
  await page.click("form[action='/account/email'] button");
  await page.waitForSelector("text=m***@menuiserie-dupuis.fr");
  await checkpoint(page, "23-email-change-sent", assert);
  const mail = await smtp.waitFor("marc@menuiserie-dupuis.fr");
  const link = mail.text.match(/https?:\/\/\S+\/account\/email\/verify\?token=\S+/)[0];
  // Opening the link changes nothing (mail scanners open links): one button confirms.
  await page.goto(link);
  await page.waitForSelector("form[action='/account/email/verify'] button");
  await checkpoint(page, "24-email-change-confirm", assert);
  await page.click("form[action='/account/email/verify'] button");
  await page.waitForSelector("text=désormais");
  assert.ok((await page.textContent("main")).includes("marc@menuiserie-dupuis.fr"));
  await checkpoint(page, "24-email-changed", assert);
  const notice = await smtp.waitFor("marc.dupuis@example.fr");
  assert.match(notice.text, /m\*\*\*@menuiserie-dupuis\.fr/);
  await page.goto(`${server.issuer}/account`);
  assert.ok((await page.textContent("main")).includes("marc@menuiserie-dupuis.fr"));
});
