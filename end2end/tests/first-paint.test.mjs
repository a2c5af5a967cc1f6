// The first paint (app/src/components/first_paint.rs): the start-up module is a shell that
// shows the list's first page as last shown, and the app (a module of its own) takes over
// when it has drawn its list. Here: the shell's rows while the app's module cannot load,
// the failure said and retried, a click in the shell done by the app when it takes over,
// no keystroke taken by the shell, and what a hostile note or a tampered stored page can do.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openApp, openProfile, signIn, startServer, write } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const APP_MODULE = /\/pkg\/split_app_full\.wasm$/;

/**
 * A profile with no service worker (every module from the network, where `gate` decides)
 * and the notes `titles` written, newest last.
 */
async function withNotes(titles) {
  const p = await openProfile();
  await p.context.route('**/sw.js', (r) => r.fulfill({ status: 404 }));
  const gate = { block: false, hold: null, blocked: 0, noWasm: false, holdWasm: null, wasmBlocked: 0 };
  await p.context.route(/\/pkg\/tern\.wasm$/, async (route) => {
    if (gate.noWasm) {
      gate.wasmBlocked += 1;
      return route.abort('internetdisconnected');
    }
    if (gate.holdWasm) await gate.holdWasm;
    return route.continue();
  });
  await p.context.route(APP_MODULE, async (route) => {
    if (gate.block) {
      gate.blocked += 1;
      return route.abort('internetdisconnected');
    }
    if (gate.hold) await gate.hold;
    return route.continue();
  });
  await openApp(p.page, server.base);
  for (const t of titles) await write(p.page, t, `${t} body`);
  return { ...p, gate };
}

/**
 * Holds the requests `gate[key]` guards ('hold': the app's module, 'holdWasm': the start-up
 * module) until the returned function is called.
 */
function holdUntilReleased(gate, key) {
  let release;
  gate[key] = new Promise((r) => {
    release = r;
  });
  return () => {
    gate[key] = null;
    release();
  };
}

/** The titles of the shell's rows, in order. */
async function shellTitles(page) {
  return page.locator('main.first-paint li.note h2').allTextContents();
}

test('the shell shows the list as last shown while the app module cannot load, says so, and the app takes over when it can', async () => {
  const p = await withNotes(['Alpha', 'Beta', 'Gamma']);
  try {
    const { page, gate } = p;
    gate.block = true;
    await page.reload();
    await page.getByTestId('app-failed').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('app-failed').textContent(), /could not be loaded/);
    assert.deepEqual(await shellTitles(page), ['Gamma', 'Beta', 'Alpha']);
    assert.equal(await page.locator('main.first-paint .count').textContent(), '3 notes');
    assert.ok(gate.blocked > 0);
    // The note field cannot be typed in: nothing typed there is taken, so none is lost.
    const field = page.locator('#first-paint-content');
    assert.equal(await field.getAttribute('readonly'), '');
    assert.equal(await field.getAttribute('placeholder'), 'Opening…');
    await field.click();
    await page.keyboard.type('lost?');
    assert.equal(await field.inputValue(), '');
    assert.equal(await page.locator('main[data-ready]').count(), 0, 'the app is not there');

    // "Retry" once the network is back: the app takes over, the shell is gone.
    gate.block = false;
    await page.getByTestId('app-failed').getByRole('button', { name: 'Retry' }).click();
    await page.waitForSelector('main[data-ready="true"]', { timeout: 30_000 });
    assert.equal(await page.locator('main.first-paint').count(), 0);
    assert.deepEqual(await page.locator('li.note h2').allTextContents(), ['Gamma', 'Beta', 'Alpha']);
  } finally {
    await p.close();
  }
});

