/**
 * A failed import operation, explained: ACR reports what went wrong inside one long message; this finds the cause
 * and says what to change.
 */
import { RemoteError } from '../errors.js';
import { IMPORTER_ROLE } from '../clients/arm.js';
import { NEUTRAL_WORDING, type HostWording } from '../ports.js';

interface Rule {
  test: RegExp;
  hint: string;
}

const RULES: Rule[] = [
  {
    test: /already exists/i,
    hint: 'A target tag already points to another image: set force: true to overwrite it, or choose another target tag.',
  },
  {
    test: /unauthorized|authentication required|authentication failed/i,
    hint: "The source registry refused Azure's pull: give source-username and source-password (for Docker Hub an access token), check they may pull this repository, and for Docker Hub official images use the library/ prefix (docker.io/library/nginx).",
  },
  {
    test: /MANIFEST_UNKNOWN|NAME_UNKNOWN|not found|NotFound/i,
    hint: 'The source image does not exist as written: check the repository, the tag or digest, and the registry host of source.',
  },
  {
    test: /TOOMANYREQUESTS|rate limit|toomanyrequests/i,
    hint: "The source registry is rate-limiting Azure's pulls: pass source-username and source-password so pulls count against an account.",
  },
  {
    test: /network|firewall|private endpoint|trusted service|IP .*not allowed|not allowed access|DENIED/i,
    hint: 'A registry refused the import for network reasons. For an ACR source or target with public network access disabled or firewall rules, enable "Allow trusted Microsoft services to access this container registry" (networkRuleBypassOptions: AzureServices) on it, and give the source by resource ID (source-registry-resource-id) rather than by login server. Trusted-service access does not cross tenants: for a source in another tenant, open its network to the target or import with credentials from a reachable registry.',
  },
  {
    test: /AuthorizationFailed|does not have authorization/i,
    hint: `The identity lacks a role: "${IMPORTER_ROLE}" (or Contributor) on the target registry, and pull rights (AcrPull or the same role) on a source registry given by resource ID.`,
  },
  {
    test: /exportPolicy|export policy|export is disabled/i,
    hint: 'The source registry does not allow exports (policies.exportPolicy.status is disabled): enable it, or import from another registry.',
  },
];

/** An existing tag, when the engine did not read the source digest: it cannot know the tag holds another image. */
function unpinnedExistsHint(setInput: SetInput): string {
  return `A target tag already exists. The source digest was not read before the import (${setInput('pin-digest', 'false')}, or the source is not reachable from the runner), so the tag may well hold this same image: set ${setInput('pin-digest', 'true')} so a tag that already holds the digest is left alone, or ${setInput('force', 'true')} to overwrite the tag.`;
}

/** How the host spells setting an input (HostWording.setInput). */
type SetInput = HostWording['setInput'];

/**
 * What to change for an import failure with this code and text, when a rule knows it. `unpinned`: the import went by
 * tag, without the source digest.
 */
export function importFailureHint(
  code: string | undefined,
  message: string,
  unpinned = false,
  setInput: SetInput = NEUTRAL_WORDING.setInput,
): string | undefined {
  const rule = RULES.find((r) => r.test.test(message) || (code !== undefined && r.test.test(code)));
  return unpinned && rule === RULES[0] ? unpinnedExistsHint(setInput) : rule?.hint;
}

export function describeImportFailure(
  code: string | undefined,
  message: string,
  label: string,
  unpinned = false,
  setInput: SetInput = NEUTRAL_WORDING.setInput,
): RemoteError {
  return new RemoteError({
    service: 'Azure Container Registry',
    code,
    message: `Import of ${label} failed: ${code ? `${code}: ` : ''}${message}`,
    hint: importFailureHint(code, message, unpinned, setInput),
  });
}
