/**
 * Verify: after the import, every target holds the imported digest (unpinned: record what it holds); and what the
 * target holds, described (the platforms of an index, the type of an artifact, an index's missing manifests).
 */
import type { RegistryResource } from '../clients/arm.js';
import { isIndexMediaType, platformsOf, type RegistryClient } from '../clients/registry.js';
import type { ImageSpec } from '../config/model.js';
import { asImportError, VerificationError } from '../errors.js';
import type { Logger } from '../ports.js';
import type { ImageResult, TargetResult } from '../report/result.js';
import type { SourcePlan } from './source.js';
import type { TargetState } from './target.js';

export interface Verified {
  digest: string | undefined;
  mediaType: string | undefined;
  targets: TargetResult[];
}

/** Reads every target back: it must exist and hold `digest` (when pinned). */
export async function verifyTargets(
  client: RegistryClient,
  target: RegistryResource,
  states: readonly TargetState[],
  pinned: string | undefined,
  signal: AbortSignal,
): Promise<Verified> {
  let digest = pinned;
  let mediaType: string | undefined;
  const targets: TargetResult[] = [];
  for (const state of states) {
    const now = await client.headManifest(state.repository, state.tag ?? digest ?? 'latest', signal);
    if (!now)
      throw new VerificationError(`After the import, ${state.ref} does not exist in ${target.loginServer}.`);
    if (digest && now.digest !== digest) {
      throw new VerificationError(
        `After the import, ${state.ref} holds ${now.digest}, not the imported ${digest}.`,
        'Something else wrote this tag during the import (another pipeline?); re-run to import again.',
      );
    }
    digest ??= now.digest;
    mediaType ??= now.mediaType;
    targets.push({ ref: state.ref, digest: now.digest });
  }
  return { digest, mediaType, targets };
}

export type Description = Partial<Pick<ImageResult, 'platforms' | 'artifactType'>>;

/** What the target holds, looked at once it is there: the platforms of an index, the type of an artifact. */
export async function describeTarget(
  client: () => Promise<RegistryClient>,
  spec: ImageSpec,
  digest: string | undefined,
  mediaType: string | undefined,
  log: Logger,
  signal: AbortSignal,
): Promise<Description> {
  const repository = spec.targets[0]?.repository ?? spec.untaggedRepositories[0];
  if (!digest || !mediaType || !repository) return {};
  try {
    const manifest = await (await client()).getManifest(repository, digest, signal);
    if (!manifest) return {};
    if (isIndexMediaType(mediaType)) return { platforms: platformsOf(manifest.bytes) };
    const artifactType = artifactTypeOf(manifest.bytes);
    return artifactType ? { artifactType } : {};
  } catch (err) {
    log.debug(`could not read the platforms of ${digest}: ${asImportError(err).message}`);
    return {};
  }
}

/** The platforms of an image the target does not hold yet (a plan, a submitted import), read from the source. */
export async function describeSource(
  spec: ImageSpec,
  plan: SourcePlan,
  digest: string | undefined,
  mediaType: string | undefined,
  log: Logger,
  signal: AbortSignal,
): Promise<Description> {
  if (!digest || !plan.client || !mediaType || !isIndexMediaType(mediaType)) return {};
  try {
    const index = await plan.client.getManifest(spec.source.repository, digest, signal);
    return index ? { platforms: platformsOf(index.bytes) } : {};
  } catch (err) {
    log.debug(`could not read the platforms of ${digest}: ${asImportError(err).message}`);
    return {};
  }
}

/**
 * The child manifests of the index `digest` that some target repository lacks (HEADs in parallel): a target whose
 * tag holds the index but lost a platform manifest is not unchanged.
 */
export async function missingChildren(
  client: RegistryClient,
  states: readonly TargetState[],
  digest: string,
  signal: AbortSignal,
): Promise<string[]> {
  const repositories = [...new Set(states.map((s) => s.repository))];
  const index = await client.getManifest(repositories[0]!, digest, signal);
  if (!index) return [digest];
  const children = childDigests(index.bytes);
  const missing = await Promise.all(
    repositories.flatMap((repository) =>
      children.map(async (child) =>
        (await client.headManifest(repository, child, signal)) ? undefined : `${repository}@${child}`,
      ),
    ),
  );
  return missing.filter((m): m is string => m !== undefined);
}

/** Every manifest an index lists (platforms and attestations alike). */
function childDigests(index: Buffer): string[] {
  try {
    const entries = (JSON.parse(index.toString('utf8')) as { manifests?: unknown }).manifests;
    if (!Array.isArray(entries)) return [];
    return entries
      .map((e) => (e as { digest?: unknown }).digest)
      .filter((d): d is string => typeof d === 'string');
  } catch {
    return [];
  }
}

/** Container image configs; any other config media type (or an artifactType) marks an OCI artifact. */
const IMAGE_CONFIG_TYPES = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** The artifact type of a single manifest that is not a container image (a Helm chart, a signature ...). */
function artifactTypeOf(manifest: Buffer): string | undefined {
  try {
    const doc = JSON.parse(manifest.toString('utf8')) as {
      artifactType?: unknown;
      config?: { mediaType?: unknown };
    };
    if (typeof doc.artifactType === 'string' && doc.artifactType) return doc.artifactType;
    const config = doc.config?.mediaType;
    return typeof config === 'string' && !IMAGE_CONFIG_TYPES.has(config) ? config : undefined;
  } catch {
    return undefined;
  }
}
