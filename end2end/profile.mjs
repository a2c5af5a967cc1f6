// CPU profiles of the page through the DevTools protocol, summed by function (self time;
// wasm functions by name when the wasm keeps its name section). Used by the perf scripts
// when asked for a profile.

/** Starts the V8 sampling profiler in `page`; returns a function that stops it and prints. */
export async function startProfile(page, label) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
  return async () => printProfile(label, (await cdp.send('Profiler.stop')).profile);
}

// Glue frames (the futures executor, wasm-bindgen's shims) say nothing: left out.
const GLUE = /^(\(root\)|real|run|cb0|wasm-to-js|js-to-wasm|wasm_bindgen|js_sys::futures|<core::pin::Pin|<futures_util::future::poll_fn|core::ops::function|<core::panic::unwind_safe)/;

/** Prints the 30 heaviest functions of a V8 CPU profile by self time. */
export function printProfile(label, profile) {
  const self = new Map();
  const dt = profile.timeDeltas;
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
    total += dt[i] ?? 0;
  });
  console.error(`${label}: ${(total / 1000).toFixed(0)} ms sampled, heaviest by self time:`);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.error(`  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
  }
  printLongestBusy(label, profile, byId);
}

/** The longest stretch without an idle sample (what a long frame gap was spent on):
 * its length, and the functions on its stacks by inclusive time. */
function printLongestBusy(label, profile, byId) {
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const dt = profile.timeDeltas;
  let best = [0, 0, 0];
  let start = 0;
  let len = 0;
  profile.samples.forEach((id, i) => {
    if (byId.get(id).callFrame.functionName === '(idle)') {
      start = i + 1;
      len = 0;
    } else {
      len += dt[i] ?? 0;
      if (len > best[0]) best = [len, start, i];
    }
  });
  const [us, from, to] = best;
  const incl = new Map();
  for (let i = from; i <= to; i++) {
    const seen = new Set();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id).callFrame;
      const key = f.functionName || '(anonymous)';
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + (dt[i] ?? 0));
    }
  }
  console.error(`${label}: longest busy stretch ${(us / 1000).toFixed(0)} ms; by inclusive time:`);
  const rows = [...incl].filter(([k]) => !GLUE.test(k)).sort((a, b) => b[1] - a[1]);
  for (const [k, t] of rows.slice(0, 30)) {
    console.error(`  ${(t / 1000).toFixed(1).padStart(8)} ms  ${k.slice(0, 160)}`);
  }
}

/** The samples of a V8 CPU profile with their times (µs, the profile's clock) and lengths. */
function timedSamples(profile) {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const out = [];
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    // (A sample's delta is the time since the one before: it stands for that stretch.)
    out.push({ t, dt, id, frame: byId.get(id).callFrame });
  });
  return out;
}

/** The heaviest functions on the stacks of `samples` by inclusive time, glue left out. */
function topInclusive(profile, samples, k) {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map();
  for (const s of samples) {
    const seen = new Set();
    for (let id = s.id; id !== undefined; id = parent.get(id)) {
      const key = byId.get(id).callFrame.functionName || '(anonymous)';
      if (seen.has(key) || GLUE.test(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + s.dt);
    }
  }
  return [...incl]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, us]) => `${(us / 1000).toFixed(1)} ms ${name.slice(0, 120)}`);
}

const selfKey = (f) => `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`.trim();

/** The heaviest functions by self time among `samples`, as "12.3 ms name" strings. */
function topSelf(samples, k) {
  const self = new Map();
  for (const s of samples) self.set(selfKey(s.frame), (self.get(selfKey(s.frame)) ?? 0) + s.dt);
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, us]) => `${(us / 1000).toFixed(1)} ms ${name.slice(0, 120)}`);
}

/**
 * What ran in each long gap between frames: `gaps` are `{ end, gap }` in the page's
 * `performance.now()` ms, `offsetUs` maps them to the profile's clock (profile time = page
 * ms × 1000 + offsetUs, measured around `Profiler.start`, so within a few ms). For each: the
 * time the main thread was busy in it (samples not idle) and the heaviest functions by self
 * time. Then every busy stretch over `over` ms (no idle sample in it: one task or tasks
 * back to back, which no frame could interrupt), whatever the frames did: a stretch whose
 * own CPU time is over 50 ms is a real one, a long gap with little busy time is the
 * machine's load (the page not scheduled) or the compositor.
 */
export function printGapWindows(label, profile, gaps, offsetUs, over = 50) {
  const samples = timedSamples(profile);
  const idle = (s) => s.frame.functionName === '(idle)';
  const ms = (us) => (us / 1000).toFixed(0);
  const start = profile.startTime;
  console.error(`${label}: ${gaps.length} gaps over ${over} ms between frames; what ran in each:`);
  for (const { end, gap } of gaps) {
    const to = end * 1000 + offsetUs;
    const from = to - gap * 1000;
    const inside = samples.filter((s) => s.t > from && s.t <= to);
    const busy = inside.filter((s) => !idle(s));
    const busyUs = busy.reduce((a, s) => a + s.dt, 0);
    console.error(
      `  gap ${gap.toFixed(0)} ms at ${ms(from - start)} ms of the profile: busy ${ms(busyUs)} ms; ` +
        topSelf(busy, 5).join(', '),
    );
    if (busyUs > over * 1000) console.error(`    by inclusive time: ${topInclusive(profile, busy, 8).join(', ')}`);
  }
  const stretches = [];
  let run = [];
  for (const s of [...samples, { frame: { functionName: '(idle)' }, dt: 0 }]) {
    if (!idle(s)) {
      run.push(s);
      continue;
    }
    const us = run.reduce((a, x) => a + x.dt, 0);
    if (us > over * 1000) stretches.push({ from: run[0].t - run[0].dt, us, run });
    run = [];
  }
  console.error(`${label}: ${stretches.length} busy stretches over ${over} ms (no idle sample):`);
  for (const { from, us, run } of stretches) {
    console.error(`  ${ms(us)} ms at ${ms(from - start)} ms of the profile: ${topSelf(run, 6).join(', ')}`);
    console.error(`    by inclusive time: ${topInclusive(profile, run, 8).join(', ')}`);
  }
}
