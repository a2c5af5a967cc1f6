// Screens and parts loaded on first use or right after the first paint (`cargo leptos build
// --split`, app/src/components/lazy.rs): each opens offline after one online visit (the
// service worker precaches every module), and a module that fails to load says so, is
// retried, and the screen or part then shows; the list and the editor (the start-up module)
// keep working meanwhile.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  goOffline,
  openApp,
  openProfile,
  openSettings,
  signIn,
  startServer,
  waitForController,
  write,
} from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** The split modules of the build (every `pkg/*.wasm` but the start-up `tern.wasm`). */
async function splitModules(page) {
  return page.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names.find((n) => n.startsWith('tern-')));
    return (await cache.keys())
      .map((r) => new URL(r.url).pathname)
      .filter((p) => p.startsWith('/pkg/') && p.endsWith('.wasm') && p !== '/pkg/tern.wasm')
      .sort();
  });
}

/**
 * Opens every lazy screen but the conflict (conflicts.test.mjs opens that one) and the
 * account settings (signed in only; see the test).
 */
async function openEveryScreen(page) {
  const shown = async (testId) => {
    await page.getByTestId(testId).waitFor({ timeout: 30_000 });
  };
  await page.locator('li.note', { hasText: 'Lazy' }).click();
  await page.getByTestId('preview-toggle').click();
  await shown('preview');
  assert.match(await page.getByTestId('preview').innerHTML(), /<strong>bold<\/strong>/);
  await page.getByTestId('preview-toggle').click();
  await page.getByRole('button', { name: 'History' }).click();
  // (Offline the server's history cannot be read: the screen says so.)
  await page.locator('[data-testid=history], [data-testid=history-error]').first().waitFor();
  await page.getByRole('button', { name: 'Trash' }).click();
  await shown('trash');
  await openSettings(page, 'Export / import');
  await shown('export-import');
  await openSettings(page, 'Sync activity');
  await shown('activity');
  await page.getByRole('button', { name: 'Close settings' }).click();
  await openEveryPart(page);
  assert.equal(await page.getByTestId('lazy-failed').count(), 0);
}

/** The modules of the parts, besides the screens'. */
const PARTS = [
  'note_meta',
  'links',
  'sidebar_menu',
  'sidebar_name',
  'selection_bar',
  'settings_view',
  'help',
  'signin',
  'storage_notice',
  'pwa_banner',
  'share_offer',
  'join_offer',
  'signout_warning',
];

/**
 * Shows the parts in modules of their own that a signed-in page with a note "Lazy" (open)
 * can show: the note's bar, a notebook's name field and menu, the selection bar, the
 * keyboard help.
 */
async function openEveryPart(page) {
  const shown = (testId) => page.getByTestId(testId).waitFor({ timeout: 30_000 });
  await page.locator('li.note', { hasText: 'Lazy' }).click();
  await shown('note-meta');
  await page.getByTestId('notebook-add').click();
  await page.getByTestId('name-field').fill('Offline book');
  await page.getByTestId('name-field').press('Enter');
  const book = page.locator('li.notebook', { hasText: 'Offline book' });
  await book.getByRole('button', { name: 'More for Offline book' }).click();
  await book.getByRole('button', { name: 'Rename' }).waitFor({ timeout: 30_000 });
  await page.locator('li.note', { hasText: 'Lazy' }).getByRole('button').click({ modifiers: ['Control'] });
  await shown('selection-bar');
  await page.getByRole('button', { name: 'Clear the selection' }).click();
  await page.locator('#note-title').focus();
  await page.keyboard.press('Escape');
  await page.keyboard.press('?');
  await shown('help');
  await page.getByTestId('help').getByRole('button', { name: 'Close' }).click();
}

test('every screen loaded on first use opens offline after one online visit', async () => {
  // Its own server, stopped before the offline start: nothing can reach it any more.
  const own = await startServer();
  const first = await openProfile();
  let again;
  try {
    await openApp(first.page, own.base);
    await signIn(first.page, 'lazy-offline', 'Create account');
    await write(first.page, 'Lazy', 'some **bold** text');
    await first.page.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });
    await waitForController(first.page);
    const modules = await splitModules(first.page);
    for (const m of ['preview', 'trash', 'history', 'settings', 'export', 'activity', 'conflict', ...PARTS]) {
      assert.ok(
        modules.some((p) => p.includes(m)),
        `a precached module for ${m}: ${modules}`,
      );
    }
    // The account settings need a session, which an offline start cannot check: offline
    // in the page that visited online (and never opened them).
    await goOffline(first.context);
    await openSettings(first.page, 'Account');
    await first.page.getByTestId('account-settings').waitFor({ timeout: 30_000 });
    assert.equal(await first.page.getByTestId('lazy-failed').count(), 0);
    await first.close({ keepProfile: true });
    await own.stop();

    // A new browser process on the same profile, offline from the start, that never
    // opened any of these screens online.
    again = await openProfile(first.dir, { offline: true });
    await openApp(again.page, own.base);
    await again.page.waitForSelector('[data-testid=status][data-online="false"]');
    await openEveryScreen(again.page);
  } finally {
    await (again ?? first).close();
    await own.stop();
  }
});

