// Prints Tern's client figures in headless Chromium, with 10,000 notes in IndexedDB:
// list render, search, keystroke handling and local save times. Run by scripts/perf.sh
// against a release build (TERN_SERVER_BIN=target/release/server).
import { openApp, openProfile, startServer } from './tests/harness.mjs';

const N = Number(process.env.TERN_PERF_NOTES ?? 10_000);
const RUNS = 5;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = await startServer();
const p = await openProfile();
const page = p.page;
try {
  await openApp(page, server.base);
  // Seed N notes straight into IndexedDB, in the store's own record shape.
  await page.evaluate(async (n) => {
    const db = await new Promise((ok, fail) => {
      const r = indexedDB.open('tern');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    const tx = db.transaction('notes', 'readwrite');
    const store = tx.objectStore('notes');
    const t0 = 1764000000000;
    for (let i = 0; i < n; i++) {
      store.put({
        id: `perf-${i}`,
        title: `Note ${i} ${i % 7 === 0 ? 'groceries' : 'work'}`,
        content: `Body of note ${i}: lorem ipsum dolor sit amet, consectetur adipiscing elit.`,
        deleted: false,
        hlc: `${t0 + i}-00000000-perfnode`,
        base_version: i + 1,
        pending: null,
        sync: { state: 'synced' },
      });
    }
    await new Promise((ok, fail) => {
      tx.oncomplete = ok;
      tx.onerror = () => fail(tx.error);
    });
  }, N);

  console.error(`seeded ${N} notes`);
  const loadStart = Date.now();
  await openApp(page, server.base);
  // The list renders the first page (200) of the matching notes and says how many match.
  const listed = (n) =>
    document.querySelector('ul.notes')?.dataset.total === String(n) &&
    document.querySelectorAll('li.note').length === Math.min(n, 200);
  await page.waitForFunction(listed, N, { timeout: 120_000 });
  const coldLoad = Date.now() - loadStart;
  console.error(`listed after ${coldLoad} ms`);

  // Time from an input event to the frame after the DOM has updated.
  const timeInput = (selector, value, until) =>
    page.evaluate(
      ([selector, value, until]) =>
        new Promise((ok) => {
          const el = document.querySelector(selector);
          const t0 = performance.now();
          el.value = value;
          el.dispatchEvent(new Event('input', { bubbles: true }));
          const check = () => {
            const list = document.querySelector('ul.notes');
            const rows = document.querySelectorAll('li.note').length;
            if (list.dataset.total === String(until) && rows === Math.min(until, 200)) {
              requestAnimationFrame(() => ok(performance.now() - t0));
            } else {
              requestAnimationFrame(check);
            }
          };
          check();
        }),
      [selector, value, until],
    );

  const groceries = Math.ceil(N / 7);
  const search = [];
  const render = [];
  for (let i = 0; i < RUNS; i++) {
    search.push(await timeInput('#search', 'groceries', groceries));
    render.push(await timeInput('#search', '', N));
  }

  console.error('search and render measured');
  // A keystroke in the editor: the handler and the next frame (the UI's part), then the
  // local save (IndexedDB) measured from the debounced save firing to "Saved".
  await page.locator('li.note').first().getByRole('button').first().click();
  const keystroke = [];
  const save = [];
  for (let i = 0; i < RUNS; i++) {
    const [ui, saved] = await page.evaluate(
      (i) =>
        new Promise((ok) => {
          const el = document.querySelector('#note-content');
          const label = document.querySelector('[data-testid=saved]');
          const t0 = performance.now();
          el.value = el.value + String(i);
          el.dispatchEvent(new Event('input', { bubbles: true }));
          const t1 = performance.now();
          requestAnimationFrame(() => {
            const ui = performance.now() - t0;
            // The label reads "Saving…" while the debounced save is waiting, then "Saved".
            let sawSaving = !label.textContent.includes('Saved on this device');
            const obs = new MutationObserver(() => {
              if (!label.textContent.includes('Saved on this device')) sawSaving = true;
              else if (sawSaving) {
                obs.disconnect();
                ok([ui, performance.now() - t1]);
              }
            });
            obs.observe(label, { childList: true, subtree: true, characterData: true });
          });
        }),
      i,
    );
    keystroke.push(ui);
    save.push(saved);
  }

  const f = (x) => x.toFixed(1).padStart(8);
  console.log(`Tern client figures, headless Chromium, ${N} notes in IndexedDB (median of ${RUNS})`);
  console.log(`page load to ${N} notes listed   ${f(coldLoad)} ms (includes wasm start and IndexedDB read)`);
  console.log(`search (filter to ${groceries}, first 200 shown) ${f(median(search))} ms   target < 100`);
  console.log(`list render (${N}, first 200 shown)  ${f(median(render))} ms   target < 100`);
  console.log(`keystroke to next frame (UI)     ${f(median(keystroke))} ms   target < 16`);
  console.log(`local save incl. 250 ms debounce ${f(median(save))} ms`);
} finally {
  await p.close();
  await server.stop();
}
