// The open editor is never stale and never overwrites: what arrives while a note is open
// (another device's edit, its delete) shows at once, is merged into what the user is
// typing (caret kept), and a delete is shown and offered back; keystrokes typed while a
// new note is being created are all saved.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  noteItem,
  openApp,
  openProfile,
  readIndexedDbNotes,
  signIn,
  startServer,
  syncNow,
  syncUntil,
} from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const editorText = (page) => page.locator('#note-content').inputValue();
const listText = (page) => page.locator('li.note p').allTextContents();

/** Two profiles of one new account, both with one synced note open in the editor. */
async function twoDevicesWithNoteOpen(username, content) {
  const one = await openProfile();
  const two = await openProfile();
  const [d1, d2] = [one.page, two.page];
  await openApp(d1, server.base);
  await signIn(d1, username, 'Create account');
  await d1.fill('#note-title', 'Shared');
  await d1.fill('#note-content', content);
  await d1.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });
  await openApp(d2, server.base);
  await signIn(d2, username, 'Sign in');
  await noteItem(d2, content).waitFor({ timeout: 15_000 });
  await noteItem(d2, content).getByRole('button').first().click();
  assert.equal(await editorText(d2), content);
  assert.equal(await editorText(d1), content, 'still open on device 1');
  return { one, two, d1, d2 };
}

/** Puts the caret at the end of the editor's text and types `text`. */
async function typeAtEnd(page, text) {
  await page.focus('#note-content');
  await page.keyboard.press('End');
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
}

test('an open editor shows the other device\'s edit at once, and typing keeps both', async () => {
  const { one, two, d1, d2 } = await twoDevicesWithNoteOpen('opal', 'one');
  try {
    // Device 2 adds a word and syncs.
    await typeAtEnd(d2, ' two');
    await d2.waitForSelector('li.note[data-sync="synced"]:has-text("one two")', { timeout: 15_000 });

    // Device 1's open editor shows it after its sync (it showed "one" on main).
    await syncUntil(d1, async () => (await editorText(d1)) === 'one two', 'editor shows "one two"');

    // Device 1 types "!": both words stay.
    await typeAtEnd(d1, '!');
    await d1.waitForSelector('li.note[data-sync="synced"]:has-text("one two!")', { timeout: 15_000 });
    await syncUntil(d2, async () => (await listText(d2)).includes('one two!'), 'device 2 has "one two!"');
    assert.equal(await editorText(d2), 'one two!', "device 2's open editor follows too");
    for (const d of [d1, d2]) {
      assert.deepEqual(await listText(d), ['one two!']);
      assert.equal(await d.getByTestId('conflict').count(), 0);
    }
  } finally {
    await one.close();
    await two.close();
  }
});

test('typing while a remote edit arrives: merged into the typing, caret kept', async () => {
  const { one, two, d1, d2 } = await twoDevicesWithNoteOpen('pia', 'alpha beta');
  try {
    // Device 2 adds a word at the end and syncs.
    await typeAtEnd(d2, ' omega');
    await d2.waitForSelector('li.note[data-sync="synced"]:has-text("beta omega")', {
      timeout: 15_000,
    });

    // Device 1 types in the middle, after "alpha", slowly; its sync lands while it types.
    await d1.focus('#note-content');
    await d1.evaluate(() => document.querySelector('#note-content').setSelectionRange(5, 5));
    const typing = d1.keyboard.type(' one two three four', { delay: 80 });
    await d1.waitForFunction(() => document.querySelector('#note-content').value.includes('one t'));
    // Clicked without taking the focus from the editor, so the typing goes on meanwhile.
    await d1.evaluate(() =>
      [...document.querySelectorAll('button')].find((b) => b.textContent === 'Sync now').click(),
    );
    await typing;
    const expected = 'alpha one two three four beta omega';
    await d1.waitForFunction(
      (e) => document.querySelector('#note-content').value === e,
      expected,
      { timeout: 15_000 },
    );
    await d1.waitForSelector('[data-testid=saved]:has-text("saved on this device")');
    await syncUntil(
      d1,
      async () => (await d1.locator('li.note').getAttribute('data-sync')) === 'synced',
      'device 1 synced',
    );
    assert.deepEqual(await listText(d1), [expected]);
    await syncUntil(d2, async () => (await listText(d2)).includes(expected), 'device 2 has both');
    assert.equal(await editorText(d2), expected);
  } finally {
    await one.close();
    await two.close();
  }
});

