// Live sync: a note made on one device appears on another open device of the same account
// without any interaction (the server pokes it through GET /live), and the live channel
// comes back after the device goes offline and online again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { goOffline, goOnline, openApp, openProfile, signIn, startServer } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const noteItem = (page, text) => page.locator('li.note', { hasText: text });
const liveUp = (page) =>
  page.waitForSelector('[data-testid="status"][data-live="true"]', { timeout: 30_000 });

/**
 * Writes a note on `writer`, waits until the server has it, and returns how long after
 * that it took to appear on `reader`, which nobody touches. The bound only keeps a broken
 * channel from hanging the test; it is far below the 30 s poll, so a note that arrives
 * in time came through the live channel. The benchmark measures the latency.
 */
async function propagation(writer, reader, content) {
  await writer.fill('#note-title', 'Live');
  await writer.fill('#note-content', content);
  await writer.waitForSelector(`li.note[data-sync="synced"]:has-text("${content}")`, {
    timeout: 20_000,
  });
  const synced = Date.now();
  await noteItem(reader, content).waitFor({ timeout: 15_000 });
  return Date.now() - synced;
}

test('a note made on one device appears on the other at once, with no interaction', async () => {
  const one = await openProfile();
  const two = await openProfile();
  try {
    await openApp(one.page, server.base);
    await signIn(one.page, 'lark', 'Create account');
    await openApp(two.page, server.base);
    await signIn(two.page, 'lark', 'Sign in');
    await liveUp(two.page);
    const ms = await propagation(one.page, two.page, 'sent live');
    console.log(`note visible on the other device ${ms} ms after the writer showed it synced`);
    // The other device's status says changes arrive live.
    assert.match(await two.page.getByTestId('status').innerText(), /live/);
  } finally {
    await one.close();
    await two.close();
  }
});

test('the live channel comes back after the device goes offline and online again', async () => {
  const one = await openProfile();
  const two = await openProfile();
  try {
    await openApp(one.page, server.base);
    await signIn(one.page, 'wren', 'Create account');
    await openApp(two.page, server.base);
    await signIn(two.page, 'wren', 'Sign in');
    await liveUp(two.page);

    await goOffline(two.context);
    await two.page.waitForSelector('[data-testid="status"][data-online="false"]', {
      timeout: 15_000,
    });
    // Written while the other device is offline: it gets it on its way back.
    await one.page.fill('#note-title', 'While away');
    await one.page.fill('#note-content', 'written while away');
    await one.page.waitForSelector('li.note[data-sync="synced"]:has-text("written while away")', {
      timeout: 20_000,
    });
    await goOnline(two.context);
    await noteItem(two.page, 'written while away').waitFor({ timeout: 15_000 });
    await liveUp(two.page);

    // And later notes come live again.
    const ms = await propagation(one.page, two.page, 'live again');
    console.log(`after reconnecting: visible ${ms} ms after the writer showed it synced`);
  } finally {
    await one.close();
    await two.close();
  }
});
