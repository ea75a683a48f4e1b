/**
 * Issue 13 items 3, 10, 12, 13, the pure parts: the workspace file rule (with a real temporary directory), masked
 * excerpts, invisible and look-alike characters, the INPUT_* policy, the mask policy, summary escaping and collapsing,
 * and the cap on listed input problems.
 */
import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeCharacter, suspiciousCharacter } from '../../src/engine/config/characters.js';
import { parseConfig } from '../../src/engine/config/parse.js';
import { loadYaml } from '../../src/engine/config/yaml.js';
import { InputError, MAX_LISTED_PROBLEMS } from '../../src/engine/errors.js';
import { HttpClient } from '../../src/engine/net/http.js';
import { checkInputVariables, nearestInput } from '../../src/engine/config/input-variables.js';
import { GITHUB_INPUT_VARIABLES } from '../../src/hosts/action/wording.js';
import { parseLockFile } from '../../src/engine/report/lock.js';
import { secretSink } from '../../src/engine/masking.js';
import { RegistryClient, TokenServerAuthorizer } from '../../src/engine/clients/registry.js';
import type { ImageResult, RunResult } from '../../src/engine/report/result.js';
import {
  escapeMarkdown,
  escapeRemoteText,
  renderSummary,
  SUMMARY_LIMITS,
} from '../../src/engine/report/summary.js';
import {
  checkWorkspaceWrite,
  maskedExcerpt,
  readWorkspaceFile,
  writeWorkspaceFile,
  type WorkspaceRules,
} from '../../src/engine/config/workspace-files.js';
import { FakeClock, fakeTransport, MemoryLogger, respond } from './fakes.js';

// parseConfig reads an images-file with the YAML parser, which hosts load first (common/runner.ts).
await loadYaml();

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err.problems.map((p) => `${p.input}: ${p.message}`).join('\n');
    throw err;
  }
  throw new Error('no error');
}

