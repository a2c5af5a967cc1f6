// A panic in the wasm stops the app (it aborts: "unreachable"), but first says where: a banner
// the user sees with the panic's message and file:line:column, the same in the console and in
// `globalThis.ternPanic` for a report (frontend/src/lib.rs; the release wasm keeps the hook,
// scripts/build-release.sh). The wasm exports `panic_for_tests` to cause one.
// TERN_SERVER_BIN=target/release/server checks the release build.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openApp, openProfile, startServer } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test('a panic shows its message and location, and asks for a reload', async () => {
  const profile = await openProfile();
  try {
    const { page } = profile;
    const console = [];
    page.on('console', (m) => m.type() === 'error' && console.push(m.text()));
    await openApp(page, server.base);
    await page.waitForSelector('main[data-ready="true"]', { timeout: 30_000 });
    assert.equal(await page.locator('#tern-panic').count(), 0, 'no banner before a panic');

    // The app's own module instance (a module is loaded once per page).
    const trapped = await page.evaluate(async () => {
      const wasm = await import('/pkg/tern.js');
      try {
        wasm.panic_for_tests();
        return null;
      } catch (e) {
        return String(e);
      }
    });
    assert.match(trapped ?? '', /unreachable/, 'the wasm aborts after the hook');

    const banner = page.getByRole('alert').filter({ hasText: 'internal error' });
    await banner.waitFor({ timeout: 5_000 });
    const text = await banner.textContent();
    assert.match(text, /a panic for the tests/);
    assert.match(text, /frontend\/src\/lib\.rs:\d+/, 'the location');
    assert.match(text, /Reload the page/);
    const reported = await page.evaluate(() => globalThis.ternPanic);
    assert.match(reported, /frontend\/src\/lib\.rs:\d+/);
    assert.ok(console.some((c) => c.includes(reported)), 'the console has it too');
  } finally {
    await profile.close();
  }
});
