// Typing to another screen: how long after a keystroke on one device the other open device
// of the same account shows it, and how many `/sync` requests the typing device sends for
// it. Run by `scripts/perf.sh` (release build, TERN_SERVER_BIN) or on its own against the
// debug build: `node end2end/typing-perf.mjs` after `cargo leptos build --split`.
//
// Two browser profiles (two devices, each its own browser process) sign in to one account;
// both open one note. The writer types into it from inside its page, on timers, so the
// keystroke times are exact: steady typing (TERN_TYPING_CHARS characters, one every
// 150 ms, about 80 words a minute), then words with pauses (5 characters, then 1 s quiet,
// TERN_TYPING_WORDS times). The reader, which nobody touches, records every change of its
// editor's text with a requestAnimationFrame loop: the time it could first be seen. A
// keystroke's latency is from its input event to the first frame on the reader showing a
// text at least that long (both pages read one clock, `Date.now()`, on one machine).
import { openApp, openProfile, signIn, startServer } from './tests/harness.mjs';

const CHARS = Number(process.env.TERN_TYPING_CHARS ?? 80);
const WORDS = Number(process.env.TERN_TYPING_WORDS ?? 10);
const STEADY_MS = 150;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
};

/** Types `plan` ([delay before, character] pairs) into the writer's body; resolves with
 * `[time, length after]` per keystroke. */
function type(page, plan) {
  return page.evaluate(
    (plan) =>
      new Promise((ok) => {
        const el = document.querySelector('#note-content');
        const out = [];
        let i = 0;
        const next = () => {
          if (i === plan.length) return ok(out);
          const [, ch] = plan[i++];
          el.value = el.value + ch;
          el.dispatchEvent(new Event('input', { bubbles: true }));
          out.push([Date.now(), el.value.length]);
          setTimeout(next, i < plan.length ? plan[i][0] : 0);
        };
        setTimeout(next, plan[0][0]);
      }),
    plan,
  );
}

function watch(page) {
  return page.evaluate(() => {
    globalThis.__seen = [];
    let last = -1;
    const loop = () => {
      const v = document.querySelector('#note-content')?.value ?? '';
      if (v.length !== last) {
        last = v.length;
        globalThis.__seen.push([Date.now(), v.length]);
      }
      if (globalThis.__seen !== null) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  });
}

async function phase(name, writer, reader, requests, plan) {
  await watch(reader.page);
  const before = requests.length;
  const strokes = await type(writer.page, plan);
  // Wait until the reader shows the last keystroke (or 10 s).
  const target = strokes.at(-1)[1];
  await reader.page
    .waitForFunction((n) => (document.querySelector('#note-content')?.value.length ?? 0) >= n, target, {
      timeout: 10_000,
      polling: 50,
    })
    .catch(() => {});
  const seen = await reader.page.evaluate(() => {
    const s = globalThis.__seen;
    globalThis.__seen = null;
    return s;
  });
  const lat = strokes.map(([t, len]) => {
    const hit = seen.find(([ts, l]) => ts >= t && l >= len);
    return hit ? hit[0] - t : Infinity;
  });
  const span = (strokes.at(-1)[0] - strokes[0][0]) / 1000;
  const sent = requests.slice(before).filter((t) => t >= strokes[0][0] && t <= strokes.at(-1)[0] + 1000).length;
  return {
    name,
    n: lat.length,
    p50: pct(lat, 50),
    p90: pct(lat, 90),
    p99: pct(lat, 99),
    max: Math.max(...lat),
    lost: lat.filter((x) => x === Infinity).length,
    perSecond: sent / Math.max(span + 1, 1),
    sent,
    span,
  };
}

const server = await startServer();
const writer = await openProfile();
const reader = await openProfile();
const requests = [];
let results;
try {
  const user = `typist${Date.now() % 100000}`;
  await openApp(writer.page, server.base);
  await signIn(writer.page, user, 'Create account');
  await openApp(reader.page, server.base);
  await signIn(reader.page, user, 'Sign in');
  await reader.page.waitForSelector('[data-testid="status"][data-live="true"]', { timeout: 30_000 });
  await writer.page.fill('#note-title', 'Typing');
  await writer.page.fill('#note-content', 'x');
  await writer.page.waitForSelector('li.note[data-sync="synced"]:has-text("Typing")', { timeout: 30_000 });
  await reader.page.locator('li.note', { hasText: 'Typing' }).first().getByRole('button').first().click();
  await reader.page.waitForFunction(() => document.querySelector('#note-title')?.value === 'Typing');
  writer.page.on('request', (r) => r.url().endsWith('/sync') && requests.push(Date.now()));

  const letters = 'the quick brown fox jumps over the lazy dog ';
  const steady = Array.from({ length: CHARS }, (_, i) => [i === 0 ? 0 : STEADY_MS, letters[i % letters.length]]);
  const words = [];
  for (let w = 0; w < WORDS; w++) {
    for (let c = 0; c < 5; c++) words.push([c === 0 ? 1000 : STEADY_MS, 'words'[c]]);
  }
  results = [
    await phase(`steady typing (${CHARS} keys, one per ${STEADY_MS} ms)`, writer, reader, requests, steady),
    await phase(`words with pauses (${WORDS} x 5 keys, then 1 s)`, writer, reader, requests, words),
  ];
} finally {
  await writer.close();
  await reader.close();
  await server.stop();
}

const f = (x) => (typeof x === 'number' ? (Number.isFinite(x) ? x.toFixed(0) : 'never') : String(x)).padStart(8);
console.log('Typing to another open device (ms from the keystroke to the first frame showing it there)');
console.log(''.padEnd(48) + ['p50', 'p90', 'p99', 'max', 'never', 'req/s'].map((h) => h.padStart(8)).join(''));
for (const r of results) {
  console.log(
    r.name.padEnd(48) +
      [r.p50, r.p90, r.p99, r.max, r.lost].map(f).join('') +
      r.perSecond.toFixed(1).padStart(8),
  );
}
console.log('target: p50 <= 500 ms, p99 < 1000 ms, a few /sync requests a second at most');
