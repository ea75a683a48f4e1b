/**
 * The OCI referrers API of the emulated ACRs (testbed/emulator/referrers.ts), computed from what the backing
 * docker-registry stores, and the registries that do not serve it. Raw HTTP, so every header is checked as sent.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { copyImage } from '../../testbed/oci.js';
import type { SeededImage } from '../../testbed/types.js';
import { useBed } from '../bed-hooks.js';
import { httpClient, type Client } from './emulator-helpers.js';

let bed: StartedBed;
let client: Client;
useBed((started) => {
  bed = started;
  client = httpClient(bed.caPem);
});
afterAll(async () => {
  await client?.close();
});

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const NOTATION = 'application/vnd.cncf.notary.signature';

interface IndexBody {
  mediaType: string;
  manifests: {
    mediaType: string;
    digest: string;
    size: number;
    artifactType?: string;
    annotations?: object;
  }[];
}

/** A pull token for `repository` on an emulated ACR, from the deployer's client id and secret (Basic at the realm). */
async function pullToken(loginServer: string, repository: string): Promise<string> {
  const { clientId, clientSecret } = bed.principals.deployer;
  const reply = await client.request(
    `https://${loginServer}/oauth2/token?service=${loginServer}&scope=repository:${repository}:pull`,
    { headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret!}`).toString('base64')}` } },
  );
  expect(reply.status).toBe(200);
  return (reply.json() as { access_token: string }).access_token;
}

const signed = (): SeededImage => bed.acrs.source.images['signed']!;

describe('the referrers API of an emulated ACR', () => {
  it('needs a pull token for the repository, and challenges like every resource URL', async () => {
    const login = bed.acrs.source.loginServer;
    const reply = await client.request(`https://${login}/v2/app/signed/referrers/${signed().digest}`);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe(
      `Bearer realm="https://${login}/oauth2/token",service="${login}",scope="repository:app/signed:pull"`,
    );
    const other = await pullToken(login, 'app/web');
    const wrongScope = await client.request(`https://${login}/v2/app/signed/referrers/${signed().digest}`, {
      headers: { authorization: `Bearer ${other}` },
    });
    expect(wrongScope.status).toBe(401);
  });

  it('lists the stored manifests whose subject is the digest, two per page, with Link', async () => {
    const login = bed.acrs.source.loginServer;
    const token = await pullToken(login, 'app/signed');
    const image = signed();
    const expected = image.referrers!.filter((r) => !r.tag && r.subject === image.digest);
    expect(expected).toHaveLength(3);

    const first = await client.request(`https://${login}/v2/app/signed/referrers/${image.digest}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe(OCI_INDEX);
    expect(first.headers['oci-filters-applied']).toBeUndefined();
    const page1 = first.json() as IndexBody;
    expect(page1.mediaType).toBe(OCI_INDEX);
    expect(page1.manifests).toHaveLength(2);
    const next = /^<([^>]+)>; rel="next"$/.exec(first.headers['link'] ?? '')?.[1];
    expect(next).toBe(
      `/v2/app/signed/referrers/${image.digest}?n=2&last=${encodeURIComponent(page1.manifests[1]!.digest)}`,
    );

    const second = await client.request(`https://${login}${next!}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(second.status).toBe(200);
    expect(second.headers['link']).toBeUndefined();
    const all = [...page1.manifests, ...(second.json() as IndexBody).manifests];
    expect(all.map((d) => d.digest).sort()).toEqual(expected.map((r) => r.digest).sort());

    // Each descriptor is the stored manifest's: its size, its artifactType, its annotations.
    const witness = bed.client(bed.acrs.source.backendUrl);
    try {
      for (const d of all) {
        const stored = await witness.getManifest('app/signed', d.digest);
        expect(d).toEqual({
          mediaType: stored.mediaType,
          digest: stored.digest,
          size: stored.size,
          artifactType: stored.json.artifactType,
          annotations: stored.json.annotations,
        });
      }
    } finally {
      await witness.close();
    }
  });

  it('filters by artifactType and says so; bad digests and unknown repositories', async () => {
    const login = bed.acrs.source.loginServer;
    const token = await pullToken(login, 'app/signed');
    const image = signed();
    const auth = { authorization: `Bearer ${token}` };
    const filtered = await client.request(
      `https://${login}/v2/app/signed/referrers/${image.digest}?artifactType=${encodeURIComponent(NOTATION)}`,
      { headers: auth },
    );
    expect(filtered.status).toBe(200);
    expect(filtered.headers['oci-filters-applied']).toBe('artifactType');
    expect((filtered.json() as IndexBody).manifests.map((d) => d.artifactType)).toEqual([NOTATION, NOTATION]);
    expect(filtered.headers['link']).toBeUndefined();

    const bad = await client.request(`https://${login}/v2/app/signed/referrers/sha256:nothex`, {
      headers: auth,
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('DIGEST_INVALID');

    const noneToken = await pullToken(login, 'no/such-repo');
    const empty = await client.request(`https://${login}/v2/no/such-repo/referrers/${image.digest}`, {
      headers: { authorization: `Bearer ${noneToken}` },
    });
    expect(empty.status).toBe(200);
    expect((empty.json() as IndexBody).manifests).toEqual([]);
  });

  it('a manifest copied into the backing registry by digest is listed at once (what importImage does)', async () => {
    const image = signed();
    const sbom = image.referrers!.find((r) => r.artifactType === 'application/spdx+json')!;
    const from = bed.client(bed.acrs.source.backendUrl);
    const to = bed.client(bed.acrs.target.backendUrl);
    try {
      await copyImage(from, 'app/signed', sbom.digest, to, 'copied/signed', { untagged: true });
    } finally {
      await Promise.all([from.close(), to.close()]);
    }
    const { clientId, clientSecret } = bed.principals.deployer;
    const reader = bed.client(`https://${bed.acrs.target.loginServer}`, {
      username: clientId,
      password: clientSecret!,
    });
    try {
      expect((await reader.referrers('copied/signed', image.digest))?.map((d) => d.digest)).toEqual([
        sbom.digest,
      ]);
      // Its subject need not be there: the image itself was not copied.
      expect(await bed.digestOf(bed.acrs.target, 'copied/signed', image.digest)).toBeUndefined();
    } finally {
      await reader.close();
    }
  });

  it('the plain registries do not serve it: 404', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['signed']!;
    const reader = bed.client(hub.url, { username: hub.username!, password: hub.password! });
    try {
      expect(await reader.referrers(image.repository, image.digest)).toBeUndefined();
      // What they offer instead: OCI 1.1's fallback tag, an index of the referrers.
      const fallback = await reader.getManifest(image.repository, image.digest.replace(':', '-'));
      expect(fallback.mediaType).toBe(OCI_INDEX);
      expect(fallback.json.manifests?.map((d) => d.digest).sort()).toEqual(
        image
          .referrers!.filter((r) => !r.tag && r.subject === image.digest)
          .map((r) => r.digest)
          .sort(),
      );
    } finally {
      await reader.close();
    }
  });
});
