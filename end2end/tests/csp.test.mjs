// The app under its Content-Security-Policy: the page reports no violation while it
// hydrates, signs up, syncs, installs its service worker and reloads from it; the worker
// may instantiate the wasm it runs; the browser never sees the session token.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openApp, openProfile, signIn, startServer, waitForController } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** Records CSP violations (the DOM event, before any page script) and CSP console errors. */
async function watchCsp(page) {
  const seen = [];
  await page.exposeFunction('__cspViolation', (v) => seen.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`),
    );
  });
  page.on('console', (m) => {
    if (/Content[ -]Security[ -]Policy/i.test(m.text())) seen.push(`console: ${m.text()}`);
  });
  return seen;
}

test('the app works under its CSP and reports no violation', async () => {
  const profile = await openProfile();
  try {
    const { page, context } = profile;
    const violations = await watchCsp(page);

    const first = page.waitForResponse((r) => new URL(r.url()).pathname === '/');
    await openApp(page, server.base);
    const csp = (await first).headers()['content-security-policy'];
    assert.match(csp, /script-src 'self' 'nonce-[A-Za-z0-9_-]{22,}' 'wasm-unsafe-eval'/);
    assert.doesNotMatch(csp, /unsafe-inline/);

    // Sign up: the answer the page receives has no token (the cookie is HttpOnly).
    const signup = page.waitForResponse((r) => r.url().endsWith('/auth/signup'));
    await signIn(page, 'csp-user', 'Create account');
    const answer = await (await signup).json();
    assert.equal(answer.user, 'csp-user');
    assert.equal(answer.token, undefined, 'no token in a browser\'s answer');
    assert.equal(await page.evaluate(() => document.cookie), '', 'no script-readable session');

    // Write a note; it syncs.
    await page.getByRole('button', { name: 'New note' }).click();
    await page.fill('#note-title', 'Under CSP');
    await page.fill('#note-content', 'still works');
    await page.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });

    // The service worker is active and serves the page; reloaded from it, still no violation.
    await waitForController(page);
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]', { timeout: 30_000 });
    await page.locator('li.note', { hasText: 'still works' }).waitFor();
    assert.equal(
      await page.evaluate(() => navigator.serviceWorker.controller?.state),
      'activated',
    );

    // The worker's own policy (sent with /sw.js) lets it compile the wasm it syncs with.
    const [worker] = context.serviceWorkers();
    assert.ok(worker, 'a service worker runs');
    const compiled = await worker.evaluate(async () => {
      const name = (await caches.keys()).find((k) => k.startsWith('tern-'));
      const wasm = await (await caches.open(name)).match('/pkg/tern.wasm');
      await WebAssembly.compile(await wasm.arrayBuffer());
      return true;
    });
    assert.equal(compiled, true);

    assert.deepEqual(violations, [], 'CSP violations');
  } finally {
    await profile.close();
  }
});

test('an inline script without the nonce is blocked and reported (the check can fail)', async () => {
  const profile = await openProfile();
  try {
    const { page } = profile;
    await openApp(page, server.base);
    // A script element inserted by the page's own code, as an injection would be.
    const directive = await page.evaluate(
      () =>
        new Promise((ok) => {
          document.addEventListener('securitypolicyviolation', (e) => ok(e.violatedDirective), {
            once: true,
          });
          const s = document.createElement('script');
          s.textContent = 'window.__injected = true';
          document.head.append(s);
        }),
    );
    assert.match(directive, /^script-src/);
    assert.equal(await page.evaluate(() => window.__injected), undefined, 'it did not run');
  } finally {
    await profile.close();
  }
});