test('a remote delete of the open note is shown, offered back, and not undone by typing', async () => {
  const { one, two, d1, d2 } = await twoDevicesWithNoteOpen('quinn', 'keep me');
  try {
    await d2.getByRole('button', { name: 'Delete' }).click();
    await noteItem(d2, 'keep me').waitFor({ state: 'detached' });
    await syncUntil(d2, async () => (await d2.getByTestId('status').textContent()).includes('0 pending'), 'delete pushed');

    await syncUntil(
      d1,
      async () => (await d1.getByTestId('deleted-underneath').count()) === 1,
      'the delete is shown',
    );
    assert.match(await d1.getByTestId('deleted-underneath').textContent(), /deleted on another device/);
    assert.equal(await noteItem(d1, 'keep me').count(), 0);
    // The editor still shows the text; typing does not bring the note back.
    assert.equal(await editorText(d1), 'keep me');
    await typeAtEnd(d1, ' typed');
    await syncNow(d1);
    assert.equal(await noteItem(d1, 'keep me').count(), 0);
    assert.equal(await d1.getByTestId('status').textContent().then((t) => t.includes('0 pending')), true);
    await syncNow(d2);
    assert.equal(await noteItem(d2, 'keep me').count(), 0, 'still deleted everywhere');

    // "Restore" brings it back, everywhere.
    await d1.getByTestId('deleted-underneath').getByRole('button', { name: 'Restore' }).click();
    await noteItem(d1, 'keep me').waitFor();
    await syncUntil(d1, async () => (await d1.locator('li.note').getAttribute('data-sync')) === 'synced', 'restore pushed');
    await syncUntil(d2, async () => (await noteItem(d2, 'keep me').count()) === 1, 'restored on device 2');
    assert.equal(await d1.getByTestId('deleted-underneath').count(), 0);
  } finally {
    await one.close();
    await two.close();
  }
});

test('keystrokes typed while a new note is being created are all saved', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    // (Test instrument: another connection holds a read-write transaction on the notes
    // store, so the create's write waits until it is released.)
    await page.evaluate(
      () =>
        new Promise((ok) => {
          const r = indexedDB.open(document.querySelector('main').dataset.store);
          r.onsuccess = () => {
            const tx = r.result.transaction('notes', 'readwrite');
            const notes = tx.objectStore('notes');
            const spin = () => {
              if (!window.__release) notes.get('none').onsuccess = spin;
            };
            spin();
            window.__held = new Promise((done) => (tx.oncomplete = done));
            ok();
          };
        }),
    );
    await page.focus('#note-content');
    // Each keystroke after the save debounce (250 ms): the first starts the create, the
    // others' saves come while it waits.
    for (const key of ['a', 'b', 'c']) {
      await page.keyboard.type(key);
      await page.waitForTimeout(600);
    }
    await page.evaluate(() => {
      window.__release = true;
      return window.__held;
    });
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")', {
      timeout: 10_000,
    });
    await noteItem(page, 'abc').waitFor({ timeout: 10_000 });
    const stored = await readIndexedDbNotes(page);
    assert.deepEqual(
      stored.map((n) => n.content),
      ['abc'],
      'one note, every keystroke in it',
    );
    assert.equal(await editorText(page), 'abc');
  } finally {
    await p.close();
  }
});

// Keystrokes around a click on the open note, around "New note",
// and a device typing twice into one note with a re-click in between. Each waits on the
// app's own signals (the save label, the store), never on a guess of how fast it is.

