// One note travels end to end: created in one browser profile, stored in IndexedDB, pushed
// with POST /sync to the server (MongoDB), pulled and shown by a second profile.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, api, openApp, openProfile, readIndexedDbNotes, signIn, startServer } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test('a note created in one profile appears in another', async () => {
  const laptop = await openProfile();
  const phone = await openProfile();
  const stranger = await openProfile();
  try {
    const page = laptop.page;
    await openApp(page, server.base);
    // Local first: a note can be written before signing in; it is stored and pending.
    await page.fill('#note-title', 'Groceries');
    await page.fill('#note-content', 'eggs, milk, bread');
    const note = page.locator('li.note', { hasText: 'eggs, milk, bread' });
    await note.waitFor();
    assert.equal(await note.getAttribute('data-sync'), 'pending');
    const stored = await readIndexedDbNotes(page);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].title, 'Groceries');
    assert.equal(stored[0].content, 'eggs, milk, bread');

    // Creating the account syncs it.
    await signIn(page, 'alice', 'Create account');
    await page.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });
    const synced = await readIndexedDbNotes(page);
    assert.equal(synced[0].sync.state, 'synced');

    // Another account never sees it.
    await openApp(stranger.page, server.base);
    await signIn(stranger.page, 'mallory', 'Create account');
    await stranger.page.waitForSelector('[data-testid=status]:has-text("last synced")');
    assert.equal(await stranger.page.locator('li.note').count(), 0);

    // The second profile signs in to the same account, syncs and shows the note.
    await openApp(phone.page, server.base);
    await signIn(phone.page, 'alice', 'Sign in');
    const there = phone.page.locator('li.note', { hasText: 'Groceries' });
    await there.waitFor({ timeout: 15_000 });
    assert.match(await there.textContent(), /eggs, milk, bread/);
    const phoneStored = await readIndexedDbNotes(phone.page);
    assert.equal(phoneStored.length, 1);
    assert.equal(phoneStored[0].id, stored[0].id);
  } finally {
    await laptop.close();
    await phone.close();
    await stranger.close();
  }
});

test('the first paint is server-rendered, before any script runs', async () => {
  const r = await fetch(server.base);
  assert.equal(r.status, 200);
  const html = await r.text();
  assert.match(html, /<h1>Tern<\/h1>/);
  // The first-paint shell: the list and a note field that says it is opening (the app's
  // module takes over once loaded: first-paint.test.mjs).
  assert.match(html, /<main[^>]* class="first-paint"/);
  assert.match(html, /<ul data-page="50" class="notes">/);
  assert.match(html, /<label for="first-paint-title">Title<\/label>/);
  assert.match(html, /placeholder="Opening…" readonly/);
});

test('the API answers with JSON errors: no session, then a malformed body', async () => {
  let r = await fetch(`${server.base}/sync`, { method: 'POST', body: '{nope' });
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error, 'unauthorized');

  const { token } = await api(server.base, '/auth/signup', { username: 'api-user', password: PASSWORD });
  r = await fetch(`${server.base}/sync`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{nope',
  });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, 'invalid_request');
});
