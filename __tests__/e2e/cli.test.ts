/**
 * The `acr-import` CLI end to end: the bundle (`node cli/index.js`) run as a shell runs it, with the `az acr import`
 * flags of the scenarios people use it for, against the emulator and real registries. Each test checks what a user
 * sees (stdout, stderr, the exit code) and what landed in the target, read from its backing registry.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import { bedFlags, runCli, type CliRun } from '../../testbed/run-cli.js';
import { REPO_ROOT } from '../../testbed/run-action.js';
import { INPUT_TABLE } from '../../src/engine/index.js';
import { importCalls, startReaderBed, type ResultJson } from './scenario-helpers.js';

let bed: StartedBed;
useBed((started) => {
  bed = started;
}, startReaderBed);

/** A laptop or CI machine signed in with a service principal's secret from the environment. */
function secretEnv(): Record<string, string> {
  return { AZURE_CLIENT_SECRET: bed.principals.deployer.clientSecret! };
}

function cli(args: string[], opts: Parameters<typeof runCli>[2] = {}): Promise<CliRun> {
  return runCli(bed, [...bedFlags(bed), ...args], { ...opts, env: { ...secretEnv(), ...opts.env } });
}

function expectExit(run: CliRun, code: number): void {
  if (run.exitCode !== code)
    throw new Error(`exit ${run.exitCode}, expected ${code}:\n${run.stdout}\n${run.stderr}`);
}

const ESC = '\x1b';

/** The text output: one `STATUS  ref  digest` line per target. */
function lines(run: CliRun): string[][] {
  return run.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s{2,}/));
}

