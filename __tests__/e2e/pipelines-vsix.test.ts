/**
 * The extension package end to end: `npm run package:extension` (tfx-cli, offline) builds the .vsix; the test unpacks
 * it with testbed/zip.ts, checks what an organization would install (the extension manifest's publisher, id and
 * version, the build task contribution, exactly the task folder's bundle and nothing else), and then runs the task
 * **from the unpacked folder** with an agent's environment against the bed: a real import, read back from the target.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedBed } from '../../testbed/bed.js';
import { bedAgentEnv, bedServiceConnection } from '../../testbed/agent-env.js';
import { agentWorkFolder, runTask } from '../../testbed/run-task.js';
import { REPO_ROOT } from '../../testbed/run-action.js';
import { unzipTo, type ZipEntry } from '../../testbed/zip.js';
import { useBed } from '../bed-hooks.js';

let bed: StartedBed;
let parent: string;
let vsix: string;
let unpacked: string;
let entries: ZipEntry[];
let packaging: { code: number | null; stdout: string; stderr: string };

const manifest = JSON.parse(
  await readFile(join(REPO_ROOT, 'azure-pipelines', 'vss-extension.json'), 'utf8'),
) as { publisher: string; id: string; version: string };
const taskJson = JSON.parse(
  await readFile(join(REPO_ROOT, 'azure-pipelines', 'AcrImportV1', 'task.json'), 'utf8'),
) as { id: string; version: { Major: number; Minor: number; Patch: number } };

/** Runs the package:extension script as npm would (the command package.json names), into `out`. */
async function packageExtension(out: string): Promise<typeof packaging> {
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [command, ...args] = (pkg.scripts['package:extension'] ?? '').split(' ');
  expect(command).toBe('node');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), ACR_IMPORT_VSIX_OUT: out },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

useBed((started) => {
  bed = started;
});
// tfx takes a few seconds (more on a busy machine): a generous limit of its own.
beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'azp-vsix-'));
  packaging = await packageExtension(join(parent, 'out'));
  vsix = packaging.stdout.trim().split('\n').at(-1) ?? '';
  unpacked = join(parent, 'unpacked');
  entries = packaging.code === 0 ? await unzipTo(vsix, unpacked) : [];
}, 180_000);
afterAll(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

describe('npm run package:extension', () => {
  it('builds <publisher>.<id>-<version>.vsix with tfx-cli (nothing published)', () => {
    expect(packaging.stderr).toBe('');
    expect(packaging.code).toBe(0);
    expect(vsix).toBe(join(parent, 'out', `${manifest.publisher}.${manifest.id}-${manifest.version}.vsix`));
  });

  it('holds the extension manifest: publisher, id, the version of task.json, the build task contribution', async () => {
    const xml = await readFile(join(unpacked, 'extension.vsixmanifest'), 'utf8');
    const identity = /<Identity ([^>]*)\/>/.exec(xml)?.[1] ?? '';
    const attr = (name: string): string | undefined => new RegExp(`${name}="([^"]*)"`).exec(identity)?.[1];
    expect(attr('Id')).toBe('acr-import');
    expect(attr('Publisher')).toBe('acr-import');
    const { Major, Minor, Patch } = taskJson.version;
    expect(attr('Version')).toBe(`${Major}.${Minor}.${Patch}`);
    expect(xml).toContain('<InstallationTarget Id="Microsoft.VisualStudio.Services"/>');
    expect(xml).toContain('<Icon>images/extension-icon.png</Icon>');

    const vso = JSON.parse(await readFile(join(unpacked, 'extension.vsomanifest'), 'utf8')) as {
      contributions: { type: string; targets: string[]; properties: { name: string } }[];
    };
    expect(vso.contributions).toEqual([
      expect.objectContaining({
        type: 'ms.vss-distributed-task.task',
        targets: ['ms.vss-distributed-task.tasks'],
        properties: { name: 'AcrImportV1' },
      }),
    ]);
    // The contribution points at a folder of the package that holds the task.
    const packagedTask = JSON.parse(await readFile(join(unpacked, 'AcrImportV1', 'task.json'), 'utf8')) as {
      id: string;
    };
    expect(packagedTask).toEqual(taskJson);
  });

  it('holds the task folder with its bundle and nothing else (no node_modules, no tests, no stale chunks)', async () => {
    const names = entries.map((e) => e.name).filter((n) => !n.endsWith('/'));
    const task = names.filter((n) => n.startsWith('AcrImportV1/')).map((n) => n.slice('AcrImportV1/'.length));
    const rest = names.filter((n) => !n.startsWith('AcrImportV1/'));
    expect(rest.sort()).toEqual(
      [
        '[Content_Types].xml',
        'extension.vsixmanifest',
        'extension.vsomanifest',
        'images/extension-icon.png',
      ].sort(),
    );
    expect(names.some((n) => /node_modules|__tests__|\.test\.|\.ts$|\.map$/.test(n))).toBe(false);
    const chunks = task.filter((n) => /^\d+\.index\.js$/.test(n));
    expect(chunks.length).toBeGreaterThan(0);
    expect(task.sort()).toEqual(
      ['icon.png', 'index.js', 'licenses.txt', 'package.json', 'task.json', 'xdg-open', ...chunks].sort(),
    );
    // Byte for byte the bundle of the repository.
    for (const file of ['index.js', ...chunks, 'licenses.txt', 'package.json', 'icon.png']) {
      const packaged = entries.find((e) => e.name === `AcrImportV1/${file}`)!.data;
      expect(packaged.equals(await readFile(join(REPO_ROOT, 'azure-pipelines', 'AcrImportV1', file)))).toBe(
        true,
      );
    }
    const icon = entries.find((e) => e.name === 'AcrImportV1/icon.png')!.data;
    expect(icon.subarray(1, 4).toString('ascii')).toBe('PNG');
  });

  it('runs the task from the unpacked folder with the agent environment: a real import', async () => {
    const workFolder = await agentWorkFolder(parent);
    const image = bed.sources.hub.images['multiArch']!;
    const env = bedAgentEnv(
      bed,
      bedServiceConnection(bed, 'wif'),
      {
        registry: bed.acrs.target.name,
        source: `${bed.sources.hub.host}/library/hello:latest`,
        targetTags: 'azp/vsix:1.0',
      },
      workFolder,
    );
    const run = await runTask(env, { script: join(unpacked, 'AcrImportV1', 'index.js'), cwd: workFolder });
    expect(run.log.completions).toEqual([{ result: 'Succeeded', message: 'Imported 1 image' }]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs['digest']).toBe(image.digest);
    expect(await bed.digestOf(bed.acrs.target, 'azp/vsix', '1.0')).toBe(image.digest);
    expect(run.stdout.split('\n').filter((l) => l.includes('##vso[task.complete'))).toHaveLength(1);
  }, 120_000);
});
