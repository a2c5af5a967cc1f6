// A whole session by keyboard only (no click): sign up, write notes, move between them,
// preview, delete and undo, search, sync, the activity panel and the shortcuts overlay.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, goOffline, goOnline, openApp, openProfile, signIn, startServer, write } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** Presses Tab until `pred(activeElement)` holds (at most 60 times). */
async function tabTo(page, pred, what) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(pred)) return;
  }
  throw new Error(`Tab never reached ${what}`);
}

const title = (page) => page.evaluate(() => document.querySelector('#note-title').value);

test('a full session by keyboard only', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    const kb = page.keyboard;
    await openApp(page, server.base);

    // Sign up: Tab to "Sign in", Enter opens the form with the focus in it; type, Enter on
    // "Create account".
    await tabTo(page, () => document.activeElement.dataset.testid === 'signin-open', 'Sign in');
    await kb.press('Enter');
    await page.waitForFunction(() => document.activeElement.id === 'username');
    await kb.type('keyboard-user');
    await kb.press('Tab');
    await kb.type(PASSWORD);
    await tabTo(page, () => document.activeElement.textContent === 'Create account' && document.activeElement.closest('form.account'), 'Create account');
    await kb.press('Enter');
    await page.getByTestId('user').waitFor({ timeout: 15_000 });

    // n: a new note, the title has the focus; Tab to the text.
    await kb.press('Escape');
    await kb.press('n');
    await page.waitForFunction(() => document.activeElement.id === 'note-title');
    await kb.type('First');
    await kb.press('Tab');
    await kb.type('- [ ] one\n- [ ] two');
    await kb.press('Escape'); // leave the text field: the shortcuts work again
    await page.waitForSelector('li.note:has-text("First")');
    await kb.press('n');
    await page.waitForFunction(() => document.activeElement.id === 'note-title');
    await kb.type('Second');
    await kb.press('Tab');
    await kb.type('the **second** note');
    await kb.press('Escape');
    await page.waitForSelector('li.note:has-text("Second")');
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');

    // j / k: next and previous note of the list (newest first: Second, First).
    await kb.press('k');
    await page.waitForFunction(() => document.querySelector('#note-title').value === 'Second');
    await kb.press('j');
    await page.waitForFunction(() => document.querySelector('#note-title').value === 'First');
    // The focus follows to the open note in the list (once the list has drawn it).
    await page.waitForFunction(() => {
      const row = document.activeElement.closest('li.note');
      return row !== null && row.querySelector('h2').textContent === 'First';
    });
    await kb.press('k');
    await page.waitForFunction(() => document.querySelector('#note-title').value === 'Second');

    // p: preview; p again: the text.
    await kb.press('p');
    await page.getByTestId('preview').locator('strong', { hasText: 'second' }).waitFor();
    await kb.press('p');
    await page.getByTestId('preview').waitFor({ state: 'detached' });

    // e: edit the text; Esc; then # deletes, z undoes.
    await kb.press('e');
    await page.waitForFunction(() => document.activeElement.id === 'note-content');
    await kb.press('End');
    await kb.type(' (edited)');
    await kb.press('Escape');
    await kb.press('#');
    await page.getByRole('button', { name: 'Undo' }).waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll('li.note')].some((l) => l.textContent.includes('Second')));
    await kb.press('z');
    await page.waitForSelector('li.note:has-text("(edited)")');
    assert.equal(await title(page), 'Second');

    // /: search, type, Esc.
    await kb.press('/');
    await page.waitForFunction(() => document.activeElement.id === 'search');
    await kb.type('first');
    await page.waitForFunction(() => document.querySelectorAll('li.note').length === 1);
    await kb.press('Escape');
    await kb.press('j');
    await page.waitForFunction(() => document.querySelector('#note-title').value === 'First');

    // A checkbox of the preview, by keyboard: Tab to it, Space.
    await kb.press('p');
    await page.getByTestId('preview').getByRole('checkbox').first().waitFor();
    await tabTo(page, () => document.activeElement.matches('.preview input.task'), 'a checkbox');
    await kb.press('Space');
    await page.waitForFunction(() => document.querySelector('#note-content').value.startsWith('- [x] one'));
    await kb.press('p');

    // s: sync now; a: the activity panel lists the runs.
    const runs = Number(await page.getByTestId('status').getAttribute('data-runs'));
    await kb.press('s');
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid=status]').dataset.runs) > n,
      runs,
    );
    await kb.press('a');
    await page.getByTestId('activity').locator('li.run[data-result="synced"]').first().waitFor();
    await kb.press('a');
    await page.getByTestId('activity').waitFor({ state: 'detached' });

    // ?: the overlay lists the shortcuts and keeps the focus; Esc closes it.
    await kb.press('?');
    const help = page.getByTestId('help');
    await help.waitFor({ state: 'visible' });
    assert.match(await help.textContent(), /New note.*Search.*Next note.*Previous note/s);
    assert.equal(await page.evaluate(() => document.activeElement.closest('dialog') !== null), true);
    await kb.press('Escape');
    await help.waitFor({ state: 'hidden' });
    // The shortcuts work again after it closed.
    await kb.press('n');
    await page.waitForFunction(() => document.activeElement.id === 'note-title');

    // Everything synced.
    await page.waitForFunction(
      () => [...document.querySelectorAll('li.note')].every((l) => l.dataset.sync === 'synced'),
      null,
      { timeout: 20_000 },
    );
  } finally {
    await p.close();
  }
});

// A row of the list lives as long as its note is listed: one drawn anew on each change (here
// its sync state, then its title from another device) took the keyboard's focus with it, and
// the next j or Tab started from the top of the page.
test('the focus stays on a note of the list while it syncs and changes', async () => {
  const p = await openProfile();
  try {
    const { page, context } = p;
    await openApp(page, server.base);
    await signIn(page, 'focus-user', 'Create account');
    await goOffline(context);
    await write(page, 'Kept in focus');
    await page.keyboard.press('Escape'); // leave the text field: the focus goes to the row
    const focused = () => page.evaluate(() => {
      const row = document.activeElement.closest('li.note');
      return row ? `${row.querySelector('h2').textContent} (${row.dataset.sync})` : document.activeElement.tagName;
    });
    await page.waitForFunction(() => document.activeElement.closest('li.note')?.dataset.sync === 'pending');

    // Back online, the page syncs by itself (a click on "Sync now" would move the focus).
    await goOnline(context);
    await page.waitForSelector('li.note[data-sync=synced]:has-text("Kept in focus")', { timeout: 20_000 });
    assert.equal(await focused(), 'Kept in focus (synced)', 'the focus stays on the row once its note is synced');

    // The same note renamed on another device: the row shows the new title, the focus stays.
    const other = await openProfile();
    try {
      await openApp(other.page, server.base);
      await signIn(other.page, 'focus-user', 'Sign in');
      await other.page.locator('li.note', { hasText: 'Kept in focus' }).locator('button.open').click();
      await other.page.fill('#note-title', 'Renamed elsewhere');
      await other.page.waitForSelector('li.note[data-sync=synced]:has-text("Renamed elsewhere")', { timeout: 20_000 });
    } finally {
      await other.close();
    }
    await page.waitForSelector('li.note[data-sync=synced]:has-text("Renamed elsewhere")', { timeout: 20_000 });
    assert.equal(await focused(), 'Renamed elsewhere (synced)', 'the focus stays on the row when another device renames its note');
  } finally {
    await p.close();
  }
});
