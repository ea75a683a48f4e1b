/**
 * Issue 13 item 3: `images-file` and `lock-file` stay in the workspace, through the bundle (`node dist/index.js`).
 * Absolute paths, `../`, symlinks out, `.git/`, FIFOs, directories and files over 1 MiB are refused before any
 * request, with an error that names the input, the path and the fix, and never quotes the file; a lock file is not
 * written through a symlink out of the workspace; a file that is not YAML is reported by line with its shape masked.
 *
 * The cases share one bed and run three at a time; any request at all fails the suite.
 */
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { startBed, type StartedBed } from '../../testbed/bed.js';
import { runAction, type ActionRun } from '../../testbed/run-action.js';
import { failureText, workspace } from './scenario-helpers.js';

/** Text that must never reach the user: it stands for /etc/shadow lines and the checkout's auth header. */
const SECRET = 'c2VjcmV0LXRva2VuLWZyb20tY2hlY2tvdXQ';
const VICTIM = 'the victim file outside the workspace\n';

interface Case {
  name: string;
  /** Inputs over the base (bed inputs and a registry); the paths are set up by `setup`. */
  inputs: (paths: Paths) => Record<string, string>;
  /** The input the error names. */
  input: 'images-file' | 'lock-file';
  /** The value it shows (the path as given). */
  value: (paths: Paths) => string;
  /** What the fix says. */
  fix: string | RegExp;
  /** Text the message must contain besides (e.g. the masked line). */
  also?: string;
}

interface Paths {
  ws: string;
  outside: string;
  /** A valid images file outside the workspace: following it would import. */
  outsideImages: string;
  victim: string;
}

const cases: Case[] = [
  {
    name: 'images-file as an absolute path outside the workspace',
    inputs: (p) => ({ 'images-file': p.outsideImages }),
    input: 'images-file',
    value: (p) => p.outsideImages,
    fix: /is outside the workspace \(GITHUB_WORKSPACE\): it resolves to .*; keep the file in the repository/,
  },
  {
    name: 'images-file with ../ out of the workspace',
    inputs: (p) => ({ 'images-file': relative(p.ws, p.outsideImages) }),
    input: 'images-file',
    value: (p) => relative(p.ws, p.outsideImages),
    fix: 'is outside the workspace (GITHUB_WORKSPACE)',
  },
  {
    name: 'images-file as a symlink in the workspace to a file outside',
    inputs: () => ({ 'images-file': 'link-to-outside.yml' }),
    input: 'images-file',
    value: () => 'link-to-outside.yml',
    fix: 'is outside the workspace (GITHUB_WORKSPACE)',
  },
  {
    name: 'images-file under a symlinked directory that points outside',
    inputs: () => ({ 'images-file': 'linked-dir/images.yml' }),
    input: 'images-file',
    value: () => 'linked-dir/images.yml',
    fix: 'is outside the workspace (GITHUB_WORKSPACE)',
  },
  {
    name: 'images-file as /etc/passwd',
    inputs: () => ({ 'images-file': '/etc/passwd' }),
    input: 'images-file',
    value: () => '/etc/passwd',
    fix: 'is outside the workspace (GITHUB_WORKSPACE): it resolves to /etc/passwd',
  },
  {
    name: 'images-file as .git/config, where actions/checkout keeps its token',
    inputs: () => ({ 'images-file': '.git/config' }),
    input: 'images-file',
    value: () => '.git/config',
    fix: 'is inside .git/, which holds the repository',
  },
  {
    name: 'images-file as a FIFO (no hang)',
    inputs: () => ({ 'images-file': 'images.fifo' }),
    input: 'images-file',
    value: () => 'images.fifo',
    fix: 'is a named pipe (FIFO), not a regular file',
  },
  {
    name: 'images-file as a directory',
    inputs: () => ({ 'images-file': 'a-directory' }),
    input: 'images-file',
    value: () => 'a-directory',
    fix: 'is a directory, not a regular file',
  },
  {
    name: 'images-file over 1 MiB',
    inputs: () => ({ 'images-file': 'huge.yml' }),
    input: 'images-file',
    value: () => 'huge.yml',
    fix: 'is larger than 1 MiB (at least 2.0 MiB); split the images over several steps or files',
  },
  {
    name: 'images-file that is not YAML: line number and masked shape only',
    inputs: () => ({ 'images-file': 'not-yaml.conf' }),
    input: 'images-file',
    value: () => 'not-yaml.conf',
    fix: /is not valid YAML or JSON: .* at column \d+ \(the line's shape: /,
    also: 'xxxxxxxxxxx x xxxxxxxxxxxxx: xxxxx xxxx',
  },
  {
    name: 'lock-file as an absolute path outside the workspace (write)',
    inputs: (p) => ({ 'lock-file': p.victim }),
    input: 'lock-file',
    value: (p) => p.victim,
    fix: 'is outside the workspace (GITHUB_WORKSPACE)',
  },
  {
    name: 'lock-file as a symlink to a file outside the workspace (write)',
    inputs: () => ({ 'lock-file': 'acr-import.lock.json' }),
    input: 'lock-file',
    value: () => 'acr-import.lock.json',
    fix: 'is outside the workspace (GITHUB_WORKSPACE)',
  },
  {
    name: 'lock-file in a new directory under a symlink out of the workspace (write)',
    inputs: () => ({ 'lock-file': 'linked-dir/new/acr.lock.json' }),
    input: 'lock-file',
    value: () => 'linked-dir/new/acr.lock.json',
    fix: 'is outside the workspace (GITHUB_WORKSPACE)',
  },
  {
    name: 'lock-file with ../ and locked: true (read)',
    inputs: (p) => ({ 'lock-file': relative(p.ws, p.victim), locked: 'true' }),
    input: 'lock-file',
    value: (p) => relative(p.ws, p.victim),
    fix: 'is outside the workspace (GITHUB_WORKSPACE)',
  },
  {
    name: 'lock-file in .git/ (write)',
    inputs: () => ({ 'lock-file': '.git/acr.lock.json' }),
    input: 'lock-file',
    value: () => '.git/acr.lock.json',
    fix: 'is inside .git/',
  },
  {
    name: 'lock-file that is not JSON, with locked: true: no content quoted',
    inputs: () => ({ 'lock-file': 'not-json.lock', locked: 'true' }),
    input: 'lock-file',
    value: () => 'not-json.lock',
    fix: /is not valid JSON \(line 1, column \d+, the line's shape: ".*"\); write it with lock-file and locked: false first/,
  },
];

let bed: StartedBed;
let paths: Paths;
const runs: ActionRun[] = [];

async function targetCatalog(): Promise<string[]> {
  const res = await fetch(`${bed.acrs.target.backendUrl}/v2/_catalog?n=1000`);
  return ((await res.json()) as { repositories?: string[] }).repositories ?? [];
}

// Not useBed: its reset before each test would clear the request log the last test reads.
beforeAll(async () => {
  bed = await startBed();
  const ws = workspace(bed);
  const outside = join(bed.dir, 'outside');
  await mkdir(outside, { recursive: true });
  paths = {
    ws,
    outside,
    outsideImages: join(outside, 'images.yml'),
    victim: join(outside, 'victim.lock.json'),
  };
  const hub = bed.sources.hub;
  const alpine = hub.images['ociSingle']!;
  // A valid images file: a run that follows the path out imports it (and makes requests).
  await writeFile(
    paths.outsideImages,
    `- source: ${hub.host}/${alpine.repository}:${alpine.tag}\n  targets: [hostile/alpine:1]\n# ${SECRET}\n`,
  );
  await writeFile(paths.victim, VICTIM);
  await symlink(paths.outsideImages, join(ws, 'link-to-outside.yml'));
  await symlink(outside, join(ws, 'linked-dir'));
  await symlink(paths.victim, join(ws, 'acr-import.lock.json'));
  await mkdir(join(ws, '.git'), { recursive: true });
  await writeFile(
    join(ws, '.git', 'config'),
    `[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic ${SECRET}\n`,
  );
  await writeFile(
    join(ws, 'not-yaml.conf'),
    `- source: ${hub.host}/${alpine.repository}:${alpine.tag}\n[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic ${SECRET}\n`,
  );
  await writeFile(join(ws, 'not-json.lock'), `root:${SECRET}:19000:0:99999:7:::\n`);
  execFileSync('mkfifo', [join(ws, 'images.fifo')]);
  await mkdir(join(ws, 'a-directory'), { recursive: true });
  await writeFile(join(ws, 'huge.yml'), `# ${'x'.repeat(2 * 1024 * 1024)}\n- source: ${hub.host}/x:1\n`);
  expect(await targetCatalog()).toEqual([]);
  await bed.control.reset();

  const base = { ...bed.baseInputs(), source: '' };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      const inputs: Record<string, string> = { ...base, ...c.inputs(paths) };
      // lock-file cases import one image; images-file cases take their images from the file.
      if (!('images-file' in inputs)) inputs['source'] = `${bed.sources.hub.host}/library/alpine:3.20`;
      if (inputs['source'] === '') delete inputs['source'];
      runs[i] = await runAction(bed, inputs, { timeoutMs: 30_000 });
    }
  };
  await Promise.all(Array.from({ length: 3 }, worker));
}, 180_000);