describe('workspace files', () => {
  let dir: string;
  let rules: WorkspaceRules;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ws-files-'));
    mkdirSync(join(dir, 'ws', 'sub'), { recursive: true });
    mkdirSync(join(dir, 'out'));
    writeFileSync(join(dir, 'ws', 'images.yml'), '- source: a/b:1\n');
    writeFileSync(join(dir, 'out', 'secret.yml'), 'password: hunter2\n');
    symlinkSync(join(dir, 'ws', 'images.yml'), join(dir, 'ws', 'sub', 'inside-link.yml'));
    symlinkSync(join(dir, 'out', 'secret.yml'), join(dir, 'ws', 'out-link.yml'));
    symlinkSync(join(dir, 'out'), join(dir, 'ws', 'out-dir'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'ws', 'dangling.yml'));
    execFileSync('mkfifo', [join(dir, 'ws', 'pipe')]);
    rules = { root: join(dir, 'ws'), rootName: 'the workspace' };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file inside, also through a symlink that stays inside', () => {
    expect(readWorkspaceFile(rules, 'images-file', 'images.yml')).toBe('- source: a/b:1\n');
    expect(readWorkspaceFile(rules, 'images-file', 'sub/inside-link.yml')).toBe('- source: a/b:1\n');
    expect(readWorkspaceFile(rules, 'images-file', join(dir, 'ws', 'sub', '..', 'images.yml'))).toContain(
      'a/b',
    );
    // A name that starts with two dots is not a way up.
    writeFileSync(join(dir, 'ws', '..dots.yml'), 'x: 1\n');
    expect(readWorkspaceFile(rules, 'images-file', '..dots.yml')).toBe('x: 1\n');
  });

  it.each([
    ['absolute outside', () => join(dir, 'out', 'secret.yml'), 'is outside the workspace: it resolves to'],
    ['../', () => '../out/secret.yml', 'is outside the workspace'],
    ['symlink out', () => 'out-link.yml', 'is outside the workspace'],
    ['symlinked directory out', () => 'out-dir/secret.yml', 'is outside the workspace'],
    ['dangling symlink', () => 'dangling.yml', 'is a symlink to a file that does not exist'],
    ['missing', () => 'nope.yml', 'cannot be read: it does not exist in the workspace'],
    ['FIFO', () => 'pipe', 'is a named pipe (FIFO), not a regular file'],
    ['directory', () => 'sub', 'is a directory, not a regular file'],
    ['/dev/zero', () => '/dev/zero', 'is outside the workspace'],
  ])('refuses %s to read, never quoting the file', (_name, given, message) => {
    const text = problemOf(() => readWorkspaceFile(rules, 'images-file', given()));
    expect(text).toContain(`images-file: ${message}`);
    expect(text).not.toContain('hunter2');
  });

  it('with allowOutside (the CLI flag) reads outside, but still checks type and size: /dev/zero is refused', () => {
    const open = { ...rules, allowOutside: true };
    expect(readWorkspaceFile(open, 'images-file', join(dir, 'out', 'secret.yml'))).toContain('hunter2');
    expect(problemOf(() => readWorkspaceFile(open, 'images-file', '/dev/zero'))).toContain(
      'is a character device, not a regular file',
    );
    expect(problemOf(() => readWorkspaceFile(open, 'images-file', '/dev/null'))).toContain(
      'character device',
    );
  });

  it('names the switch that would allow outside paths when the host has one', () => {
    const cli = {
      root: rules.root,
      rootName: 'the current directory',
      allowOutsideHint: 'pass --allow-outside',
    };
    expect(problemOf(() => readWorkspaceFile(cli, 'images-file', '../out/secret.yml'))).toContain(
      'is outside the current directory: it resolves to',
    );
    expect(problemOf(() => readWorkspaceFile(cli, 'images-file', '../out/secret.yml'))).toContain(
      ', or pass --allow-outside',
    );
  });

  it('caps the size (1 MiB by default) and refuses what is not UTF-8', () => {
    writeFileSync(join(dir, 'ws', 'big.yml'), Buffer.alloc(1024 * 1024 + 1, 0x61));
    expect(problemOf(() => readWorkspaceFile(rules, 'images-file', 'big.yml'))).toContain(
      'is larger than 1 MiB',
    );
    writeFileSync(join(dir, 'ws', 'exact.yml'), Buffer.alloc(1024 * 1024, 0x61));
    expect(readWorkspaceFile(rules, 'images-file', 'exact.yml')).toHaveLength(1024 * 1024);
    writeFileSync(join(dir, 'ws', 'small.yml'), 'abcdef');
    expect(problemOf(() => readWorkspaceFile({ ...rules, maxBytes: 5 }, 'x', 'small.yml'))).toContain(
      'is larger than 5 bytes',
    );
    writeFileSync(join(dir, 'ws', 'latin1.yml'), Buffer.from([0x2d, 0x20, 0xe9, 0xff]));
    expect(problemOf(() => readWorkspaceFile(rules, 'images-file', 'latin1.yml'))).toContain('is not UTF-8');
  });

  it('refuses .git/, also when outside paths are allowed', () => {
    mkdirSync(join(dir, 'ws', '.git'), { recursive: true });
    writeFileSync(join(dir, 'ws', '.git', 'config'), 'extraheader = AUTHORIZATION: basic abc\n');
    for (const r of [rules, { ...rules, allowOutside: true }]) {
      expect(problemOf(() => readWorkspaceFile(r, 'images-file', '.git/config'))).toContain(
        'is inside .git/',
      );
    }
    expect(problemOf(() => checkWorkspaceWrite(rules, 'lock-file', '.git/new.lock'))).toContain(
      'is inside .git/',
    );
  });

  it('writes inside (new directories too), by rename, and refuses to write through a symlink out', () => {
    writeWorkspaceFile(rules, 'lock-file', 'locks/new/acr.lock.json', '{}\n');
    expect(readFileSync(join(dir, 'ws', 'locks', 'new', 'acr.lock.json'), 'utf8')).toBe('{}\n');
    writeWorkspaceFile(rules, 'lock-file', 'locks/new/acr.lock.json', '{"v":2}\n');
    expect(readFileSync(join(dir, 'ws', 'locks', 'new', 'acr.lock.json'), 'utf8')).toBe('{"v":2}\n');
    for (const given of ['out-link.yml', 'out-dir/new.lock', 'out-dir/deep/new.lock', '../out/x.lock']) {
      expect(problemOf(() => writeWorkspaceFile(rules, 'lock-file', given, 'x'))).toContain(
        'lock-file: is outside the workspace',
      );
    }
    expect(readFileSync(join(dir, 'out', 'secret.yml'), 'utf8')).toBe('password: hunter2\n');
    expect(problemOf(() => writeWorkspaceFile(rules, 'lock-file', 'pipe', 'x'))).toContain('named pipe');
    // A symlink inside that points inside is written through to its target, which stays a regular file.
    writeWorkspaceFile(rules, 'lock-file', 'sub/inside-link.yml', '- source: c/d:2\n');
    expect(readFileSync(join(dir, 'ws', 'images.yml'), 'utf8')).toBe('- source: c/d:2\n');
    expect(lstatSync(join(dir, 'ws', 'sub', 'inside-link.yml')).isSymbolicLink()).toBe(true);
  });

  it('masks a line to its YAML shape, at most 40 characters around the column', () => {
    expect(maskedExcerpt('root:x:0:0:root:/root:/bin/bash')).toBe('xxxx:x:x:x:xxxx:xxxxx:xxxxxxxxx');
    expect(maskedExcerpt('  - source: "nginx:1.27"')).toBe('  - xxxxxx: "xxxxx:xxxx"');
    const long = maskedExcerpt(`key: ${'s'.repeat(100)} [tail]`, 90);
    expect(long.length).toBeLessThanOrEqual(42);
    expect(long).toMatch(/^…x+/);
    expect(long).not.toContain('s');
  });

  it('a lock file that is not JSON is reported by line and shape, not by its text', () => {
    const text = problemOf(() => parseLockFile('root:$6$saltsalt$hashhash:19000:0:99999:7:::\n', 'x.lock'));
    expect(text).toContain('lock-file: is not valid JSON (line 1, column 1');
    expect(text).not.toContain('salt');
    const second = problemOf(() => parseLockFile('{\n  "version": 1,\n  hunter2\n}', 'x.lock'));
    expect(second).toContain('line 3, column 3');
    expect(second).not.toContain('hunter2');
  });
});

