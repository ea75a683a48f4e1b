/** Checks of one input value each (lists, booleans, GUIDs, registries, URLs, durations, platforms): text in, value or error out. */
import {
  DEFAULTS,
  MAX_PARALLEL_LIMIT,
  TIMEOUT_LIMIT_MS,
  type Platform,
  type RegistryRef,
  type RegistryResourceId,
} from './model.js';
import { checkImageReference, quote, type ParseResult } from '../reference.js';

// ---------------------------------------------------------------------------------------------------------------------
// Single-value checks (exported for adapters and tests)

/** Lists: newline or comma separated, trimmed, empty entries dropped, duplicates removed (first one kept). */
export function listItems(text: string | undefined): string[] {
  if (text === undefined) return [];
  return unique(
    text
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

export function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** `true` / `false`, case-insensitive; undefined for anything else. */
export function parseBoolean(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkGuid(text: string, what: string): ParseResult<string> {
  return GUID.test(text)
    ? { ok: true, value: text.toLowerCase() }
    : {
        ok: false,
        error: `${what} must be a GUID like 00000000-0000-0000-0000-000000000000 (copy it from the Azure portal)`,
      };
}

const REGISTRY_NAME = /^[a-zA-Z0-9]{5,50}$/;
const RESOURCE_GROUP = /^[-\w.()]{1,90}$/;
const REGISTRY_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)\/?$/i;
const REGISTRY_ID_FORM =
  '/subscriptions/<subscription-id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>';

/** The target registry: a name, a login server (`host[:port]`) or an ARM resource ID. */
export function checkRegistry(text: string): ParseResult<RegistryRef> {
  if (text.startsWith('/')) {
    const id = checkRegistryResourceId(text, 'the registry');
    return id.ok ? { ok: true, value: { kind: 'resourceId', ...id.value } } : id;
  }
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(text);
  if (scheme) {
    return {
      ok: false,
      error: `has a URL scheme; remove ${quote(scheme[0])} and give the login server alone`,
    };
  }
  if (/\s/.test(text))
    return { ok: false, error: 'contains whitespace; give one registry name, login server or resource ID' };
  if (text.includes('/')) {
    return {
      ok: false,
      error: `is the registry only, without a repository path; write ${quote(text.slice(0, text.indexOf('/')))} and put the repository in target-tags`,
    };
  }
  if (text.includes('.') || text.includes(':') || text.toLowerCase() === 'localhost') {
    // A login server is a registry host; check it with the reference grammar by parsing `host/x`.
    const ref = checkImageReference(`${text}/x`);
    if (!ref.ok) return { ok: false, error: ref.error };
    return { ok: true, value: { kind: 'loginServer', loginServer: text.toLowerCase() } };
  }
  if (!REGISTRY_NAME.test(text)) {
    return {
      ok: false,
      error: `is not a registry name (5-50 letters and digits); give the name (myregistry), the login server (myregistry.azurecr.io) or the resource ID`,
    };
  }
  return { ok: true, value: { kind: 'name', name: text } };
}

/** An ACR resource ID; the fixed segments are matched case-insensitively and returned in canonical casing. */
export function checkRegistryResourceId(
  text: string,
  what = 'the registry',
): ParseResult<RegistryResourceId> {
  const match = REGISTRY_ID.exec(text);
  if (!match) {
    return {
      ok: false,
      error: `is not a container registry resource ID; write ${quote(REGISTRY_ID_FORM)} (az acr show -n <name> --query id)`,
    };
  }
  const [, subscriptionId = '', resourceGroup = '', name = ''] = match;
  const errors: string[] = [];
  if (!GUID.test(subscriptionId)) errors.push(`its subscription ${quote(subscriptionId)} is not a GUID`);
  if (!RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith('.')) {
    errors.push(`its resource group ${quote(resourceGroup)} is not a valid name`);
  }
  if (!REGISTRY_NAME.test(name))
    errors.push(`its registry name ${quote(name)} is not 5-50 letters and digits`);
  if (errors.length > 0) {
    return {
      ok: false,
      error: `is not a valid resource ID of ${what}: ${errors.join('; ')}; copy the ID from az acr show -n <name> --query id`,
    };
  }
  return {
    ok: true,
    value: {
      resourceId: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${name}`,
      subscriptionId: subscriptionId.toLowerCase(),
      resourceGroup,
      name,
    },
  };
}

export function checkResourceGroup(text: string): ParseResult<string> {
  return RESOURCE_GROUP.test(text) && !text.endsWith('.')
    ? { ok: true, value: text }
    : {
        ok: false,
        error:
          "is not a resource group name: 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'",
      };
}

export function checkHttpsUrl(text: string): ParseResult<{ text: string; hostname: string }> {
  if (!URL.canParse(text))
    return { ok: false, error: "must be an https URL, e.g. 'https://management.azure.com'" };
  const url = new URL(text);
  if (url.protocol !== 'https:') {
    return {
      ok: false,
      error: `must use https (tokens are never sent in clear text); write ${quote(`https://${url.host}${url.pathname}`)}`,
    };
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return { ok: false, error: 'must be a plain https URL, without credentials, query or fragment' };
  }
  return {
    ok: true,
    value: { text: `${url.origin}${url.pathname}`.replace(/\/+$/, ''), hostname: url.hostname },
  };
}

const DURATION_PART = /(\d+)(ms|h|m|s)/g;
const DURATION = /^(?:\d+(?:ms|h|m|s))+$/;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3600_000, m: 60_000, s: 1000, ms: 1 };

/** Durations like `90s`, `10m`, `1h30m`, `500ms`; a bare number means seconds. Returns milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART))
    total += Number(amount) * (UNIT_MS[unit ?? 's'] ?? 0);
  return total;
}

export function checkTimeout(text: string): ParseResult<number> {
  const ms = parseDuration(text);
  if (ms === undefined) {
    return {
      ok: false,
      error: "is not a duration; write e.g. '90s', '10m', '1h30m' or '500ms' (a bare number means seconds)",
    };
  }
  if (ms <= 0) return { ok: false, error: "must be more than zero; the default is '10m'" };
  if (ms > TIMEOUT_LIMIT_MS)
    return { ok: false, error: "must be at most '6h' (a job's own limit); the default is '10m'" };
  return { ok: true, value: ms };
}

export function checkMaxParallel(text: string): ParseResult<number> {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= MAX_PARALLEL_LIMIT
    ? { ok: true, value: n }
    : {
        ok: false,
        error: `must be a whole number from 1 to ${MAX_PARALLEL_LIMIT} (default ${DEFAULTS.maxParallel})`,
      };
}

export function checkApiVersion(text: string): ParseResult<string> {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:-preview)?$/.exec(text);
  const month = Number(match?.[2]);
  const day = Number(match?.[3]);
  return match && month >= 1 && month <= 12 && day >= 1 && day <= 31
    ? { ok: true, value: text }
    : {
        ok: false,
        error: `must look like YYYY-MM-DD or YYYY-MM-DD-preview (default '${DEFAULTS.apiVersion}')`,
      };
}

export const KNOWN_OS = [
  'linux',
  'windows',
  'darwin',
  'freebsd',
  'netbsd',
  'openbsd',
  'dragonfly',
  'solaris',
  'illumos',
  'aix',
  'android',
  'ios',
  'plan9',
  'js',
  'wasip1',
] as const;
export const KNOWN_ARCHITECTURES = [
  'amd64',
  'arm64',
  'arm',
  '386',
  'ppc64le',
  'ppc64',
  's390x',
  'riscv64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'loong64',
  'wasm',
] as const;
const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  x86: '386',
};

/** `os/arch[/variant]`, e.g. `linux/amd64`, `linux/arm/v7`. */
export function checkPlatform(text: string): ParseResult<Platform> {
  const parts = text.split('/');
  const [os = '', architecture = '', variant] = parts;
  const form = "write 'os/arch' or 'os/arch/variant', e.g. 'linux/amd64' or 'linux/arm/v7'";
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === '')) {
    return { ok: false, error: `is not a platform; ${form}` };
  }
  if (text !== text.toLowerCase())
    return { ok: false, error: `must be lowercase; write ${quote(text.toLowerCase())}` };
  if (!(KNOWN_OS as readonly string[]).includes(os)) {
    return { ok: false, error: `has an unknown os ${quote(os)}; use one of ${KNOWN_OS.join(', ')}` };
  }
  const alias = ARCH_ALIASES[architecture];
  if (alias !== undefined) {
    return {
      ok: false,
      error: `uses ${quote(architecture)}; registries call it ${quote(alias)}: write ${quote(`${os}/${alias}${variant ? `/${variant}` : ''}`)}`,
    };
  }
  if (!(KNOWN_ARCHITECTURES as readonly string[]).includes(architecture)) {
    return {
      ok: false,
      error: `has an unknown architecture ${quote(architecture)}; use one of ${KNOWN_ARCHITECTURES.join(', ')}`,
    };
  }
  if (variant !== undefined && !/^[a-z0-9]+$/.test(variant)) {
    return { ok: false, error: `has an invalid variant ${quote(variant)}; write e.g. 'v7' or 'v8'` };
  }
  return { ok: true, value: { os, architecture, ...(variant !== undefined && { variant }) } };
}

/** `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter((x) => x !== undefined).join('/');
}
