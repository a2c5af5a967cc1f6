// The harness is the one copy of the shared helpers: no test file (nor perf.mjs) defines a
// function or constant under a name the harness exports, where a weaker copy would shadow
// the harness's and drift from it; and the test password is written only in the harness.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as harness from './harness.mjs';

const DIR = import.meta.dirname;
const files = [
  ...readdirSync(DIR)
    .filter((f) => f.endsWith('.mjs') && f !== 'harness.mjs')
    .map((f) => join(DIR, f)),
  join(DIR, '../perf.mjs'),
  join(DIR, '../export-perf.mjs'),
];

test('no file outside the harness defines a helper the harness exports', () => {
  const found = [];
  for (const file of files) {
    const src = readFileSync(file, 'utf8');
    for (const name of Object.keys(harness)) {
      const def = new RegExp(`(function\\s+${name}\\s*\\(|(const|let|var)\\s+${name}\\s*=)`);
      if (def.test(src)) found.push(`${file}: ${name}`);
    }
  }
  assert.deepEqual(found, []);
});

test('the test password is written only in the harness', () => {
  const found = files.filter((f) => readFileSync(f, 'utf8').includes(harness.PASSWORD));
  assert.deepEqual(found, []);
});
