/**
 * The engine as a library: what `package.json` exports (built by `npm run lib`) loads without any @actions package
 * and parses references the way the action does.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../testbed/run-action.js';

function evaluate(code: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
}

describe('the acr-import library', () => {
  it('exports the engine and the reference parser by package name', () => {
    const out = evaluate(`
      import * as engine from 'acr-import';
      import { parseImageReference, formatReference } from 'acr-import/reference';
      const ref = parseImageReference('docker.io/nginx:1.27');
      console.log(JSON.stringify({
        ref: formatReference(ref),
        api: ['runImports', 'parseConfig', 'renderSummary', 'toOutputs'].filter((n) => typeof engine[n] === 'function'),
      }));
    `);
    expect(JSON.parse(out)).toEqual({
      ref: 'docker.io/library/nginx:1.27',
      api: ['runImports', 'parseConfig', 'renderSummary', 'toOutputs'],
    });
  });

  it('does not import @actions/* anywhere in the built engine (the engine knows nothing of its host)', () => {
    const dir = join(REPO_ROOT, 'lib', 'engine');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) =>
      /(?:\bfrom|\bimport)\s*\(?\s*['"]@actions\//.test(readFileSync(join(dir, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
