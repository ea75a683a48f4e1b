/**
 * What a run produced: one result per source image, and the outputs every adapter publishes.
 */
import type { FailureKind } from './failure-kind.js';

export type ImageStatus = 'imported' | 'unchanged' | 'updated' | 'failed' | 'planned' | 'submitted';

export interface PlatformDigest {
  platform: string;
  digest: string;
}

export interface TargetResult {
  /** `<loginServer>/<repo>:<tag>`, or `<loginServer>/<repo>` for an untagged repository. */
  ref: string;
  /** The digest the target holds (verified), or the one it will hold (planned, submitted). */
  digest: string | undefined;
}

export interface ImageResult {
  /** The source as the user wrote it. */
  source: string;
  /** The manifest digest the source resolved to (what was imported). */
  sourceDigest: string | undefined;
  mediaType: string | undefined;
  /** For an index / manifest list: its platforms. */
  platforms: PlatformDigest[] | undefined;
  /** For an OCI artifact that is not a container image (e.g. a Helm chart): its artifact or config media type. */
  artifactType?: string;
  targets: TargetResult[];
  status: ImageStatus;
  /** For a dry run: what a real run would do. */
  plan?: 'import' | 'update' | 'unchanged' | 'fail';
  durationMs: number;
  /** What went wrong, and what to do about it. */
  error?: string;
  hint?: string;
  /** For a failed image: what kind of problem (the CLI maps it to an exit code). Not part of the outputs. */
  kind?: FailureKind;
  /** Things the user should know although nothing failed (import by tag, platform digest, unverified). */
  notes: string[];
  /** With the referrers input: the signatures, SBOMs and attestations copied with the image (or planned). */
  referrers?: ReferrerResult[];
}

/** One OCI referrer (or cosign-convention artifact) of an imported manifest. */
export interface ReferrerResult {
  digest: string;
  artifactType: string;
  /** The manifest it refers to (the image, one of its platform manifests, or another referrer). */
  subject: string;
  /** A cosign-convention tag (`sha256-<hex>.sig`) recreated on the target; absent for OCI 1.1 referrers. */
  tag?: string;
  status: 'imported' | 'unchanged' | 'planned' | 'failed';
  /** Why it did not land. */
  error?: string;
}

export interface RunResult {
  registry: { name: string; loginServer: string; id: string } | undefined;
  images: ImageResult[];
  /** False when any image failed. */
  ok: boolean;
  durationMs: number;
  dryRun: boolean;
}

export interface RunOutputs {
  digest: string;
  images: string;
  results: string;
}

/** The step outputs: `digest` of the first image, one pinned reference per target repository, and the JSON results. */
export function toOutputs(run: RunResult): RunOutputs {
  // The first image's digest, and only if it landed (or would, for a plan): a failed image's resolved digest is not
  // in the target.
  const first = run.images[0]?.status === 'failed' ? undefined : run.images[0];
  const digest = first?.targets.find((t) => t.digest)?.digest ?? first?.sourceDigest ?? '';
  const pinned = new Set<string>();
  for (const image of run.images) {
    // A submitted import (wait: false) has not landed yet: its targets may not exist.
    if (image.status === 'failed' || image.status === 'submitted') continue;
    for (const target of image.targets) {
      if (!target.digest) continue;
      pinned.add(`${repositoryRef(target.ref)}@${target.digest}`);
    }
  }
  const results = run.images.map((i) => ({
    source: i.source,
    sourceDigest: i.sourceDigest ?? null,
    mediaType: i.mediaType ?? null,
    platforms: i.platforms ?? [],
    targets: i.targets,
    status: i.status,
    ...(i.plan ? { plan: i.plan } : {}),
    durationMs: i.durationMs,
    ...(i.error ? { error: i.hint ? `${i.error} ${i.hint}` : i.error } : {}),
    ...(i.notes.length ? { notes: i.notes } : {}),
    ...(i.referrers ? { referrers: i.referrers } : {}),
  }));
  return { digest, images: [...pinned].join('\n'), results: JSON.stringify(results) };
}

/** `host/repo:tag` -> `host/repo` (the host may carry a port). */
export function repositoryRef(ref: string): string {
  const at = ref.indexOf('@');
  const noDigest = at === -1 ? ref : ref.slice(0, at);
  const slash = noDigest.indexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}
