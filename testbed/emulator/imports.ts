/**
 * What happens behind ARM `importImage`: body validation (the ImportImageParameters rules), and the import operation
 * itself, a REAL server-side copy with testbed/oci.ts `copyImage` from the source registry into the target's backing
 * registry, every digest preserved.
 *
 * Sources: `registryUri` = any registry, reached at `https://<registryUri>` with `credentials` from the body (an
 * emulated ACR's login server goes through that ACR's data plane and its rules: firewall, token auth, RBAC);
 * `resourceId` = another emulated ACR, read straight from its backing registry (so it works with public access off).
 * Network: a target or `resourceId` source with public network access off is reached only when it lets trusted
 * services through (the `network` fault can turn that off); otherwise the import fails with its firewall's DENIED.
 * Rules: the source must send `Docker-Content-Digest`; `NoForce` fails before copying when a target tag exists with a
 * different digest (same digest: success, tags added); `Force` overwrites. Failures carry ACR's message shape:
 * `Operation registries-<guid> failed. Resource <registryId> <detail>`.
 */
// testbed/oci.ts pulls in undici; it is loaded on the first import so that the emulator starts faster.
import type { RegistryClient } from '../oci.js';
import type { Registry, World } from './state.js';
import { NULL_USER } from './acr.js';

export interface ArmError {
  code: string;
  message: string;
}

export type ImportSource =
  | { kind: 'registryUri'; host: string; credentials?: { username?: string; password: string } }
  | { kind: 'resourceId'; resourceId: string };

export interface ImportRequest {
  source: ImportSource;
  sourceImage: string;
  sourceRepo: string;
  /** Tag or digest (a digest wins over a tag when both are given). */
  sourceRef: string;
  targetTags: { repo: string; tag: string }[];
  untagged: string[];
  mode: 'NoForce' | 'Force';
}

export type OperationStatus = 'running' | 'succeeded' | 'failed';

