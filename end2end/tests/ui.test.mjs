// The page's layout and notices in real Chromium: the phone layout (two screens, a header that wraps sanely,
// visible focus), the storage notice (refused persistence, a signed-in user, Safari's 7
// days, dismissal), no console error on a signed-out load, the share target, the sync
// activity panel, and screenshots at phone and desktop sizes in light and dark
// (`end2end/screenshots/`, written by these tests for a reviewer).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openApp, openProfile, openSettings, readIndexedDbNotes, signIn, startServer, syncNow, write } from './harness.mjs';

const SHOTS = join(import.meta.dirname, '../screenshots');
mkdirSync(SHOTS, { recursive: true });
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 860 };

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** Screenshots of `page` in light and dark at its current size: `<name>-light.png`, `-dark.png`. */
async function shoot(page, name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

test('a signed-out page load logs no console error', async () => {
  const p = await openProfile();
  try {
    const errors = [];
    p.page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    p.page.on('pageerror', (e) => errors.push(e.message));
    await openApp(p.page, server.base);
    await p.page.getByTestId('message').waitFor(); // "Sign in to sync", after the session check
    await p.page.reload();
    await p.page.waitForSelector('main[data-ready="true"]');
    await p.page.getByTestId('message').waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await p.close();
  }
});

test('on a phone: the list and the editor are two screens; the header keeps its actions together', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(PHONE);
    await openApp(page, server.base);
    await shoot(page, 'phone-signed-out');
    await signIn(page, 'phone-user', 'Create account');
    // The header: "Sync now" and "Sign out" on one row, "Sign out" never alone.
    const syncBox = await page.locator('.account-bar').getByRole('button', { name: 'Sync now' }).boundingBox();
    const outBox = await page.getByRole('button', { name: 'Sign out' }).boundingBox();
    assert.ok(Math.abs(syncBox.y - outBox.y) < 4, `same row: ${syncBox.y} vs ${outBox.y}`);
    assert.ok(outBox.x + outBox.width <= PHONE.width, 'inside the screen');
    const docWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(docWidth <= PHONE.width, `no sideways scroll (${docWidth})`);

    // New note: the editor screen, without the list.
    await write(page, 'Groceries', '- [ ] milk\n- [x] eggs\n\nFrom the **market**.');
    await write(page, 'Second', 'another note');
    assert.equal(await page.locator('main').getAttribute('data-pane'), 'editor');
    assert.equal(await page.locator('section.list').isVisible(), false);
    assert.ok(await page.locator('#note-title').isVisible());
    await shoot(page, 'phone-editor');
    // Back to the list: the editor is gone, the notes are there.
    await page.getByRole('button', { name: '← Notes' }).click();
    assert.equal(await page.locator('form.editor').isVisible(), false);
    await page.locator('li.note', { hasText: 'Groceries' }).waitFor();
    await shoot(page, 'phone-list');
    // Open a note: the editor screen with that note.
    await page.locator('li.note', { hasText: 'Groceries' }).getByRole('button').click();
    await page.waitForFunction(() => document.querySelector('#note-title').value === 'Groceries');
    assert.equal(await page.locator('section.list').isVisible(), false);
    await page.getByTestId('preview-toggle').click();
    await page.getByTestId('preview').locator('strong', { hasText: 'market' }).waitFor();
    await shoot(page, 'phone-preview');
  } finally {
    await p.close();
  }
});

test('every focusable element shows a visible focus style, the list\'s notes included', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(DESKTOP);
    await openApp(page, server.base);
    await write(page, 'Focus me', 'text');
    await page.locator('li.note button.open').first().waitFor();
    // Tab through the whole page; every element that takes the focus must draw an outline.
    const seen = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const f = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const s = getComputedStyle(el);
        return {
          what: `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className}`,
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
        };
      });
      if (f) seen.push(f);
    }
    const missing = seen.filter((f) => !f.outline).map((f) => f.what);
    assert.deepEqual([...new Set(missing)], [], 'elements without a visible focus style');
    assert.ok(seen.some((f) => f.what.startsWith('button.open')), 'the list\'s note buttons were reached');
    await shoot(page, 'desktop-focus');
  } finally {
    await p.close();
  }
});