test('a module that fails to load is retried, and the screen then opens', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    // No service worker here: each module comes from the network, where the test makes
    // it fail.
    await p.context.route('**/sw.js', (r) => r.fulfill({ status: 404 }));
    let failing = true;
    let failed = 0;
    await p.context.route(/\/pkg\/.*\.wasm$/, (route) => {
      if (failing && !route.request().url().endsWith('/pkg/tern.wasm')) {
        failed += 1;
        return route.abort('internetdisconnected');
      }
      return route.continue();
    });
    await openApp(page, server.base);

    // Automatic retry: the trash fails to load, says so, and opens once the network is back.
    await page.getByRole('button', { name: 'Trash' }).click();
    const failure = page.getByTestId('lazy-failed');
    await failure.waitFor();
    assert.match(await failure.textContent(), /could not be loaded/);
    assert.ok(failed > 0);
    // The rest of the page works meanwhile.
    await write(page, 'While failing', 'the editor is in the start-up module');
    failing = false;
    await page.getByTestId('trash').waitFor({ timeout: 60_000 });
    assert.equal(await failure.count(), 0);

    // "Retry": the export panel fails, then opens when asked (the settings view's own
    // module loads first).
    await openSettings(page, 'Account');
    failing = true;
    await openSettings(page, 'Export / import');
    await failure.waitFor();
    failing = false;
    await failure.getByRole('button', { name: 'Retry' }).click();
    await page.getByTestId('export-import').waitFor({ timeout: 30_000 });
    assert.equal(await failure.count(), 0);
  } finally {
    await p.close();
  }
});

test('the list and the editor work while the parts fail to load; the parts come after a retry', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    // No service worker: every module but the start-up one comes from the network, where
    // the test makes it fail, from the first paint on.
    await p.context.route('**/sw.js', (r) => r.fulfill({ status: 404 }));
    let failing = true;
    let failed = 0;
    await p.context.route(/\/pkg\/.*\.wasm$/, (route) => {
      if (failing && !route.request().url().endsWith('/pkg/tern.wasm')) {
        failed += 1;
        return route.abort('internetdisconnected');
      }
      return route.continue();
    });
    await openApp(page, server.base);

    // Writing, saving and listing notes need none of them.
    await write(page, 'Parts first', 'typed while the parts could not be loaded');
    await write(page, 'Parts second', 'and another');
    assert.ok(failed > 0, 'the parts were asked for');
    await page.locator('li.note', { hasText: 'Parts first' }).click();
    assert.equal(await page.inputValue('#note-title'), 'Parts first');
    await page.fill('#note-content', 'edited while the parts could not be loaded');
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    // The note's bar keeps its place (an empty box), and nothing says it failed.
    assert.equal(await page.getByTestId('note-meta').count(), 0);
    assert.equal(await page.locator('.note-meta-blank').count(), 1);
    // (From the title down: what comes above the note, the sign-in form, may move it all.)
    const textTop = async () =>
      (await page.locator('#note-content').boundingBox()).y -
      (await page.locator('#note-title').boundingBox()).y;
    const before = await textTop();
    // A part the user asks for says it could not be loaded.
    await page.getByTestId('notebook-add').click();
    const sidebarFailure = page.getByTestId('sidebar').getByTestId('lazy-failed');
    await sidebarFailure.waitFor();
    assert.match(await sidebarFailure.textContent(), /could not be loaded/i);
    await page.getByTestId('signin-open').click();
    const signinFailure = page.locator('header ~ [data-testid=lazy-failed]');
    await signinFailure.waitFor();

    // Back online: "Retry" brings the name field; the note's bar and the sign-in form come
    // on their own.
    failing = false;
    await sidebarFailure.getByRole('button', { name: 'Retry' }).click();
    await page.getByTestId('name-field').fill('After retry');
    await page.getByTestId('name-field').press('Enter');
    await page.locator('li.notebook', { hasText: 'After retry' }).waitFor();
    await page.getByTestId('note-meta').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('.note-meta-blank').count(), 0);
    // No layout jump: the text stays where it was (the blank has the bar's height).
    const after = await textTop();
    assert.ok(Math.abs(after - before) <= 2, `the text moved from ${before} to ${after}`);
    await page.locator('#username').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('lazy-failed').count(), 0);
    // The edits made meanwhile are all there.
    await page.reload();
    await page.locator('li.note', { hasText: 'Parts second' }).waitFor();
    await page.locator('li.note', { hasText: 'Parts first' }).click();
    assert.equal(
      await page.inputValue('#note-content'),
      'edited while the parts could not be loaded',
    );
  } finally {
    await p.close();
  }
});
