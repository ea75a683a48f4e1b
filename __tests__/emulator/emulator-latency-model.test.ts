/**
 * Issue 11: the emulator's two latency models for a slow import (fault `importLatencyModel`), read from the target's
 * backing registry (the independent witness) while ARM still reports the operation running.
 * - copy-first (the default): the copy is done at once; ARM reports done importLatencyMs later.
 * - tags-at-end: nothing is in the target until the operation ends.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import {
  armImport,
  backendManifest,
  entraToken,
  httpClient,
  pollUntilDone,
  type Client,
} from './emulator-helpers.js';

let bed: StartedBed;
let client: Client;
let token: string;

useBed(async (started) => {
  bed = started;
  client = httpClient(bed.caPem);
  token = await entraToken(bed, client);
});
afterAll(async () => {
  await client?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function tagDigest(repo: string, tag: string): Promise<string | null> {
  const m = await backendManifest(bed.acrs.target.backendUrl, repo, tag);
  return m.status === 200 ? m.digest : null;
}

function hubImage(): { registryUri: string; sourceImage: string; digest: string } {
  const img = bed.sources.hub.images['ociSingle'];
  if (!img) throw new Error('no seeded image ociSingle');
  return {
    registryUri: bed.sources.hub.host,
    sourceImage: `${img.repository}:${img.tag}`,
    digest: img.digest,
  };
}

async function running(location: string): Promise<number> {
  const poll = await client.request(location, { headers: { authorization: `Bearer ${token}` } });
  return poll.status;
}

describe('emulator latency models (importLatencyModel)', () => {
  it('copy-first: the target holds the tag while ARM still reports the import running', async () => {
    await bed.control.setFaults({ importLatencyMs: 2_500, importLatencyModel: 'copy-first' });
    const { digest, ...source } = hubImage();
    const reply = await armImport(bed, client, token, { source, targetTags: ['latency/copyfirst:1'] });
    const location = reply.headers['location'] ?? '';
    let held: string | null = null;
    for (let i = 0; i < 40 && !held; i++) {
      await sleep(50);
      held = await tagDigest('latency/copyfirst', '1');
    }
    expect(held).toBe(digest);
    expect(await running(location)).toBe(202);
    expect((await pollUntilDone(client, token, location)).status).toBe(200);
  });

  it('tags-at-end: the tag is absent while the operation runs and appears as it ends', async () => {
    await bed.control.setFaults({ importLatencyMs: 1_500, importLatencyModel: 'tags-at-end' });
    const { digest, ...source } = hubImage();
    const started = Date.now();
    const reply = await armImport(bed, client, token, { source, targetTags: ['latency/atend:1'] });
    const location = reply.headers['location'] ?? '';
    await sleep(1_000);
    expect(await tagDigest('latency/atend', '1')).toBeNull();
    expect(await running(location)).toBe(202);
    expect((await pollUntilDone(client, token, location)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(await tagDigest('latency/atend', '1')).toBe(digest);
  });

  it('refuses an unknown model', async () => {
    await expect(bed.control.setFaults({ importLatencyModel: 'sometimes' as never })).rejects.toThrow();
  });
});
