// Times an export of a large notebook in headless Chromium and watches the page's frames
// meanwhile: TERN_EXPORT_SIZE notes (default 100,000) are written straight into the
// browser's database, then "Export JSON" and "Export Markdown (.zip)" run while a
// requestAnimationFrame loop records the gaps between frames (a frozen tab shows as one
// long gap). Prints the time of each export, the longest and the 99th-percentile frame gap,
// and the file's size; checks the JSON holds every note. Then a fresh browser imports the
// JSON (timed, with its frame gaps too).
//
//   cargo leptos build --split && node end2end/export-perf.mjs
//
// TERN_EXPORT_PROFILE=1: a CPU profile of each export and of the import, its heaviest
// functions printed.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProfile } from './profile.mjs';
import { openApp, openProfile, openSettings, startServer } from './tests/harness.mjs';
import { seed } from './tests/seed.mjs';

const N = Number(process.env.TERN_EXPORT_SIZE ?? 100_000);
const PROFILE = process.env.TERN_EXPORT_PROFILE === '1';

const server = await startServer();
const a = await openProfile();
let jsonPath;
const dir = mkdtempSync(join(tmpdir(), 'tern-export-perf-'));
try {
  const page = a.page;
  await openApp(page, server.base);
  await seed(page, N);
  await openApp(page, server.base);
  // The search index is built in the background after a load: measured alone, the export.
  await page.waitForSelector('ul.notes[data-indexing="false"]', { timeout: 600_000 });
  await openSettings(page, 'Export / import');
  for (const [button, done] of [
    ['Export JSON', `Exported ${N} notes.`],
    ['Export Markdown (.zip)', `Exported ${N} notes.`],
  ]) {
    await page.evaluate(() => {
      globalThis.__gaps = [];
      globalThis.__watch = true;
      let last = performance.now();
      const tick = (t) => {
        globalThis.__gaps.push(t - last);
        last = t;
        if (globalThis.__watch) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const stop = PROFILE ? await startProfile(page, button) : null;
    const t0 = Date.now();
    const [d] = await Promise.all([
      page.waitForEvent('download', { timeout: 1_800_000 }),
      page.getByRole('button', { name: button }).click(),
    ]);
    const path = join(dir, d.suggestedFilename());
    await d.saveAs(path);
    await page.getByTestId('export-message').filter({ hasText: done }).waitFor({ timeout: 60_000 });
    const ms = Date.now() - t0;
    await stop?.();
    const gaps = await page.evaluate(() => {
      globalThis.__watch = false;
      return globalThis.__gaps.slice(1);
    });
    gaps.sort((x, y) => x - y);
    const p99 = gaps[Math.floor(gaps.length * 0.99)] ?? 0;
    const max = gaps[gaps.length - 1] ?? 0;
    const size = statSync(path).size;
    if (button === 'Export JSON') {
      jsonPath = path;
      const notes = JSON.parse(readFileSync(path, 'utf8')).notes.length;
      if (notes !== N) throw new Error(`the export holds ${notes} notes, not ${N}`);
    }
    console.log(
      `${button}: ${N} notes in ${(ms / 1000).toFixed(1)} s, ${(size / 1e6).toFixed(1)} MB; ` +
        `frames: ${gaps.length}, longest gap ${max.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`,
    );
  }
  // Import into a fresh browser.
  const b = await openProfile();
  try {
    await openApp(b.page, server.base);
    await openSettings(b.page, 'Export / import');
    await b.page.evaluate(() => {
      globalThis.__gaps = [];
      globalThis.__watch = true;
      let last = performance.now();
      const tick = (t) => {
        globalThis.__gaps.push(t - last);
        last = t;
        if (globalThis.__watch) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const stop = PROFILE ? await startProfile(b.page, 'Import JSON') : null;
    const t0 = Date.now();
    await b.page.setInputFiles('#import-files', jsonPath);
    await b.page
      .getByTestId('export-message')
      .filter({ hasText: `Imported ${N} notes.` })
      .waitFor({ timeout: 3_600_000 });
    const ms = Date.now() - t0;
    await stop?.();
    const gaps = await b.page.evaluate(() => {
      globalThis.__watch = false;
      return globalThis.__gaps.slice(1);
    });
    gaps.sort((x, y) => x - y);
    console.log(
      `Import JSON: ${N} notes in ${(ms / 1000).toFixed(1)} s; frames: ${gaps.length}, ` +
        `longest gap ${(gaps[gaps.length - 1] ?? 0).toFixed(0)} ms, ` +
        `p99 ${(gaps[Math.floor(gaps.length * 0.99)] ?? 0).toFixed(0)} ms`,
    );
  } finally {
    await b.close();
  }
} finally {
  await a.close();
  await server.stop();
}
