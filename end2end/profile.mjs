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
  // Glue frames (the futures executor, wasm-bindgen's shims) say nothing: left out.
  const glue = /^(\(root\)|real|run|cb0|wasm-to-js|js-to-wasm|wasm_bindgen|js_sys::futures|<core::pin::Pin|<futures_util::future::poll_fn|core::ops::function|<core::panic::unwind_safe)/;
  const rows = [...incl].filter(([k]) => !glue.test(k)).sort((a, b) => b[1] - a[1]);
  for (const [k, t] of rows.slice(0, 30)) {
    console.error(`  ${(t / 1000).toFixed(1).padStart(8)} ms  ${k.slice(0, 160)}`);
  }
}
