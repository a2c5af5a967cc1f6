// Screenshots for a reviewer: each screen at phone (390 px) and desktop (1280 px) widths,
// in light and dark, into end2end/screenshots/ (gitignored; written by every run).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const DIR = resolve(import.meta.dirname, '../screenshots');

const SIZES = [
  ['phone', { width: 390, height: 844 }],
  ['desktop', { width: 1280, height: 800 }],
];

/** Writes `<name>-{phone,desktop}-{light,dark}.png` of `page`, then restores its size. */
export async function screenshots(page, name) {
  mkdirSync(DIR, { recursive: true });
  const before = page.viewportSize();
  for (const [size, viewport] of SIZES) {
    await page.setViewportSize(viewport);
    for (const colorScheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme });
      await page.screenshot({ path: join(DIR, `${name}-${size}-${colorScheme}.png`), fullPage: true });
    }
  }
  await page.emulateMedia({ colorScheme: null });
  if (before) await page.setViewportSize(before);
}