describe('invisible and look-alike characters', () => {
  it.each([
    ['docker.io/library/\u200bnginx:1.27', 'U+200B ZERO WIDTH SPACE at column 19, an invisible character'],
    ['myregistr\u0443', "U+0443 CYRILLIC SMALL LETTER U at column 10, which looks like 'y'"],
    ['apps/web:1\u00a0', 'U+00A0 NO-BREAK SPACE at column 11'],
    ['nginx\uff1a1.27', "U+FF1A FULLWIDTH ':' at column 6, which looks like ':'"],
    ['linux\u2215amd64', "U+2215 DIVISION SLASH at column 6, which looks like '/'"],
    ['caf\u00e9', 'U+00E9 at column 4, a non-ASCII character'],
    ['a\u202eb', 'U+202E RIGHT-TO-LEFT OVERRIDE at column 2'],
  ])('%j is named', (text, message) => {
    expect(suspiciousCharacter(text)).toContain(message);
  });

  it('free text allows printable non-ASCII but not invisible characters; clean text passes', () => {
    expect(suspiciousCharacter('dossier/café.yml', { asciiOnly: false })).toBeUndefined();
    expect(suspiciousCharacter('images\u200b.yml', { asciiOnly: false })).toContain('U+200B');
    expect(suspiciousCharacter('docker.io/library/nginx:1.27')).toBeUndefined();
    expect(describeCharacter('\ufeff')).toBe('U+FEFF ZERO WIDTH NO-BREAK SPACE (byte order mark)');
  });

  it('config names the character once per input, per images line and per images-file entry', () => {
    const base = { registry: 'myregistry', 'subscription-id': '11111111-2222-3333-4444-555555555555' };
    expect(problemOf(() => parseConfig({ ...base, source: 'nginx:1.2\u200b7' }))).toBe(
      'source: contains U+200B ZERO WIDTH SPACE at column 10, an invisible character (pasted with the value); delete it',
    );
    expect(problemOf(() => parseConfig({ ...base, images: 'nginx:1.27\n  \u0430lpine:3 # ok' }))).toContain(
      "images line 2: contains U+0430 CYRILLIC SMALL LETTER A at column 3, which looks like 'a'",
    );
    // A comment may hold anything.
    expect(() => parseConfig({ ...base, images: 'nginx:1.27 # base — the web tier' })).not.toThrow();
    const file = '- source: nginx:1.27\n  targets: [apps/web:1, "apps/w\u200beb:2"]\n';
    expect(
      problemOf(() => parseConfig({ ...base, 'images-file': 'x.yml' }, { readFile: () => file })),
    ).toContain("images-file entry 1 (line 1): 'targets' contains U+200B ZERO WIDTH SPACE at column 7");
  });
});

