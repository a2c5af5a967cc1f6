// Test harness: runs the built Tern server (target/debug/server, built by `cargo leptos build --split`)
// on a free port with a fresh embedded database, and launches headless Chromium profiles.
// It is the one copy of every helper the test files share (writing a note, syncing, signing
// in, the API from outside the browser, the test password): a test file imports them and
// defines none of its own.
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

/**
 * Starts the server; resolves once /healthz answers 200. By default on a free port with a
 * fresh data dir; `port` and `dataDir` restart it where an earlier one ran (same origin,
 * same database), `env` adds variables (e.g. `TERN_BUILD_ID`, a new deployment).
 */
export async function startServer({ port, dataDir, env = {} } = {}) {
  port ??= await freePort();
  dataDir ??= mkdtempSync(join(tmpdir(), 'tern-e2e-'));
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
      LEPTOS_SITE_ROOT: process.env.TERN_SITE_ROOT ?? join(ROOT, 'target/site'),
      LEPTOS_SITE_PKG_DIR: 'pkg',
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      ...env,
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
    port,
    dataDir,
    /** Stops the server; `keepData` keeps the database for a restart. */
    async stop({ keepData = false } = {}) {
      proc.kill('SIGTERM');
      await exited;
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Each page's last console lines (see `snapshot`). */
const consoleTail = new WeakMap();

/**
 * A separate browser profile (its own user data dir: its own IndexedDB, service workers
 * and caches), in its own browser process. `dir` reopens a profile closed with
 * `close({ keepProfile: true })`; `offline` starts the browser with the network off.
 */
export async function openProfile(dir, { offline = false } = {}) {
  dir ??= mkdtempSync(join(tmpdir(), 'tern-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    offline,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // TERN_E2E_STACKS=1 prints each page error's stack (a debug build's wasm frames are named).
  page.on('pageerror', (e) => console.error('[page error]', process.env.TERN_E2E_STACKS ? e.stack : e.message));
  // The page's last console lines, for `snapshot`.
  consoleTail.set(page, []);
  page.on('console', (m) => {
    const tail = consoleTail.get(page);
    tail.push(`${m.type()}: ${m.text()}`.slice(0, 300));
    if (tail.length > 30) tail.shift();
  });
  return {
    dir,
    context,
    page,
    /** Closes the browser; `keepProfile` keeps its data for `openProfile(dir)`. */
    async close({ keepProfile = false } = {}) {
      await context.close();
      if (!keepProfile) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Takes the profile offline: network emulation for its pages and service workers, and
 * every request of the app's origin refused. Playwright applies the emulation to pages
 * first and workers second; a page that hears `offline` at once hands its sync to the
 * worker (Background Sync), whose request could slip out in between. Real connectivity
 * loss has no such gap, so the route closes it.
 */
export async function goOffline(context) {
  await context.route('**/*', (route) => route.abort('internetdisconnected'));
  await context.setOffline(true);
}

/** Undoes `goOffline`. */
export async function goOnline(context) {
  await context.unrouteAll({ behavior: 'wait' });
  await context.setOffline(false);
}

/** Waits until a service worker controls `page` (it claims the page on first install). */
export async function waitForController(page) {
  await page.waitForFunction(() => navigator.serviceWorker?.controller?.state === 'activated', null, {
    timeout: 30_000,
  });
}

/**
 * What a page shows, for a failing test's message: the editor, the status line with its
 * attributes, the error and message lines, and each listed note with its sync state.
 */
export async function snapshot(page) {
  return page.evaluate(() => {
    const status = document.querySelector('[data-testid="status"]');
    return {
      title: document.querySelector('#note-title')?.value,
      content: document.querySelector('#note-content')?.value,
      status: status && { text: status.innerText, ...status.dataset },
      error: document.querySelector('[data-testid="error"]')?.innerText,
      message: document.querySelector('[data-testid="message"]')?.innerText,
      conflicts: [...document.querySelectorAll('[data-testid="conflict"]')].map((c) => c.innerText.replace(/\s+/g, ' ')),
      notes: [...document.querySelectorAll('li.note')].map((li) => `${li.dataset.sync}: ${li.innerText.replace(/\s+/g, ' ')}`),
    };
  }).then(
    (shown) => ({ ...shown, console: consoleTail.get(page) ?? [] }),
    (e) => ({ unavailable: e.message, console: consoleTail.get(page) ?? [] }),
  );
}

/**
 * Runs `wait`; if it fails, fails with what each of `pages` shows (see `snapshot`), so a
 * failure under load says which device missed what.
 */
export async function explained(wait, pages) {
  try {
    return await wait();
  } catch (e) {
    const seen = {};
    for (const [name, page] of Object.entries(pages)) seen[name] = await snapshot(page);
    e.message += `\nwhat the pages show: ${JSON.stringify(seen, null, 2)}`;
    throw e;
  }
}

/** Opens the app and waits until it is hydrated and has read the local store. */
export async function openApp(page, base) {
  await page.goto(base);
  await page.waitForSelector('main[data-ready="true"]', { timeout: 30_000 });
}

/**
 * Every note record of the IndexedDB database the page shows (the signed-in account's
 * `tern-<id>`, or `tern`: notes written before any sign-in): those of the `notes` object
 * store, and those still in packs (an initial sync's pages not unpacked yet; a record in
 * `notes` shadows the pack copy of its id: client/src/idb/packs.rs).
 */
export function readIndexedDbNotes(page) {
  return page.evaluate(
    () =>
      new Promise((ok, fail) => {
        const name = document.querySelector('main').dataset.store || 'tern';
        const open = indexedDB.open(name);
        open.onerror = () => fail(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const packed = db.objectStoreNames.contains('packs');
          const tx = db.transaction(packed ? ['notes', 'packs'] : ['notes'], 'readonly');
          const all = tx.objectStore('notes').getAll();
          const packs = packed ? tx.objectStore('packs').getAll() : null;
          tx.oncomplete = () => {
            const records = all.result;
            const ids = new Set(records.map((r) => r.id));
            for (const body of packs?.result ?? []) {
              for (const text of body) {
                const r = JSON.parse(text);
                if (!ids.has(r.id)) records.push(r);
              }
            }
            ok(records);
          };
          tx.onerror = () => fail(tx.error);
        };
      }),
  );
}

/** The password of every test account (`signIn`, `api`, `serverNotes`). */
export const PASSWORD = 'correct horse battery';

/**
 * Signs in (button 'Sign in') or up (button 'Create account') and waits for the session.
 * `password` defaults to the test accounts' `PASSWORD`.
 */
export async function signIn(page, username, button, password = PASSWORD) {
  // Signed out, the page shows the notes and one "Sign in" button that opens the form.
  if (!(await page.locator('#username').isVisible())) {
    await page.getByTestId('signin-open').click();
  }
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.getByRole('button', { name: button }).click();
  await page.waitForSelector('[data-testid=user]', { timeout: 15_000 });
}

/** Clicks "Sync now" and waits until that run has finished (the status counts runs). */
export async function syncNow(page) {
  const runs = Number(await page.getByTestId('status').getAttribute('data-runs'));
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid=status]').dataset.runs) > n,
    runs,
    { timeout: 15_000 },
  );
}

/**
 * Syncs (with "Sync now") until `check()` holds: a run may have been under way already when
 * the button was clicked, which started before the change it should bring.
 */
export async function syncUntil(page, check, what) {
  for (let i = 0; i < 10; i++) {
    await syncNow(page);
    if (await check()) return;
  }
  throw new Error(`never after 10 syncs: ${what}`);
}

/** The session cookie of a browser profile. */
export async function sessionCookie(context) {
  return (await context.cookies()).find((c) => c.name === 'tern_session');
}

/**
 * Opens the settings view (header's "Settings") on its tab `tab`: 'Account', 'Sync activity'
 * or 'Export / import'.
 */
export async function openSettings(page, tab) {
  if ((await page.getByTestId('settings').count()) === 0) {
    await page.getByTestId('settings-open').click();
  }
  await page.getByTestId('settings').getByRole('button', { name: tab, exact: true }).click();
}

/** The list's row of the note whose title or snippet holds `text`. */
export const noteItem = (page, text) => page.locator('li.note', { hasText: text });

/** The titles of the notes the list shows, in its order. */
export const listTitles = (page) => page.locator('li.note h2').allTextContents();

/**
 * Writes a new note through the UI ("New note", then the title and the body, `<title> text`
 * unless given) and waits until the list holds it and the editor says every keystroke is in
 * the local store ("Saved on this device"). The row is waited for in the DOM, not on screen:
 * on a phone the list is hidden behind the editor.
 */
export async function write(page, title, content = `${title} text`) {
  await page.getByRole('button', { name: 'New note' }).click();
  await page.fill('#note-title', title);
  await page.fill('#note-content', content);
  await noteItem(page, title).first().waitFor({ state: 'attached' });
  await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
}

/**
 * The server's history of note `id` as the signed-in page reads it (`GET /notes/{id}/history`):
 * its earlier versions (title, content, deleted, clock) with why and when. Throws unless 2xx.
 */
export async function noteHistory(page, id) {
  const { status, body } = await page.evaluate(async (id) => {
    const r = await fetch(`/notes/${id}/history`);
    return { status: r.status, body: await r.text() };
  }, id);
  if (status !== 200) throw new Error(`history of ${id}: ${status} ${body}`);
  return JSON.parse(body).revisions;
}

/**
 * The API from outside any browser: POSTs `body` as JSON to `path` on `base`, with a bearer
 * `token` when given; throws (with the status and body) unless the answer is 2xx, else
 * resolves to its JSON.
 */
export async function api(base, path, body, token) {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

/**
 * The notes the server holds for `username`, deleted ones included, each in its latest
 * state: signed in through the API, pulled from the start (every page).
 */
export async function serverNotes(base, username, password = PASSWORD) {
  const { token } = await api(base, '/auth/signin', { username, password });
  const notes = new Map();
  let cursor = null;
  for (;;) {
    const r = await api(base, '/sync', { protocol: 1, cursor, changes: [] }, token);
    for (const n of r.changes) notes.set(n.id, n);
    if (!r.has_more) return [...notes.values()];
    cursor = r.cursor;
  }
}
