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
//   (`worker_sync` in the wasm, its code in a module loaded on first use: from this
//   build's cache, see `self.fetch` below), under the same Web Lock as the pages;
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

// The worker's own requests for this build's modules are answered from this build's cache.
// The worker's sync engine is a module loaded on first use (pkg/split_worker.wasm, and the
// chunks it shares with the page's screens), which the split loader (the generated
// pkg/__wasm_split.*.js) fetches with the global fetch(); a service worker's own fetch()
// does not go through its fetch handler, so without this the module would come from the
// network: none offline, or another build's (which does not fit this build's tern.wasm).
//
// What it answers, and nothing else: a GET of a same-origin path under /pkg/ that this
// build precached (PRECACHE, fixed when the server wrote this script; no query string),
// from this build's cache only: a miss is an error, never the network (like tern.wasm in
// loadEngine). Any other request (/sync, /auth/*, another origin, another method, a query
// string) goes to the network untouched. Only the worker's own code calls it (a page's
// fetch() is the page's), and all it can hand out is this build's public files, which
// anyone can GET from the server anyway: no other origin, no other cache, no credentials,
// nothing a URL chosen by someone else could reach or replace.
const networkFetch = self.fetch.bind(self);
const OWN_FILES = new Set(PRECACHE.filter((path) => path.startsWith('/pkg/')));

/** The path of this build's file that `fetch(input, init)` asks for, if it is one. */
function ownFile(input, init) {
  // (Read without building a Request: that would consume the body of `input`.)
  const isRequest = input instanceof Request;
  const method = init?.method ?? (isRequest ? input.method : 'GET');
  let url;
  try {
    url = new URL(isRequest ? input.url : String(input), self.location.href);
  } catch {
    return null; // not a URL: the network's fetch() reports it
  }
  const own =
    method.toUpperCase() === 'GET' &&
    url.origin === self.location.origin &&
    url.search === '' &&
    OWN_FILES.has(url.pathname);
  return own ? url.pathname : null;
}

self.fetch = async (input, init) => {
  const path = ownFile(input, init);
  if (path === null) return networkFetch(input, init);
  const hit = await (await caches.open(CACHE)).match(path);
  if (!hit) throw new TypeError(`${path} is missing from the cache ${CACHE}`);
  return hit;
};

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
  return networkFetch(request);
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
    event.respondWith(networkFetch(request).catch(() => fromCache(request, SHELL)));
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
