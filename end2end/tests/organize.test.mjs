// Organizing notes in real Chromium (issue 22): notebooks (nested) from the sidebar, a note
// moved by the editor's picker and by dragging it onto a notebook, the sidebar's filters as
// search queries, tags with completion, pins, dates in the list and the editor, the
// multi-select (mouse and keyboard) with its move / tag / pin / delete and one "Undo", the
// phone's drawer, the settings view, a tag reaching another device, and a hostile name
// shown as text. Screenshots of each new screen at 390 and 1280 px, light and dark.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  noteItem,
  openApp,
  openProfile,
  openSettings,
  signIn,
  startServer,
  syncUntil,
  write,
} from './harness.mjs';
import { screenshots } from './shots.mjs';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const notebook = (page, path) => page.locator(`[data-testid=notebook][data-path="${path}"]`);
const searchValue = (page) => page.locator('#search').inputValue();

/** Adds a notebook with the sidebar's "+" (top level) or a notebook's menu (inside `parent`). */
async function addNotebook(page, name, parent) {
  if (parent) {
    await notebook(page, parent).getByRole('button', { name: `More for ${parent.split('/').pop()}` }).click();
    await page.getByRole('button', { name: 'Add a notebook inside' }).click();
  } else {
    await page.getByTestId('notebook-add').click();
  }
  await page.getByTestId('name-field').fill(name);
  await page.getByTestId('name-field').press('Enter');
  await notebook(page, parent ? `${parent}/${name}` : name).waitFor();
}

/** Opens the note whose row holds `text` (a plain click). */
async function open(page, text) {
  await noteItem(page, text).getByRole('button').first().click();
  await page.waitForFunction(
    (t) => document.querySelector('#note-title').value.includes(t) || document.querySelector('#note-content').value.includes(t),
    text,
  );
  await page.getByTestId('note-meta').waitFor();
}

