/**
 * `acr-import -n TARGET --source repo:tag --registry NAME`: the source ACR given by its bare name, as az takes it. az
 * finds the registry by name through ARM (its login server need not be NAME.azurecr.io: in the test bed, as with a
 * domain name label scope, it is something else) and imports through its resource ID; so does the CLI. The CLI
 * bundle runs as a shell runs it, against the emulator; the digest is read back from the target.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import { bedFlags, runCli, type CliRun } from '../../testbed/run-cli.js';
import { importBodies, startReaderBed } from './scenario-helpers.js';

let bed: StartedBed;
useBed((started) => {
  bed = started;
}, startReaderBed);

function cli(args: string[]): Promise<CliRun> {
  return runCli(bed, [...bedFlags(bed), ...args], {
    env: { AZURE_CLIENT_SECRET: bed.principals.deployer.clientSecret! },
  });
}

function expectExit(run: CliRun, code: number): void {
  if (run.exitCode !== code)
    throw new Error(`exit ${run.exitCode}, expected ${code}:\n${run.stdout}\n${run.stderr}`);
}

describe('--registry with a bare ACR name', () => {
  it('finds the source ACR by name through ARM and imports through its resource ID', async () => {
    const src = bed.acrs.source;
    const image = src.images['multiArch']!;
    // The name is not the first label of the login server: only ARM knows where it lives.
    expect(src.loginServer.startsWith(`${src.name}.`)).toBe(false);
    const run = await cli(['--registry', src.name, '--source', 'app/web:1.0', '-t', 'cli20/web:1.0']);
    expectExit(run, 0);
    expect(run.stdout.trim().split(/\s{2,}/)).toEqual([
      'imported',
      `${bed.acrs.target.loginServer}/cli20/web:1.0`,
      image.digest,
    ]);
    expect(await bed.digestOf(bed.acrs.target, 'cli20/web', '1.0')).toBe(image.digest);
    expect(await importBodies(bed)).toEqual([
      expect.objectContaining({
        source: { resourceId: src.resourceId, sourceImage: `app/web@${image.digest}` },
        targetTags: ['cli20/web:1.0'],
      }),
    ]);
  });

  it('-r NAME in another case is the same registry (ACR names are case-insensitive)', async () => {
    const src = bed.acrs.source;
    const run = await cli(['-r', src.name.toUpperCase(), '--source', 'app/web:1.0', '-t', 'cli21/web:1.0']);
    expectExit(run, 0);
    expect(await bed.digestOf(bed.acrs.target, 'cli21/web', '1.0')).toBe(src.images['multiArch']!.digest);
  });

  it('a name no registry of the subscription has: exit 1, the message names it, nothing imported', async () => {
    const run = await cli(['-r', 'nosuchacr', '--source', 'app/web:1.0', '-t', 'cli22/web:1.0']);
    expectExit(run, 1);
    expect(run.stderr).toContain("No container registry named 'nosuchacr' is visible in subscription");
    expect(await importBodies(bed)).toEqual([]);
  });

  it('a value that is no name, login server or resource ID: exit 2 before any request', async () => {
    const run = await cli(['-r', 'my_acr', '--source', 'app/web:1.0']);
    expectExit(run, 2);
    expect(run.stderr).toContain('- --registry: is not a registry name (5 to 50 letters and digits)');
    expect(await bed.control.requests()).toEqual([]);
  });
});
