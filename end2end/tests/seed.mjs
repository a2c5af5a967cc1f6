// Filling a browser's database without the app, for tests and measurements of large notebooks.

/**
 * Writes `n` synced notes straight into the browser's database, in the store's shape: each
 * record with its `order` (list index) and `seq` (change sequence), and the `note_stats`
 * counter moved on in the same transaction, as the app's own writes do.
 */
export async function seed(page, n) {
  await page.evaluate(async (n) => {
    const db = await new Promise((ok, fail) => {
      const r = indexedDB.open('tern');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
    const tx = db.transaction(['notes', 'meta'], 'readwrite');
    const store = tx.objectStore('notes');
    const meta = tx.objectStore('meta');
    const stats = await new Promise((ok) => (meta.get('note_stats').onsuccess = (e) => ok(e.target.result)));
    const [seq, live] = stats.split(' ').map(Number);
    meta.put(`${seq + n} ${live + n}`, 'note_stats');
    const t0 = 1764000000000;
    for (let i = 0; i < n; i++) {
      const hlc = `${t0 + i}-00000000-seed`;
      store.put({
        seq: seq + i + 1,
        id: `seed-${String(i).padStart(6, '0')}`,
        title: `Note ${i} ${i % 7 === 0 ? 'groceries' : 'work'}`,
        content: `Body of note ${i}: lorem ipsum dolor sit amet.`,
        deleted: false,
        hlc,
        order: hlc,
        base_version: i + 1,
        pending: null,
        sync: { state: 'synced' },
      });
    }
    await new Promise((ok, fail) => {
      tx.oncomplete = ok;
      tx.onerror = () => fail(tx.error);
    });
    db.close();
  }, n);
}
