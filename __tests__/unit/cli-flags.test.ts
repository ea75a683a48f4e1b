/** The CLI's flag parsing (az spellings, booleans, every problem at once) and its file confinement. */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/hosts/cli/flags.js';
import { checkWorkspaceWrite, type WorkspaceRules } from '../../src/engine/index.js';

describe('parseFlags', () => {
  it('reads the az acr import spellings into the inputs', () => {
    const f = parseFlags([
      '-n',
      'prod',
      '--source',
      'app:1',
      '-t',
      'a:1',
      '--image',
      'b:2',
      '--repository',
      'c',
      '-u',
      'bot',
      '-p',
      'pw',
      '--force',
      '--no-wait',
      '-g',
      'rg',
      '--subscription',
      'sub',
      '-r',
      'devacr',
      '-o',
      'json',
    ]);
    expect(f.problems).toEqual([]);
    expect(f.inputs).toEqual({
      registry: 'prod',
      source: 'app:1',
      'target-tags': 'a:1\nb:2',
      'untagged-repositories': 'c',
      'source-username': 'bot',
      'source-password': 'pw',
      force: 'true',
      wait: 'false',
      'resource-group': 'rg',
      'subscription-id': 'sub',
    });
    expect(f.sourceRegistry).toBe('devacr');
    expect(f.output).toBe('json');
    expect(f.secretsOnArgv).toEqual(['-p']);
  });

  it('takes booleans as --flag, --flag=false and --no-flag', () => {
    expect(parseFlags(['--dry-run']).inputs['dry-run']).toBe('true');
    expect(parseFlags(['--pin-digest=false']).inputs['pin-digest']).toBe('false');
    expect(parseFlags(['--pin-digest', 'strict']).inputs['pin-digest']).toBe('strict');
    expect(parseFlags(['--wait=true']).inputs['wait']).toBe('true');
    expect(parseFlags(['--no-color']).color).toBe(false);
    expect(parseFlags(['--force=maybe']).problems[0]).toMatchObject({ input: '--force' });
  });

  it('reports every problem at once: unknown flags (with a guess), missing values, stray words, repeats', () => {
    const f = parseFlags(['--timout', '5m', 'import', '--name', 'a', '-n', 'b', '--source']);
    expect(f.problems.map((p) => p.input)).toEqual(['--timout', 'import', '--name', '--source']);
    expect(f.problems[0]!.message).toContain("did you mean '--timeout'?");
    expect(f.problems[0]!.value).toBe('***');
    expect(f.problems[2]!.message).toContain('given twice');
    expect(f.problems[3]!.message).toContain('needs a value');
  });
});

describe("the CLI's file rule (the shared workspace rule, rooted at the current directory)", () => {
  const root = mkdtempSync(join(tmpdir(), 'acr-import-cwd-'));
  mkdirSync(join(root, 'sub'));
  symlinkSync(tmpdir(), join(root, 'out-link'));
  const rules = (allowOutside: boolean): WorkspaceRules => ({
    root,
    rootName: 'the current directory',
    allowOutside,
    allowOutsideHint: 'pass --allow-outside-cwd',
  });

  it('allows paths inside the directory, existing or not', () => {
    expect(checkWorkspaceWrite(rules(false), 'lock-file', 'images.yaml')).toBe(
      join(realpathSync(root), 'images.yaml'),
    );
    expect(checkWorkspaceWrite(rules(false), 'lock-file', 'sub/new/lock.json')).toBe(
      join(realpathSync(root), 'sub/new/lock.json'),
    );
  });

  it('refuses .., absolute paths and symbolic links out of it, unless allowed', () => {
    for (const file of ['../images.yaml', '/tmp/elsewhere.json', 'out-link/x.yaml']) {
      expect(() => checkWorkspaceWrite(rules(false), 'lock-file', file)).toThrow(/--allow-outside-cwd/);
      expect(() => checkWorkspaceWrite(rules(true), 'lock-file', file)).not.toThrow();
    }
  });
});
