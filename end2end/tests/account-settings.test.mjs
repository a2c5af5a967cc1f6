// Account settings in the browser: the signed-in devices with their last use, signing one
// device out, changing the password (the other device is signed out), signing out
// everywhere, and deleting the account (its notes gone from the server and this browser).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, openApp, openProfile, openSettings, signIn, startServer } from './harness.mjs';
import { screenshots } from './shots.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const NEW_PASSWORD = 'a much longer passphrase';

/** The status of `GET /auth/me` from the page: 200 signed in, 401 not. */
const me = (page) => page.evaluate(async () => (await fetch('/auth/me')).status);

async function openAccount(page) {
  if ((await page.getByTestId('account-settings').count()) === 0) {
    await openSettings(page, 'Account');
  }
  await page.getByTestId('account-settings').waitFor();
}

test('devices, password change, sign out everywhere and account deletion', async () => {
  const a = await openProfile();
  const b = await openProfile();
  // No page error on the way (deleting the account's database once called a dropped closure).
  const errors = [];
  for (const p of [a, b]) p.page.on('pageerror', (e) => errors.push(e.message));
  try {
    await openApp(a.page, server.base);
    await signIn(a.page, 'uma', 'Create account');
    await a.page.getByRole('button', { name: 'New note' }).click();
    await a.page.fill('#note-title', 'Private');
    await a.page.fill('#note-content', 'my diary');
    await a.page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    await openApp(b.page, server.base);
    await signIn(b.page, 'uma', 'Sign in');

    // Two devices, this one marked, each with its last use.
    await openAccount(a.page);
    await a.page.locator('li.session').nth(1).waitFor();
    assert.equal(await a.page.locator('li.session').count(), 2);
    const mine = a.page.locator('li.session[data-current=true]');
    assert.match(await mine.textContent(), /Headless Chrome on Linux \(this device\).*last used/);
    await screenshots(a.page, 'account-settings');

    // Sign the other device out.
    await a.page.locator('li.session[data-current=false]').getByRole('button', { name: 'Sign out' }).click();
    await a.page.locator('li.session').nth(1).waitFor({ state: 'detached' });
    assert.equal(await me(b.page), 401);
    await openApp(b.page, server.base);
    await signIn(b.page, 'uma', 'Sign in');

    // Change the password: the wrong current one changes nothing.
    await a.page.fill('#current-password', 'not my password');
    await a.page.fill('#new-password', NEW_PASSWORD);
    await a.page.getByRole('button', { name: 'Change password' }).click();
    await a.page.getByTestId('settings-message').filter({ hasText: 'the password is wrong; nothing was changed' }).waitFor();
    assert.equal(await me(b.page), 200);
    await a.page.fill('#current-password', PASSWORD);
    await a.page.fill('#new-password', NEW_PASSWORD);
    await a.page.getByRole('button', { name: 'Change password' }).click();
    await a.page.getByTestId('settings-message').filter({ hasText: 'Password changed. 1 other session was signed out.' }).waitFor();
    assert.equal(await me(b.page), 401);
    assert.equal(await me(a.page), 200);

    // Sign out everywhere: this device too.
    await openApp(b.page, server.base);
    await signIn(b.page, 'uma', 'Sign in', NEW_PASSWORD);
    await a.page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await a.page.getByTestId('signin-open').waitFor();
    assert.equal(await me(a.page), 401);
    assert.equal(await me(b.page), 401);

    // Delete the account: asks for the password, then everything goes.
    await signIn(a.page, 'uma', 'Sign in', NEW_PASSWORD);
    await a.page.locator('li.note', { hasText: 'my diary' }).waitFor();
    const db = await a.page.evaluate(() => document.querySelector('main').dataset.store);
    assert.match(db, /^tern-/);
    await openAccount(a.page);
    await a.page.fill('#delete-password', 'not my password');
    await a.page.getByRole('button', { name: 'Delete account' }).click();
    await a.page.getByRole('button', { name: 'Yes, delete my account and every note' }).click();
    await a.page.getByTestId('settings-message').filter({ hasText: 'Account not deleted' }).waitFor();
    await a.page.fill('#delete-password', NEW_PASSWORD);
    await a.page.getByRole('button', { name: 'Delete account' }).click();
    await screenshots(a.page, 'account-delete-confirm');
    await a.page.getByRole('button', { name: 'Yes, delete my account and every note' }).click();
    await a.page.getByTestId('signin-open').waitFor();
    await a.page.getByText('Account deleted').waitFor();
    await a.page.locator('li.note', { hasText: 'my diary' }).waitFor({ state: 'detached' });
    // This browser's copy goes too.
    await a.page.waitForFunction(
      async (db) => !(await indexedDB.databases()).some((d) => d.name === db),
      db,
      { timeout: 30_000, polling: 500 },
    );
    // The account is gone: its password signs nobody in.
    const r = await a.page.evaluate(async (pw) => {
      const resp = await fetch('/auth/signin', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'uma', password: pw }),
      });
      return resp.status;
    }, NEW_PASSWORD);
    assert.equal(r, 401);
    assert.deepEqual(errors, []);
  } finally {
    await a.close();
    await b.close();
  }
});
