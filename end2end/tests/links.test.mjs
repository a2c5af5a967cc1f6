// Links between notes in real Chromium: `[[` offers notes while typing and writes a link by
// id, the preview follows it (and keeps following it after the linked note is renamed), a
// link to a title no note has offers to create that note, and the linked note lists the
// note that links to it. A hostile title stays text.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openApp, openProfile, startServer, write } from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

// The list row titled exactly `title` (a row whose text merely links to it is another).
const row = (page, title) =>
  page.locator('li.note').filter({ has: page.locator('h2').getByText(title, { exact: true }) });

async function openListed(page, title) {
  await row(page, title).first().locator('button.open').click();
  await page.waitForFunction((t) => document.querySelector('#note-title')?.value === t, title);
}

async function showPreview(page, on) {
  const pressed = (await page.getByTestId('preview-toggle').getAttribute('aria-pressed')) === 'true';
  if (pressed !== on) await page.getByTestId('preview-toggle').click();
  if (on) await page.getByTestId('preview').waitFor();
}

test('[[ completes, links by id, follows renames, creates missing notes, lists backlinks', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await openApp(page, server.base);
    await write(page, 'Groceries', 'milk and eggs');
    await write(page, 'Plans', 'Shopping 🛒: ');
    const groceriesId = await row(page, 'Groceries').first().getAttribute('data-id');

    // Typing `[[Gro` offers Groceries; Enter writes the link by id.
    const text = page.locator('#note-content');
    await text.click();
    await page.keyboard.press('End');
    await text.pressSequentially('[[Gro');
    const offered = page.getByTestId('link-suggestions').getByRole('option', { name: 'Groceries' });
    await offered.waitFor();
    await page.keyboard.press('Enter');
    await page.getByTestId('link-suggestions').waitFor({ state: 'detached' });
    assert.equal(await text.inputValue(), `Shopping 🛒: [[${groceriesId}|Groceries]]`);
    // The browser's undo takes the link back to what was typed; redo puts it again.
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => document.querySelector('#note-content').value.endsWith('[[Gro'));
    await page.keyboard.press('Control+Shift+z');
    await page.waitForFunction((id) => document.querySelector('#note-content').value.endsWith(`[[${id}|Groceries]]`), groceriesId);
    // Escape closes the list, and it stays closed while typing on.
    await text.pressSequentially(' [[Gro');
    await offered.waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('link-suggestions').waitFor({ state: 'detached' });
    await text.pressSequentially('c');
    await page.waitForTimeout(300);
    assert.equal(await page.getByTestId('link-suggestions').count(), 0);
    await page.keyboard.press('Enter');
    assert.match(await text.inputValue(), /\[\[Groc\n$/);
    await text.fill(`Shopping 🛒: [[${groceriesId}|Groceries]]`);
    await text.pressSequentially(' and [[New idea]]');
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');

    // The linked note lists Plans under "Linked from".
    await openListed(page, 'Groceries');
    const backlinks = page.getByTestId('backlinks');
    await backlinks.getByRole('button', { name: 'Plans' }).waitFor();

    // Renamed, it is still linked: the preview shows the new title and opens it.
    await page.fill('#note-title', 'Shopping list');
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    await backlinks.getByRole('button', { name: 'Plans' }).click();
    await page.waitForFunction(() => document.querySelector('#note-title')?.value === 'Plans');
    await showPreview(page, true);
    const link = page.getByTestId('preview').locator(`a.note-link[data-note="${groceriesId}"]`);
    await link.waitFor();
    assert.equal(await link.textContent(), 'Shopping list');
    await link.click();
    await page.waitForFunction(() => document.querySelector('#note-title')?.value === 'Shopping list');

    // A title no note has: the link offers to create it.
    await openListed(page, 'Plans');
    await showPreview(page, true);
    const missing = page.getByTestId('preview').locator('a.note-link.missing[data-create="New idea"]');
    await missing.waitFor();
    await missing.click();
    await page.waitForFunction(() => document.querySelector('#note-title')?.value === 'New idea');
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    await row(page, 'New idea').first().waitFor();
    // ... and the link now follows it.
    await openListed(page, 'Plans');
    await showPreview(page, true);
    await page.getByTestId('preview').locator('a.note-link:not(.missing)', { hasText: 'New idea' }).waitFor();
  } finally {
    await p.close();
  }
});

test('a hostile title in a link stays text and a link goes nowhere outside the app', async () => {
  const p = await openProfile();
  try {
    const { page } = p;
    await openApp(page, server.base);
    const hostile = '"><img src=x onerror="window.__pwned=1">';
    await write(page, hostile, 'bait');
    await write(page, 'Reader', '');
    const text = page.locator('#note-content');
    await text.click();
    await text.pressSequentially('[[img');
    await page.getByTestId('link-suggestions').getByRole('option').first().waitFor();
    await page.keyboard.press('Enter');
    await text.pressSequentially(' [[javascript:window.__pwned=2]]');
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    await showPreview(page, true);
    const preview = page.getByTestId('preview');
    await preview.locator('a.note-link[data-note]').waitFor();
    assert.equal(await preview.locator('img').count(), 0);
    for (const a of await preview.locator('a.note-link').all()) {
      assert.equal(await a.getAttribute('href'), '#');
    }
    await preview.locator('a.note-link.missing').click();
    await page.waitForFunction(() => document.querySelector('#note-title')?.value === 'javascript:window.__pwned=2');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(new URL(page.url()).origin, new URL(server.base).origin);
  } finally {
    await p.close();
  }
});