describe('images-file: YAML bomb and many bad entries', () => {
  const base = { registry: 'myregistry', 'subscription-id': '11111111-2222-3333-4444-555555555555' };
  it('a billion-laughs file is one clear error naming images-file', () => {
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'images:',
      '  - source: nginx:1.27',
      '    targets: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    ].join('\n');
    const text = problemOf(() =>
      parseConfig({ ...base, 'images-file': 'bomb.yml' }, { readFile: () => bomb }),
    );
    expect(text).toContain(
      'images-file entry 1 (line 6): expands YAML aliases too often (more than 100 uses',
    );
  });

  it("yaml's own messages are not shown: they quote the file (an escape, an alias name)", () => {
    const read = (text: string): string =>
      problemOf(() => parseConfig({ ...base, 'images-file': 'x.yml' }, { readFile: () => text }));
    const escape = read('- source: "nginx\\qhunter2"\n');
    expect(escape).toContain(
      'images-file line 1: is not valid YAML or JSON: an invalid escape in a double-quoted string at column',
    );
    expect(escape).not.toContain('\\q');
    expect(escape).not.toContain('hunter2');
    const alias = read('- source: *hunter2anchor\n');
    expect(alias).toContain('images-file entry 1 (line 1): cannot be read as YAML');
    expect(alias).not.toContain('hunter2');
  });

  it('5,000 bad entries make one error that lists 50 and counts the rest', () => {
    const file = Array.from({ length: 5000 }, (_, i) => `- source: Bad/Name:${i}`).join('\n');
    let err: unknown;
    try {
      parseConfig({ ...base, 'images-file': 'x.yml' }, { readFile: () => file });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const e = err as InputError;
    expect(e.problems).toHaveLength(5000);
    const lines = e.message.split('\n');
    expect(lines[0]).toBe('5000 invalid inputs:');
    expect(lines.filter((l) => l.startsWith('- images-file entry'))).toHaveLength(MAX_LISTED_PROBLEMS);
    expect(lines.at(-1)).toBe('… and 4950 more (fix the ones above, then run again to see the rest)');
  });
});

describe('INPUT_* variables', () => {
  const inputs = ['registry', 'target-tags', 'timeout', 'wait', 'auth', 'client-secret', 'images-file'];
  it('fails on near misses of real inputs and warns about the rest', () => {
    const { problems, warnings } = checkInputVariables(
      [
        'INPUT_TARGET-TAG',
        'INPUT_TIMOUT',
        'INPUT_TARGET_TAGS',
        'INPUT_TOKEN',
        'INPUT_MY-TOOL-FLAG',
        'PATH',
        'INPUT_WAIT',
      ],
      inputs,
      GITHUB_INPUT_VARIABLES,
    );
    expect(problems.map((p) => [p.input, p.value, p.message])).toEqual([
      [
        'target-tag',
        '***',
        "is not an input of this action; did you mean 'target-tags'? Rename it in the step's with: block",
      ],
      ['target_tags', '***', expect.stringContaining("did you mean 'target-tags'?")],
      ['timout', '***', expect.stringContaining("did you mean 'timeout'?")],
    ]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^INPUT_MY-TOOL-FLAG is set, but 'my-tool-flag' is not an input of this action: ignored/,
      ),
      expect.stringMatching(/^INPUT_TOKEN is set/),
    ]);
  });

  it('short names need to be closer: one slip', () => {
    expect(nearestInput('wiat', inputs)).toBe('wait');
    expect(nearestInput('aut', inputs)).toBe('auth');
    expect(nearestInput('path', inputs)).toBeUndefined();
    expect(nearestInput('client-secrets', inputs)).toBe('client-secret');
    expect(nearestInput('images-files', inputs)).toBe('images-file');
    expect(nearestInput('registries', inputs)).toBeUndefined();
  });
});

describe('mask policy', () => {
  it('registers each distinct secret once and skips empty and tiny values', () => {
    const registered: string[] = [];
    const mask = secretSink((s) => registered.push(s));
    for (let i = 0; i < 5000; i++) mask('the-same-token');
    mask('');
    mask('1');
    mask('other-token');
    expect(registered).toEqual(['the-same-token', 'other-token']);
  });
});

