/**
 * runAction runs a script the way a GitHub runner runs an action: INPUT_* variables, the runner's environment, and the
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, read back afterwards. Checked here with a throwaway script.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputEnvName, parseCommandFile, runAction } from '../../testbed/run-action.js';

const SCRIPT = `
import { appendFileSync } from 'node:fs';
const env = process.env;
const out = (name, value) => {
  const delimiter = 'ghadelimiter_' + Math.random().toString(16).slice(2);
  appendFileSync(env.GITHUB_OUTPUT, name + '<<' + delimiter + '\\n' + value + '\\n' + delimiter + '\\n');
};
out('registry', env['INPUT_REGISTRY']);
out('tags', env['INPUT_TARGET-TAGS']);
out('with-space', env['INPUT_SOME_INPUT'] ?? 'unset');
out('oidc', env.ACTIONS_ID_TOKEN_REQUEST_URL ?? 'unset');
appendFileSync(env.GITHUB_OUTPUT, 'legacy=plain value\\n');
appendFileSync(env.GITHUB_STEP_SUMMARY, '### Imported\\n| a | b |\\n');
appendFileSync(env.GITHUB_ENV, 'EXPORTED<<EOF\\nyes\\nEOF\\n');
console.log('::add-mask::very-secret');
console.log('::warning title=Careful::slow%0Aregistry');
console.log('::error file=action.yml,line=3::it failed');
console.error('to stderr');
process.exit(Number(env['INPUT_EXIT-CODE'] ?? '0'));
`;

describe('runAction', () => {
  let dir: string;
  let script: string;
  const bed = (): { dir: string; runnerEnv: () => Record<string, string> } => ({
    dir,
    runnerEnv: () => ({
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://127.0.0.1:1/token?api-version=2.0',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
      GITHUB_REPOSITORY: 'acme/app',
    }),
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'run-action-test-'));
    script = join(dir, 'fake-action.mjs');
    await writeFile(script, SCRIPT);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('input names follow the runner: upper case, spaces to _, dashes kept', () => {
    expect(inputEnvName('target-tags')).toBe('INPUT_TARGET-TAGS');
    expect(inputEnvName('some input')).toBe('INPUT_SOME_INPUT');
    expect(inputEnvName('registry')).toBe('INPUT_REGISTRY');
  });

  test('outputs, summary, env, masks, annotations and exit code come back', async () => {
    const run = await runAction(
      bed(),
      { registry: 'targetacr', 'target-tags': 'a:1\nb:2', 'some input': 'x', 'exit-code': '3' },
      { script },
    );
    expect(run.exitCode).toBe(3);
    expect(run.outputs).toEqual({
      registry: 'targetacr',
      tags: 'a:1\nb:2',
      'with-space': 'x',
      oidc: 'https://127.0.0.1:1/token?api-version=2.0',
      legacy: 'plain value',
    });
    expect(run.summary).toBe('### Imported\n| a | b |\n');
    expect(run.exportedEnv).toEqual({ EXPORTED: 'yes' });
    expect(run.masks).toEqual(['very-secret']);
    expect(run.annotations).toEqual([
      { level: 'warning', properties: { title: 'Careful' }, message: 'slow\nregistry' },
      { level: 'error', properties: { file: 'action.yml', line: '3' }, message: 'it failed' },
    ]);
    expect(run.stderr).toBe('to stderr\n');
    expect(run.durationMs).toBeGreaterThan(0);
    expect(run.env['INPUT_TARGET-TAGS']).toBe('a:1\nb:2');
  });

  test('opts.env overrides the runner env and undefined removes a variable', async () => {
    const run = await runAction(
      bed(),
      { registry: 'r' },
      { script, env: { ACTIONS_ID_TOKEN_REQUEST_URL: undefined } },
    );
    expect(run.exitCode).toBe(0);
    expect(run.outputs['oidc']).toBe('unset');
    expect(run.env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']).toBe('request-token');
  });

  test('parseCommandFile reads heredocs with CRLF and rejects an unterminated one', () => {
    expect(parseCommandFile('a<<X\r\n1\r\n2\r\nX\r\nb=c\n')).toEqual({ a: '1\n2', b: 'c' });
    expect(() => parseCommandFile('a<<X\n1\n')).toThrow(/unterminated/);
  });
});
