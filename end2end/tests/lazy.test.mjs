// Screens loaded on first use (`cargo leptos build --split`, app/src/components/lazy.rs):
// each opens offline after one online visit (the service worker precaches every module),
// and a module that fails to load says so, is retried, and the screen then opens; the
// rest of the page keeps working meanwhile.
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
  assert.equal(await page.getByTestId('lazy-failed').count(), 0);
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
    for (const m of ['preview', 'trash', 'history', 'settings', 'export', 'activity', 'conflict']) {
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
    // (Not while the app itself loads: the app's module and the chunks it needs are
    // first-paint.test.mjs's; once loaded they are never fetched again.)
    let failing = false;
    let failed = 0;
    await p.context.route(/\/pkg\/.*\.wasm$/, (route) => {
      if (failing && !route.request().url().endsWith('/pkg/tern.wasm')) {
        failed += 1;
        return route.abort('internetdisconnected');
      }
      return route.continue();
    });
    await openApp(page, server.base);
    failing = true;

    // Automatic retry: the trash fails to load, says so, and opens once the network is back.
    await page.getByRole('button', { name: 'Trash' }).click();
    const failure = page.getByTestId('lazy-failed');
    await failure.waitFor();
    assert.match(await failure.textContent(), /could not be loaded/);
    assert.ok(failed > 0);
    // The rest of the page works meanwhile.
    await write(page, 'While failing', 'the editor is not in the trash module');
    failing = false;
    await page.getByTestId('trash').waitFor({ timeout: 60_000 });
    assert.equal(await failure.count(), 0);

    // "Retry": the export panel fails, then opens when asked.
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
