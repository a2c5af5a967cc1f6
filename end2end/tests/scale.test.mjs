// A notebook larger than a screen: the list shows one page and the count, "Show more" or
// scrolling to the end shows the next page, a row shows only the start of a long body, and
// search ranks title matches first, then the newest, and finds
// notes as they are edited.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listTitles, openApp, openProfile, startServer } from './harness.mjs';
import { seed } from './seed.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});


test('a large notebook: one page at a time, counted, searched by word prefix', async () => {
  const a = await openProfile();
  try {
    const page = a.page;
    await openApp(page, server.base);
    await seed(page, 450);
    await openApp(page, server.base);

    // The first page, newest first, and how many there are.
    await page.waitForSelector('[data-testid=count]:has-text("450 notes")');
    assert.equal(await page.locator('li.note').count(), 50);
    assert.deepEqual((await listTitles(page)).slice(0, 2), ['Note 449 work', 'Note 448 groceries']);
    await page.waitForSelector('p.more:has-text("Showing 50 of 450 notes")');
    // The button's click, without scrolling to it: scrolling brings the list's end into
    // sight, which reads a page more, moves the button, and under load a pointer click
    // chased it (a page more each time) until every note was shown and the button gone.
    await page.getByRole('button', { name: 'Show more' }).dispatchEvent('click');
    await page.waitForFunction(() => document.querySelectorAll('li.note').length >= 100);
    assert.equal((await listTitles(page))[99], 'Note 350 groceries');
    // Scrolling to the end of the list reads page after page, to the last note.
    await page.waitForFunction(
      () => {
        document.querySelector('p.more')?.scrollIntoView();
        return document.querySelectorAll('li.note').length === 450;
      },
      null,
      { polling: 100 },
    );
    assert.equal((await listTitles(page))[449], 'Note 0 groceries');
    assert.equal(await page.locator('p.more').count(), 0, 'everything shown');

    // A note with the word only in its body, newer than all: after the title matches.
    await page.getByRole('button', { name: 'New note' }).click();
    await page.fill('#note-title', 'Errands');
    await page.fill('#note-content', 'remember the groceries');
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    await page.waitForSelector('[data-testid=count]:has-text("451 notes")');

    await page.fill('#search', 'groc');
    await page.waitForSelector('[data-testid=count]:has-text("66 matching notes")');
    assert.equal(await page.locator('li.note').count(), 50, 'one page of results');
    await page.locator('p.more').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelectorAll('li.note').length === 66);
    const found = await listTitles(page);
    assert.equal(found.length, 66);
    assert.equal(found[0], 'Note 448 groceries', 'title matches first, newest first');
    assert.equal(found[65], 'Errands', 'then the body match');
    // Word prefixes only: "roceries" is inside a word.
    await page.fill('#search', 'roceries');
    await page.waitForSelector('[data-testid=count]:has-text("0 matching notes")');
    // Every word must match.
    await page.fill('#search', 'note 44 groc');
    await page.waitForSelector('[data-testid=count]:has-text("matching")');
    await page.waitForFunction(
      () => [...document.querySelectorAll('li.note h2')].map((h) => h.textContent).join('|') ===
        'Note 448 groceries|Note 441 groceries',
    );

    // An edit is found at once by its new words, and no longer by its old ones.
    await page.fill('#search', 'errands');
    await page.locator('li.note', { hasText: 'Errands' }).getByRole('button').first().click();
    await page.fill('#note-title', 'Zebra crossing');
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    await page.fill('#search', 'zebr');
    await page.waitForSelector('li.note:has-text("Zebra crossing")');
    await page.fill('#search', 'errands');
    await page.waitForSelector('[data-testid=count]:has-text("0 matching notes")');

    // A reload starts from the first page again, with the search index as it was saved
    // (or rebuilt) and caught up.
    await openApp(page, server.base);
    await page.waitForSelector('[data-testid=count]:has-text("451 notes")');
    assert.equal(await page.locator('li.note').count(), 50);
    assert.equal((await listTitles(page))[0], 'Zebra crossing');
    await page.fill('#search', 'zebra');
    await page.waitForSelector('[data-testid=count]:has-text("1 matching note")');
  } finally {
    await a.close();
  }
});

test('a row shows the start of a long body, the editor all of it', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    const body = Array.from({ length: 400 }, (_, i) => `line ${i} of a long note`).join('\n');
    await page.fill('#note-title', 'A book');
    await page.fill('#note-content', body);
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    const row = page.locator('li.note', { hasText: 'A book' });
    assert.equal(await row.locator('p').textContent(), 'line 0 of a long note\nline 1 of a long note\nline 2 of a long note');
    await openApp(page, server.base);
    await page.locator('li.note', { hasText: 'A book' }).getByRole('button').first().click();
    assert.equal(await page.inputValue('#note-content'), body);
  } finally {
    await p.close();
  }
});

test('a note written in another tab is found by search here at once, and after a reload', async () => {
  const p = await openProfile();
  try {
    const one = p.page;
    await openApp(one, server.base);
    await seed(one, 300);
    await openApp(one, server.base);
    await one.waitForSelector('[data-testid=count]:has-text("300 notes")');
    await one.fill('#search', 'groc');
    await one.waitForSelector('[data-testid=count]:has-text("43 matching notes")');

    // Another tab writes a note; this tab's search index catches up with the store's
    // change sequence, without reading every note again.
    const two = await p.context.newPage();
    await openApp(two, server.base);
    await two.fill('#note-title', 'Xylophone practice');
    await two.fill('#note-content', 'groceries after');
    await two.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    await one.fill('#search', 'xylo');
    await one.waitForSelector('li.note:has-text("Xylophone practice")');
    await one.fill('#search', 'groc');
    await one.waitForSelector('[data-testid=count]:has-text("44 matching notes")');
    await two.close();

    // After a reload, from the saved index (or a new build), caught up.
    await openApp(one, server.base);
    await one.waitForSelector('[data-testid=count]:has-text("301 notes")');
    await one.fill('#search', 'xylophone');
    await one.waitForSelector('[data-testid=count]:has-text("1 matching note")');
  } finally {
    await p.close();
  }
});
