/**
 * Resolve: the manifest (digest, media type, size) a source reference points to now, read from the source registry;
 * with a platform, that platform's manifest out of the index. A source the runner cannot read is marked unreachable.
 */
import { isIndexMediaType, platformsOf, type ManifestInfo } from '../clients/registry.js';
import type { ImageSpec } from '../config/model.js';
import { formatPlatform } from '../config/rules.js';
import { RemoteError } from '../errors.js';
import { connectFailure, describeConnectFailure } from '../net/reachability.js';
import { formatReference } from '../reference.js';
import type { SourcePlan } from './source.js';

export type Resolved = { info: ManifestInfo; platformNote?: string } | undefined;

/** The manifest the source reference points to now, or undefined when it cannot be read from here. */
export async function resolveSource(
  spec: ImageSpec,
  plan: SourcePlan,
  signal: AbortSignal,
): Promise<Resolved> {
  const ref = spec.source;
  if (!plan.client) return undefined;
  const reference = ref.digest ?? ref.tag ?? 'latest';
  let info: ManifestInfo | undefined;
  try {
    info = await plan.client.headManifest(ref.repository, reference, signal);
  } catch (err) {
    if (
      err instanceof RemoteError &&
      (err.status === 403 || err.status === undefined) &&
      'resourceId' in plan.source
    ) {
      plan.unreachable = `the runner cannot read the source registry (${err.message})`;
      return undefined;
    }
    // A source the runner cannot connect to (no DNS, refused, timed out) may still be reachable from Azure.
    const kind = err instanceof RemoteError && err.status === undefined ? connectFailure(err) : undefined;
    if (kind && !spec.platform) {
      plan.unreachable = `${plan.client.label} cannot be reached from the runner (${describeConnectFailure(kind)})`;
      return undefined;
    }
    throw err;
  }
  if (!info) {
    throw new RemoteError({
      service: plan.client.label,
      status: 404,
      code: 'MANIFEST_UNKNOWN',
      message: `Source image ${formatReference(ref)} was not found on ${plan.client.label}.`,
      hint:
        ref.registry === 'docker.io' && !ref.repository.includes('/')
          ? 'Check the tag; Docker Hub official images live under library/.'
          : 'Check the repository and the tag (or digest) of source.',
    });
  }
  if (!spec.platform) return { info };
  const wanted = formatPlatform(spec.platform);
  if (!isIndexMediaType(info.mediaType)) {
    throw new RemoteError({
      service: plan.client.label,
      message: `platform ${wanted} was asked for, but ${formatReference(ref)} is a single-platform manifest (${info.mediaType}).`,
      hint: 'Remove platform for this image, or point source at a multi-platform image.',
    });
  }
  const index = await plan.client.getManifest(ref.repository, info.digest, signal);
  const entry = index && platformsOf(index.bytes).find((p) => p.platform === wanted);
  if (!entry) {
    const available = index
      ? platformsOf(index.bytes)
          .map((p) => p.platform)
          .join(', ')
      : 'none';
    throw new RemoteError({
      service: plan.client.label,
      message: `${formatReference(ref)} has no ${wanted} manifest (platforms: ${available}).`,
      hint: 'Set platform to one of the listed platforms.',
    });
  }
  // The child is the digest the index read above names, checked against the bytes the registry sends for it.
  const child = await plan.client.getManifest(ref.repository, entry.digest, signal);
  if (!child)
    throw new RemoteError({
      service: plan.client.label,
      message: `Platform manifest ${entry.digest} is missing.`,
    });
  return {
    info: { digest: entry.digest, mediaType: child.mediaType, size: child.size },
    platformNote: `Imported only ${wanted}: digest ${entry.digest} is that platform's manifest, not the index digest ${info.digest}.`,
  };
}
