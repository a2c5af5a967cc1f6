// Markdown in real Chromium under the app's real Content-Security-Policy: hostile notes
// render as text (nothing runs, nothing loads from anywhere), safe links stay links, and a
// checklist toggled in the preview is an edit that syncs to another device.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openApp, openProfile, signIn, startServer, syncUntil } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const HOSTILE = [
  '# Hostile',
  '<script>window.__pwned = "script"</script>',
  '<img src="x" onerror="window.__pwned = \'onerror\'">',
  '<iframe src="https://evil.example/"></iframe>',
  '<div>',
  '<svg onload="window.__pwned = \'svg\'"></svg>',
  '</div>',
  '',
  '[click me](javascript:window.__pwned=\'link\') [data](data:text/html,<script>alert(1)</script>)',
  '<javascript:window.__pwned=1> <https://example.com/safe>',
  '![tracker](https://evil.example/pixel.png) ![local](/favicon.svg)',
  '[ok](https://example.com/ok "fine") and <b onmouseover="window.__pwned=\'b\'">bold?</b>',
].join('\n');

test('hostile notes render as text: nothing runs, nothing loads, no CSP violation', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    const violations = [];
    await page.exposeFunction('__cspViolation', (v) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        window.__cspViolation(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await openApp(page, server.base);
    const csp = await page.evaluate(async () => (await fetch('/')).headers.get('content-security-policy'));
    assert.match(csp, /default-src 'self'/);
    await page.getByRole('button', { name: 'New note' }).click();
    // The preview's own code is a module loaded on first use: load it first (on the empty
    // note), so that what is recorded below is what the hostile note makes the page load.
    await page.getByTestId('preview-toggle').click();
    await page.getByTestId('preview').waitFor();
    await page.getByTestId('preview-toggle').click();
    await page.getByTestId('preview').waitFor({ state: 'detached' });
    await page.fill('#note-title', 'Hostile');
    await page.fill('#note-content', HOSTILE);
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');

    // From here on, any request the preview makes is recorded.
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.getByTestId('preview-toggle').click();
    const preview = page.getByTestId('preview');
    await preview.locator('h1', { hasText: 'Hostile' }).waitFor();
    // Hover and click what could carry a handler.
    await preview.hover();
    await preview.getByText('click me').click();
    await page.waitForTimeout(500);

    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran');
    for (const tag of ['script', 'img', 'iframe', 'svg', 'div', 'b', 'object', 'style']) {
      assert.equal(await preview.locator(tag).count(), 0, `no <${tag}> in the preview`);
    }
    const attrs = await preview.evaluate((el) =>
      [...el.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.name)),
    );
    assert.deepEqual(attrs.filter((a) => a.startsWith('on') || a === 'style' || a === 'src'), []);
    const hrefs = await preview.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(hrefs.sort(), [
      '/favicon.svg',
      'https://evil.example/pixel.png',
      'https://example.com/ok',
      'https://example.com/safe',
    ]);
    // The raw HTML is shown, as text.
    assert.match(await preview.textContent(), /<script>window.__pwned = "script"<\/script>/);
    assert.deepEqual(requests, [], 'the preview loaded nothing');
    assert.deepEqual(violations, [], 'no CSP violation (nothing even tried)');
  } finally {
    await p.close();
  }
});

test('a checklist toggled in the preview is an edit that syncs', async () => {
  const a = await openProfile();
  const b = await openProfile();
  try {
    await openApp(a.page, server.base);
    await signIn(a.page, 'md-user', 'Create account');
    await a.page.getByRole('button', { name: 'New note' }).click();
    await a.page.fill('#note-title', 'Shopping');
    await a.page.fill('#note-content', 'Today:\n\n- [ ] milk\n- [x] eggs\n- [ ] bread\n');
    await a.page.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });

    await a.page.getByTestId('preview-toggle').click();
    const boxes = a.page.getByTestId('preview').getByRole('checkbox');
    assert.equal(await boxes.count(), 3);
    assert.deepEqual(
      await boxes.evaluateAll((bs) => bs.map((b) => b.checked)),
      [false, true, false],
    );
    await boxes.nth(0).click(); // milk: done
    await boxes.nth(1).click(); // eggs: not done after all
    await a.page.waitForFunction(
      () => document.querySelector('#note-content').value === 'Today:\n\n- [x] milk\n- [ ] eggs\n- [ ] bread\n',
    );
    // Saved and pushed like any edit.
    await a.page.waitForSelector('li.note[data-sync="pending"], li.note[data-sync="synced"]');
    await a.page.waitForFunction(
      () =>
        document.querySelector('li.note[data-sync="synced"]') &&
        document.querySelector('li.note p').textContent.includes('[x] milk'),
      null,
      { timeout: 20_000 },
    );

    // Another device sees the ticked list.
    await openApp(b.page, server.base);
    await signIn(b.page, 'md-user', 'Sign in');
    await syncUntil(
      b.page,
      async () => (await b.page.locator('li.note', { hasText: '[x] milk' }).count()) === 1,
      'the toggle reached the other device',
    );
    await b.page.locator('li.note', { hasText: 'Shopping' }).getByRole('button').click();
    await b.page.getByTestId('preview-toggle').click();
    assert.deepEqual(
      await b.page.getByTestId('preview').getByRole('checkbox').evaluateAll((bs) => bs.map((b) => b.checked)),
      [true, false, false],
    );
  } finally {
    await a.close();
    await b.close();
  }
});