test('storage: refused persistence tells a guest what is at risk; a signed-in user the truth; dismissal sticks', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    // The refused path, for certain (headless Chromium refuses anyway to a site the user
    // never engaged with).
    await page.addInitScript(() => {
      navigator.storage.persist = async () => false;
      navigator.storage.persisted = async () => false;
    });
    await openApp(page, server.base);
    await write(page, 'Only here', 'not on any server');
    const notice = page.getByTestId('storage-notice');
    await notice.waitFor();
    assert.equal(await notice.getAttribute('data-case'), 'no-account');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid=storage-notice]').textContent.includes('Your 1 note is only on this device'),
    );
    assert.match(await notice.textContent(), /may delete them when the device runs short of space/);
    // One compact line; the details and actions are a click away.
    assert.equal(await notice.getByRole('button', { name: 'Export my notes' }).isVisible(), false);
    await notice.locator('summary').click();
    // "Export my notes" keeps a copy in a file at once.
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      notice.getByRole('button', { name: 'Export my notes' }).click(),
    ]);
    assert.match(file.suggestedFilename(), /\.json$/);
    await page.getByTestId('storage-export').filter({ hasText: 'Exported 1 note to a file.' }).waitFor();
    // "Create an account" opens the form, the focus in it.
    await notice.getByRole('button', { name: 'Create an account' }).click();
    await page.waitForFunction(() => document.activeElement.id === 'username');

    await signIn(page, 'storage-user', 'Create account');
    await page.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });
    await page.waitForFunction(
      () => document.querySelector('[data-testid=storage-notice]')?.dataset.case === 'account',
    );
    const text = await notice.textContent();
    assert.match(text, /Every note is on the server too/);
    assert.doesNotMatch(text, /Sign in to keep a copy/);
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    assert.equal(await notice.count(), 0);
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    await page.getByTestId('user').waitFor();
    await page.waitForTimeout(500);
    assert.equal(await notice.count(), 0, 'still dismissed after a reload');
  } finally {
    await p.close();
  }
});

test('storage: on a Safari-like engine the 7-day eviction is announced', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.addInitScript(() => {
      Object.defineProperty(navigator, 'userAgent', {
        get: () =>
          'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      });
      navigator.storage.persist = async () => true;
      navigator.storage.persisted = async () => true;
    });
    await page.setViewportSize(PHONE);
    await openApp(page, server.base);
    const notice = page.getByTestId('storage-notice');
    await notice.waitFor();
    assert.match(await notice.textContent(), /after 7 days without a visit/);
    await shoot(page, 'phone-safari-notice');
  } finally {
    await p.close();
  }
});

test('share target: a visit to a share address writes nothing; the text is saved only when the user says so, once', async () => {
  // Attacker: any website can navigate a signed-in user to `/?share_title=…&share_text=…`.
  // Saving it at start would plant the attacker's note on every device of the account.
  const manifest = await (await fetch(`${server.base}/manifest.webmanifest`)).json();
  assert.equal(manifest.share_target.method, 'GET');
  const { action, params } = manifest.share_target;
  const p = await openProfile();
  try {
    const { page } = p;
    await openApp(page, server.base);
    await signIn(page, 'share-user', 'Create account');
    const url = new URL(action, server.base);
    url.searchParams.set(params.title, 'Security notice');
    url.searchParams.set(params.text, 'Log in again at <script>window.__pwned = 1</script>');
    url.searchParams.set(params.url, 'https://evil.example/login');
    await openApp(page, url.href);
    const offer = page.getByTestId('share-offer');
    await offer.waitFor();
    assert.equal(await page.getByTestId('share-title').textContent(), 'Security notice');
    assert.equal(
      await page.getByTestId('share-text').textContent(),
      'Log in again at <script>window.__pwned = 1</script>\n\nhttps://evil.example/login',
      'the whole text is shown, as text',
    );
    assert.equal(new URL(page.url()).search, '', 'the address no longer carries the share');
    await syncNow(page);
    assert.equal((await readIndexedDbNotes(page)).length, 0, 'a visit writes nothing');
    assert.equal(await page.locator('li.note').count(), 0);
    await page.getByRole('button', { name: 'Discard' }).click();
    await offer.waitFor({ state: 'detached' });
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    assert.equal(await offer.count(), 0, 'a reload offers nothing again');
    assert.equal((await readIndexedDbNotes(page)).length, 0);

    // The user shares on purpose and says yes: one note, opened.
    url.searchParams.set(params.title, 'Shared article');
    url.searchParams.set(params.text, 'Worth reading');
    url.searchParams.set(params.url, 'https://example.com/article');
    await openApp(page, url.href);
    await page.getByRole('button', { name: 'Save as a new note' }).click();
    await page.waitForFunction(() => document.querySelector('#note-title').value === 'Shared article');
    assert.equal(await page.inputValue('#note-content'), 'Worth reading\n\nhttps://example.com/article');
    await page.locator('li.note', { hasText: 'Shared article' }).waitFor();
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    assert.equal(await offer.count(), 0);
    assert.equal(await page.locator('li.note').count(), 1, 'a reload adds nothing');

    // Longer than a note may be: shown cut short, and there is nothing to save.
    url.searchParams.set(params.title, 't'.repeat(1100));
    await openApp(page, url.href);
    await offer.waitFor();
    assert.match(await offer.textContent(), /longer than a note can be/);
    assert.equal(await page.getByRole('button', { name: 'Save as a new note' }).count(), 0);
    assert.equal((await readIndexedDbNotes(page)).length, 1);
  } finally {
    await p.close();
  }
});

