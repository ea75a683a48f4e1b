/**
 * Signatures, SBOMs and attestations (OCI referrers) copied with an image, server side.
 *
 * Discovery reads the source registry (clients/referrers.ts).
 *
 * Each referrer manifest is then imported by digest with importImage into the subject's target repositories
 * (untagged; a cosign tag as the same tag), parents before their referrers. That importImage copies a referrer
 * manifest by digest works (dotnet/docker-tools relies on it) but is not documented by Microsoft, so every referrer is
 * verified afterwards on the target: its referrers API lists it for its subject, a cosign tag holds its digest.
 */
import type { ImportImageBody, RegistryResource } from '../clients/arm.js';
import { childDigests, ReferrerFinder, type Found } from '../clients/referrers.js';
import { isIndexMediaType, type RegistryClient } from '../clients/registry.js';
import type { ImageSpec, ImportConfig } from '../config/model.js';
import { REFERRER_LIMITS } from '../config/referrers.js';
import { asImportError, VerificationError } from '../errors.js';
import type { Logger } from '../ports.js';
import { sourceImage } from '../reference.js';
import { describeReferrerCounts } from '../report/referrers.js';
import type { ImageResult, ReferrerResult } from '../report/result.js';

// ---------------------------------------------------------------------------------------------------------------------
// Copy and verify

export interface ReferrerCopyPorts {
  log: Logger;
  /** A client of the source registry and the image's repository there. */
  source: RegistryClient;
  sourceRepository: string;
  /** A client of the target registry and the subject's target repositories. */
  target: RegistryClient;
  targetLabel: string;
  repositories: readonly string[];
  force: boolean;
  dryRun: boolean;
  /** Imports source@digest into every target repository (untagged, or under `tag`) and waits for it. */
  importManifest(digest: string, tag: string | undefined, signal: AbortSignal): Promise<void>;
  /** Runs one import within the run's max-parallel. */
  limit<T>(work: () => Promise<T>): Promise<T>;
}

export interface ReferrerOutcome {
  referrers: ReferrerResult[];
  notes: string[];
  /** Set when a referrer did not land: the image fails with it (the image itself stays imported). */
  failure?: VerificationError;
}

