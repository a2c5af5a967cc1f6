// Editing in the browser: autosave, delete with undo, search, reload, and the edit
// reaching a second profile.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openApp, openProfile, readIndexedDbNotes, signIn, startServer, write } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test('create, edit, search, delete and undo, all kept across a reload and synced', async () => {
  const a = await openProfile();
  const b = await openProfile();
  try {
    const page = a.page;
    await openApp(page, server.base);
    await signIn(page, 'erin', 'Create account');
    await write(page, 'Shopping', 'apples');
    await write(page, 'Work', 'call the plumber');
    await write(page, 'Ideas', 'a boat made of notes');

    // Newest first.
    const titles = await page.locator('li.note h2').allTextContents();
    assert.deepEqual(titles, ['Ideas', 'Work', 'Shopping']);

    // Edit: open a note, change its text; autosave writes it to IndexedDB.
    await page.locator('li.note', { hasText: 'Shopping' }).getByRole('button').first().click();
    await page.fill('#note-content', 'apples, pears');
    await page.locator('li.note', { hasText: 'apples, pears' }).waitFor();
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    const stored = await readIndexedDbNotes(page);
    assert.equal(stored.find((n) => n.title === 'Shopping').content, 'apples, pears');

    // Search filters as you type, by title or text (words starting with what is typed).
    const listed = (titles) =>
      page.waitForFunction(
        (t) => [...document.querySelectorAll('li.note h2')].map((h) => h.textContent).join('|') === t,
        titles.join('|'),
      );
    await page.fill('#search', 'plumb');
    await listed(['Work']);
    await page.fill('#search', 'PEARS');
    await listed(['Shopping']);
    await page.fill('#search', '');
    await listed(['Shopping', 'Ideas', 'Work']);

    // Delete, then undo.
    await page.locator('li.note', { hasText: 'Ideas' }).getByRole('button').first().click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.locator('li.note', { hasText: 'Ideas' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.locator('li.note', { hasText: 'Ideas' }).waitFor();
    // Delete for good.
    await page.locator('li.note', { hasText: 'Work' }).getByRole('button').first().click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.locator('li.note', { hasText: 'Work' }).waitFor({ state: 'detached' });

    // Everything is in IndexedDB: a reload shows the same notes.
    await openApp(page, server.base);
    await page.locator('li.note', { hasText: 'apples, pears' }).waitFor();
    assert.deepEqual((await page.locator('li.note h2').allTextContents()).sort(), ['Ideas', 'Shopping']);

    // Sync, then the other profile sees exactly the same.
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.waitForSelector('[data-testid=status]:has-text("0 pending")', { timeout: 15_000 });
    await openApp(b.page, server.base);
    await signIn(b.page, 'erin', 'Sign in');
    await b.page.locator('li.note', { hasText: 'apples, pears' }).waitFor({ timeout: 15_000 });
    assert.deepEqual((await b.page.locator('li.note h2').allTextContents()).sort(), ['Ideas', 'Shopping']);
    // Notes that arrived by sync are found by search there too.
    await b.page.fill('#search', 'pear');
    await b.page.waitForFunction(
      () => [...document.querySelectorAll('li.note h2')].map((h) => h.textContent).join('|') === 'Shopping',
    );
  } finally {
    await a.close();
    await b.close();
  }
});

test('offline is shown, edits stay pending, and going online syncs them', async () => {
  const a = await openProfile();
  try {
    const page = a.page;
    await openApp(page, server.base);
    await signIn(page, 'frank', 'Create account');
    await page.waitForSelector('[data-testid=status]:has-text("last synced")');
    await a.context.setOffline(true);
    await page.waitForSelector('[data-testid=status][data-online="false"]');
    await write(page, 'Offline', 'written on a train');
    const note = page.locator('li.note', { hasText: 'written on a train' });
    assert.equal(await note.getAttribute('data-sync'), 'pending');
    await page.waitForSelector('[data-testid=status]:has-text("1 pending")');
    await a.context.setOffline(false);
    await page.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });
    await page.waitForSelector('[data-testid=status]:has-text("0 pending")');
  } finally {
    await a.close();
  }
});