test('notebooks: nested, a note moved by the picker and by drag, the sidebar sets the search, rename, dates', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    // No console error (a CSP violation, an inline style, is one).
    const errors = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.setViewportSize(DESKTOP);
    await openApp(page, server.base);
    await write(page, 'Alpha', 'first');
    await write(page, 'Beta', 'second');

    await addNotebook(page, 'Work');
    await addNotebook(page, 'Projects', 'Work');
    // The tree: Projects inside Work.
    assert.equal(await notebook(page, 'Work/Projects').getAttribute('data-depth'), '1');
    // Indented under the CSP (no inline style: a stylesheet rule per level).
    const indent = (path) =>
      notebook(page, path).locator('.entry-row').evaluate((e) => parseFloat(getComputedStyle(e).paddingLeft));
    assert.ok((await indent('Work/Projects')) > (await indent('Work')), 'nested is indented');

    // The picker: Alpha into Work/Projects; its row and the picker say so.
    await open(page, 'Alpha');
    await page.getByTestId('notebook-picker').selectOption({ label: 'Work/Projects' });
    await noteItem(page, 'Alpha').locator('.in-notebook', { hasText: 'Projects' }).waitFor();
    // Dates: in the editor and in the row (the note was made just now).
    assert.match(await page.getByTestId('dates').textContent(), /^Created Today \d\d:\d\d · Modified Today \d\d:\d\d$/);
    assert.match(await noteItem(page, 'Alpha').locator('time').textContent(), /^Today \d\d:\d\d$/);

    // Drag and drop: Beta onto Work.
    await noteItem(page, 'Beta').dragTo(notebook(page, 'Work').locator('.entry').first());
    await noteItem(page, 'Beta').locator('.in-notebook', { hasText: 'Work' }).waitFor();

    // Selecting a notebook sets the search box's query and highlights it.
    await notebook(page, 'Work/Projects').locator('.entry').first().click();
    assert.equal(await searchValue(page), 'notebook:"Work/Projects"');
    assert.equal(await notebook(page, 'Work/Projects').locator('.entry').first().getAttribute('aria-current'), 'true');
    // The search filters: only Alpha is in Projects; Work holds Beta and, inside it, Alpha.
    await page.waitForFunction(() => document.querySelectorAll('li.note').length === 1);
    await noteItem(page, 'Alpha').waitFor();
    await notebook(page, 'Work').locator('.entry').first().click();
    await page.waitForFunction(() => document.querySelectorAll('li.note').length === 2);
    // Counts beside the entries (from the search index).
    await notebook(page, 'Work/Projects').getByTestId('entry-count').filter({ hasText: '1' }).waitFor();
    await page.getByTestId('filter-all').getByTestId('entry-count').filter({ hasText: '2' }).waitFor();
    await page.getByTestId('filter-pinned').click();
    assert.equal(await searchValue(page), 'is:pinned');
    await page.getByTestId('filter-all').click();
    assert.equal(await searchValue(page), '');
    assert.equal(await page.getByTestId('filter-all').getAttribute('aria-current'), 'true');

    // Rename by double click: one edit of the notebook; the notes in it show the new name.
    await notebook(page, 'Work').locator('.entry').first().dblclick();
    await page.getByTestId('name-field').fill('Job');
    await page.getByTestId('name-field').press('Enter');
    await notebook(page, 'Job/Projects').waitFor();
    // (The double click chose the notebook too: the search follows its new name.)
    await page.waitForFunction(() => document.querySelector('#search').value === 'notebook:Job');
    await page.getByTestId('filter-all').click();
    await noteItem(page, 'Beta').locator('.in-notebook', { hasText: 'Job' }).waitFor();
    await open(page, 'Alpha');
    await screenshots(page, 'organize-three-panes');

    // A notebook moves into another from its menu (not into itself or below it).
    await addNotebook(page, 'Archive');
    await notebook(page, 'Archive').getByRole('button', { name: 'More for Archive' }).click();
    const into = page.getByTestId('notebook-move-into');
    assert.deepEqual(await into.locator('option').allTextContents(), ['Move into…', 'Job', 'Job/Projects']);
    await into.selectOption({ label: 'Job/Projects' });
    await notebook(page, 'Job/Projects/Archive').waitFor();
    await notebook(page, 'Job').getByRole('button', { name: 'More for Job' }).click();
    assert.equal(await into.count(), 0, 'nowhere to move Job: every other notebook is inside it');

    // Removing a notebook: its notes stay, shown in no notebook.
    await notebook(page, 'Job/Projects').getByRole('button', { name: 'More for Projects' }).click();
    await page.getByRole('button', { name: 'Remove notebook' }).click();
    await notebook(page, 'Job/Projects').waitFor({ state: 'detached' });
    await noteItem(page, 'Alpha').locator('.in-notebook').waitFor({ state: 'detached' });
    assert.equal(await noteItem(page, 'Alpha').count(), 1);
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
  }
});

