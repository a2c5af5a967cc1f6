// The trash: a deleted note waits there with its text (also on another device that pulled
// the delete); "Restore" brings it back everywhere; "Delete forever" removes its text from
// this device, from the server (its history answers empty) and from the other device's
// trash.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  noteHistory,
  openApp,
  openProfile,
  readIndexedDbNotes,
  signIn,
  startServer,
  syncUntil,
  write,
} from './harness.mjs';
import { screenshots } from './shots.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

async function deleteNote(page, text) {
  await page.locator('li.note', { hasText: text }).getByRole('button').first().click();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.locator('li.note', { hasText: text }).waitFor({ state: 'detached' });
}

async function openTrash(page) {
  if ((await page.getByTestId('trash').count()) === 0) {
    await page.getByRole('button', { name: 'Trash' }).click();
  }
  await page.getByTestId('trash').waitFor();
}

const listed = (page, text) => page.locator('li.note', { hasText: text }).count().then((n) => n > 0);

test('restore from the trash syncs like an edit; delete forever leaves no text on the server or other devices', async () => {
  const a = await openProfile();
  const b = await openProfile();
  try {
    await openApp(a.page, server.base);
    await signIn(a.page, 'tina', 'Create account');
    await write(a.page, 'Recipe', 'secret sauce');
    await write(a.page, 'Keep', 'this one stays');
    const id = await a.page.locator('li.note', { hasText: 'secret sauce' }).getAttribute('data-id');
    await syncUntil(a.page, async () => (await a.page.getByTestId('status').textContent()).includes('0 pending'), 'pushed');

    await openApp(b.page, server.base);
    await signIn(b.page, 'tina', 'Sign in');
    await b.page.locator('li.note', { hasText: 'secret sauce' }).waitFor({ timeout: 30_000 });

    // Deleted on the laptop: in its trash, with the text and the time left.
    await deleteNote(a.page, 'secret sauce');
    await openTrash(a.page);
    const entry = a.page.locator('li.trash-entry', { hasText: 'secret sauce' });
    await entry.waitFor();
    assert.match(await entry.textContent(), /deleted forever in 30 days/);
    await screenshots(a.page, 'trash');
    await syncUntil(a.page, async () => (await a.page.getByTestId('status').textContent()).includes('0 pending'), 'delete pushed');

    // The phone pulls the delete: the note leaves its list and waits in its trash.
    await syncUntil(b.page, async () => !(await listed(b.page, 'secret sauce')), 'delete pulled');
    await openTrash(b.page);
    await b.page.locator('li.trash-entry', { hasText: 'secret sauce' }).waitFor();

    // Restore on the phone: back in its list, and on the laptop after a sync.
    await b.page.locator('li.trash-entry', { hasText: 'secret sauce' }).getByRole('button', { name: 'Restore' }).click();
    await b.page.locator('li.note', { hasText: 'secret sauce' }).waitFor();
    await b.page.locator('li.trash-entry').waitFor({ state: 'detached' });
    await syncUntil(b.page, async () => (await b.page.getByTestId('status').textContent()).includes('0 pending'), 'restore pushed');
    await syncUntil(a.page, () => listed(a.page, 'secret sauce'), 'restore pulled');
    await a.page.locator('li.trash-entry').waitFor({ state: 'detached' });

    // Delete forever on the laptop (asks first).
    await deleteNote(a.page, 'secret sauce');
    const again = a.page.locator('li.trash-entry', { hasText: 'secret sauce' });
    await again.getByRole('button', { name: 'Delete forever' }).click();
    await screenshots(a.page, 'trash-confirm');
    await again.getByRole('button', { name: 'Yes, delete forever' }).click();
    await a.page.getByText('The trash is empty.').waitFor();
    const local = (await readIndexedDbNotes(a.page)).find((n) => n.id === id);
    assert.ok(local.deleted && !local.trash && !JSON.stringify(local).includes('secret sauce'), JSON.stringify(local));
    await syncUntil(a.page, async () => (await a.page.getByTestId('status').textContent()).includes('0 pending'), 'purge pushed');

    // The server keeps no earlier version of it.
    assert.deepEqual(await noteHistory(a.page, id), []);

    // The phone pulls it: gone from its list, its trash and its database.
    await syncUntil(
      b.page,
      async () => !(await listed(b.page, 'secret sauce')) && (await b.page.getByText('The trash is empty.').count()) > 0,
      'purge pulled',
    );
    const there = (await readIndexedDbNotes(b.page)).find((n) => n.id === id);
    assert.ok(!JSON.stringify(there).includes('secret sauce'), JSON.stringify(there));
    assert.ok(await listed(b.page, 'this one stays'));
  } finally {
    await a.close();
    await b.close();
  }
});

test("the trash keeps entries for the server's period (TERN_TRASH_DAYS), told at sign-in", async () => {
  const short = await startServer({ env: { TERN_TRASH_DAYS: '7' } });
  const a = await openProfile();
  try {
    await openApp(a.page, short.base);
    await signIn(a.page, 'wren', 'Create account');
    await write(a.page, 'Week', 'kept for a week');
    await deleteNote(a.page, 'kept for a week');
    await openTrash(a.page);
    await a.page.waitForSelector('.trash-help:has-text("stay here for 7 days")');
    const entry = a.page.locator('.trash-list li', { hasText: 'Week' });
    assert.match(await entry.textContent(), /deleted forever in 7 days/);
  } finally {
    await a.close();
    await short.stop();
  }
});