describe('az acr import scenarios, with az flags', () => {
  it('Docker Hub multi-arch image by tag (-n, --source, -t): one text line per target, the index digest landed', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['multiArch']!;
    const run = await cli([
      '--source',
      `${hub.host}/${image.repository}:${image.tag}`,
      '-t',
      'cli1/hello:latest',
    ]);
    expectExit(run, 0);
    expect(lines(run)).toEqual([
      ['imported', `${bed.acrs.target.loginServer}/cli1/hello:latest`, image.digest],
    ]);
    expect(await bed.digestOf(bed.acrs.target, 'cli1/hello', 'latest')).toBe(image.digest);
    // stdout is the result only; the log went to stderr, with no escape codes off a terminal.
    expect(run.stderr).toContain('Signing in to Azure (client-secret)');
    expect(run.stderr).not.toContain(ESC);
    expect(run.stdout).not.toContain(ESC);
  });

  it('MCR image with two -t tags and -o json: the results array parses, both tags hold the digest', async () => {
    const mcr = bed.sources.mcr;
    const image = mcr.images['multiArch']!;
    const run = await cli([
      '--source',
      `${mcr.host}/${image.repository}:${image.tag}`,
      '-t',
      'cli2/runtime:8.0',
      '--image',
      'cli2/runtime:latest',
      '-o',
      'json',
    ]);
    expectExit(run, 0);
    const results = JSON.parse(run.stdout) as ResultJson[];
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      status: 'imported',
      sourceDigest: image.digest,
      targets: [
        { ref: `${bed.acrs.target.loginServer}/cli2/runtime:8.0`, digest: image.digest },
        { ref: `${bed.acrs.target.loginServer}/cli2/runtime:latest`, digest: image.digest },
      ],
    });
    expect(await bed.digestOf(bed.acrs.target, 'cli2/runtime', 'latest')).toBe(image.digest);
  });

  it('an ACR in the subscription by login server (-r LOGIN_SERVER --source repo:tag): imported through its resource ID', async () => {
    const src = bed.acrs.source;
    const image = src.images['multiArch']!;
    const run = await cli(['-r', src.loginServer, '--source', 'app/web:1.0', '-t', 'cli3/web:1.0']);
    expectExit(run, 0);
    expect(await bed.digestOf(bed.acrs.target, 'cli3/web', '1.0')).toBe(image.digest);
    const [call] = await importCalls(bed);
    expect(JSON.parse(call!.body)).toMatchObject({ source: { resourceId: src.resourceId } });
  });

  it('an ACR by resource ID (-r /subscriptions/...), with public access disabled', async () => {
    const src = bed.acrs.locked;
    const image = src.images['multiArch']!;
    const run = await cli(['-r', src.resourceId, '--source', 'secure/web:1.0', '-t', 'cli4/web:1.0']);
    expectExit(run, 0);
    expect(await bed.digestOf(bed.acrs.target, 'cli4/web', '1.0')).toBe(image.digest);
  });

  it('by digest into an untagged repository (--repository, no -t): no tag is set', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['ociSingle']!;
    const run = await cli([
      '--source',
      `${hub.host}/${image.repository}@${image.digest}`,
      '--repository',
      'cli5/alpine',
      '-o',
      'json',
    ]);
    expectExit(run, 0);
    const [result] = JSON.parse(run.stdout) as ResultJson[];
    expect(result!.targets).toEqual([
      { ref: `${bed.acrs.target.loginServer}/cli5/alpine`, digest: image.digest },
    ]);
    expect(await bed.digestOf(bed.acrs.target, 'cli5/alpine', image.digest)).toBe(image.digest);
    expect(await bed.digestOf(bed.acrs.target, 'cli5/alpine', image.tag)).toBeUndefined();
  });

  it('a private registry with -u and --password-stdin: the password never shows', async () => {
    const priv = bed.sources.private;
    const image = priv.images['manifestList']!;
    const run = await cli(
      [
        '--source',
        `${priv.host}/${image.repository}:${image.tag}`,
        '-t',
        'cli6/app:1.0',
        '-u',
        priv.username!,
        '--password-stdin',
      ],
      { stdin: `${priv.password!}\n` },
    );
    expectExit(run, 0);
    expect(await bed.digestOf(bed.acrs.target, 'cli6/app', '1.0')).toBe(image.digest);
    expect(run.stdout + run.stderr).not.toContain(priv.password!);
    expect(run.stderr).not.toContain('visible to other users');
  });

  it('a password on argv (-p) works, with a warning that names the safer ways', async () => {
    const priv = bed.sources.private;
    const image = priv.images['ociSingle']!;
    const run = await cli([
      '--source',
      `${priv.host}/${image.repository}:${image.tag}`,
      '-t',
      'cli7/tool:2.0',
      '-u',
      priv.username!,
      '-p',
      priv.password!,
    ]);
    expectExit(run, 0);
    expect(run.stderr).toContain('-p on the command line is visible to other users');
    expect(run.stderr).toContain('ACR_IMPORT_SOURCE_PASSWORD');
    expect(run.stderr).not.toContain(priv.password!);
  });

  it('the source password from ACR_IMPORT_SOURCE_PASSWORD', async () => {
    const priv = bed.sources.private;
    const image = priv.images['ociSingle']!;
    const run = await cli(
      [
        '--source',
        `${priv.host}/${image.repository}:${image.tag}`,
        '-t',
        'cli8/tool:2.0',
        '-u',
        priv.username!,
      ],
      { env: { ACR_IMPORT_SOURCE_PASSWORD: priv.password! } },
    );
    expectExit(run, 0);
    expect(await bed.digestOf(bed.acrs.target, 'cli8/tool', '2.0')).toBe(image.digest);
  });

  it('a tag that points elsewhere: exit 1 without --force, moved with --force', async () => {
    const hub = bed.sources.hub;
    const v1 = hub.images['multiArchV1']!;
    const latest = hub.images['multiArch']!;
    expectExit(await cli(['--source', `${hub.host}/library/hello:v1`, '-t', 'cli9/hello:stable']), 0);
    const refused = await cli(['--source', `${hub.host}/library/hello:latest`, '-t', 'cli9/hello:stable']);
    expectExit(refused, 1);
    expect(lines(refused)[0]![0]).toBe('failed');
    expect(refused.stderr).toContain('--force');
    expect(await bed.digestOf(bed.acrs.target, 'cli9/hello', 'stable')).toBe(v1.digest);
    const forced = await cli([
      '--source',
      `${hub.host}/library/hello:latest`,
      '-t',
      'cli9/hello:stable',
      '--force',
    ]);
    expectExit(forced, 0);
    expect(lines(forced)[0]).toEqual([
      'updated',
      `${bed.acrs.target.loginServer}/cli9/hello:stable`,
      latest.digest,
    ]);
    expect(await bed.digestOf(bed.acrs.target, 'cli9/hello', 'stable')).toBe(latest.digest);
  });

  it('--no-wait submits and exits 0 with status submitted', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['dockerSingle']!;
    const run = await cli([
      '--source',
      `${hub.host}/${image.repository}:${image.tag}`,
      '-t',
      'cli10/debian:12',
      '--no-wait',
    ]);
    expectExit(run, 0);
    expect(lines(run)[0]![0]).toBe('submitted');
  });
});