/** Finds the referrers of `roots` on the source, copies what the target lacks, and verifies every one. */
export async function copyReferrers(
  ports: ReferrerCopyPorts,
  selection: 'all' | readonly string[],
  roots: readonly string[],
  label: string,
  signal: AbortSignal,
): Promise<ReferrerOutcome> {
  const finder = new ReferrerFinder(ports.source, ports.sourceRepository, selection, ports.log);
  const { found, notes } = await finder.discover(roots, signal);
  const results: ReferrerResult[] = found.map((f) => ({
    digest: f.digest,
    artifactType: f.artifactType,
    subject: f.subject,
    ...(f.tag ? { tag: f.tag } : {}),
    status: 'planned',
  }));
  if (found.length === 0) {
    ports.log.info(`${label}: no referrers to copy`);
    return { referrers: results, notes };
  }
  ports.log.info(
    `${label}: ${found.length} referrer${found.length === 1 ? '' : 's'} (${describeReferrerCounts(results)})`,
  );

  // What the target holds already: unchanged, to import, or a cosign tag that holds something else.
  const reading = Promise.all(
    found.map(async (f, i) => {
      const r = results[i]!;
      const held = await Promise.all(
        ports.repositories.map((repo) => ports.target.headManifest(repo, f.tag ?? f.digest, signal)),
      );
      if (held.every((h) => h?.digest === f.digest)) r.status = 'unchanged';
      const moved = f.tag ? held.findIndex((h) => h !== undefined && h.digest !== f.digest) : -1;
      if (moved >= 0 && !ports.force) {
        r.status = 'failed';
        r.error = `target tag ${ports.repositories[moved]}:${f.tag} holds ${held[moved]!.digest}, not the source's ${f.digest}; set force: true to replace it`;
      }
    }),
  );
  try {
    await reading;
  } catch (err) {
    if (signal.aborted) throw err;
    // Without reading the target, nothing copied could be verified: copy nothing, and say why.
    const why = asImportError(err).message;
    for (const r of results)
      Object.assign(r, { status: 'failed', error: 'the target cannot be read from the runner' });
    return {
      referrers: results,
      notes,
      failure: new VerificationError(
        `${label}: its referrers cannot be checked in ${ports.targetLabel}, which the runner cannot read (${why}).`,
        'Referrers are verified through the target registry API: let the runner reach the target registry, or set referrers: none.',
      ),
    };
  }
  if (ports.dryRun) {
    for (const r of results) {
      ports.log.info(
        `${label}: would ${r.status === 'planned' ? 'copy' : `leave (${r.status})`} referrer ${r.digest} (${r.artifactType})`,
      );
    }
    return { referrers: results, notes, ...failureOf(results, ports.targetLabel, true) };
  }

  // Parents first: a signature of an SBOM is imported after the SBOM.
  for (let depth = 1; depth <= REFERRER_LIMITS.depth; depth++) {
    await Promise.all(
      found.map(async (f, i) => {
        const r = results[i]!;
        if (f.depth !== depth || r.status !== 'planned') return;
        try {
          await ports.limit(() => ports.importManifest(f.digest, f.tag, signal));
          r.status = 'imported';
          ports.log.info(`${label}: referrer ${f.digest} (${f.artifactType}) imported`);
        } catch (err) {
          if (signal.aborted) throw err;
          r.status = 'failed';
          r.error = `the import failed: ${asImportError(err).message}`;
        }
      }),
    );
  }

  await verify(ports, found, results, signal);
  return { referrers: results, notes, ...failureOf(results, ports.targetLabel, false) };
}

/** The image's failure when a referrer did not land (or, planned, would not). */
function failureOf(
  results: readonly ReferrerResult[],
  targetLabel: string,
  dryRun: boolean,
): { failure?: VerificationError } {
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length === 0) return {};
  const list = failed
    .map((r) => `${r.digest} (${r.artifactType}${r.tag ? `, tag ${r.tag}` : ''}): ${r.error ?? 'unknown'}`)
    .join('; ');
  const of = `${failed.length} of ${results.length} referrer${results.length === 1 ? '' : 's'}`;
  return {
    failure: dryRun
      ? new VerificationError(`${of} would not land in ${targetLabel}: ${list}.`)
      : new VerificationError(
          `The image landed in ${targetLabel}, but ${of} did not: ${list}.`,
          'The image itself is imported; a policy that requires these signatures or SBOMs will refuse it. Re-run to copy what is missing (referrers already copied stay unchanged). importImage copying referrer manifests by digest is not documented by Microsoft: if it keeps reporting success without them, copy them with oras or regctl.',
        ),
  };
}

