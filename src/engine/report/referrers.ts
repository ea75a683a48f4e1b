/** Referrers as the summary and the log name them: by kind (signature, SBOM, attestation), counted. */
import type { ReferrerResult } from './result.js';

type ReferrerKind = 'signature' | 'SBOM' | 'attestation' | 'other referrer';

export function referrerKind(artifactType: string): ReferrerKind {
  const t = artifactType.toLowerCase();
  if (/spdx|cyclonedx|sbom|syft/.test(t)) return 'SBOM';
  if (/signature|simplesigning|cosign\.artifact\.sig|sigstore\.bundle/.test(t)) return 'signature';
  if (/in-toto|intoto|dsse|provenance|attestation|slsa|vex|vuln/.test(t)) return 'attestation';
  return 'other referrer';
}

/** "2 signatures, 1 SBOM" (and how many failed), for the summary and the log. */
export function describeReferrerCounts(referrers: readonly ReferrerResult[]): string {
  if (referrers.length === 0) return 'no referrers';
  const counts = new Map<ReferrerKind, number>();
  for (const r of referrers) {
    const kind = referrerKind(r.artifactType);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  const order: ReferrerKind[] = ['signature', 'SBOM', 'attestation', 'other referrer'];
  const parts = order
    .filter((k) => counts.has(k))
    .map((k) => `${counts.get(k)} ${k}${counts.get(k) === 1 ? '' : 's'}`);
  const failed = referrers.filter((r) => r.status === 'failed').length;
  if (failed) parts.push(`${failed} failed`);
  return parts.join(', ');
}