test('the rows are drawn by the page itself, before any wasm runs', async () => {
  const p = await withNotes(['First', 'Second']);
  try {
    const { page, gate } = p;
    gate.noWasm = true; // not even the start-up module
    await page.reload();
    await page.waitForSelector('main.first-paint li.note');
    assert.deepEqual(await shellTitles(page), ['Second', 'First']);
    assert.equal(await page.locator('main.first-paint .count').textContent(), '2 notes');
    assert.equal(await page.evaluate(() => globalThis.ternPanic), undefined);
    assert.ok(gate.wasmBlocked > 0, 'the start-up module was asked for, and refused');
  } finally {
    await p.close();
  }
});

test('a row clicked in the shell is the note the app opens when it takes over', async () => {
  const p = await withNotes(['One', 'Two', 'Three']);
  try {
    const { page, gate } = p;
    const release = holdUntilReleased(gate, 'hold');
    await page.reload();
    await page.locator('main.first-paint li.note', { hasText: 'Three' }).click();
    // The last click wins.
    await page.locator('main.first-paint li.note', { hasText: 'Two' }).click();
    assert.equal(await page.locator('main.first-paint li.note.selected h2').textContent(), 'Two');
    release();
    await page.waitForSelector('main[data-ready="true"]', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('#note-title')?.value === 'Two');
    assert.equal(await page.locator('#note-content').inputValue(), 'Two body');
    // And it is editable there.
    await page.locator('#note-content').press('End');
    await page.keyboard.type(' more');
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    await page.locator('li.note', { hasText: 'Two' }).click();
    await page.waitForFunction(() => document.querySelector('#note-content')?.value === 'Two body more');
  } finally {
    await p.close();
  }
});

test('a row clicked before the start-up module runs is the note the app opens', async () => {
  const p = await withNotes(['Early', 'Later']);
  try {
    const { page, gate } = p;
    const release = holdUntilReleased(gate, 'holdWasm');
    await page.reload();
    await page.locator('main.first-paint li.note', { hasText: 'Early' }).click();
    assert.equal(await page.locator('main.first-paint li.note.selected h2').textContent(), 'Early');
    release();
    await page.waitForSelector('main[data-ready="true"]', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('#note-title')?.value === 'Early');
  } finally {
    await p.close();
  }
});

test('"New note" clicked in the shell starts a new note when the app takes over', async () => {
  const p = await withNotes(['Old']);
  try {
    const { page, gate } = p;
    const release = holdUntilReleased(gate, 'hold');
    await page.reload();
    // A row first, then "New note": the last click wins, and the row is no longer marked.
    await page.locator('main.first-paint li.note', { hasText: 'Old' }).click();
    await page.locator('main.first-paint').getByRole('button', { name: 'New note' }).click();
    assert.equal(await page.locator('main.first-paint li.note.selected').count(), 0);
    release();
    await page.waitForSelector('main[data-ready="true"]', { timeout: 30_000 });
    await page.waitForFunction(() => document.activeElement?.id === 'note-title');
    assert.equal(await page.locator('#note-title').inputValue(), '');
    assert.equal(await page.locator('#note-content').inputValue(), '');
  } finally {
    await p.close();
  }
});

