// J1, J2 and J5 in headless Chromium against the release binary, with mail over real SMTP.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSmtp, startServer, startRp, launchBrowser, checkpoint, legacySha256 } from "../lib/harness.js";

const LEGACY = "ancien-secret";
const CSV = [
  "client_number,kind,label,contact_email,legacy_hash",
  `20000001,personal,Jeanne Martin,famille.martin@example.fr,${legacySha256("s1", LEGACY)}`,
  `20000002,professional,Martin Plomberie,famille.martin@example.fr,${legacySha256("s2", LEGACY)}`,
  `20000003,personal,Paul Martin,famille.martin@example.fr,${legacySha256("s3", LEGACY)}`,
  `20000004,personal,Lucie Bernard,lucie.contact@example.fr,${legacySha256("s4", LEGACY)}`,
].join("\n") + "\n";

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

async function newPage() {
  const context = await browser.newContext({ bypassCSP: true, locale: "fr-FR" });
  return context.newPage();
}

async function legacySignIn(page, number) {
  await page.goto(`${rp.url}/login`);
  await page.fill("#identifier", number);
  await page.fill("#password", LEGACY);
  await page.click("button[type=submit]");
}

test("J1: legacy login, choose an email, open the link, choose a password, back at the portal", async () => {
  const page = await newPage();
  await page.goto(`${rp.url}/login`);
  await page.waitForSelector("#identifier");
  assert.match(await page.textContent("h1"), /Connexion/);
  assert.ok(await page.isVisible("text=Identifiant oublié ou inconnu"));
  assert.ok(await page.isVisible("text=Mot de passe oublié ou inconnu"));
  await checkpoint(page, "01-sign-in", assert);

  await page.fill("#identifier", "20000001");
  await page.fill("#password", LEGACY);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/upgrade\/email$/);
  await checkpoint(page, "02-choose-email", assert);
  await page.fill("#email", "jeanne.martin@example.fr");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=j***@example.fr");
  await checkpoint(page, "03-check-inbox", assert);

  const mail = await smtp.waitFor("jeanne.martin@example.fr");
  assert.ok(mail.html.length > 0 && mail.text.length > 0, "HTML and text parts");
  const link = mail.text.match(/https?:\/\/\S+\/upgrade\/verify\?token=\S+/)[0];
  assert.ok(link.startsWith(server.issuer), "absolute link under the issuer");

  await page.goto(link);
  await page.waitForSelector("#password");
  await page.fill("#password", "court1");
  assert.equal(await page.getAttribute("[data-rule=length]", "class"), null, "length not met yet");
  await page.fill("#password", "Bicyclette-verte-88");
  assert.match(await page.getAttribute("[data-rule=length]", "class"), /ok/, "criteria update while typing");
  assert.match(await page.getAttribute("[data-rule=letters_digits]", "class"), /ok/);
  await page.fill("#password_confirm", "Bicyclette-verte-88");
  await checkpoint(page, "04-choose-password", assert);
  await page.click("button[type=submit]");
  await page.waitForURL(`${rp.url}/callback**`);
  assert.equal(await page.textContent("#email"), "jeanne.martin@example.fr");
  await page.screenshot({ path: "artifacts/05-back-at-portal.png" });

  // The legacy password no longer signs in; the email is shown masked.
  const other = await newPage();
  await legacySignIn(other, "20000001");
  // A note, not an error: role=status (the contract keeps role=alert for errors).
  await other.waitForSelector("[role=status]");
  assert.match(await other.textContent("[role=status]"), /j\*\*\*@example\.fr/);
  await checkpoint(other, "06-use-your-email", assert);
});

test("J2: an email already used gets the exact message and the help", async () => {
  const page = await newPage();
  await legacySignIn(page, "20000003");
  await page.waitForURL(/\/upgrade\/email$/);
  await page.fill("#email", "JEANNE.MARTIN@example.fr ");
  await page.click("button[type=submit]");
  await page.waitForSelector("[role=alert]");
  assert.equal((await page.textContent("[role=alert]")).trim(), "Email déjà utilisé, saisissez un nouvel email de connexion");
  assert.ok(await page.isVisible("text=Rattacher un compte"));
  await checkpoint(page, "07-email-already-used", assert);
});

test("J5: forgotten identifier lists the client numbers of a contact email", async () => {
  const page = await newPage();
  await page.goto(`${rp.url}/login`);
  await page.click("text=Identifiant oublié ou inconnu");
  await page.waitForURL(/\/forgot\/identifier$/);
  await checkpoint(page, "08-forgot-identifier", assert);
  await page.fill("#email", "famille.martin@example.fr");
  await page.click("button[type=submit]");
  await page.waitForSelector("h1");
  const confirmation = await page.textContent("main");
  const mail = await smtp.waitFor("famille.martin@example.fr");
  for (const n of ["20000001", "20000002", "20000003"]) assert.ok(mail.text.includes(n), n);

  // An unknown address gets exactly the same page.
  await page.goto(`${server.issuer}/forgot/identifier`);
  await page.fill("#email", "inconnu@example.fr");
  await page.click("button[type=submit]");
  await page.waitForSelector("h1");
  assert.equal(await page.textContent("main"), confirmation);
});

test("J5: forgotten password for a client number leads straight to step 2", async () => {
  const page = await newPage();
  await page.goto(`${rp.url}/login`);
  await page.click("text=Mot de passe oublié ou inconnu");
  await page.waitForURL(/\/forgot\/password$/);
  await checkpoint(page, "09-forgot-password", assert);
  await page.fill("#identifier", "20000004");
  await page.click("button[type=submit]");
  await page.waitForSelector("h1");
  const mail = await smtp.waitFor("lucie.contact@example.fr");
  const link = mail.text.match(/https?:\/\/\S+\/upgrade\/start\?token=\S+/)[0];
  // Opening the link changes nothing (mail scanners open links): one button continues.
  await page.goto(link);
  await page.waitForSelector("form[action='/upgrade/start'] button");
  assert.ok((await page.textContent("main")).includes("20000004"));
  await checkpoint(page, "09b-upgrade-start-confirm", assert);
  await page.click("form[action='/upgrade/start'] button");
  await page.waitForURL(/\/upgrade\/email$/);
  assert.ok((await page.textContent("main")).includes("20000004"));
  await page.fill("#email", "lucie.bernard@example.fr");
  await page.click("button[type=submit]");
  const verify = await smtp.waitFor("lucie.bernard@example.fr");
  const next = verify.text.match(/https?:\/\/\S+\/upgrade\/verify\?token=\S+/)[0];
  // Opened on another device: no request to resume there, a clear "compte activé" page.
  const phone = await newPage();
  await phone.goto(next);
  await phone.fill("#password", "Tournesol-jaune-71");
  await phone.fill("#password_confirm", "Tournesol-jaune-71");
  await phone.click("button[type=submit]");
  await phone.waitForSelector("h1");
  assert.match(await phone.textContent("h1"), /Compte activé/);
  await checkpoint(phone, "10-account-activated", assert);

  // The link is single use: a clear 4xx page.
  const again = await page.goto(next);
  assert.equal(again.status(), 410);
  await checkpoint(page, "11-link-used", assert);
});