/** Every referrer that should be there is read back from the target: listed by its referrers API, or its tag. */
async function verify(
  ports: ReferrerCopyPorts,
  found: Found[],
  results: ReferrerResult[],
  signal: AbortSignal,
): Promise<void> {
  const landed = (i: number): boolean =>
    results[i]!.status === 'imported' || results[i]!.status === 'unchanged';
  const fail = (i: number, why: string): void => {
    results[i]!.status = 'failed';
    results[i]!.error = why;
  };
  for (const repo of ports.repositories) {
    const finder = new ReferrerFinder(ports.target, repo, 'all', ports.log);
    const subjects = [...new Set(found.filter((f, i) => landed(i) && !f.tag).map((f) => f.subject))];
    const listed = new Map(
      await Promise.all(subjects.map(async (s) => [s, await finder.listedDigests(s, signal)] as const)),
    );
    await Promise.all(
      found.map(async (f, i) => {
        if (!landed(i)) return;
        if (f.tag) {
          const now = await ports.target.headManifest(repo, f.tag, signal);
          if (now?.digest !== f.digest) {
            fail(
              i,
              `after the import, ${repo}:${f.tag} ${now ? `holds ${now.digest}` : 'does not exist'} in the target`,
            );
          }
          return;
        }
        const digests = listed.get(f.subject);
        if (!digests) {
          fail(i, `${ports.targetLabel} does not serve the OCI referrers API, so it cannot be verified`);
        } else if (!digests.has(f.digest)) {
          fail(
            i,
            `${results[i]!.status === 'imported' ? 'importImage reported success' : 'the target holds it'}, but the target's referrers API does not list it for ${repo}@${f.subject}`,
          );
        }
      }),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The step of a run

/** A target the import watch looks at (run.ts's TargetState). */
export interface WatchState {
  key: string;
  repository: string;
  tag: string | undefined;
  ref: string;
  before: string | undefined;
}

/**
 * The referrers step of one image, after the image landed (or was planned): the roots are its digest and, for an
 * index, every manifest it lists; the copies go to each of its target repositories.
 */
export async function runReferrers(
  run: {
    config: Pick<ImportConfig, 'referrers' | 'force' | 'dryRun'>;
    log: Logger;
    slots: <T>(work: () => Promise<T>) => Promise<T>;
    target: () => Promise<{ registry: RegistryResource; client: RegistryClient }>;
    importManifest: (
      registry: RegistryResource,
      body: ImportImageBody,
      digest: string,
      watch: WatchState[],
      signal: AbortSignal,
    ) => Promise<void>;
  },
  spec: ImageSpec,
  result: ImageResult,
  plan:
    | { source: ImportImageBody['source']; client: RegistryClient | undefined; unreachable?: string }
    | undefined,
  signal: AbortSignal,
): Promise<void> {
  const label = spec.sourceText;
  const selection = run.config.referrers;
  if (selection === 'none') return;
  const digest = result.targets.find((t) => t.digest)?.digest ?? result.sourceDigest;
  if (!plan?.client || !digest) {
    throw new VerificationError(
      `${label}: its referrers cannot be looked up, because ${plan?.unreachable ?? 'the source cannot be read from the runner'}.`,
      'Referrers are found through the source registry API: make the source readable from the runner, or set referrers: none.',
    );
  }
  const source = plan.client;
  const roots = [digest];
  if (result.mediaType && isIndexMediaType(result.mediaType)) {
    const index = await source.getManifest(spec.source.repository, digest, signal);
    if (index) roots.push(...childDigests(index.bytes));
  }
  const { registry, client } = await run.target();
  const repositories = [...new Set([...spec.targets.map((t) => t.repository), ...spec.untaggedRepositories])];
  const outcome = await copyReferrers(
    {
      log: run.log,
      source,
      sourceRepository: spec.source.repository,
      target: client,
      targetLabel: registry.loginServer,
      repositories,
      force: run.config.force,
      dryRun: run.config.dryRun,
      limit: run.slots,
      importManifest: (referrer, tag, signal) => {
        const body: ImportImageBody = {
          source: { ...plan.source, sourceImage: sourceImage(spec.source, referrer) },
          ...(tag
            ? { targetTags: repositories.map((r) => `${r}:${tag}`) }
            : { untaggedTargetRepositories: repositories }),
          mode: run.config.force ? 'Force' : 'NoForce',
        };
        const watch = repositories.map((repository) => ({
          key: tag ? `${repository}:${tag}` : repository,
          repository,
          tag,
          ref: `${registry.loginServer}/${repository}${tag ? `:${tag}` : ''}`,
          before: undefined,
        }));
        return run.importManifest(registry, body, referrer, watch, signal);
      },
    },
    selection,
    roots,
    label,
    signal,
  );
  result.referrers = outcome.referrers;
  result.notes.push(...outcome.notes);
  if (outcome.failure) throw outcome.failure;
}

/** Runs at most `limit` pieces of work at once, across every image of a run. */
export function limiter(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    // A finished piece of work hands its slot straight to the next waiting one.
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