test('tags with completion, pin, and the multi-select: move, tag, pin and delete several with one Undo', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(DESKTOP);
    await openApp(page, server.base);
    await write(page, 'One', 'uno');
    await write(page, 'Two', 'dos');
    await write(page, 'Three', 'tres');

    // A new tag with Enter; on the next note, completion offers it.
    await open(page, 'uno');
    await page.getByTestId('tag-input').fill('work');
    await page.getByTestId('tag-input').press('Enter');
    await page.getByTestId('tag-chip').filter({ hasText: '#work' }).waitFor();
    await page.getByTestId('tags').getByText('#work').waitFor();
    await open(page, 'dos');
    await page.getByTestId('tag-input').fill('wo');
    const offer = page.getByTestId('tag-suggestions').getByRole('button', { name: '#work' });
    await offer.waitFor();
    await screenshots(page, 'organize-tag-completion');
    await offer.click();
    await page.getByTestId('tag-chip').filter({ hasText: '#work' }).waitFor();
    await noteItem(page, 'dos').locator('.row-tags', { hasText: '#work' }).waitFor();
    // The tag's entry filters the list to its two notes.
    await page.getByTestId('tags').getByText('#work').click();
    assert.equal(await searchValue(page), 'tag:work');
    await page.waitForFunction(() => document.querySelectorAll('li.note').length === 2);
    await page.getByTestId('tags').getByTestId('entry-count').filter({ hasText: '2' }).waitFor();
    await page.getByTestId('filter-all').click();
    await page.waitForFunction(() => document.querySelectorAll('li.note').length === 3);
    assert.equal(await page.getByTestId('tags').locator('[data-testid=tag]').count(), 1, 'no second tag made');

    // Pin: the button, the row's mark.
    await page.getByTestId('pin').click();
    await page.waitForSelector('[data-testid=pin][aria-pressed="true"]');
    await page.waitForSelector('li.note[data-pinned="true"] .pin-mark');

    // A notebook to move into.
    await addNotebook(page, 'Inbox');

    // Ctrl-click: the open note (Two) and One.
    await noteItem(page, 'uno').getByRole('button').first().click({ modifiers: ['Control'] });
    const count = page.getByTestId('selection-count');
    await count.filter({ hasText: '2 selected' }).waitFor();
    await page.getByTestId('selection-move').selectOption({ label: 'Inbox' });
    await noteItem(page, 'uno').locator('.in-notebook', { hasText: 'Inbox' }).waitFor();
    await noteItem(page, 'dos').locator('.in-notebook', { hasText: 'Inbox' }).waitFor();
    assert.equal(await page.getByTestId('selection-move').inputValue(), '', 'back to "Move to…"');
    await page.getByTestId('selection-tag').fill('later');
    await page.getByTestId('selection-tag').press('Enter');
    await noteItem(page, 'uno').locator('.row-tags', { hasText: '#later' }).waitFor();
    await noteItem(page, 'dos').locator('.row-tags', { hasText: '#later' }).waitFor();
    assert.equal(await noteItem(page, 'tres').locator('.row-tags').count(), 0, 'the others are untouched');
    await screenshots(page, 'organize-multi-select');

    // Escape clears it (the first leaves the tag field); Shift-click selects a range.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.getByTestId('selection-bar').waitFor({ state: 'detached' });
    // (Each organizing edit is a change: the order, newest first, is read from the page.)
    const rows = page.locator('li.note');
    const order = () => rows.evaluateAll((els) => els.map((e) => e.dataset.id));
    await open(page, 'tres');
    const three = await noteItem(page, 'tres').getAttribute('data-id');
    let ids = await order();
    const at = ids.indexOf(three);
    const other = at === 0 ? ids.length - 1 : 0;
    await rows.nth(other).getByRole('button').first().click({ modifiers: ['Shift'] });
    await count.filter({ hasText: `${Math.abs(at - other) + 1} selected` }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('selection-bar').waitFor({ state: 'detached' });

    // The keyboard: Shift+Down (Shift+Up at the end) from the open note selects the next.
    await open(page, 'tres');
    await page.keyboard.press('Escape'); // out of the title field
    ids = await order();
    const down = ids.indexOf(three) < ids.length - 1;
    await page.keyboard.press(down ? 'Shift+ArrowDown' : 'Shift+ArrowUp');
    await count.filter({ hasText: '2 selected' }).waitFor();
    const pair = [three, ids[ids.indexOf(three) + (down ? 1 : -1)]];
    // Pin both (Three was not pinned: both end pinned).
    await page.getByTestId('selection-pin').click();
    await page.waitForFunction(
      (pair) => pair.every((id) => document.querySelector(`li.note[data-id="${id}"]`)?.dataset.pinned === 'true'),
      pair,
    );

    // Delete both; one Undo brings both back.
    await page.getByTestId('selection-delete').click();
    for (const id of pair) await page.locator(`li.note[data-id="${id}"]`).waitFor({ state: 'detached' });
    await page.getByText('2 notes deleted.').waitFor();
    await page.getByRole('button', { name: 'Undo' }).click();
    for (const id of pair) await page.locator(`li.note[data-id="${id}"]`).waitFor();
    assert.equal(await page.locator('li.note').count(), 3);
  } finally {
    await p.close();
  }
});

test('a phone: the sidebar is a drawer opened from the header; choosing an entry closes it', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(PHONE);
    await openApp(page, server.base);
    await write(page, 'Pocket', 'on the phone');
    await page.getByRole('button', { name: '← Notes' }).click();
    const sidebar = page.getByTestId('sidebar');
    assert.equal(await sidebar.isVisible(), false, 'closed at first');
    await page.getByTestId('sidebar-open').click();
    await page.waitForFunction(() => {
      const r = document.querySelector('[data-testid=sidebar]').getBoundingClientRect();
      return r.left >= 0 && r.right > 100;
    });
    await addNotebook(page, 'Trips');
    await screenshots(page, 'organize-drawer');
    await page.setViewportSize(PHONE);
    await page.getByTestId('filter-pinned').click();
    assert.equal(await searchValue(page), 'is:pinned');
    await page.waitForFunction(() => getComputedStyle(document.querySelector('[data-testid=sidebar]')).visibility === 'hidden');
    const docWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(docWidth <= PHONE.width, `no sideways scroll (${docWidth})`);
  } finally {
    await p.close();
  }
});