describe('exit codes', () => {
  it('2: bad input, every problem at once naming the flag, nothing sent', async () => {
    const run = await runCli(
      bed,
      [
        '--name',
        'x',
        '--subscription',
        'my-sub',
        '--timeout',
        'soon',
        '--max-parallel',
        '0',
        '--forse',
        '-o',
        'yaml',
      ],
      {
        env: secretEnv(),
      },
    );
    expectExit(run, 2);
    expect(run.stdout).toBe('');
    for (const flag of [
      '--name',
      '--subscription',
      '--timeout',
      '--max-parallel',
      '--forse',
      '--output',
      '--source',
    ])
      expect(run.stderr).toContain(`- ${flag}: `);
    expect(run.stderr).toContain("did you mean '--force'?");
    expect(await bed.control.requests()).toEqual([]);
  });

  it('1: an image failed (the source does not exist), the others landed', async () => {
    const hub = bed.sources.hub;
    const run = await cli([
      '--images',
      `${hub.host}/library/hello:nope -> cli11/a:1\n${hub.host}/library/alpine:3.20 -> cli11/b:1`,
    ]);
    expectExit(run, 1);
    expect(lines(run).map((l) => l[0])).toEqual(['failed', 'imported']);
    expect(run.stderr).toMatch(/error: 1 of 2 images failed/);
  });

  it('3: signed in, but the identity lacks the role on the target', async () => {
    const run = await runCli(
      bed,
      [
        ...bedFlags(bed).map((v) =>
          v === bed.principals.deployer.clientId ? bed.principals.reader.clientId : v,
        ),
        '--source',
        `${bed.sources.hub.host}/library/hello:latest`,
      ],
      { env: { AZURE_CLIENT_SECRET: bed.principals.reader.clientSecret! } },
    );
    expectExit(run, 3);
    expect(run.stderr).toContain('AuthorizationFailed');
  });

  it('3: no way to sign in, and the message says what to set', async () => {
    const run = await runCli(
      bed,
      [...bedFlags(bed), '--source', `${bed.sources.hub.host}/library/hello:latest`],
      {
        env: { PATH: '/usr/bin:/bin' },
      },
    );
    expectExit(run, 3);
    expect(run.stderr).toContain('AZURE_FEDERATED_TOKEN_FILE');
    expect(run.stderr).toContain('--auth client-secret');
    expect(run.stderr).toContain('az login');
    expect(run.stderr).not.toContain('permissions: id-token');
  });
});

describe('sign-in with --auth auto', () => {
  it('uses a workload identity token file (AZURE_FEDERATED_TOKEN_FILE)', async () => {
    const url = new URL(bed.oidc.requestUrl);
    url.searchParams.set('audience', 'api://AzureADTokenExchange');
    const { Agent } = await import('undici');
    const agent = new Agent({ connect: { ca: bed.caPem } });
    let token: string;
    try {
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers: { authorization: `Bearer ${bed.oidc.requestToken}` },
      });
      token = ((await res.body.json()) as { value: string }).value;
    } finally {
      await agent.close();
    }
    const file = join(bed.dir, 'federated-token');
    await writeFile(file, token);
    const run = await runCli(
      bed,
      [...bedFlags(bed), '--source', `${bed.sources.hub.host}/library/alpine:3.20`, '-t', 'cli12/alpine:1'],
      { env: { AZURE_FEDERATED_TOKEN_FILE: file } },
    );
    expectExit(run, 0);
    expect(run.stderr).toContain('Signing in to Azure (oidc)');
    expect(run.stdout + run.stderr).not.toContain(token);
  });
});