/** Waits until every keystroke is saved (the label says so), then the stored notes. */
async function settled(page) {
  try {
    await page.waitForFunction(
      () => /saved on this device/i.test(document.querySelector('[data-testid=saved]').textContent),
      null,
      { timeout: 15_000 },
    );
  } catch (e) {
    const label = await page.getByTestId('saved').textContent();
    throw new Error(`never saved: the label says "${label}", the editor holds "${await editorText(page)}"`);
  }
  return readIndexedDbNotes(page);
}

/** Clicks the list's entry of the note whose body has `text` (in the page: no gap). */
const clickNote = (page, text) =>
  page.evaluate((t) => {
    const li = [...document.querySelectorAll('li.note')].find((l) => l.textContent.includes(t));
    li.querySelector('button.open').click();
  }, text);

test('clicking the open note while typing keeps every keystroke in place', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    await page.fill('#note-title', 'Alpha');
    await page.fill('#note-content', 'start Alpha');
    await noteItem(page, 'start Alpha').waitFor();
    await settled(page);
    for (const round of [1, 2, 3]) {
      // Type, click the open note in the list at once (within the save's debounce), go
      // back to the end of the text and type on.
      await typeAtEnd(page, ` one${round}`);
      await clickNote(page, 'start Alpha');
      await typeAtEnd(page, ` two${round}`);
    }
    const expected = 'start Alpha one1 two1 one2 two2 one3 two3';
    const stored = await settled(page);
    assert.equal(await editorText(page), expected, 'the editor');
    assert.deepEqual(stored.map((n) => n.content), [expected], 'the stored note');
    assert.equal(stored[0].conflict ?? null, null, 'no conflict with itself');
    assert.equal(await page.getByTestId('conflict').count(), 0);
  } finally {
    await p.close();
  }
});

test('"New note" right after typing: the new note gets every keystroke of its title', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    await page.fill('#note-title', 'First');
    await page.fill('#note-content', 'first body');
    await noteItem(page, 'first body').waitFor();
    await settled(page);
    // Typed into the open note, then "New note" clicked within the debounce, and the new
    // title typed with the keyboard.
    await typeAtEnd(page, ' more');
    await page.getByRole('button', { name: 'New note' }).first().click();
    await page.keyboard.type('New0');
    // Pasted title, then a click into the body and typing there.
    await page.getByRole('button', { name: 'New note' }).first().click();
    await page.keyboard.insertText('N3');
    await page.click('#note-content');
    await page.keyboard.type('body three');
    const stored = await settled(page);
    assert.equal(await page.locator('#note-title').inputValue(), 'N3');
    assert.equal(await editorText(page), 'body three');
    const texts = stored.map((n) => `${n.title}|${n.content}`).sort();
    assert.deepEqual(texts, ['First|first body more', 'N3|body three', 'New0|']);
  } finally {
    await p.close();
  }
});

test('a device typing twice into a note with a re-click in between never conflicts with itself', async () => {
  const { one, two, d1, d2 } = await twoDevicesWithNoteOpen('rhea', 'alpha');
  try {
    for (const word of ['one', 'two', 'three']) {
      await typeAtEnd(d1, ` ${word}`);
      // Just after its save (the debounce), before or after the list re-reads.
      await settled(d1);
      await clickNote(d1, 'alpha');
    }
    await typeAtEnd(d1, ' four');
    const expected = 'alpha one two three four';
    await settled(d1);
    assert.equal(await editorText(d1), expected);
    await syncUntil(
      d1,
      async () => (await d1.locator('li.note').getAttribute('data-sync')) === 'synced',
      'device 1 synced',
    );
    await syncUntil(d2, async () => (await listText(d2)).includes(expected), 'device 2 has it');
    for (const d of [d1, d2]) {
      assert.equal(await editorText(d), expected);
      assert.equal(await d.getByTestId('conflict').count(), 0, 'no conflict');
      const stored = await readIndexedDbNotes(d);
      assert.deepEqual(stored.map((n) => [n.content, n.conflict ?? null]), [[expected, null]]);
    }
  } finally {
    await one.close();
    await two.close();
  }
});
