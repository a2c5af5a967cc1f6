// Test harness: runs the built Tern server (target/debug/server, built by `cargo leptos build`)
// on a free port with a fresh embedded database, and launches headless Chromium profiles.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../..');

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Starts the server; resolves once /healthz answers 200. */
export async function startServer() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tern-e2e-'));
  const base = `http://127.0.0.1:${port}`;
  const bin = process.env.TERN_SERVER_BIN ?? join(ROOT, 'target/debug/server');
  const proc = spawn(bin, [], {
    cwd: ROOT,
    env: {
      ...process.env,
      TERN_ADDR: `127.0.0.1:${port}`,
      TERN_DATA_DIR: dataDir,
      MONGODB_URI: '',
      LEPTOS_OUTPUT_NAME: 'tern',
      LEPTOS_SITE_ROOT: join(ROOT, 'target/site'),
      LEPTOS_SITE_PKG_DIR: 'pkg',
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((ok) => proc.on('exit', ok));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.status === 200) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('server did not become healthy in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A separate browser profile (its own user data dir: its own IndexedDB). */
export async function openProfile() {
  const dir = mkdtempSync(join(tmpdir(), 'tern-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens the app and waits until it is hydrated and has read the local store. */
export async function openApp(page, base) {
  await page.goto(base);
  await page.waitForSelector('main[data-ready="true"]', { timeout: 30_000 });
}

/** Every record of the `notes` object store of the page's IndexedDB database `tern`. */
export function readIndexedDbNotes(page) {
  return page.evaluate(
    () =>
      new Promise((ok, fail) => {
        const open = indexedDB.open('tern');
        open.onerror = () => fail(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('notes', 'readonly');
          const all = tx.objectStore('notes').getAll();
          all.onsuccess = () => ok(all.result);
          all.onerror = () => fail(all.error);
        };
      }),
  );
}

/** Signs in (button 'Sign in') or up (button 'Create account') and waits for the session. */
export async function signIn(page, username, button) {
  await page.fill('#username', username);
  await page.fill('#password', 'correct horse battery');
  await page.getByRole('button', { name: button }).click();
  await page.waitForSelector('[data-testid=user]', { timeout: 15_000 });
}
