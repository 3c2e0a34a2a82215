// The support console in headless Chromium against the release binary, mail over real SMTP:
// staff invited by the CLI set their password from the mail, sign in through the provider and
// enrol TOTP; a support agent helps a customer stuck in activation and unlocks a locked one; an
// admin creates a relying party and rotates its secret; the dashboard counts the test's data.
// axe-core checks every console page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startSmtp, startServer, startRp, launchBrowser, checkpoint, legacySha256 } from "../lib/harness.js";

const LEGACY = "ancien-secret";
const CSV = [
  "client_number,kind,label,contact_email,legacy_hash",
  `50000001,personal,Hélène Roux,famille.roux@example.fr,${legacySha256("r1", LEGACY)}`,
  `50000002,personal,Yves Roux,famille.roux@example.fr,${legacySha256("r2", LEGACY)}`,
  `50000003,professional,Roux Paysages,contact@roux-paysages.example.fr,${legacySha256("r3", LEGACY)}`,
].join("\n") + "\n";
const STAFF_PASSWORD = "Console-bien-gardee-2026";

let smtp, server, rp, browser;

before(async () => {
  smtp = await startSmtp();
  server = await startServer({ smtpPort: smtp.port, customersCsv: CSV });
  rp = await startRp({ issuer: server.issuer, port: server.rpPort, clientId: "portal", secret: server.secret });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await rp?.close();
  server?.stop();
  await smtp?.close();
});

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, as an authenticator app shows it. */
function totp(secret, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const h = createHmac("sha1", key).update(counter).digest();
  const o = h[19] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0");
}

async function newPage() {
  const context = await browser.newContext({ bypassCSP: true, locale: "fr-FR" });
  return context.newPage();
}

function linkIn(message) {
  const m = message.text.match(/https?:\/\/\S+/);
  assert.ok(m, message.text);
  return m[0];
}

