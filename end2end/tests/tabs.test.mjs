// Several tabs of the app: changes show up in the other tab without a reload
// (BroadcastChannel) and two tabs never sync at the same time (Web Locks).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openApp, openProfile, signIn, startServer } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

test('an edit in one tab appears in the other without a reload', async () => {
  const p = await openProfile();
  try {
    const one = p.page;
    const two = await p.context.newPage();
    await openApp(one, server.base);
    await openApp(two, server.base);
    await one.fill('#note-title', 'From tab one');
    await one.fill('#note-content', 'seen by tab two');
    await two.locator('li.note', { hasText: 'seen by tab two' }).waitFor({ timeout: 5_000 });
  } finally {
    await p.close();
  }
});

test('two tabs never sync at the same time', async () => {
  const p = await openProfile();
  try {
    const one = p.page;
    await openApp(one, server.base);
    await signIn(one, 'gina', 'Create account');
    const two = await p.context.newPage();
    await openApp(two, server.base);
    await two.waitForSelector('[data-testid=user]');
    await one.waitForSelector('[data-testid=status][data-syncing="false"]');
    await two.waitForSelector('[data-testid=status][data-syncing="false"]');

    // Slow every /sync down and count how many are in flight at once.
    let inFlight = 0;
    let maxInFlight = 0;
    let total = 0;
    await p.context.route('**/sync', async (route) => {
      inFlight += 1;
      total += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 400));
      try {
        await route.continue();
      } finally {
        inFlight -= 1;
      }
    });
    for (let round = 0; round < 3; round++) {
      await Promise.all([
        one.getByRole('button', { name: 'Sync now' }).click(),
        two.getByRole('button', { name: 'Sync now' }).click(),
      ]);
      await new Promise((r) => setTimeout(r, 600));
    }
    await one.waitForSelector('[data-testid=status][data-syncing="false"]');
    await two.waitForSelector('[data-testid=status][data-syncing="false"]');
    assert.ok(total >= 3, `syncs happened (${total})`);
    assert.equal(maxInFlight, 1, 'never two syncs at once');
  } finally {
    await p.close();
  }
});
