// npm run demo: a makemore run's model in a static page that samples in Chromium, the CLI's words for the same seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../lib/viz/export';
import { makemore, NAMES, newDir } from '../helpers/cli';
import { TSX } from '../../scripts/node-tsx';

const ROOT = path.resolve(__dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const missing = fs.existsSync(CHROMIUM) ? '' : 'Chromium is not installed';

/** The words of makemore --sample-only's report (grouped by tag there), sorted. */
function cliWords(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim())
    .sort();
}

test(
  'npm run demo: the page samples a makemore transformer in Chromium (file://), the same words as the CLI for a seed',
  { skip: missing && !process.env.CI ? missing : false },
  async () => {
    const work = newDir();
    const args = ['--input', NAMES, '--type', 'transformer', '--n-layer', '1', '--n-head', '2', '--n-embd', '16'];
    assert.equal(
      makemore([...args, '--batch-size', '8', '--max-steps', '30', '--num-samples', '0', '--work-dir', work]).code,
      0,
    );
    const cli = makemore(['--work-dir', work, '--sample-only', '--num-samples', '12', '--temperature', '0.8']);
    assert.equal(cli.code, 0, cli.err);
    const want = cliWords(cli.out);
    assert.equal(want.length, 12);
    const out = path.join(work, 'site');
    const r = spawnSync(process.execPath, [...TSX, 'scripts/cli/demo.ts', '--work-dir', work, '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['index.html', 'demo.js', 'weights.js', 'model.safetensors', 'config.json', 'vocab.json'])
      assert.ok(fs.existsSync(path.join(out, f)), f);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // nothing but the folder's own files
      await page.route(/^(?!file:)/, (route) => route.abort());
      await page.goto(pathToFileURL(path.join(out, 'index.html')).href);
      await page.waitForSelector('body[data-sampled="1"]', { timeout: 60_000 });
      assert.match((await page.textContent('#status')) ?? '', /transformer, [\d,]+ parameters, vocabulary 27/);
      await page.fill('#seed', '3407');
      await page.fill('#temperature', '0.8');
      await page.fill('#count', '12');
      await page.click('#go');
      await page.waitForSelector('body[data-sampled="2"]', { timeout: 60_000 });
      const got = ((await page.textContent('#out')) ?? '').split('\n').sort();
      assert.deepEqual(got, want, "the CLI's words for seed 3407, temperature 0.8");
      // a prefix: every word starts with it
      await page.fill('#prefix', 'ma');
      await page.click('#go');
      await page.waitForSelector('body[data-sampled="3"]', { timeout: 60_000 });
      const prefixed = ((await page.textContent('#out')) ?? '').split('\n');
      assert.equal(prefixed.length, 12);
      assert.ok(
        prefixed.every((w) => w.startsWith('ma')),
        prefixed.join(' '),
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
