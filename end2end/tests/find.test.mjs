// Find: the search box's filters (`tag:`, `notebook:`, `is:pinned`) with words, the list's
// sort, and the sidebar's counts, in a real browser against the real server. The notes are
// filed by another device of the account (over the sync API, as a phone would), then the
// page syncs them and answers from its search index.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, api, listTitles, openApp, openProfile, serverNotes, signIn, startServer, syncUntil } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const t0 = Date.now() - 3_600_000;
let seq = 0;
/** A change from the other device: a new record (or a new state of one at `base`). */
const change = (id, title, fields = {}, { base = null, content = '' } = {}) => ({
  change_id: `c-find-${seq++}`,
  note_id: id,
  hlc: `${t0 + seq * 1000}-00000000-otherdev`,
  base_version: base,
  title,
  content,
  deleted: false,
  fields,
});

/**
 * Types into the search box and waits for the list to answer that search (`data-query`: the
 * previous search's results may have the same count) with `total` matches.
 */
async function search(page, text, total) {
  await page.fill('#search', text);
  await page.waitForFunction(
    ([q, t]) => {
      const ul = document.querySelector('ul.notes');
      return (
        ul.dataset.query === q &&
        ul.dataset.total === String(t) &&
        document.querySelectorAll('li.note').length === Math.min(t, 50)
      );
    },
    [text, total],
    { timeout: 15_000 },
  );
  return listTitles(page);
}

/** The list's `data-counts` as a map (`all`, `pinned`, `tag:ID`, `notebook:ID`). */
async function counts(page) {
  const attr = await page.locator('ul.notes').getAttribute('data-counts');
  return new Map((attr ?? '').split(' ').filter(Boolean).map((p) => [p.slice(0, p.lastIndexOf(':')), Number(p.slice(p.lastIndexOf(':') + 1))]));
}

test('tag:, notebook: and is:pinned with words, sorting by title and created, counts', async () => {
  const { token } = await api(server.base, '/auth/signup', { username: 'finder', password: PASSWORD });
  // Created dates in the opposite order of the changes (an import keeps a file's date).
  const created = (i) => ({ created: t0 - i * 86_400_000 });
  await api(
    server.base,
    '/sync',
    {
      protocol: 1,
      cursor: null,
      changes: [
        change('t-work', 'Work', { kind: 'tag' }),
        change('t-home', 'home', { kind: 'tag' }),
        change('nb-proj', 'Projects', { kind: 'notebook' }),
        change('nb-launch', 'Big Launch', { kind: 'notebook', parent: 'nb-proj' }),
        change('n-buy', 'Buy milk', { tags: { add: ['t-work'] }, ...created(1) }),
        change('n-party', 'Milk for the office party', { tags: { add: ['t-work'] }, notebook: 'nb-launch', ...created(2) }),
        change('n-oat', 'Oat milk', { tags: { add: ['t-home'] }, ...created(3) }),
        change('n-plan', 'Work plan', { tags: { add: ['t-work'] }, ...created(4) }, { content: 'milestones' }),
        change('n-zebra', 'Zebra facts', { pinned: true, notebook: 'nb-proj', ...created(5) }),
        change('n-apple', 'apple pie', created(6)),
        // Hostile text: operators in a note's title are its words, never its filing.
        change('n-fake', 'tag:work is:pinned milk', created(7)),
      ],
    },
    token,
  );

  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    await signIn(page, 'finder', 'Sign in');
    await page.waitForSelector('[data-testid=count]:has-text("7 notes")', { timeout: 30_000 });

    // Words and a tag: both required; names case-insensitive; title matches, newest first.
    assert.deepEqual(await search(page, 'tag:work milk', 2), ['Milk for the office party', 'Buy milk']);
    assert.deepEqual(await search(page, 'TAG:WORK', 3), ['Work plan', 'Milk for the office party', 'Buy milk']);
    assert.match(await page.getByTestId('count').textContent(), /3 matching notes/);
    // A notebook finds its sub-notebooks' notes; a path finds only that one.
    assert.deepEqual(await search(page, 'notebook:projects', 2), ['Zebra facts', 'Milk for the office party']);
    assert.deepEqual(await search(page, 'notebook:"Projects/Big Launch"', 1), ['Milk for the office party']);
    assert.deepEqual(await search(page, 'is:pinned', 1), ['Zebra facts']);
    assert.deepEqual(await search(page, 'is:pinned tag:work', 0), []);
    // A name no tag has: no notes. A bad operator is words (here matching none).
    assert.deepEqual(await search(page, 'tag:nothing', 0), []);
    assert.deepEqual(await search(page, 'is:other', 0), []);
    // The hostile title is found by its words only.
    assert.deepEqual(await search(page, 'is pinned', 1), ['tag:work is:pinned milk']);
    // A flood of operators is bounded work: answered at once.
    const flood = Array.from({ length: 2000 }, (_, i) => `tag:x${i} notebook:a/b${i}`).join(' ');
    assert.deepEqual(await search(page, flood, 0), []);

    // Sorting: by title (case-insensitive), by creation date, back to last changed.
    await search(page, '', 7);
    await page.getByTestId('sort').selectOption('title');
    await page.waitForFunction(() => document.querySelector('li.note h2')?.textContent === 'apple pie');
    assert.deepEqual(await listTitles(page), [
      'apple pie',
      'Buy milk',
      'Milk for the office party',
      'Oat milk',
      'tag:work is:pinned milk',
      'Work plan',
      'Zebra facts',
    ]);
    // A filter keeps the sort.
    assert.deepEqual(await search(page, 'tag:work', 3), ['Buy milk', 'Milk for the office party', 'Work plan']);
    await search(page, '', 7);
    await page.getByTestId('sort').selectOption('created');
    await page.waitForFunction(() => document.querySelector('li.note h2')?.textContent === 'Buy milk');
    assert.deepEqual((await listTitles(page)).slice(0, 3), ['Buy milk', 'Milk for the office party', 'Oat milk']);
    await page.getByTestId('sort').selectOption('modified');
    await page.waitForFunction(() => document.querySelector('li.note h2')?.textContent === 'tag:work is:pinned milk');

    // The counts: per tag and notebook record id (directly in it), pinned, all.
    await page.waitForFunction(() => document.querySelector('ul.notes').dataset.counts);
    let c = await counts(page);
    assert.equal(c.get('all'), 7);
    assert.equal(c.get('pinned'), 1);
    assert.equal(c.get('tag:t-work'), 3);
    assert.equal(c.get('tag:t-home'), 1);
    assert.equal(c.get('notebook:nb-proj'), 1);
    assert.equal(c.get('notebook:nb-launch'), 1);

    // The other device tags "Oat milk" with Work too: the count follows, and the filter.
    const oat = (await serverNotes(server.base, 'finder')).find((n) => n.id === 'n-oat');
    await api(
      server.base,
      '/sync',
      { protocol: 1, cursor: null, changes: [change('n-oat', 'Oat milk', { tags: { add: ['t-work'] } }, { base: oat.version })], limit: 1 },
      token,
    );
    await syncUntil(page, async () => (await counts(page)).get('tag:t-work') === 4, 'the tag added is counted');
    assert.equal((await counts(page)).get('tag:t-home'), 1);
    assert.deepEqual(await search(page, 'tag:work milk', 3), ['Oat milk', 'Milk for the office party', 'Buy milk']);
  } finally {
    await p.close();
  }
});
