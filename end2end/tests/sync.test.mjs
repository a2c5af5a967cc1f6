// One note travels end to end: created in one browser profile, stored in IndexedDB, pushed
// with POST /sync to the server (MongoDB), pulled and shown by a second profile.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openApp, openProfile, readIndexedDbNotes, startServer } from './harness.mjs';

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
  try {
    const page = laptop.page;
    await openApp(page, server.base);
    await page.fill('#note-title', 'Groceries');
    await page.fill('#note-content', 'eggs, milk, bread');
    await page.click('button[type=submit]');

    const note = page.locator('li.note', { hasText: 'Groceries' });
    await note.waitFor();
    // Stored in IndexedDB before any sync.
    const stored = await readIndexedDbNotes(page);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].title, 'Groceries');
    assert.equal(stored[0].content, 'eggs, milk, bread');

    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });
    const synced = await readIndexedDbNotes(page);
    assert.equal(synced[0].sync.state, 'synced');

    // The second profile syncs on launch and shows the note.
    await openApp(phone.page, server.base);
    const there = phone.page.locator('li.note', { hasText: 'Groceries' });
    await there.waitFor({ timeout: 15_000 });
    assert.match(await there.textContent(), /eggs, milk, bread/);
    const phoneStored = await readIndexedDbNotes(phone.page);
    assert.equal(phoneStored.length, 1);
    assert.equal(phoneStored[0].id, stored[0].id);
  } finally {
    await laptop.close();
    await phone.close();
  }
});

test('the first paint is server-rendered, before any script runs', async () => {
  const r = await fetch(server.base);
  assert.equal(r.status, 200);
  const html = await r.text();
  assert.match(html, /<h1>Tern<\/h1>/);
  assert.match(html, /<label for="note-title">Title<\/label>/);
});

test('the API answers malformed requests with a JSON error', async () => {
  const r = await fetch(`${server.base}/sync`, { method: 'POST', body: '{nope' });
  assert.equal(r.status, 400);
  const body = await r.json();
  assert.equal(body.error, 'invalid_request');
});
