// The installable app: manifest and service worker (no installability errors), the app
// shell offline (cold start with the network off in a fresh browser process), offline
// editing across reloads, Background Sync with no page open, updates that keep edits,
// and storage that reports refusal and quota errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  goOffline,
  goOnline,
  openApp,
  openProfile,
  readIndexedDbNotes,
  serverNotes,
  signIn,
  startServer,
  waitForController,
  write,
} from './harness.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** Waits until `check(notes on the server)` holds. */
async function waitForServer(base, username, check, what) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const notes = await serverNotes(base, username);
    if (check(notes)) return notes;
    if (Date.now() > deadline) {
      throw new Error(`server never had ${what}: ${JSON.stringify(notes)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('installable: manifest and service worker, no installability errors', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    await waitForController(page);
    const cdp = await p.context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(installabilityErrors, []);
    const manifest = await cdp.send('Page.getAppManifest');
    assert.deepEqual(manifest.errors, []);
    const parsed = JSON.parse(manifest.data);
    assert.equal(parsed.display, 'standalone');
    assert.deepEqual(
      parsed.icons.map((i) => `${i.sizes} ${i.purpose}`),
      ['192x192 any', '512x512 any', '512x512 maskable'],
    );
    for (const icon of parsed.icons) {
      const r = await fetch(new URL(icon.src, server.base));
      assert.equal(r.headers.get('content-type'), 'image/png', icon.src);
      const png = Buffer.from(await r.arrayBuffer());
      const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
      assert.equal(`${w}x${h}`, icon.sizes, `${icon.src} is really ${icon.sizes}`);
    }
    // The precache is this build's, and the page says which build it is.
    const build = await page.locator('meta[name="tern-build"]').getAttribute('content');
    assert.deepEqual(await page.evaluate(() => caches.keys()), [`tern-${build}`]);
  } finally {
    await p.close();
  }

  // The check can fail: without a manifest, Chromium reports errors.
  const bare = await openProfile();
  try {
    await bare.context.route('**/manifest.webmanifest', (r) => r.fulfill({ status: 404 }));
    await openApp(bare.page, server.base);
    const cdp = await bare.context.newCDPSession(bare.page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.notDeepEqual(installabilityErrors, [], 'no manifest, not installable');
  } finally {
    await bare.close();
  }
});

test('offline cold start: a fresh browser with the network off shows the local notes', async () => {
  // Its own server, stopped before the second start: nothing can reach it any more.
  const own = await startServer();
  const first = await openProfile();
  let again;
  try {
    await openApp(first.page, own.base);
    await signIn(first.page, 'olive', 'Create account');
    await write(first.page, 'Cold start', 'read on a plane');
    await first.page.waitForSelector('li.note[data-sync="synced"]', { timeout: 15_000 });
    await goOffline(first.context);
    await write(first.page, 'Unsent', 'written in the tunnel');
    await waitForController(first.page);
    await first.close({ keepProfile: true });
    await own.stop();

    // A new browser process on the same profile, offline from the start.
    again = await openProfile(first.dir, { offline: true });
    const page = again.page;
    await openApp(page, own.base);
    await page.waitForSelector('[data-testid=status][data-online="false"]');
    await page.locator('li.note', { hasText: 'read on a plane' }).waitFor();
    const unsent = page.locator('li.note', { hasText: 'written in the tunnel' });
    assert.equal(await unsent.getAttribute('data-sync'), 'pending');
    assert.match(await page.getByTestId('status').textContent(), /1 pending/);
  } finally {
    await (again ?? first).close();
    await own.stop();
  }

  // The check can fail: without the service worker, an offline start has no app.
  const noWorker = await openProfile();
  try {
    await noWorker.context.route('**/sw.js', (r) => r.fulfill({ status: 404 }));
    await openApp(noWorker.page, server.base);
    await goOffline(noWorker.context);
    await assert.rejects(noWorker.page.reload(), /ERR_INTERNET_DISCONNECTED/);
  } finally {
    await noWorker.close();
  }
});

test('offline create, edit and delete survive a reload and sync when back online', async () => {
  const laptop = await openProfile();
  const phone = await openProfile();
  try {
    const page = laptop.page;
    await openApp(page, server.base);
    await signIn(page, 'otto', 'Create account');
    await write(page, 'Keep', 'first draft');
    await write(page, 'Remove', 'soon gone');
    await page.waitForSelector('[data-testid=status]:has-text("0 pending")', { timeout: 15_000 });
    await waitForController(page);

    await goOffline(laptop.context);
    await page.waitForSelector('[data-testid=status][data-online="false"]');
    await write(page, 'New', 'made offline');
    await page.locator('li.note', { hasText: 'first draft' }).getByRole('button').first().click();
    await page.fill('#note-content', 'second draft, offline');
    await page.locator('li.note', { hasText: 'second draft, offline' }).waitFor();
    await page.waitForSelector('[data-testid=saved]:has-text("Saved on this device")');
    await page.locator('li.note', { hasText: 'soon gone' }).getByRole('button').first().click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.locator('li.note', { hasText: 'soon gone' }).waitFor({ state: 'detached' });

    // Reload with the network still off: the worker serves the app, the notes are there.
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    await page.waitForSelector('[data-testid=status]:has-text("3 pending")');
    // Newest edit first.
    assert.deepEqual(await page.locator('li.note h2').allTextContents(), ['Keep', 'New']);
    assert.deepEqual(
      await page.locator('li.note').evaluateAll((els) => els.map((e) => e.dataset.sync)),
      ['pending', 'pending'],
    );

    // Started offline, the page could not check the session; back online it does, and
    // shows the user signed in again (the page syncs, not only the worker).
    assert.equal(await page.getByTestId('user').count(), 0);
    await goOnline(laptop.context);
    await page.waitForSelector('[data-testid=user]:has-text("otto")', { timeout: 15_000 });
    await page.waitForSelector('[data-testid=status]:has-text("0 pending")', { timeout: 20_000 });
    const stored = await readIndexedDbNotes(page);
    assert.ok(stored.every((n) => n.sync.state === 'synced'), JSON.stringify(stored));

    // And a second profile sees exactly that.
    await openApp(phone.page, server.base);
    await signIn(phone.page, 'otto', 'Sign in');
    await phone.page.locator('li.note', { hasText: 'made offline' }).waitFor({ timeout: 15_000 });
    await phone.page.locator('li.note', { hasText: 'second draft, offline' }).waitFor();
    assert.deepEqual(await phone.page.locator('li.note h2').allTextContents(), ['Keep', 'New']);
  } finally {
    await laptop.close();
    await phone.close();
  }
});

test('Background Sync: the worker pushes pending notes with no page of the app open', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    await signIn(page, 'bea', 'Create account');
    await page.waitForSelector('[data-testid=status]:has-text("last synced")');
    await waitForController(page);
    await goOffline(p.context);
    await page.waitForSelector('[data-testid=status][data-online="false"]');
    await write(page, 'From the train', 'pushed by the worker');
    assert.equal(
      await page.locator('li.note', { hasText: 'pushed by the worker' }).getAttribute('data-sync'),
      'pending',
    );
    // The page asked for a Background Sync when it went offline.
    const tags = await page.evaluate(async () =>
      (await navigator.serviceWorker.ready).sync.getTags(),
    );
    assert.deepEqual(tags, ['tern-sync']);

    // Close the app: only a blank page stays (the browser keeps running).
    const blank = await p.context.newPage();
    await page.close();
    assert.deepEqual(await serverNotes(server.base, 'bea'), [], 'nothing pushed yet');

    // Connectivity returns: the browser fires the sync event at the worker.
    await goOnline(p.context);
    const notes = await waitForServer(
      server.base,
      'bea',
      (n) => n.some((x) => x.content === 'pushed by the worker'),
      'the note pushed by the worker',
    );
    assert.equal(notes.length, 1);
    await blank.close();
  } finally {
    await p.close();
  }
});

test('Background Sync: the worker loads its sync engine from its cache, not from the server', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, server.base);
    await signIn(page, 'wren', 'Create account');
    await page.waitForSelector('[data-testid=status]:has-text("last synced")');
    await waitForController(page);

    // From now on the server's /pkg/* is out of reach (say a new deployment replaced it):
    // every request of the profile for it fails, and is noted. (Routes of the context see
    // the service worker's own requests too: checked below.) `offline` refuses everything.
    let offline = false;
    const fromNetwork = [];
    await p.context.route('**/*', (route) => {
      if (offline) return route.abort('internetdisconnected');
      const { pathname, search } = new URL(route.request().url());
      if (!pathname.startsWith('/pkg/')) return route.continue();
      fromNetwork.push(pathname + search);
      return route.abort('failed');
    });
    // The check can fail: the worker's own fetch() of a URL it did not precache (a query
    // string) goes to the network, and is refused.
    const [worker] = p.context.serviceWorkers();
    assert.ok(worker, 'a service worker runs');
    const probe = await worker.evaluate(() =>
      fetch('/pkg/tern.css?probe').then((r) => `status ${r.status}`, (e) => e.name),
    );
    assert.equal(probe, 'TypeError');
    assert.deepEqual(fromNetwork, ['/pkg/tern.css?probe']);

    offline = true;
    await p.context.setOffline(true);
    await page.waitForSelector('[data-testid=status][data-online="false"]');
    await write(page, 'From the ferry', 'pushed with the cached engine');
    const blank = await p.context.newPage();
    await page.close();

    // Back online, with no page of the app open: the worker loads its sync engine's module
    // (pkg/split_worker.wasm and its chunks) from its cache and pushes the note.
    offline = false;
    await p.context.setOffline(false);
    const notes = await waitForServer(
      server.base,
      'wren',
      (n) => n.some((x) => x.content === 'pushed with the cached engine'),
      'the note pushed by the worker',
    );
    assert.equal(notes.length, 1);
    assert.deepEqual(fromNetwork, ['/pkg/tern.css?probe'], 'no module came from the network');
    await blank.close();
  } finally {
    await p.close();
  }
});

test('a sync engine that cannot be loaded rejects the run with a message, no panic; a later run loads it', async () => {
  const p = await openProfile();
  try {
    const page = p.page;
    // No service worker (its cache would answer): the page's own requests meet the routes.
    await p.context.route('**/sw.js', (r) => r.fulfill({ status: 404 }));
    await p.context.route('**/pkg/split_worker.wasm', (r) => r.abort('failed'));
    await openApp(page, server.base);
    // The worker's entry point, called in the page (the app's own module instance).
    const run = () =>
      page.evaluate(async () => {
        const wasm = await import('/pkg/tern.js');
        return wasm.worker_sync().then(
          (r) => `resolved: ${r}`,
          (e) => `rejected: ${e.message}`,
        );
      });
    assert.equal(
      await run(),
      "rejected: the sync engine's module (pkg/split_worker.wasm) could not be loaded; " +
        'the console says why',
    );
    assert.equal(await page.evaluate(() => globalThis.ternPanic), undefined, 'no panic');
    assert.equal(await page.locator('#tern-panic').count(), 0);
    // A failed load is not remembered: once the module can be fetched, the run goes on.
    await p.context.unroute('**/pkg/split_worker.wasm');
    assert.equal(await run(), 'resolved: not signed in: nothing to sync');
  } finally {
    await p.close();
  }
});

const pageBuild = (page) => page.locator('meta[name="tern-build"]').getAttribute('content');
const workerBuild = (page) =>
  page.evaluate(
    () =>
      new Promise((ok) => {
        navigator.serviceWorker.addEventListener('message', (e) => {
          if (e.data?.type === 'build') ok(e.data.build);
        });
        navigator.serviceWorker.controller.postMessage({ type: 'build' });
      }),
  );

test('an update is offered, and applied only when asked, without losing an edit', async () => {
  let deployed = await startServer({ env: { TERN_BUILD_ID: 'build-one' } });
  const p = await openProfile();
  try {
    const page = p.page;
    await openApp(page, deployed.base);
    await waitForController(page);
    await write(page, 'Draft', 'version one');
    assert.equal(await pageBuild(page), 'build-one');
    assert.equal(await workerBuild(page), 'build-one');

    // A new deployment at the same address, on the same database.
    await deployed.stop({ keepData: true });
    deployed = await startServer({
      port: deployed.port,
      dataDir: deployed.dataDir,
      env: { TERN_BUILD_ID: 'build-two' },
    });
    // (Test instrument: what the editor holds when a page goes away.)
    await page.addInitScript(() =>
      addEventListener('pagehide', () =>
        sessionStorage.setItem('editor', document.querySelector('#note-content')?.value ?? ''),
      ),
    );
    await page.reload(); // a navigation: the browser looks for a new /sw.js
    await page.waitForSelector('main[data-ready="true"]');
    await page.getByTestId('update').waitFor({ timeout: 20_000 });
    assert.equal(await pageBuild(page), 'build-one', 'the old build runs until the user says');
    assert.equal(await workerBuild(page), 'build-one');

    // The user is still typing when "Reload" is clicked: the page must save the last
    // keystroke before it reloads.
    await page.locator('li.note', { hasText: 'version one' }).getByRole('button').first().click();
    await page.focus('#note-content');
    const loaded = page.waitForEvent('load', { timeout: 20_000 });
    const typing = page.keyboard.type(', then two, then three, then four', { delay: 40 });
    await page.waitForFunction(() => document.querySelector('#note-content').value.length > 15);
    // Clicked without taking the focus from the editor, so the typing goes on meanwhile.
    await page.evaluate(() => document.querySelector('[data-testid=update] button').click());
    await loaded;
    await typing.catch(() => {}); // keystrokes after the reload land on the new page
    await page.waitForSelector('main[data-ready="true"]');
    assert.equal(await pageBuild(page), 'build-two');
    assert.equal(await workerBuild(page), 'build-two');
    assert.deepEqual(await page.evaluate(() => caches.keys()), ['tern-build-two']);
    const typed = await page.evaluate(() => sessionStorage.getItem('editor'));
    assert.match(typed, /^version one, then two/);
    const stored = (await readIndexedDbNotes(page)).find((n) => n.title === 'Draft');
    assert.equal(stored.content, typed, 'every keystroke made before the reload is saved');
    assert.equal(stored.sync.state, 'pending');
    assert.equal(await page.getByTestId('update').count(), 0);
  } finally {
    await p.close();
    await deployed.stop();
  }
});

test('storage: persistence refused is shown; a full disk is reported, not ignored', async () => {
  const p = await openProfile();
  let again;
  const granted = await openProfile();
  try {
    await openApp(p.page, server.base);
    // Headless Chromium refuses persistent storage to a site the user never engaged with.
    await p.page.getByTestId('storage-notice').waitFor();
    assert.equal(await p.page.evaluate(() => navigator.storage.persisted()), false);
    await write(p.page, 'Fits', 'saved while there was room');
    await waitForController(p.page);
    await p.close({ keepProfile: true });

    // Later the disk is full (the quota is set before the browser opens the database).
    again = await openProfile(p.dir);
    const cdp = await again.context.newCDPSession(again.page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.base, quotaSize: 1 });
    const page = again.page;
    await openApp(page, server.base);
    await page.locator('li.note', { hasText: 'saved while there was room' }).waitFor();
    await page.getByRole('button', { name: 'New note' }).click();
    await page.fill('#note-title', 'Too much');
    await page.waitForSelector('[data-testid=saved]:has-text("Not saved")');
    assert.match(await page.getByTestId('saved').textContent(), /storage is full/);
    assert.equal(await page.locator('li.note').count(), 1);

    // Where the browser grants it, no notice.
    const gcdp = await granted.context.newCDPSession(granted.page);
    await gcdp.send('Browser.grantPermissions', {
      origin: server.base,
      permissions: ['durableStorage'],
    });
    await openApp(granted.page, server.base);
    await granted.page.waitForFunction(() => navigator.storage.persisted());
    await waitForController(granted.page);
    assert.equal(await granted.page.getByTestId('storage-notice').count(), 0);
  } finally {
    await (again ?? p).close();
    await granted.close();
  }
});
