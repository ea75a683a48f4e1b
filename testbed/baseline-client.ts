/**
 * The baseline of issue 11's benchmark: a client that imports the way `az acr import` does, against the same bed:
 * sign in (client credentials), find the registry, POST importImage, then poll the operation no sooner than each
 * answer's Retry-After until it is done. No watch of the target's tags. It is what "ours" is compared with.
 *
 *   const r = await baselineImport(bed, `${bed.sources.hub.host}/bench/img0:v1`, 'base/img0:v1');
 */
import { Agent } from 'undici';
import type { StartedBed } from './bed.js';

export interface BaselineRun {
  /** From the first request to the operation reported done. */
  totalMs: number;
  /** From the POST to the operation reported done. */
  postToDoneMs: number;
  polls: number;
}

const API_VERSION = '2025-04-01';

export async function baselineImport(
  bed: StartedBed,
  source: string,
  targetTag: string,
): Promise<BaselineRun> {
  const dispatcher = new Agent({ connect: { ca: bed.caPem } });
  const started = Date.now();
  try {
    const deployer = bed.principals.deployer;
    // A custom cloud (az cloud register): its ARM audience comes from its metadata.
    const meta = await dispatcher.request({
      origin: bed.arm.endpoint,
      path: '/metadata/endpoints?api-version=2015-01-01',
      method: 'GET',
    });
    const { authentication } = (await meta.body.json()) as { authentication?: { audiences?: string[] } };
    const audience = authentication?.audiences?.[0];
    if (!audience)
      throw new Error(`baseline: no ARM audience in the cloud metadata (HTTP ${meta.statusCode})`);
    const token = await dispatcher.request({
      origin: bed.entra.authorityHost,
      path: `/${deployer.tenantId}/oauth2/v2.0/token`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: deployer.clientId,
        client_secret: deployer.clientSecret!,
        scope: `${audience.replace(/\/$/, '')}/.default`,
      }).toString(),
    });
    const { access_token: accessToken } = (await token.body.json()) as { access_token?: string };
    if (!accessToken) throw new Error(`baseline: no ARM token (HTTP ${token.statusCode})`);
    const authorization = `Bearer ${accessToken}`;
    const target = bed.acrs.target;
    // az acr import looks the registry up first (az acr show).
    const show = await dispatcher.request({
      origin: bed.arm.endpoint,
      path: `${target.resourceId}?api-version=${API_VERSION}`,
      method: 'GET',
      headers: { authorization },
    });
    await show.body.dump();
    if (show.statusCode !== 200) throw new Error(`baseline: registry lookup answered ${show.statusCode}`);
    const [registryUri, ...rest] = source.split('/');
    const posted = Date.now();
    const post = await dispatcher.request({
      origin: bed.arm.endpoint,
      path: `${target.resourceId}/importImage?api-version=${API_VERSION}`,
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({
        source: { registryUri, sourceImage: rest.join('/') },
        targetTags: [targetTag],
        mode: 'NoForce',
      }),
    });
    await post.body.dump();
    if (post.statusCode === 200)
      return { totalMs: Date.now() - started, postToDoneMs: Date.now() - posted, polls: 0 };
    if (post.statusCode !== 202) throw new Error(`baseline: importImage answered ${post.statusCode}`);
    let location = String(post.headers['location']);
    let retryAfter = Number(post.headers['retry-after'] ?? 30);
    for (let polls = 1; polls <= 60; polls++) {
      await new Promise((r) => setTimeout(r, retryAfter * 1000));
      const url = new URL(location);
      const poll = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { authorization },
      });
      await poll.body.dump();
      if (poll.statusCode === 200) {
        return { totalMs: Date.now() - started, postToDoneMs: Date.now() - posted, polls };
      }
      if (poll.statusCode !== 202) throw new Error(`baseline: the operation answered ${poll.statusCode}`);
      if (poll.headers['location']) location = String(poll.headers['location']);
      retryAfter = Number(poll.headers['retry-after'] ?? retryAfter);
    }
    throw new Error('baseline: the operation did not finish within 60 polls');
  } finally {
    await dispatcher.close();
  }
}