describe('terminal and files', () => {
  it('on a terminal (a pty) shows a live progress line per image with its elapsed time', async () => {
    const run = await cli(
      ['--source', `${bed.sources.hub.host}/library/debian:12`, '-t', 'cli13/debian:12'],
      {
        tty: true,
      },
    );
    expectExit(run, 0);
    // The pty merges stdout and stderr, as a terminal shows them.
    expect(run.stdout).toContain(`${ESC}[`);
    expect(run.stdout).toMatch(/verified\s*\S*\s+\S+library\/debian:12\s+\d+\.\ds/);
    expect(run.stdout).toMatch(/^imported +\S+\/cli13\/debian:12 +sha256:[0-9a-f]{64}\r?$/m);
  });

  it('with NO_COLOR on a terminal: plain lines, no escape codes', async () => {
    const run = await cli(
      ['--source', `${bed.sources.hub.host}/library/debian:12`, '-t', 'cli14/debian:12'],
      {
        tty: true,
        env: { NO_COLOR: '1' },
      },
    );
    expectExit(run, 0);
    expect(run.stdout).not.toContain(ESC);
  });

  it('keeps images-file inside the current directory unless --allow-outside-cwd', async () => {
    const outside = join(bed.dir, 'outside-images.yaml');
    await writeFile(
      outside,
      `- source: ${bed.sources.hub.host}/library/alpine:3.20\n  targets: [cli15/alpine:1]\n`,
    );
    const refused = await cli(['--images-file', outside]);
    expectExit(refused, 2);
    expect(refused.stderr).toContain('--images-file');
    expect(refused.stderr).toContain('--allow-outside-cwd');
    const allowed = await cli(['--images-file', outside, '--allow-outside-cwd']);
    expectExit(allowed, 0);
  });

  it('writes --summary and --lock-file', async () => {
    const run = await cli([
      '--source',
      `${bed.sources.hub.host}/library/alpine:3.20`,
      '-t',
      'cli16/alpine:1',
      '--summary',
      'summary.md',
      '--lock-file',
      'images.lock.json',
    ]);
    expectExit(run, 0);
    expect(await readFile(join(run.cwd, 'summary.md'), 'utf8')).toContain('| Status |');
    const lock = JSON.parse(await readFile(join(run.cwd, 'images.lock.json'), 'utf8')) as unknown;
    expect(JSON.stringify(lock)).toContain(bed.sources.hub.images['ociSingle']!.digest);
  });
});

describe('packaging', () => {
  it('runs from a copy of cli/ alone, with no node_modules anywhere above it (self-contained bundle)', async () => {
    const copy = join(bed.dir, 'clean-clone', 'cli');
    await cp(join(REPO_ROOT, 'cli'), copy, { recursive: true });
    const run = await runCli(
      bed,
      [...bedFlags(bed), '--source', `${bed.sources.hub.host}/library/hello:latest`, '-t', 'cli17/hello:1'],
      { script: join(copy, 'index.js'), cwd: join(bed.dir, 'clean-clone'), env: secretEnv() },
    );
    expectExit(run, 0);
    expect(await bed.digestOf(bed.acrs.target, 'cli17/hello', '1')).toBe(
      bed.sources.hub.images['multiArch']!.digest,
    );
  });

  it('is the package bin, with a node shebang', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ 'acr-import': 'cli/index.js' });
    expect((await readFile(join(REPO_ROOT, 'cli/index.js'), 'utf8')).split('\n')[0]).toBe(
      '#!/usr/bin/env node',
    );
  });
});

describe('--help and --version', () => {
  it('--help lists every flag of the input table, the az spellings and the exit codes', async () => {
    const run = await runCli(bed, ['--help']);
    expectExit(run, 0);
    for (const input of INPUT_TABLE) {
      const flag = input.name === 'registry' ? 'name' : input.name;
      expect(run.stdout).toContain(`--${flag} `);
    }
    for (const az of [
      '-t, --image',
      '--repository',
      '-r, --registry',
      '-u, --username',
      '-p, --password',
      '--password-stdin',
      '--no-wait',
      '-g, --resource-group',
      '--subscription ',
      '-o, --output',
    ])
      expect(run.stdout).toContain(az);
    for (const code of ['0  ', '1  ', '2  ', '3  ']) expect(run.stdout).toContain(`\n  ${code}`);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const run = await runCli(bed, ['--version']);
    expectExit(run, 0);
    expect(run.stdout).toBe(`acr-import ${pkg.version}\n`);
  });
});