test('a hostile note is text in the shell, and a tampered or oversized stored page is cut or ignored', async () => {
  const hostile = '<img src=x onerror="globalThis.pwned=1">';
  const p = await withNotes([hostile, 'x'.repeat(5000), '😀'.repeat(300)]);
  try {
    const { page, gate } = p;
    gate.block = true;
    await page.reload();
    await page.getByTestId('app-failed').waitFor({ timeout: 30_000 });
    const titles = await shellTitles(page);
    assert.equal(titles[2], hostile, 'shown as text');
    assert.equal(await page.locator('main.first-paint img').count(), 0);
    assert.equal(await page.evaluate(() => globalThis.pwned), undefined);
    assert.equal(titles[1].length, 200, 'a title is cut to 200 characters');
    assert.equal(Array.from(titles[0]).length, 200, 'characters, not UTF-16 units');

    // A value written by a script (or an older build) that does not read: an empty list.
    const good = { id: 'n1', title: 'ok', snippet: '', date: '', pinned: false, notebook: '', tags: '' };
    for (const bad of [
      '{"rows": 5}',
      JSON.stringify({ written: Date.now(), count: '1 note', rows: [5] }),
      JSON.stringify({ written: Date.now(), count: '2 notes', rows: [good, { ...good, pinned: 'yes' }] }),
      JSON.stringify({ written: Date.now(), count: '2 notes', rows: [good, { ...good, title: 7 }] }),
    ]) {
      await page.evaluate((v) => localStorage.setItem('tern-first-page', v), bad);
      await page.reload();
      await page.getByTestId('app-failed').waitFor({ timeout: 30_000 });
      assert.deepEqual(await shellTitles(page), [], bad);
    }
    // Too many rows, too long: at most 50 rows of 200 characters.
    await page.evaluate(() => {
      const row = (i) => ({ id: `n${i}`, title: 'y'.repeat(10_000), snippet: '', date: '', pinned: false, notebook: '', tags: '' });
      localStorage.setItem('tern-first-page', JSON.stringify({ written: Date.now(), count: '9 notes', rows: Array.from({ length: 500 }, (_, i) => row(i)) }));
    });
    await page.reload();
    await page.getByTestId('app-failed').waitFor({ timeout: 30_000 });
    const many = await shellTitles(page);
    assert.equal(many.length, 50);
    assert.ok(many.every((t) => t.length === 200));

    // The app still starts, and writes the list as it is.
    gate.block = false;
    await page.getByTestId('app-failed').getByRole('button', { name: 'Retry' }).click();
    await page.waitForSelector('main[data-ready="true"]', { timeout: 30_000 });
    await page.waitForFunction(() => JSON.parse(localStorage.getItem('tern-first-page')).rows.length === 3);
  } finally {
    await p.close();
  }
});

/** The stored first page's titles (after the pending write, which waits 1 s). */
async function storedTitles(page) {
  await page.waitForTimeout(1_500);
  return page.evaluate(() => (JSON.parse(localStorage.getItem('tern-first-page') ?? 'null')?.rows ?? []).map((r) => r.title));
}

test('after a sign-out the next start shows none of the account\'s notes', async () => {
  const p = await withNotes(['Guest note']);
  try {
    const { page, gate } = p;
    await signIn(page, 'first-paint-privacy', 'Create account');
    await write(page, 'Secret title', 'private');
    await page.waitForFunction(() => localStorage.getItem('tern-first-page')?.includes('Secret title'), null, { timeout: 10_000 });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('signin-open').waitFor();
    // Gone as soon as the page shows nobody's notes (not only once the list is rewritten).
    assert.ok(!(await page.evaluate(() => localStorage.getItem('tern-first-page') ?? '')).includes('Secret title'));
    assert.ok(!(await storedTitles(page)).includes('Secret title'));
    gate.block = true;
    await page.reload();
    await page.getByTestId('app-failed').waitFor({ timeout: 30_000 });
    const shown = await shellTitles(page);
    assert.ok(!shown.includes('Secret title'), `shown: ${shown}`);
  } finally {
    await p.close();
  }
});

test('a page stored on another day shows no dates (they would be wrong), a search is not stored', async () => {
  const p = await withNotes(['Dated']);
  try {
    const { page, gate } = p;
    await page.fill('#search', 'nothing matches this');
    await page.waitForSelector('[data-testid=count]:has-text("0 matching notes")');
    assert.deepEqual(await storedTitles(page), ['Dated'], 'the list a start shows, not the search');
    await page.evaluate(() => {
      const v = JSON.parse(localStorage.getItem('tern-first-page'));
      v.written -= 2 * 24 * 3600 * 1000;
      localStorage.setItem('tern-first-page', JSON.stringify(v));
    });
    gate.block = true;
    await page.reload();
    await page.getByTestId('app-failed').waitFor({ timeout: 30_000 });
    assert.deepEqual(await shellTitles(page), ['Dated']);
    assert.equal(await page.locator('main.first-paint li.note time').textContent(), '');
  } finally {
    await p.close();
  }
});
