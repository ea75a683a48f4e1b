/**
 * Scenarios 4 and 7 when the identity holds only AcrPull on the source ACR (the bed's default roles): no
 * `registries/read`, so the action can neither find the source by login server nor read it through ARM. What the
 * user sees then: the role to add, or an import by tag that says the digest was read afterwards.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import { runAction } from '../../testbed/run-action.js';
import {
  expectFailure,
  expectSuccess,
  failureText,
  importBodies,
  importCalls,
  results,
} from './scenario-helpers.js';

let bed: StartedBed;

useBed((started) => {
  bed = started;
});

it('scenario 4 without read rights on the source: fails before importing and names the roles to grant', async () => {
  const source = bed.acrs.source;
  const image = source.images['ociSingle']!;
  const run = await runAction(bed, {
    ...bed.baseInputs(),
    source: `${source.loginServer}/${image.repository}:${image.tag}`,
    'target-tags': 'lp/worker:1.0',
  });
  expectFailure(run);
  const text = failureText(run);
  expect(text).toContain(
    `${source.loginServer} is an Azure container registry that the signed-in identity cannot see`,
  );
  expect(text).toContain('Reader (registries/read) and AcrPull');
  expect(text).toContain('source-registry-resource-id');
  expect(await importCalls(bed)).toHaveLength(0);
});

it('scenario 7 without read rights on the source: imports by tag and says the digest was read afterwards', async () => {
  const other = bed.acrs.otherSub;
  const image = other.images['multiArch']!;
  const run = await runAction(bed, {
    ...bed.baseInputs(),
    'source-registry-resource-id': other.resourceId,
    source: `${image.repository}:${image.tag}`,
    'target-tags': 'lp/base:1.0',
  });
  expectSuccess(run);
  expect(await bed.digestOf(bed.acrs.target, 'lp/base', '1.0')).toBe(image.digest);
  expect(run.outputs['digest']).toBe(image.digest);
  expect((await importBodies(bed))[0]!.source).toEqual({
    resourceId: other.resourceId,
    sourceImage: `${image.repository}:${image.tag}`,
  });
  const [result] = results(run);
  expect(result!.notes?.join(' ')).toContain(
    "does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read'",
  );
  expect(run.summary).toContain('Imported by tag');
  expect(run.durationMs).toBeLessThan(8_000);
});
