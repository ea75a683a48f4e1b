/**
 * Shared helpers for the emulator's own tests: an HTTPS client that trusts the bed's CA, and short-cuts to the
 * tokens each service wants (GitHub ID token, Entra token by secret or assertion, ACR refresh/access tokens).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent } from 'undici';
import { emulatorMainPath, type StartedBed } from '../../testbed/bed.js';
import type { EmulatorConfig } from '../../testbed/emulator/config.js';
import { freePorts, spawnTracked, stopProcess } from '../../testbed/registries.js';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: () => unknown;
}

export interface Client {
  request(
    url: string,
    options?: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
  ): Promise<Reply>;
  close(): Promise<void>;
}

export function httpClient(ca: string): Client {
  const agent = new Agent({ connect: { ca } });
  return {
    async request(url, options = {}) {
      const u = new URL(url);
      const response = await agent.request({
        origin: u.origin,
        path: `${u.pathname}${u.search}`,
        method: (options.method ?? 'GET') as 'GET',
        headers: options.headers ?? {},
        body: options.body ?? null,
      });
      const text = await response.body.text();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      return { status: response.statusCode, headers, text, json: () => JSON.parse(text) as unknown };
    },
    async close() {
      await agent.close();
    },
  };
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

export async function idToken(
  bed: StartedBed,
  client: Client,
  audience = 'api://AzureADTokenExchange',
): Promise<string> {
  const reply = await client.request(`${bed.oidc.requestUrl}&audience=${encodeURIComponent(audience)}`, {
    headers: { authorization: `Bearer ${bed.oidc.requestToken}` },
  });
  if (reply.status !== 200) throw new Error(`OIDC ${reply.status}: ${reply.text}`);
  return (reply.json() as { value: string }).value;
}

export async function entraToken(
  bed: StartedBed,
  client: Client,
  options: {
    principal?: 'deployer' | 'reader' | 'foreign';
    scope?: string;
    secret?: boolean;
    tenantId?: string;
  } = {},
): Promise<string> {
  const principal = bed.principals[options.principal ?? 'deployer'];
  const fields: Record<string, string> = {
    grant_type: 'client_credentials',
    client_id: principal.clientId,
    scope: options.scope ?? 'https://management.azure.com/.default',
  };
  if (options.secret || options.principal === 'foreign') {
    fields['client_secret'] = principal.clientSecret ?? '';
  } else {
    fields['client_assertion'] = await idToken(bed, client);
    fields['client_assertion_type'] = JWT_BEARER;
  }
  const reply = await client.request(
    `${bed.entra.authorityHost}/${options.tenantId ?? principal.tenantId}/oauth2/v2.0/token`,
    { method: 'POST', headers: FORM, body: new URLSearchParams(fields).toString() },
  );
  if (reply.status !== 200) throw new Error(`Entra ${reply.status}: ${reply.text}`);
  return (reply.json() as { access_token: string }).access_token;
}

export const API = 'api-version=2023-07-01';

export async function armImport(
  bed: StartedBed,
  client: Client,
  token: string,
  body: unknown,
  options: { registryId?: string; apiVersion?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return client.request(
    `${bed.arm.endpoint}${options.registryId ?? bed.acrs.target.resourceId}/importImage?api-version=${options.apiVersion ?? '2023-07-01'}`,
    {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(options.headers ?? {}),
      },
      body: JSON.stringify(body),
    },
  );
}

/** Polls a Location URL (ignoring Retry-After: the tests run against an emulator) until it stops answering 202. */
export async function pollUntilDone(
  client: Client,
  token: string,
  location: string,
  limitMs = 20_000,
): Promise<Reply> {
  const end = Date.now() + limitMs;
  for (;;) {
    const reply = await client.request(location, { headers: { authorization: `Bearer ${token}` } });
    if (reply.status !== 202 || Date.now() > end) return reply;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Imports and waits; returns the final reply (200 from the POST, or the poll's last answer). */
export async function importAndWait(
  bed: StartedBed,
  client: Client,
  token: string,
  body: unknown,
): Promise<Reply> {
  const reply = await armImport(bed, client, token, body);
  if (reply.status !== 202) return reply;
  const location = reply.headers['location'];
  if (!location) throw new Error('202 without Location');
  return pollUntilDone(client, token, location);
}

/** Reads a manifest straight from a plain-HTTP backing registry (no client library): status, digest header, bytes. */
export async function backendManifest(
  backendUrl: string,
  repo: string,
  ref: string,
): Promise<{ status: number; digest: string | null; body: Buffer; contentType: string | null }> {
  const response = await fetch(`${backendUrl}/v2/${repo}/manifests/${ref}`, {
    headers: {
      accept: [
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
      ].join(', '),
    },
  });
  const body = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    digest: response.headers.get('docker-content-digest'),
    body,
    contentType: response.headers.get('content-type'),
  };
}

/**
 * Starts a second emulator process with a variant of the bed's config (own ports, same registries and PKI), e.g.
 * with extra role assignments. Resolves once it printed READY.
 */
export async function startEmulatorVariant(
  bed: StartedBed,
  change: (config: EmulatorConfig) => EmulatorConfig,
): Promise<{
  config: EmulatorConfig;
  pid: number;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}> {
  const ports = await freePorts(6 + bed.emulatorConfig.registries.length);
  const take = (): number => ports.shift() ?? 0;
  const base: EmulatorConfig = structuredClone(bed.emulatorConfig);
  base.ports = { oidc: take(), entra: take(), arm: take(), hubAuth: take(), control: take() };
  base.registries = base.registries.map((r) => ({ ...r, port: take() }));
  if (base.azureDevOps) base.azureDevOps = { ...base.azureDevOps, port: take() };
  const config = change(base);
  const dir = await mkdtemp(join(bed.dir, 'variant-'));
  const file = join(dir, 'emulator.json');
  await writeFile(file, JSON.stringify(config));
  const child = spawnTracked(process.execPath, [emulatorMainPath(), '--config', file], {
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) resolve();
    });
    void exited.then((code) => reject(new Error(`variant emulator exited ${code}`)));
  });
  const pid = child.pid ?? 0;
  return { config, pid, exited, stop: () => stopProcess(pid) };
}
