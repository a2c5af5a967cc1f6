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
}