afterAll(async () => {
  await bed?.stop();
});

describe(`files outside the workspace, of the wrong type or too large (${cases.length} cases)`, () => {
  it.each(cases.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = cases[i]!;
    const run = runs[i]!;
    if (run.timedOut) throw new Error(`${c.name}: the step hung (killed after 30 s)`);
    const error = failureText(run);
    if (run.exitCode !== 1 || !/^(Invalid input:|\d+ invalid inputs:)/.test(error)) {
      throw new Error(
        `${c.name}: not refused as bad input (exit ${run.exitCode}):\n${run.stdout}\n${run.stderr}`,
      );
    }
    const line = error.split('\n').find((l) => l.startsWith(`- ${c.input}`));
    if (!line) throw new Error(`no line for ${c.input} in:\n${error}`);
    if (typeof c.fix === 'string') expect(line).toContain(c.fix);
    else expect(line).toMatch(c.fix);
    expect(line).toContain(`(got ${JSON.stringify(c.value(paths))})`);
    if (c.also) expect(error).toContain(c.also);
    // Nothing of the files' contents reaches the user, and nothing happened.
    for (const text of [run.stdout, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('AUTHORIZATION');
      expect(text).not.toContain('root:x:0:0');
    }
    expect(run.outputs['digest'] ?? '').toBe('');
    expect(run.summary).toBe('');
  });

  it('a FIFO is refused at once instead of hanging the step', () => {
    const run = runs[cases.findIndex((c) => c.name.includes('FIFO'))]!;
    expect(run.timedOut).toBe(false);
    expect(run.durationMs).toBeLessThan(10_000);
  });

  it('made no request, imported nothing, and left the files outside the workspace as they were', async () => {
    expect(runs.filter(Boolean)).toHaveLength(cases.length);
    const requests = await bed.control.requests();
    expect(requests.map((r) => `${r.service} ${r.method} ${r.url}`)).toEqual([]);
    expect(await targetCatalog()).toEqual([]);
    expect(await readFile(paths.victim, 'utf8')).toBe(VICTIM);
    expect((await lstat(join(paths.ws, 'acr-import.lock.json'))).isSymbolicLink()).toBe(true);
  });
});
