// Export and import in the browser: offline, every note (and the trash) leaves as one JSON
// file and as a zip of Markdown files; another browser imports the JSON (the same notes,
// the trash included), detects duplicates by note id on a second import, and imports a
// folder of .md/.txt files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { goOffline, openApp, openProfile, signIn, startServer, syncUntil, write } from './harness.mjs';
import { screenshots } from './shots.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

async function openPanel(page) {
  if ((await page.getByTestId('export-import').count()) === 0) {
    await page.getByRole('button', { name: 'Export / import' }).click();
  }
  await page.getByTestId('export-import').waitFor();
}

async function download(page, button, dir) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
  const path = join(dir, d.suggestedFilename());
  await d.saveAs(path);
  return path;
}

const message = (page, text) => page.getByTestId('export-message').filter({ hasText: text }).waitFor();

test('export offline as JSON and Markdown; import into another browser, duplicates skipped, a folder of files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-export-'));
  const a = await openProfile();
  const b = await openProfile();
  try {
    await openApp(a.page, server.base);
    await write(a.page, 'Alpha', 'first "quoted"\nline two');
    await write(a.page, 'Beta', 'second');
    await a.page.locator('li.note', { hasText: 'second' }).getByRole('button').first().click();
    await a.page.getByRole('button', { name: 'Delete', exact: true }).click();
    await a.page.locator('li.note', { hasText: 'second' }).waitFor({ state: 'detached' });

    await goOffline(a.context);
    await openPanel(a.page);
    await screenshots(a.page, 'export-import');
    const json = await download(a.page, 'Export JSON', dir);
    await message(a.page, 'Exported 2 notes.');
    const exported = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(exported.format, 'tern-export');
    assert.equal(exported.version, 2);
    const byTitle = Object.fromEntries(exported.notes.map((n) => [n.title, n]));
    assert.equal(byTitle.Alpha.content, 'first "quoted"\nline two');
    assert.equal(typeof byTitle.Beta.deleted_ms, 'number', 'the trash is exported');

    const zip = await download(a.page, 'Export Markdown (.zip)', dir);
    const bytes = readFileSync(zip);
    assert.equal(bytes.subarray(0, 2).toString(), 'PK');
    const text = bytes.toString('utf8');
    assert.match(text, /alpha-[A-Za-z0-9_-]+\.md/);
    assert.match(text, /---\nid: [A-Za-z0-9_-]+\ntitle: "Alpha"\n/);
    assert.match(text, /trash\/beta-/);

    // Another browser imports the JSON: the same notes, Beta in its trash.
    await openApp(b.page, server.base);
    await openPanel(b.page);
    await b.page.setInputFiles('#import-files', json);
    await message(b.page, 'Imported 2 notes.');
    await b.page.locator('li.note', { hasText: 'line two' }).waitFor();
    await b.page.getByRole('button', { name: 'Trash' }).click();
    await b.page.locator('li.trash-entry', { hasText: 'second' }).waitFor();
    // Again: duplicates by note id, nothing added.
    await b.page.setInputFiles('#import-files', json);
    await message(b.page, 'Imported 0 notes; 2 already here (same note id), skipped.');
    assert.equal(await b.page.locator('li.note').count(), 1);

    // A folder of Markdown and text files (other files in it are left alone).
    const folder = join(dir, 'Journal');
    mkdirSync(folder);
    writeFileSync(join(folder, '2024-05-01.md'), '# Rain\nIt rained all day.');
    writeFileSync(join(folder, 'todo.txt'), 'buy milk');
    writeFileSync(join(folder, 'photo.png'), 'not a note');
    await b.page.setInputFiles('#import-folder', folder);
    await message(b.page, 'Imported 2 notes.');
    await b.page.locator('li.note', { hasText: 'It rained all day.' }).waitFor();
    await b.page.locator('li.note', { hasText: 'buy milk' }).waitFor();
    const titles = (await b.page.locator('li.note h2').allTextContents()).sort();
    assert.deepEqual(titles, ['Alpha', 'Rain', 'todo']);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a JSON export can carry each note history from the server', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-export-'));
  const a = await openProfile();
  try {
    const page = a.page;
    await openApp(page, server.base);
    await signIn(page, 'hana', 'Create account');
    await write(page, 'Poem', 'first draft');
    const pushed = async () => (await page.getByTestId('status').textContent()).includes('0 pending');
    await syncUntil(page, pushed, 'note pushed');
    // Deleted and restored: the server keeps the deleted version in the note's history.
    await page.locator('li.note', { hasText: 'first draft' }).getByRole('button').first().click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await syncUntil(page, pushed, 'delete pushed');
    await page.getByRole('button', { name: 'Trash' }).click();
    await page.locator('li.trash-entry', { hasText: 'first draft' }).getByRole('button', { name: 'Restore' }).click();
    await page.locator('li.note', { hasText: 'first draft' }).waitFor();
    await syncUntil(page, pushed, 'restore pushed');

    await openPanel(page);
    await page.check('#export-history');
    const json = await download(page, 'Export JSON', dir);
    const { notes } = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(notes.length, 1);
    const history = notes[0].history;
    assert.ok(Array.isArray(history) && history.some((r) => r.reason === 'deleted' && r.content === 'first draft'), JSON.stringify(notes[0]));
  } finally {
    await a.close();
  }
});
