/** Import: the importImage request of one image (pinned to its digest when there is one), submitted to ARM. */
import type { ImportImageBody, ImportStart, RegistryResource } from '../clients/arm.js';
import type { ImageSpec } from '../config/model.js';
import { RemoteError } from '../errors.js';
import { sourceImage } from '../reference.js';
import { importFailureHint } from '../report/hints.js';
import type { ImportMode } from './decision.js';
import type { HostWording } from '../ports.js';
import type { Session } from './session.js';
import type { SourcePlan } from './source.js';

/** The body of importImage: the source at `digest` (by tag when undefined), every target tag and repository. */
export function importBody(
  spec: ImageSpec,
  plan: SourcePlan,
  digest: string | undefined,
  mode: ImportMode,
): ImportImageBody {
  const body: ImportImageBody = {
    source: { ...plan.source, sourceImage: sourceImage(spec.source, digest) },
    targetTags: spec.targets.map((t) => `${t.repository}:${t.tag}`),
    ...(spec.untaggedRepositories.length
      ? { untaggedTargetRepositories: [...spec.untaggedRepositories] }
      : {}),
    mode,
  };
  if (body.targetTags!.length === 0) delete body.targetTags;
  return body;
}

/** Starts the import; a refusal gets the hint of the failure it names. */
export function submitImport(
  s: Session,
  target: RegistryResource,
  body: ImportImageBody,
  signal: AbortSignal,
  unpinned = false,
): Promise<ImportStart> {
  return s.arm.beginImport(target, body, signal).catch((err: unknown) => {
    throw withImportHint(err, unpinned, s.wording.setInput);
  });
}

/** ARM may refuse an import at once (4xx) with the text an operation fails with: give it the same hint. */
function withImportHint(err: unknown, unpinned: boolean, setInput: HostWording['setInput']): unknown {
  if (!(err instanceof RemoteError) || err.hint || err.status === undefined || err.status >= 500) return err;
  const hint = importFailureHint(err.code, err.message, unpinned, setInput);
  if (!hint) return err;
  return new RemoteError({
    service: err.service,
    status: err.status,
    code: err.code,
    message: err.message,
    hint,
    retryable: err.retryable,
    cause: err,
  });
}
