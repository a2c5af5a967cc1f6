// Export and import in the browser: offline, every note (and the trash) leaves as one JSON
// file and as a zip of Markdown files; another browser imports the JSON (the same notes,
// the trash included), detects duplicates by note id on a second import, and imports a
// folder of .md/.txt files. A note with a notebook, tags, a pin and a date (from a vault
// folder, Obsidian style) survives both exports into fresh browsers, checked in each
// browser's IndexedDB records (the fields as the app shows them), not through the sidebar.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { goOffline, openApp, openProfile, readIndexedDbNotes, signIn, startServer, syncUntil, write } from './harness.mjs';
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

/** A record's fields as the app shows them: the synced state with the pending edits on top. */
function shown(r) {
  const f = {};
  for (const [k, v] of Object.entries(r.fields ?? {})) {
    f[k] = v && v.elements ? new Set(Object.entries(v.elements).filter(([, e]) => e.present).map(([t]) => t)) : v.value;
  }
  for (const [k, e] of Object.entries(r.field_edits ?? {})) {
    if (k === 'tags') {
      const s = f[k] ?? new Set();
      for (const a of e.add ?? []) s.add(a);
      for (const x of e.remove ?? []) s.delete(x);
      f[k] = s;
    } else {
      f[k] = e;
    }
  }
  return f;
}

/**
 * Every live note of the page's store as the user sees it: title, body, notebook path
 * (names), tag names, pin, creation date.
 */
async function organised(page) {
  const records = (await readIndexedDbNotes(page)).filter((r) => !r.deleted);
  const byId = new Map(records.map((r) => [r.id, { ...r, f: shown(r) }]));
  const path = (id) => {
    const out = [];
    for (let at = byId.get(id); at && at.f.kind === 'notebook' && out.length < 50; at = byId.get(at.f.parent)) {
      out.unshift(at.title);
    }
    return out;
  };
  return records
    .map((r) => byId.get(r.id))
    .filter((r) => (r.f.kind ?? 'note') === 'note')
    .map((r) => ({
      title: r.title,
      content: r.content,
      notebook: path(r.f.notebook),
      tags: [...(r.f.tags ?? [])].map((t) => byId.get(t)?.title).sort(),
      pinned: r.f.pinned === true,
      created: r.f.created ?? null,
    }))
    .sort((a, b) => a.title.localeCompare(b.title));
}

test('a note with a notebook, a tag and a pin survives JSON and Markdown export into fresh browsers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-organised-'));
  const vault = join(dir, 'Vault');
  mkdirSync(join(vault, 'Work', 'Projects'), { recursive: true });
  mkdirSync(join(vault, '.obsidian'));
  writeFileSync(
    join(vault, 'Work', 'Projects', 'Plan.md'),
    '---\ntags: [urgent, project]\npinned: true\ncreated: 2024-05-01T10:30:00Z\naliases: [plan]\n---\nSee [[Ideas]].\n',
  );
  writeFileSync(join(vault, 'Ideas.md'), '---\ntags:\n  - "#project"\n---\n# Ideas\nBack to [[Plan]].\n');
  writeFileSync(join(vault, '.obsidian', 'app.md'), 'settings, not a note');
  const want = [
    { title: 'Ideas', content: 'Back to [[Plan]].\n', notebook: [], tags: ['project'], pinned: false },
    {
      title: 'Plan',
      content: '---\naliases: [plan]\n---\nSee [[Ideas]].\n',
      notebook: ['Work', 'Projects'],
      tags: ['project', 'urgent'],
      pinned: true,
      created: Date.UTC(2024, 4, 1, 10, 30),
    },
  ];
  const check = (got) => {
    assert.deepEqual(
      got.map(({ created, ...rest }) => rest),
      want.map(({ created, ...rest }) => rest),
    );
    assert.equal(got[1].created, want[1].created);
    assert.equal(got[0].created, null, 'a file without a date: none made up');
  };

  const a = await openProfile();
  const b = await openProfile();
  const c = await openProfile();
  try {
    await openApp(a.page, server.base);
    await openPanel(a.page);
    await goOffline(a.context); // all of it works without the server
    await a.page.setInputFiles('#import-folder', vault);
    // Made: notebooks Work and Projects, tags urgent and project (Ideas' '#project' is the same tag).
    await message(a.page, 'Imported 2 notes and 4 notebooks and tags.');
    await a.page.locator('li.note h2', { hasText: 'Plan' }).waitFor();
    const inA = await organised(a.page);
    check(inA);

    const json = await download(a.page, 'Export JSON', dir);
    await message(a.page, 'Exported 2 notes.');
    const exported = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(exported.version, 2);
    const plan = exported.notes.find((n) => n.title === 'Plan');
    assert.equal(plan.pinned, true);
    assert.equal(plan.tags.length, 2);
    assert.equal(exported.notes.find((n) => n.id === plan.notebook).kind, 'notebook');

    const zip = await download(a.page, 'Export Markdown (.zip)', dir);
    const text = readFileSync(zip).toString('utf8');
    assert.match(text, /Work\/Projects\/plan-[A-Za-z0-9_-]+\.md/);
    assert.match(text, /created: 2024-05-01T10:30:00\.000Z\n/);
    assert.match(text, /updated: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\n/);
    assert.match(text, /tags: \[project, urgent\]\npinned: true\n/);

    // A fresh browser imports the JSON: the same notebooks, tags, pin and dates.
    await openApp(b.page, server.base);
    await openPanel(b.page);
    await b.page.setInputFiles('#import-files', json);
    await message(b.page, 'Imported 2 notes and 4 notebooks and tags.');
    await b.page.locator('li.note h2', { hasText: 'Plan' }).waitFor();
    assert.deepEqual(await organised(b.page), inA);

    // Another fresh browser imports the Markdown zip: the same, by folder and tag name.
    await openApp(c.page, server.base);
    await openPanel(c.page);
    await c.page.setInputFiles('#import-files', zip);
    await message(c.page, 'Imported 2 notes and 4 notebooks and tags.');
    await c.page.locator('li.note h2', { hasText: 'Plan' }).waitFor();
    assert.deepEqual(await organised(c.page), inA);
    // Records are folders and front matter, not notes: the list shows the two notes.
    assert.equal(await c.page.locator('li.note').count(), 2);
  } finally {
    await a.close();
    await b.close();
    await c.close();
  }
});