function image(
  i: number,
  status: ImageResult['status'] = 'planned',
  extra: Partial<ImageResult> = {},
): ImageResult {
  return {
    source: `127.0.0.1:5000/library/alpine:${i}`,
    sourceDigest: `sha256:${String(i).padStart(64, '0')}`,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    platforms: [{ platform: 'linux/amd64', digest: `sha256:${'1'.repeat(64)}` }],
    targets: [{ ref: `target.azurecr.io/bulk/alpine:t-${i}`, digest: undefined }],
    status,
    durationMs: 5,
    notes: [],
    ...extra,
  };
}

describe('summary', () => {
  it('removes every line break, a lone CR too, before escaping', () => {
    expect(escapeMarkdown('ok\r===\r\n<h1>x</h1>\n---\u2028z')).toBe('ok === &lt;h1&gt;x&lt;/h1&gt; --- z');
    expect(escapeRemoteText('a\rb')).toBe('a b');
  });

  it('shows URLs in remote text as code, never as links', () => {
    expect(escapeRemoteText('see https://evil.example/x?a=1, then [click](http://e.example/y).')).toBe(
      'see `https://evil.example/x?a=1`, then \\[click\\]\\(`http://e.example/y`\\).',
    );
    expect(escapeRemoteText('go to www.evil.example now')).toBe('go to `www.evil.example` now');
    expect(escapeRemoteText('x https://a.example/`b|c')).toBe('x `https://a.example/`\\`b\\|c');
  });

  it('5,000 images: the first rows, then counts, well under 1 MiB', () => {
    const images = Array.from({ length: 5000 }, (_, i) =>
      i % 1000 === 7
        ? image(i, 'failed', { error: `boom ${i} https://x.example/${i}`, hint: 'do this' })
        : image(i, 'planned', { notes: [`note ${i}`] }),
    );
    const run: RunResult = { registry: undefined, images, ok: false, durationMs: 1000, dryRun: true };
    const summary = renderSummary(run);
    expect(Buffer.byteLength(summary)).toBeLessThan(200 * 1024);
    expect(summary.split('\n').filter((l) => l.startsWith('| ') && l.includes('<br>'))).toHaveLength(
      SUMMARY_LIMITS.rows,
    );
    expect(summary).toContain('| 4,696 planned, 4 failed | … 4,700 more images (4,700 rows) | | | |');
    expect(summary).toContain('5,000 images in all: 4,995 planned, 5 failed. The first 300 are listed');
    expect(summary).toContain('- … and 4,695 more digests');
    expect(summary).toContain('- … and 4,945 more notes');
    expect(summary.match(/\*\* failed: /g)).toHaveLength(5);
  });
});

describe('registry tokens: one per scope for parallel requests, masked only when got with credentials', () => {
  const challenge = {
    'www-authenticate': 'Bearer realm="https://auth.example/token",service="registry.example"',
  };
  async function readMany(credentials: { username: string; password: string } | undefined): Promise<{
    masked: string[];
    tokenRequests: number;
  }> {
    let issued = 0;
    const transport = fakeTransport(async (req) => {
      if (req.url.startsWith('https://auth.example/token')) {
        await new Promise((r) => setTimeout(r, 5));
        return respond(200, { token: `token-number-${++issued}` });
      }
      if (!req.headers?.['authorization'])
        return respond(401, { errors: [{ code: 'UNAUTHORIZED' }] }, challenge);
      return respond(200, '{}', {
        'docker-content-digest': `sha256:${'a'.repeat(64)}`,
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
      });
    });
    const masked: string[] = [];
    const http = new HttpClient(transport, new FakeClock(), new MemoryLogger());
    const client = new RegistryClient(
      http,
      'registry.example',
      new TokenServerAuthorizer(http, (s) => masked.push(s), credentials, 'registry.example'),
    );
    await Promise.all(Array.from({ length: 20 }, () => client.headManifest('library/alpine', '3.20')));
    return { masked, tokenRequests: issued };
  }

  it('anonymous: 20 parallel reads of one repository share one token, which is not masked', async () => {
    const { masked, tokenRequests } = await readMany(undefined);
    expect(tokenRequests).toBe(1);
    expect(masked).toEqual([]);
  });

  it('with credentials: the token is masked', async () => {
    const { masked } = await readMany({ username: 'u', password: 'p4ssw0rd' });
    expect(masked.length).toBeGreaterThan(0);
    expect(masked.every((m) => m.startsWith('token-number-'))).toBe(true);
  });
});
