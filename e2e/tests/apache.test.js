// Apache with mod_auth_openidc (Debian's packages) in front of a legacy CGI app, the way portals
// behind Apache read claims: sign-in through the browser, the flat `client_numbers` claim in the
// app's environment, and logout. Apache runs on a free loopback port with a configuration of its
// own (nothing of the system's Apache is used).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSmtp, startServer, launchBrowser, freePort, until, legacySha256 } from "../lib/harness.js";

const MODULES = "/usr/lib/apache2/modules";
const EMAIL = "apache.user@example.fr";
const PASSWORD = "Portail-Apache-2026";
const LEGACY = "ancien-apache";
const CSV = [
  "client_number,kind,label,contact_email,legacy_hash",
  `31000001,personal,Habitation,apache.user@example.fr,${legacySha256("s", LEGACY)}`,
].join("\n") + "\n";

let smtp, server, apache, apacheUrl, dir, browser;

/** The configuration a portal team would write (docs/integration.md shows the same directives). */
function config({ port, issuer, secret }) {
  return `ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${dir}/run/httpd.pid
DefaultRuntimeDir ${dir}/run
ErrorLog ${dir}/error.log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_prefork_module ${MODULES}/mod_mpm_prefork.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule alias_module ${MODULES}/mod_alias.so
LoadModule cgi_module ${MODULES}/mod_cgi.so
LoadModule auth_openidc_module ${MODULES}/mod_auth_openidc.so
DocumentRoot ${dir}/htdocs
OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration
OIDCClientID apache
OIDCClientSecret ${secret}
OIDCRedirectURI http://127.0.0.1:${port}/espace/redirect_uri
OIDCCryptoPassphrase ${secret}-session
OIDCScope "openid email accounts"
OIDCPKCEMethod S256
OIDCPassClaimsAs environment
ScriptAlias /espace/ ${dir}/cgi/
<Location /espace/>
  AuthType openid-connect
  Require valid-user
</Location>
`;
}

before(async () => {
  smtp = await startSmtp();
  server = await startServer({ smtpPort: smtp.port, customersCsv: CSV });
  server.run(["identity", "add", "--email", EMAIL], PASSWORD + "\n");
  const port = await freePort();
  apacheUrl = `http://127.0.0.1:${port}`;
  const secret = "apache-" + Date.now().toString(36) + "-0123456789abcdefghijklmnop";
  server.run(["client", "add", "--id", "apache", "--name", "Portail Apache", "--secret-stdin", "--first-party",
    "--redirect-uri", `${apacheUrl}/espace/redirect_uri`, "--post-logout-redirect-uri", `${apacheUrl}/`], secret + "\n");
  // Apache's children run as www-data: the folder and the CGI must be theirs to read.
  dir = mkdtempSync(join(tmpdir(), "gan-apache-"));
  for (const d of ["", "run", "cgi", "htdocs"]) { mkdirSync(join(dir, d), { recursive: true }); chmodSync(join(dir, d), 0o755); }
  writeFileSync(join(dir, "htdocs", "index.html"), "<!doctype html><title>Portail</title><p>déconnecté</p>");
  writeFileSync(join(dir, "cgi", "claims"), [
    "#!/bin/sh", 'echo "Content-Type: text/plain; charset=utf-8"', "echo",
    'echo "email=$OIDC_CLAIM_email"', 'echo "client_numbers=$OIDC_CLAIM_client_numbers"', "",
  ].join("\n"));
  chmodSync(join(dir, "cgi", "claims"), 0o755);
  writeFileSync(join(dir, "httpd.conf"), config({ port, issuer: server.issuer, secret }));
  // A process group of its own: when it stops, Apache (prefork) signals its whole group, which
  // must not be the test runner's.
  apache = spawn("/usr/sbin/apache2", ["-f", join(dir, "httpd.conf"), "-DFOREGROUND"], { stdio: "ignore", detached: true });
  await until(async () => {
    try { return (await fetch(`${apacheUrl}/index.html`)).ok; } catch { return false; }
  }, 15000, "Apache to start");
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (apache?.pid) {
    try { process.kill(-apache.pid, "SIGTERM"); } catch { /* already gone */ }
    await until(async () => {
      try { process.kill(-apache.pid, 0); return false; } catch { return true; }
    }, 15000, "Apache to stop");
  }
  server?.stop();
  await smtp?.close();
});

test("mod_auth_openidc signs in, passes client_numbers to the app, and logs out", async () => {
  assert.ok(existsSync(`${MODULES}/mod_auth_openidc.so`), "Debian's libapache2-mod-auth-openidc");
  const context = await browser.newContext({ locale: "fr-FR" });
  const tab = await context.newPage();
  const signIn = async () => {
    await tab.goto(`${apacheUrl}/espace/claims`);
    await tab.waitForSelector("#identifier");
    await tab.fill("#identifier", EMAIL);
    await tab.fill("#password", PASSWORD);
    await tab.click("button[type=submit]");
    await tab.waitForURL(`${apacheUrl}/espace/claims`);
    return tab.textContent("body");
  };
  let body = await signIn();
  assert.match(body, new RegExp(`email=${EMAIL}`), `${body}\n${readFileSync(join(dir, "error.log"), "utf8")}`);
  assert.match(body, /client_numbers=$/m, "no account attached yet");

  // Attach the customer account at Gan Connect, then sign in again at the portal.
  await tab.goto(`${server.issuer}/account`);
  await tab.fill("#client_number", "31000001");
  await tab.fill("#attach_password", LEGACY);
  await tab.click("form[action='/account/attach'] button");
  await tab.waitForSelector("text=Le compte 31000001 est rattaché.");

  // Logout through the module: RP-initiated logout at Gan Connect, back to the portal.
  await tab.goto(`${apacheUrl}/espace/redirect_uri?logout=${encodeURIComponent(apacheUrl + "/")}`);
  await until(async () => tab.url() === `${apacheUrl}/`, 15000, "the way back to the portal");
  const account = await context.request.get(`${server.issuer}/account`, { maxRedirects: 0 });
  assert.notEqual(account.status(), 200, "the session at Gan Connect ended");

  body = await signIn();
  assert.match(body, /client_numbers=31000001$/m, body);
  await context.close();
});