test('sync activity: runs are listed; a failing sync says why and what happens next; Sync now', async () => {
  const own = await startServer();
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(DESKTOP);
    await openApp(page, own.base);
    await signIn(page, 'activity-user', 'Create account');
    await write(page, 'Pushed', 'one note');
    await page.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });
    await openSettings(page, 'Sync activity');
    const panel = page.getByTestId('activity');
    await panel.locator('li.run[data-result="synced"]', { hasText: 'sent 1' }).waitFor();
    assert.match(await panel.locator('li.run').first().textContent(), /Next check at|Syncs again now/);

    // The server goes away: the next run fails, says why, and when it tries again.
    await own.stop({ keepData: true });
    await page.fill('#note-content', 'one note, edited offline from the server');
    await panel.locator('li.run[data-result="failed"]').first().waitFor({ timeout: 20_000 });
    const failed = await panel.locator('li.run[data-result="failed"]').first().textContent();
    assert.match(failed, /Failed: cannot reach the server/);
    assert.match(failed, /Tries again at .* \(in \d+ s; failure \d+ in a row\)/);
    const attention = page.getByTestId('attention');
    await attention.waitFor();
    assert.match(await attention.textContent(), /Sync is not working/);
    await shoot(page, 'desktop-activity-failing');

    // Back: "Sync now" in the panel syncs at once, and the line goes away.
    const back = await startServer({ port: own.port, dataDir: own.dataDir });
    try {
      const runs = Number(await page.getByTestId('status').getAttribute('data-runs'));
      await panel.getByRole('button', { name: 'Sync now' }).click();
      await page.waitForFunction(
        (n) => Number(document.querySelector('[data-testid=status]').dataset.runs) > n,
        runs,
      );
      await page.waitForSelector('li.note[data-sync="synced"]', { timeout: 20_000 });
      await attention.waitFor({ state: 'detached', timeout: 20_000 });
      // The newest run is a sync. The service worker, handed the failed push, may be
      // retrying it when the button is clicked: the page's run then finds the sync lock
      // taken and is listed as "busy" (the worker's run pushes the note), and the page
      // runs again 2 s later (`LOCK_BUSY_RETRY_MS`).
      await page.waitForFunction(
        () => document.querySelector('[data-testid=activity] li.run')?.dataset.result === 'synced',
        null,
        { timeout: 20_000 },
      );
      await page.setViewportSize(PHONE);
      await shoot(page, 'phone-activity');
    } finally {
      await back.stop();
    }
  } finally {
    await p.close();
  }
});

test('desktop screenshots: the list and editor side by side', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await page.setViewportSize(DESKTOP);
    await openApp(page, server.base);
    await signIn(page, 'desktop-user', 'Create account');
    await write(page, 'Plans', '## This week\n\n- [x] write the report\n- [ ] call Sam\n\nSee [the doc](https://example.com).');
    await write(page, 'Recipes', 'Pancakes: *flour*, milk, eggs.');
    await syncNow(page);
    await page.locator('li.note', { hasText: 'Plans' }).getByRole('button').click();
    await page.waitForFunction(() => document.querySelector('#note-title').value === 'Plans');
    await shoot(page, 'desktop-editor');
    await page.getByTestId('preview-toggle').click();
    await page.getByTestId('preview').locator('h2').waitFor();
    await shoot(page, 'desktop-preview');
  } finally {
    await p.close();
  }
});