export interface ImportOperation {
  id: string;
  target: Registry;
  apiVersion: string;
  request: ImportRequest;
  status: OperationStatus;
  error?: ArmError;
  startedAt: number;
  finishedAt?: number;
  /** When the copy into the target ended (its tags exist from then on). */
  copiedAt?: number;
  hung: boolean;
  digest?: string;
  /** Resolves when the operation leaves `running` (never, for a hung import). */
  done: Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

const REPO = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;

/** A leading path component that is a registry host (docker's rule: has a dot or a colon, or is localhost). */
function hasHost(image: string): boolean {
  const slash = image.indexOf('/');
  if (slash < 0) return false;
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

function splitImage(image: string): { repo: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repo: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

const invalid = (message: string): { error: ArmError } => ({ error: { code: 'InvalidParameters', message } });

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks an ImportImageParameters body; the first problem found is returned as an ARM error (400). */
export function parseImportBody(body: unknown): { request: ImportRequest } | { error: ArmError } {
  if (!isObj(body)) return invalid("The request body must be a JSON object with a 'source' property.");
  const source = body['source'];
  if (!isObj(source)) return invalid("The 'source' property is required.");
  const sourceImage = source['sourceImage'];
  if (typeof sourceImage !== 'string' || sourceImage === '')
    return invalid("The 'source.sourceImage' property is required.");
  const resourceId = source['resourceId'];
  const registryUri = source['registryUri'];
  const hasResourceId = resourceId !== undefined && resourceId !== null && resourceId !== '';
  const hasRegistryUri = registryUri !== undefined && registryUri !== null && registryUri !== '';
  if (hasResourceId && hasRegistryUri) {
    return invalid("Only one of 'source.resourceId' and 'source.registryUri' can be specified.");
  }
  if (!hasResourceId && !hasRegistryUri) {
    return invalid("One of 'source.resourceId' and 'source.registryUri' must be specified.");
  }

  let importSource: ImportSource;
  const credentials = source['credentials'];
  if (hasResourceId) {
    if (typeof resourceId !== 'string') return invalid("'source.resourceId' must be a string.");
    if (credentials !== undefined && credentials !== null) {
      return invalid("'source.credentials' can only be used with 'source.registryUri'.");
    }
    importSource = { kind: 'resourceId', resourceId };
  } else {
    if (typeof registryUri !== 'string' || !/^[A-Za-z0-9.-]+(?::\d+)?$/.test(registryUri)) {
      return invalid(
        `The 'source.registryUri' '${String(registryUri)}' is not valid: give the registry's host name (and port) only, without a scheme or path.`,
      );
    }
    importSource = { kind: 'registryUri', host: registryUri };
    if (credentials !== undefined && credentials !== null) {
      if (!isObj(credentials)) return invalid("'source.credentials' must be an object.");
      const { username, password } = credentials;
      if (typeof password !== 'string' || password === '') {
        return invalid(
          "The 'source.credentials.password' property is required when 'source.credentials' is given.",
        );
      }
      if (username !== undefined && username !== null && typeof username !== 'string') {
        return invalid("'source.credentials.username' must be a string.");
      }
      importSource.credentials = { password, ...(typeof username === 'string' ? { username } : {}) };
    }
  }

  if (hasHost(sourceImage)) {
    return invalid(
      `The source image '${sourceImage}' must not contain a registry host; give the host in 'source.registryUri' and the repository in 'source.sourceImage'.`,
    );
  }
  const parsed = splitImage(sourceImage);
  // Repository names are lower-case in ACR; mixed case (as in the spec's own example) is folded, not rejected.
  if (!REPO.test(parsed.repo.toLowerCase())) {
    return invalid(`The source image '${sourceImage}' has an invalid repository name.`);
  }
  if (parsed.tag !== undefined && !TAG.test(parsed.tag))
    return invalid(`The source image '${sourceImage}' has an invalid tag.`);
  if (
    parsed.digest !== undefined &&
    !(DIGEST.test(parsed.digest) && (!parsed.digest.startsWith('sha256:') || SHA256.test(parsed.digest)))
  ) {
    return invalid(`The source image '${sourceImage}' has an invalid digest.`);
  }
  const sourceRef = parsed.digest ?? parsed.tag ?? 'latest';

  const mode = body['mode'] ?? 'NoForce';
  if (mode !== 'NoForce' && mode !== 'Force') {
    return invalid(
      `The value '${String(mode)}' is not valid for 'mode'. Allowed values: 'NoForce', 'Force'.`,
    );
  }

  const targetTagsRaw = body['targetTags'] ?? [];
  const untaggedRaw = body['untaggedTargetRepositories'] ?? [];
  if (!Array.isArray(targetTagsRaw) || targetTagsRaw.some((t) => typeof t !== 'string')) {
    return invalid("'targetTags' must be an array of strings.");
  }
  if (!Array.isArray(untaggedRaw) || untaggedRaw.some((t) => typeof t !== 'string')) {
    return invalid("'untaggedTargetRepositories' must be an array of strings.");
  }
  // The spec: a target without a tag takes the source's tag, or `latest` when the source had none (a digest).
  const defaultTag = parsed.tag ?? 'latest';
  const targetTags: { repo: string; tag: string }[] = [];
  for (const entry of targetTagsRaw as string[]) {
    const t = splitImage(entry);
    const repo = t.repo.toLowerCase();
    if (
      hasHost(entry) ||
      t.digest !== undefined ||
      !REPO.test(repo) ||
      (t.tag !== undefined && !TAG.test(t.tag))
    ) {
      return invalid(
        `The target tag '${entry}' is not valid: use 'repository[:tag]' without a registry host or digest.`,
      );
    }
    targetTags.push({ repo, tag: t.tag ?? defaultTag });
  }
  const untagged: string[] = [];
  for (const entry of untaggedRaw as string[]) {
    if (!REPO.test(entry.toLowerCase())) {
      return invalid(
        `The untagged target repository '${entry}' is not valid: use a repository name without tag or digest.`,
      );
    }
    untagged.push(entry.toLowerCase());
  }
  if (targetTags.length === 0 && untagged.length === 0)
    targetTags.push({ repo: parsed.repo.toLowerCase(), tag: defaultTag });

  return {
    request: {
      source: importSource,
      sourceImage,
      sourceRepo: parsed.repo,
      sourceRef,
      targetTags,
      untagged,
      mode,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Running an import

/** .NET HttpStatusCode names, as ACR quotes them in "Invalid message <Name> <Reason> <body>". */
const STATUS_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

class ImportFailure extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface StartImportOptions {
  id: string;
  target: Registry;
  request: ImportRequest;
  apiVersion: string;
  /** The source registry, when `request.source` is a resourceId (already resolved and authorised). */
  sourceRegistry?: Registry;
}

/** Starts the import in the background; the returned operation tracks it. */
export function startImport(world: World, options: StartImportOptions): ImportOperation {
  const failure = world.control.takeImportFailure();
  const hang = world.control.faults.hangImports;
  const hung =
    hang === true || (typeof hang === 'object' && hang.sourceRepository === options.request.sourceRepo);
  const latency = world.control.faults.importLatencyMs ?? 0;
  const delay = world.control.faults.importDelayMs ?? 0;
  const tagsAtEnd = world.control.faults.importLatencyModel === 'tags-at-end';
  const op: ImportOperation = {
    id: options.id,
    target: options.target,
    apiVersion: options.apiVersion,
    request: options.request,
    status: 'running',
    startedAt: Date.now(),
    hung,
    done: Promise.resolve(),
  };
  const finish = (error?: ArmError): void => {
    op.finishedAt = Date.now();
    if (error) {
      op.status = 'failed';
      op.error = error;
    } else {
      op.status = 'succeeded';
    }
  };
  if (hung) {
    op.done = new Promise<void>(() => undefined);
    return op;
  }
  op.done = (async () => {
    try {
      if (failure) {
        if (latency > 0) await sleep(latency);
        return finish(failure);
      }
      if (delay > 0) await sleep(delay);
      if (tagsAtEnd && latency > 0) await sleep(latency);
      op.digest = await copy(world, options);
      op.copiedAt = Date.now();
      if (!tagsAtEnd && latency > 0) await sleep(latency);
      finish();
    } catch (error) {
      const detail =
        error instanceof ImportFailure
          ? error
          : new ImportFailure('InvalidParameters', describeCopyError(error));
      finish({
        code: detail.code,
        message: `Operation ${op.id} failed. Resource ${options.target.id} ${detail.detail}`,
      });
    }
  })();
  return op;
}

type Oci = typeof import('../oci.js');
let ociModule: Promise<Oci> | undefined;
const loadOci = (): Promise<Oci> => (ociModule ??= import('../oci.js'));

/** Hosts the emulator may contact: this machine only (the bed's registries). */
function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name === '127.0.0.1' || name === 'localhost';
}

function sourceClient(oci: Oci, world: World, options: StartImportOptions): RegistryClient {
  const { RegistryClient } = oci;
  const { source } = options.request;
  if (source.kind === 'resourceId') {
    const registry = options.sourceRegistry;
    if (!registry) throw new Error('source registry not resolved');
    return new RegistryClient({ url: registry.config.backendUrl, userAgent: 'acr-import-emulator' });
  }
  // A host the runner cannot reach, but the import service can (the azureReaches fault): pull from where it maps.
  const reached = world.control.faults.azureReaches?.[source.host];
  if (reached) {
    const creds = source.credentials;
    return new RegistryClient({
      url: `https://${reached}`,
      ca: world.ca,
      userAgent: 'acr-import-emulator',
      ...(creds ? { username: creds.username ?? '', password: creds.password } : {}),
    });
  }
  if (!isLoopbackHost(source.host)) {
    // Real ACR would reach any registry; the emulator must never leave 127.0.0.1, so it fails like an unreachable one.
    throw new ImportFailure(
      'InvalidParameters',
      `Error copying blobs: the source registry '${source.host}' cannot be reached (the emulator reaches only registries on 127.0.0.1).`,
    );
  }
  const viaAcr = world.registryByLoginServer(source.host);
  const creds = source.credentials;
  return new RegistryClient({
    url: `https://${source.host}`,
    ca: world.ca,
    userAgent: 'acr-import-emulator',
    ...(creds ? { username: creds.username ?? (viaAcr ? NULL_USER : ''), password: creds.password } : {}),
  });
}

/** The address the import service's pulls come from, as a registry's firewall quotes it (a documentation IP). */
const IMPORT_SERVICE_IP = '198.51.100.7';

async function copy(world: World, options: StartImportOptions): Promise<string> {
  const { request, target } = options;
  // The import service passes a registry's firewall only where the registry lets trusted Microsoft services through
  // (networkRuleBypassOptions AzureServices, the default); otherwise the registry refuses it like any client.
  for (const registry of [options.sourceRegistry, target]) {
    const network = registry && world.network(registry);
    if (network && !network.publicNetworkAccess && !network.trustedServices) {
      const denied = {
        errors: [
          {
            code: 'DENIED',
            message: `client with IP '${IMPORT_SERVICE_IP}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.`,
          },
        ],
      };
      throw new ImportFailure(
        'InvalidParameters',
        `Invalid message Forbidden Forbidden ${JSON.stringify(denied)}`,
      );
    }
  }
  const oci = await loadOci();
  const { RegistryClient, copyImage } = oci;
  const src = sourceClient(oci, world, options);
  const dst = new RegistryClient({ url: target.config.backendUrl, userAgent: 'acr-import-emulator' });
  try {
    const manifest = await src.getManifest(request.sourceRepo, request.sourceRef);
    if (!manifest.headerDigest) {
      throw new ImportFailure(
        'InvalidParameters',
        `No value specified for Docker-Content-Digest OK OK ${manifest.bytes.toString('utf8')}`,
      );
    }
    const digest = manifest.digest;
    if (world.control.faults.silentImportDigests?.includes(digest)) return digest;

    if (request.mode === 'NoForce') {
      for (const { repo, tag } of request.targetTags) {
        const existing = await dst.headManifest(repo, tag);
        if (existing && (existing.digest !== digest || world.control.faults.strictNoForce)) {
          throw new ImportFailure(
            'InvalidParameters',
            `Tag ${repo}:${tag} already exists in target registry.`,
          );
        }
      }
    }

    const byRepo = new Map<string, string[]>();
    for (const { repo, tag } of request.targetTags) {
      const tags = byRepo.get(repo) ?? [];
      if (!tags.includes(tag)) tags.push(tag);
      byRepo.set(repo, tags);
    }
    for (const repo of request.untagged) if (!byRepo.has(repo)) byRepo.set(repo, []);
    for (const [repo, tags] of byRepo) {
      await copyImage(src, request.sourceRepo, digest, dst, repo, { tags, untagged: tags.length === 0 });
    }
    return digest;
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}

function describeCopyError(error: unknown): string {
  if (error instanceof Error && error.name === 'OciError') {
    const e = error as Error & { status: number; statusText: string; body: string };
    const name = STATUS_NAMES[e.status] ?? String(e.status);
    const reason = e.statusText || name;
    return `Invalid message ${name} ${reason} ${e.body}`.trimEnd();
  }
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  if (e.cause?.code) return `Error copying blobs: could not reach the source registry (${e.cause.code}).`;
  return `Error copying blobs: ${e.message ?? String(error)}`;
}

/** The source as one reference, for the operation list. */
export function describeSource(request: ImportRequest): string {
  const where = request.source.kind === 'registryUri' ? request.source.host : request.source.resourceId;
  return `${where}/${request.sourceRepo}${request.sourceRef.includes(':') ? '@' : ':'}${request.sourceRef}`;
}
