// Black-box harness: the release binary on a random port with its own SQLite file, a real SMTP
// sink, a tiny relying party, and headless Chromium. Everything listens on 127.0.0.1 only.
import { spawn, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as netServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const artifacts = join(here, "..", "artifacts");
mkdirSync(artifacts, { recursive: true });
const targetDir = process.env.CARGO_TARGET_DIR || join(here, "..", "..", "target");
export const bin = process.env.GAN_CONNECT_BIN || join(targetDir, "release", "gan-connect");

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Polls `check` until it returns a truthy value, or fails after `ms`. */
export async function until(check, ms = 10000, what = "condition") {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A real SMTP server that keeps every message it accepts. */
export async function startSmtp() {
  const messages = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((m) => {
          messages.push({ to: m.to?.value?.[0]?.address, subject: m.subject, text: m.text || "", html: m.html || "" });
          callback();
        })
        .catch(callback);
    },
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return {
    port,
    messages,
    async waitFor(to, n = 1) {
      return until(() => messages.filter((m) => m.to === to)[n - 1], 15000, `message #${n} to ${to}`);
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

export function legacySha256(salt, password) {
  return `sha256$${salt}$${createHash("sha256").update(salt + password).digest("hex")}`;
}

/** The server, configured with the smtp transport; customers and a client registered by the CLI. */
export async function startServer({ smtpPort, customersCsv }) {
  const dir = mkdtempSync(join(tmpdir(), "gan-e2e-"));
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    GAN_CONNECT__SERVER__ISSUER: issuer,
    GAN_CONNECT__SERVER__LISTEN: `127.0.0.1:${port}`,
    GAN_CONNECT__DATABASE__URL: `sqlite://${dir}/gan.db?mode=rwc`,
    GAN_CONNECT__KEYS__ENCRYPTION_KEY_FILE: `${dir}/keys.secret`,
    GAN_CONNECT__MAIL__TRANSPORT: "smtp",
    GAN_CONNECT__MAIL__SMTP_HOST: "127.0.0.1",
    GAN_CONNECT__MAIL__SMTP_PORT: String(smtpPort),
    GAN_CONNECT__MAIL__RETRY_SECONDS: "1",
    GAN_CONNECT__LOG__LEVEL: "warn",
  };
  delete env.DATABASE_URL;
  const run = (args, input) => execFileSync(bin, args, { env, input, cwd: dir }).toString();
  run(["migrate"]);
  writeFileSync(join(dir, "customers.csv"), customersCsv);
  run(["customers", "import", join(dir, "customers.csv")]);
  const rpPort = await freePort();
  const secret = randomBytes(24).toString("base64url");
  run(["client", "add", "--id", "portal", "--name", "Espace client Gan", "--secret-stdin", "--first-party",
    "--redirect-uri", `http://127.0.0.1:${rpPort}/callback`], secret + "\n");
  const proc = spawn(bin, ["serve"], { env, cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  proc.stderr.on("data", (d) => { log += d; });
  await until(async () => {
    try { return (await fetch(`${issuer}/healthz`)).ok; } catch { return false; }
  }, 15000, "the server to start");
  return { issuer, dir, rpPort, secret, log: () => log, stop: () => proc.kill("SIGTERM"), run };
}

/** A minimal relying party: code flow with PKCE, then userinfo; shows who signed in. */
export async function startRp({ issuer, port, clientId, secret }) {
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const pending = new Map();
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, redirectUri);
    if (url.pathname === "/login") {
      const verifier = randomBytes(32).toString("base64url");
      const state = randomBytes(16).toString("base64url");
      pending.set(state, verifier);
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      const auth = new URL(discovery.authorization_endpoint);
      for (const [k, v] of Object.entries({ response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope: "openid email", state, code_challenge: challenge, code_challenge_method: "S256" })) auth.searchParams.set(k, v);
      res.writeHead(302, { location: auth.toString() }).end();
      return;
    }
    if (url.pathname === "/callback") {
      const verifier = pending.get(url.searchParams.get("state"));
      if (!verifier || url.searchParams.get("iss") !== issuer) {
        res.writeHead(400).end("bad state or issuer");
        return;
      }
      const token = await (await fetch(discovery.token_endpoint, {
        method: "POST",
        headers: { authorization: "Basic " + Buffer.from(`${clientId}:${secret}`).toString("base64"), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", code: url.searchParams.get("code"), redirect_uri: redirectUri, code_verifier: verifier }),
      })).json();
      const info = await (await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${token.access_token}` } })).json();
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(
        `<!doctype html><html lang="fr"><title>Portail</title><main><h1>Bienvenue</h1><p id="email">${info.email}</p></main></html>`);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
  });
}

const axeSource = readFileSync(join(here, "..", "node_modules", "axe-core", "axe.min.js"), "utf8");

/** Runs axe-core on the page; returns the serious and critical violations. */
export async function accessibilityProblems(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await globalThis.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

/** Screenshot and accessibility check of a key page. */
export async function checkpoint(page, name, assert) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const problems = await accessibilityProblems(page);
  assert.deepEqual(problems, [], `accessibility of ${name}`);
}
