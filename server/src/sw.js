// Tern's service worker (a module worker). The server serves this template at /sw.js with
// the build id filled in, so every deployment changes these bytes and browsers install the
// new worker. See server/src/pwa.rs.
//
// - install: precaches the app shell of this build under `tern-<build>`: the page, the
//   start-up module and every module loaded on first use (`cargo leptos --split`: the
//   server lists the site's pkg/ files into PKG), so every screen also opens offline;
// - activate: deletes every other `tern-*` cache, then controls open pages;
// - fetch: the shell and its files from this build's cache (so a page always runs the
//   build of the worker that controls it); everything else (/sync, /auth/*, /healthz, …)
//   goes to the network untouched;
// - sync (Background Sync, tag `tern-sync`): runs the app's own Rust sync engine
//   (`worker_sync` in the wasm), under the same Web Lock as the pages;
// - message `skip-waiting`: the user chose to apply this update.
import init, { worker_sync } from '/pkg/tern.js';

const BUILD = '__TERN_BUILD__';
const CACHE = `tern-${BUILD}`;
const SHELL = '/';
// Besides tern.js, tern.wasm and tern.css: the split modules, their chunks and their loader.
const PKG = __TERN_PKG__;
const PRECACHE = [
  SHELL,
  '/pkg/tern.js',
  '/pkg/tern.wasm',
  '/pkg/tern.css',
  ...PKG,
  '/manifest.webmanifest',
  '/favicon.svg',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/maskable-512.png',
];
const SYNC_TAG = 'tern-sync';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // `reload`: straight from the server, never from the HTTP cache of an older build.
      cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' }))),
    ),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('tern-') && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function fromCache(request, path) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(path);
  if (hit) return hit;
  // Not precached (should not happen once installed): the network, if any.
  return fetch(request);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && url.pathname === SHELL) {
    event.respondWith(fromCache(request, SHELL));
  } else if (request.mode === 'navigate') {
    // Other paths are the server's business (404 page); offline, the app shell.
    event.respondWith(fetch(request).catch(() => fromCache(request, SHELL)));
  } else if (PRECACHE.includes(url.pathname) && url.pathname !== SHELL) {
    event.respondWith(fromCache(request, url.pathname));
  }
});

// The wasm is instantiated on the first sync only, from this build's cache (never from a
// network that may already serve another build).
let engine;
function loadEngine() {
  engine ??= (async () => {
    const wasm = await (await caches.open(CACHE)).match('/pkg/tern.wasm');
    if (!wasm) throw new Error(`tern.wasm is missing from the cache ${CACHE}`);
    await init({ module_or_path: wasm });
  })().catch((e) => {
    engine = undefined;
    throw e;
  });
  return engine;
}

self.addEventListener('sync', (event) => {
  if (event.tag !== SYNC_TAG) return;
  // A rejected promise makes the browser retry later (with backoff).
  event.waitUntil(loadEngine().then(() => worker_sync()));
});

self.addEventListener('message', (event) => {
  const data = event.data ?? {};
  if (data.type === 'skip-waiting') {
    event.waitUntil(self.skipWaiting());
  } else if (data.type === 'build') {
    event.source?.postMessage({ type: 'build', build: BUILD });
  }
});