test('the settings view: account, sync activity and export / import as tabs of one view', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(DESKTOP);
    await openApp(page, server.base);
    // Signed out, the account tab says how to sign in.
    await page.getByTestId('settings-open').click();
    await page.getByTestId('settings-signed-out').waitFor();
    await page.getByTestId('settings-open').click();
    await page.getByTestId('settings').waitFor({ state: 'detached' });

    await signIn(page, 'settings-tabs', 'Create account');
    await write(page, 'Set', 'tings');
    await openSettings(page, 'Account');
    await page.getByTestId('account-settings').waitFor();
    await screenshots(page, 'settings-account');
    await openSettings(page, 'Sync activity');
    await page.getByTestId('activity').waitFor();
    assert.equal(await page.getByTestId('account-settings').count(), 0, 'one tab at a time');
    await openSettings(page, 'Export / import');
    await page.getByTestId('export-import').waitFor();
    await screenshots(page, 'settings-export');
    // No stacked buttons above the notes any more.
    assert.equal(await page.getByRole('button', { name: 'Close export / import' }).count(), 0);
    await page.getByRole('button', { name: 'Close settings' }).click();
    await page.getByTestId('settings').waitFor({ state: 'detached' });
  } finally {
    await p.close();
  }
});

test('two devices: a tag added on one shows on the other', async () => {
  const a = await openProfile();
  const b = await openProfile();
  try {
    await openApp(a.page, server.base);
    await signIn(a.page, 'tagger', 'Create account');
    await write(a.page, 'Shared', 'tag me');
    await openApp(b.page, server.base);
    await signIn(b.page, 'tagger', 'Sign in');
    await noteItem(b.page, 'tag me').waitFor({ timeout: 30_000 });

    await open(a.page, 'tag me');
    await a.page.getByTestId('tag-input').fill('travel');
    await a.page.getByTestId('tag-input').press('Enter');
    await a.page.getByTestId('tag-chip').filter({ hasText: '#travel' }).waitFor();
    await syncUntil(a.page, async () => (await a.page.getByTestId('status').textContent()).includes('0 pending'), 'pushed');
    await syncUntil(
      b.page,
      async () => (await noteItem(b.page, 'tag me').locator('.row-tags', { hasText: '#travel' }).count()) > 0,
      'the tag reached the other device',
    );
    await b.page.getByTestId('tags').getByText('#travel').waitFor();
    await open(b.page, 'tag me');
    await b.page.getByTestId('tag-chip').filter({ hasText: '#travel' }).waitFor();
  } finally {
    await a.close();
    await b.close();
  }
});

test('a hostile notebook or tag name is shown as text', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(DESKTOP);
    await openApp(page, server.base);
    await write(page, 'Victim', 'text');
    const evil = '<img src=x onerror="window.pwned=1">';
    await page.getByTestId('notebook-add').click();
    await page.getByTestId('name-field').fill(evil);
    await page.getByTestId('name-field').press('Enter');
    await page.getByTestId('notebook').first().waitFor();
    await open(page, 'Victim');
    await page.getByTestId('tag-input').fill(evil);
    await page.getByTestId('tag-input').press('Enter');
    await page.getByTestId('tag-chip').waitFor();
    assert.equal(await page.getByTestId('sidebar').locator('img').count(), 0);
    assert.equal(await page.getByTestId('note-meta').locator('img').count(), 0);
    assert.equal(await page.locator('li.note img').count(), 0);
    assert.equal(await page.getByTestId('notebook').first().locator('.name').textContent(), evil);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
  } finally {
    await p.close();
  }
});