/** A staff member invited by mail: choose a password from the link, sign in, enrol TOTP. */
async function activateStaff(email, n, shots) {
  const invitation = await smtp.waitFor(email, n);
  const page = await newPage();
  await page.goto(linkIn(invitation));
  await page.fill("#password", STAFF_PASSWORD);
  await page.fill("#password_confirm", STAFF_PASSWORD);
  await page.click("#password-form button[type=submit]");
  await page.waitForLoadState("networkidle");

  await page.goto(`${server.issuer}/console`);
  await page.waitForSelector("#identifier");
  await page.fill("#identifier", email);
  await page.fill("#password", STAFF_PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("figure.qr svg");
  if (shots) await checkpoint(page, "40-console-enrol-totp", assert);
  const secret = (await page.textContent("code.secret")).trim();
  await page.fill("#code", totp(secret));
  await page.click("button[type=submit]");
  await page.waitForSelector("ul.codes");
  assert.equal(await page.locator("ul.codes li").count(), 10, "ten recovery codes");
  if (shots) await checkpoint(page, "41-console-recovery-codes", assert);
  await page.click("text=Continuer vers la console");
  await page.waitForSelector("#count-legacy");
  return page;
}

let admin, agent;

test("staff activation from the invitation mail and TOTP enrolment", async () => {
  server.run(["staff", "add", "--email", "chef.console@example.fr", "--role", "admin"]);
  admin = await activateStaff("chef.console@example.fr", 1, true);
  await checkpoint(admin, "42-console-dashboard", assert);
  assert.equal(await admin.textContent("#count-legacy"), "3");
  assert.equal(await admin.textContent("#count-upgraded"), "0");

  // The admin adds a support agent from the console; the agent activates the same way.
  await admin.click("text=Équipe");
  await admin.waitForSelector("#email");
  await checkpoint(admin, "43-console-staff", assert);
  await admin.fill("#email", "agent.support@example.fr");
  await admin.selectOption("#role", "support");
  await admin.click("form[action='/console/staff'] button[type=submit]");
  await admin.waitForSelector("text=agent.support@example.fr");
  agent = await activateStaff("agent.support@example.fr", 1, false);
});

test("a support agent resends a pending activation; the customer completes it from the new mail", async () => {
  // The customer signs in with the legacy login and chooses a login email, but the mail is lost.
  const customer = await newPage();
  await customer.goto(`${rp.url}/login`);
  await customer.fill("#identifier", "50000001");
  await customer.fill("#password", LEGACY);
  await customer.click("button[type=submit]");
  await customer.waitForURL(/\/upgrade\/email$/);
  await customer.fill("#email", "helene.roux@example.fr");
  await customer.click("button[type=submit]");
  await smtp.waitFor("helene.roux@example.fr", 1);

  await agent.goto(`${server.issuer}/console/customers`);
  await agent.fill("#q", "Hélène");
  await agent.click("form[role=search] button");
  await agent.waitForSelector("text=50000001");
  await checkpoint(agent, "44-console-search", assert);
  await agent.click("a[href='/console/customers/50000001']");
  await agent.waitForSelector("ul.diagnosis");
  const diagnosis = await agent.textContent("ul.diagnosis");
  assert.match(diagnosis, /Lien d'activation envoyé il y a 0 jour/);
  await checkpoint(agent, "45-console-customer", assert);
  await agent.fill("#reason-resend", "appel du client : mail non reçu");
  await agent.click("form[action$='/resend'] button");
  await agent.waitForSelector("[role=status]");

  const second = await smtp.waitFor("helene.roux@example.fr", 2);
  await customer.goto(linkIn(second));
  await customer.fill("#password", "Jardin-fleuri-2026");
  await customer.fill("#password_confirm", "Jardin-fleuri-2026");
  await customer.click("#password-form button[type=submit]");
  await customer.waitForURL(new RegExp(`^${rp.url}/callback`));
  assert.equal(await customer.textContent("#email"), "helene.roux@example.fr");

  await agent.reload();
  assert.match(await agent.textContent("ul.diagnosis"), /ancien mot de passe a été retiré/);
  assert.match(await agent.textContent("#login-email"), /^h\*\*\*@example\.fr$/, "masked for support");
});

test("a support agent unlocks a locked customer", async () => {
  server.run(["customers", "lock", "helene.roux@example.fr"]);
  await agent.goto(`${server.issuer}/console/customers/50000001`);
  assert.match(await agent.textContent("ul.diagnosis"), /verrouillée par un administrateur/);
  await agent.fill("#reason-unlock", "identité vérifiée au téléphone");
  await agent.click("form[action$='/unlock'] button");
  await agent.waitForSelector("[role=status]");
  assert.doesNotMatch(await agent.textContent("ul.diagnosis"), /verrouillée/);

  const customer = await newPage();
  await customer.goto(`${rp.url}/login`);
  await customer.fill("#identifier", "helene.roux@example.fr");
  await customer.fill("#password", "Jardin-fleuri-2026");
  await customer.click("button[type=submit]");
  await customer.waitForURL(new RegExp(`^${rp.url}/callback`));
});

test("a support agent is refused the relying-party pages", async () => {
  assert.equal(await agent.locator("nav >> text=Applications").count(), 0, "not in the menu");
  const res = await agent.goto(`${server.issuer}/console/clients`);
  assert.equal(res.status(), 403);
  assert.ok(await agent.isVisible("[role=alert]"));
});

test("an admin creates a relying party and rotates its secret", async () => {
  await admin.goto(`${server.issuer}/console/clients/new`);
  await checkpoint(admin, "46-console-client-form", assert);
  await admin.fill("#client_id", "espace-pro");
  await admin.fill("#client_name", "Espace professionnel");
  await admin.fill("#redirect_uris", "pas-une-uri");
  await admin.click("form[action='/console/clients'] button[type=submit]");
  await admin.waitForSelector("#redirect_uris-error");
  await checkpoint(admin, "47-console-client-field-error", assert);
  await admin.fill("#redirect_uris", "https://pro.example.fr/callback");
  await admin.click("form[action='/console/clients'] button[type=submit]");
  await admin.waitForSelector("#client-secret");
  const first = (await admin.textContent("#client-secret")).trim();
  await admin.click("text=Continuer");
  await admin.click("form[action$='/secret'] button");
  await admin.waitForSelector("#client-secret");
  const second = (await admin.textContent("#client-secret")).trim();
  assert.notEqual(first, second);
  assert.ok(second.length >= 32);
});

test("the dashboard counts the test's data", async () => {
  await admin.goto(`${server.issuer}/console`);
  assert.equal(await admin.textContent("#count-upgraded"), "1");
  assert.equal(await admin.textContent("#count-legacy"), "2");
  assert.equal(await admin.textContent("#count-pending"), "0");
  await checkpoint(admin, "48-console-dashboard-after", assert);
  await admin.goto(`${server.issuer}/console/audit?event_type=activation.resent`);
  await admin.waitForSelector("table.data");
  assert.match(await admin.textContent("table.data"), /appel du client : mail non reçu/);
  await checkpoint(admin, "49-console-audit", assert);
});
