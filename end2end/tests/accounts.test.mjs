// Accounts kept apart on one shared browser: each account sees, pushes and pulls only its
// own notes; notes written before any sign-in join the first account; signing out with
// unsynced notes warns first; signing out offline really signs out.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  PASSWORD,
  api,
  goOffline,
  goOnline,
  listTitles,
  openApp,
  openProfile,
  serverNotes,
  sessionCookie,
  signIn,
  startServer,
  syncNow,
  waitForController,
  write,
} from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const titles = async (page) => (await listTitles(page)).sort();

/** An account made through the API, with notes written by another device. */
async function accountWithNotes(username, notes) {
  const { token } = await api(server.base, '/auth/signup', { username, password: PASSWORD });
  const changes = notes.map((title, i) => ({
    change_id: `c-${username}-${i}`,
    note_id: `n-${username}-${i}`,
    hlc: `${Date.now()}-0000000${i}-api`,
    base_version: null,
    title,
    content: `${title} text`,
    deleted: false,
  }));
  await api(server.base, '/sync', { protocol: 1, cursor: null, changes }, token);
}

/** The note titles the server holds for `username`. */
async function serverTitles(username) {
  const notes = await serverNotes(server.base, username);
  return notes.filter((n) => !n.deleted).map((n) => n.title).sort();
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForSelector('[data-testid=signin-open]');
  await page.waitForSelector('[data-testid=user]', { state: 'detached' });
}

const synced = (page) =>
  page.waitForSelector('[data-testid=status]:has-text("0 pending")', { timeout: 15_000 });

test('switching accounts in one browser, both ways, never mixes their notes', async () => {
  await accountWithNotes('bonnie', ['B2 first', 'B2 second']);
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    // Written before any sign-in: joins the first account (this browser's only one).
    await write(page, 'Before anyone');
    await signIn(page, 'ann', 'Create account');
    await write(page, 'Ann secret');
    await synced(page);
    assert.deepEqual(await titles(page), ['Ann secret', 'Before anyone']);
    await signOut(page);
    assert.deepEqual(await titles(page), [], "ann's notes are not shown once she signed out");

    // A new account in the same browser sees none of them.
    await signIn(page, 'ben', 'Create account');
    await syncNow(page);
    assert.deepEqual(await titles(page), []);
    await write(page, 'Ben note');
    await synced(page);
    await signOut(page);

    // An existing account with two notes on the server: both, and only those.
    await signIn(page, 'bonnie', 'Sign in');
    await page.locator('li.note', { hasText: 'B2 second' }).waitFor({ timeout: 15_000 });
    await syncNow(page);
    assert.deepEqual(await titles(page), ['B2 first', 'B2 second']);
    await signOut(page);

    // And back to the first: her notes, and not the others'.
    await signIn(page, 'ann', 'Sign in');
    await syncNow(page);
    assert.deepEqual(await titles(page), ['Ann secret', 'Before anyone']);

    // What each account's server copy holds.
    assert.deepEqual(await serverTitles('ann'), ['Ann secret', 'Before anyone']);
    assert.deepEqual(await serverTitles('ben'), ['Ben note']);
    assert.deepEqual(await serverTitles('bonnie'), ['B2 first', 'B2 second']);
  } finally {
    await p.close();
  }
});

test('signing out with unsynced notes warns first; they stay with their account', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    await signIn(page, 'cleo', 'Create account');
    await synced(page);
    await goOffline(p.context);
    await page.waitForSelector('[data-testid=status][data-online="false"]');
    await write(page, 'Cleo offline');
    await page.getByRole('button', { name: 'Sign out' }).click();
    const warning = page.getByTestId('signout-warning');
    await warning.waitFor();
    assert.match(await warning.textContent(), /1 note\(s\) are not on the server yet/);
    await warning.getByRole('button', { name: 'Stay signed in' }).click();
    assert.equal(await page.getByTestId('user').count(), 1, 'still signed in');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await warning.getByRole('button', { name: 'Sign out anyway' }).click();
    await page.waitForSelector('[data-testid=signin-open]');
    assert.deepEqual(await titles(page), []);

    // Another account signs in here: it never gets cleo's pending note.
    await goOnline(p.context);
    await signIn(page, 'dan', 'Create account');
    await syncNow(page);
    assert.deepEqual(await titles(page), []);
    assert.deepEqual(await serverTitles('dan'), []);
    await signOut(page);
    // Cleo signs in again: her note is pushed to her account.
    await signIn(page, 'cleo', 'Sign in');
    await page.locator('li.note', { hasText: 'Cleo offline' }).waitFor();
    await synced(page);
    assert.deepEqual(await serverTitles('cleo'), ['Cleo offline']);
  } finally {
    await p.close();
  }
});

test('signing out offline really signs out, and ends the session once online', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    await signIn(page, 'olga', 'Create account');
    await write(page, 'Olga note');
    await synced(page);
    await waitForController(page);
    const cookie = await sessionCookie(p.context);
    assert.ok(cookie, 'a session cookie');
    const me = () =>
      fetch(`${server.base}/auth/me`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal((await me()).status, 200);

    await goOffline(p.context);
    await page.waitForSelector('[data-testid=status][data-online="false"]');
    await signOut(page);
    assert.deepEqual(await titles(page), []);

    // A reload (offline, served by the worker) shows nobody signed in, and not her notes.
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    await page.waitForSelector('[data-testid=signin-open]');
    assert.equal(await page.getByTestId('user').count(), 0);
    assert.deepEqual(await titles(page), []);

    // Back online: the server session is ended, and the page stays signed out.
    await goOnline(p.context);
    const deadline = Date.now() + 20_000;
    while ((await me()).status !== 401) {
      assert.ok(Date.now() < deadline, 'the server session was never ended');
      await new Promise((r) => setTimeout(r, 250));
    }
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    await page.waitForSelector('[data-testid=signin-open]');
    assert.equal(await page.getByTestId('user').count(), 0);
    assert.deepEqual(await titles(page), []);

    // Signing in again shows her notes.
    await signIn(page, 'olga', 'Sign in');
    await page.locator('li.note', { hasText: 'Olga note' }).waitFor();
  } finally {
    await p.close();
  }
});

test("a sign-in opens the account's database once", async () => {
  const { page, close } = await openProfile();
  try {
    // Every `indexedDB.open` the page makes, by database name.
    await page.addInitScript(() => {
      window.__opens = {};
      const open = IDBFactory.prototype.open;
      IDBFactory.prototype.open = function (name, ...rest) {
        window.__opens[name] = (window.__opens[name] ?? 0) + 1;
        return open.call(this, name, ...rest);
      };
    });
    await openApp(page, server.base);
    await signIn(page, 'plover-once', 'Create account');
    await write(page, 'First', 'after the sign-in');
    await page.waitForSelector('li.note[data-sync="synced"]', { timeout: 20_000 });
    const opens = await page.evaluate(() => window.__opens);
    const account = Object.entries(opens).filter(([name]) => name.startsWith('tern-'));
    // One store: its connection and the one that watches its version. Two opens at the
    // sign-in (the list's read and the sync's start) once wrote two node ids into the new
    // database and left a connection open.
    assert.equal(account.length, 1, JSON.stringify(opens));
    assert.equal(account[0][1], 2, JSON.stringify(opens));
  } finally {
    await close();
  }
});