test('shortcuts: * pins, m and t reach the picker and the tag field, g the sidebar, x selects, , settings; all in the help', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(DESKTOP);
    await openApp(page, server.base);
    await write(page, 'Keys', 'by keyboard');
    await write(page, 'More keys', 'second');
    const kb = page.keyboard;
    await kb.press('Escape'); // out of the text field
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.dataset.testid || '');
    await kb.press('*');
    await page.waitForSelector('[data-testid=pin][aria-pressed="true"]');
    await kb.press('m');
    assert.equal(await focused(), 'note-notebook');
    await kb.press('Escape');
    await kb.press('t');
    assert.equal(await focused(), 'note-tag');
    await kb.press('Escape');
    await kb.press('g');
    await page.waitForFunction(() => document.activeElement?.id === 'sidebar-all');
    await kb.press('x');
    await page.getByTestId('selection-count').filter({ hasText: '1 selected' }).waitFor();
    await kb.press('Escape');
    await page.getByTestId('selection-bar').waitFor({ state: 'detached' });
    await kb.press(',');
    await page.getByTestId('settings').waitFor();
    await kb.press('Escape');
    await page.getByTestId('settings').waitFor({ state: 'detached' });
    await kb.press('?');
    const help = page.getByTestId('help');
    await help.waitFor({ state: 'visible' });
    const text = await help.textContent();
    for (const what of ['Pin or unpin', 'Move the note', 'Tag the note', 'Select the next note too', 'Go to the sidebar', 'Settings']) {
      assert.ok(text.includes(what), `the help lists "${what}"`);
    }
  } finally {
    await p.close();
  }
});

// The sidebar's rows live as long as their notebook or tag is shown. They were drawn again,
// in place and by position, whenever a menu opened, a notebook collapsed or the notebooks
// or tags changed: a focused button then stood for whichever entry came to its place (a
// tag added before it), and its menu moved with it.
test('the sidebar by keyboard: a menu opened, a notebook collapsed, a tag added keep the focus where it is', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(DESKTOP);
    await openApp(page, server.base);
    await write(page, 'Seeds', 'tomatoes');
    await addNotebook(page, 'Home');
    await addNotebook(page, 'Garden', 'Home');
    const focused = () => page.evaluate(() => {
      const e = document.activeElement;
      return `${e.closest('li')?.dataset.path ?? e.closest('li')?.dataset.testid ?? '-'}: ${e.getAttribute('aria-label') ?? e.textContent}`;
    });
    // Escape leaves the name field; the "⋯" of Home by keyboard (focus, as Tab would, then Enter).
    await page.keyboard.press('Escape');
    await notebook(page, 'Home').getByRole('button', { name: 'More for Home' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Add a notebook inside' }).waitFor();
    assert.equal(await focused(), 'Home: More for Home', 'the focus stays on the menu button it opened');
    assert.equal(await notebook(page, 'Home').getByRole('button', { name: 'More for Home' }).getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Home: Rename', 'Tab goes on into the menu');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Add a notebook inside' }).waitFor({ state: 'detached' });
    assert.equal(await focused(), 'Home: More for Home', 'and stays when it closes it');

    // Collapse Home with its twisty: Garden is hidden, the focus stays on the twisty.
    await notebook(page, 'Home').getByRole('button', { name: 'Collapse Home' }).focus();
    await page.keyboard.press('Enter');
    await notebook(page, 'Home/Garden').waitFor({ state: 'detached' });
    assert.equal(await focused(), 'Home: Expand Home');
    await page.keyboard.press('Enter');
    await notebook(page, 'Home/Garden').waitFor();
    assert.equal(await focused(), 'Home: Collapse Home');

    await open(page, 'Seeds');
    await page.getByTestId('tag-input').fill('summer');
    await page.getByTestId('tag-input').press('Enter');
    await page.getByTestId('tag').filter({ hasText: '#summer' }).waitFor();
    // The tag's "⋯" by keyboard, then a tag added elsewhere that sorts before it: the focus
    // stays with #summer (rows drawn by position handed it to the row now showing #autumn).
    const more = page.getByTestId('tag').getByRole('button', { name: 'More for #summer' });
    await more.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('tag').getByRole('button', { name: 'Remove tag' }).waitFor();
    assert.equal(await focused(), 'tag: More for #summer');
    await page.evaluate(() => {
      // (Added by the editor's field without moving the focus: as a sync would.)
      const input = document.querySelector('[data-testid=tag-input]');
      input.value = 'autumn';
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    });
    await page.getByTestId('tag').filter({ hasText: '#autumn' }).waitFor();
    assert.equal(await focused(), 'tag: More for #summer', 'a tag added elsewhere leaves the focus where it was');
    assert.equal(await more.getAttribute('aria-expanded'), 'true', "#summer's menu is still the one open");
  } finally {
    await p.close();
  }
});
