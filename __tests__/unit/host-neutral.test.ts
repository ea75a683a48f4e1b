/**
 * The engine speaks no host's language, and keeps the kind of each failure for the host to act on.
 *
 * 1. No engine source (src/engine/**, comments removed) contains a phrase only one host can say: a workflow's
 *    permissions block or secret syntax, an Actions or Azure Pipelines logging command, a with: block. The hosts
 *    supply those through their wording (ports.ts: HostWording, InputVariableWording).
 * 2. Each failed image keeps its kind (bad input, sign-in, permission, conflict, not found, timeout, remote), and the
 *    CLI turns the kinds into its exit codes (2 bad input, 3 sign-in or permission, 1 any other failure): the run goes
 *    through the shared host runner with a fake Azure, as the CLI runs it, and the exit code is the CLI's own table.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import {
  checkInputVariables,
  NEUTRAL_WORDING,
  type FailureKind,
  type HttpRequest,
  type Transport,
} from '../../src/engine/index.js';
import { runHost } from '../../src/hosts/common/runner.js';
import { EXIT } from '../../src/hosts/cli/main.js';
import { FakeClock, MemoryLogger, respond, StaticCredential } from './fakes.js';

const ENGINE = new URL('../../../src/engine/', import.meta.url);

/** Every engine source file, by path, without its comments (a comment may explain what a host does). */
function engineSources(): [string, string][] {
  return readdirSync(ENGINE, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => [
      f,
      readFileSync(new URL(f, ENGINE), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, ''),
    ]);
}

const HOST_ONLY = [
  'id-token: write',
  'permissions:',
  '${{',
  'secrets.',
  '##vso[',
  '##[',
  '::add-mask',
  '::error',
  '::warning',
  '::set-output',
  'GITHUB_OUTPUT',
  'GITHUB_STEP_SUMMARY',
  'GITHUB_WORKSPACE',
  'azure/login',
  'with: block',
  'with: key',
  'action.yml',
  '$(System.',
  'task.json',
  'the runner offers',
  'GitHub OIDC ID token',
  'sign in with GitHub OIDC',
  'The GitHub ID token',
  'GitHub shows',
];

describe('host-neutral engine text', () => {
  it('reads the whole engine (every folder)', () => {
    const files = engineSources().map(([f]) => f);
    expect(files.length).toBeGreaterThan(30);
    for (const folder of ['config/', 'run/', 'clients/', 'net/', 'report/'])
      expect(files.some((f) => f.startsWith(folder))).toBe(true);
  });

  it.each(HOST_ONLY)('no engine file says %s', (phrase) => {
    const offenders = engineSources()
      .filter(([, code]) => code.includes(phrase))
      .map(([f]) => f);
    expect(offenders).toEqual([]);
  });

  it('unknown INPUT_* variables are explained in neutral words unless the host gives its own', () => {
    const { problems, warnings } = checkInputVariables(['INPUT_TIMOUT', 'INPUT_OTHER-TOOL'], ['timeout']);
    expect(problems[0]!.message).toBe(
      "is not an input of this step; did you mean 'timeout'? Rename it where the step sets its inputs",
    );
    expect(warnings[0]).toBe(
      "INPUT_OTHER-TOOL is set, but 'other-tool' is not an input of this step: ignored. If it is meant as an input, rename or remove it; if another tool reads it, nothing needs to change.",
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Kinds, through the host runner and the CLI's exit codes

const SUB = '11111111-1111-1111-1111-111111111111';
const TENANT = '22222222-2222-2222-2222-222222222222';
const CLIENT = '33333333-3333-3333-3333-333333333333';
const ACR_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/prodacr`;
const LOGIN = 'prodacr.azurecr.io';
const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Fake {
  /** ARM refuses to list the registries (the identity lacks read on them). */
  armDenied?: boolean;
  /** Entra refuses to sign in. */
  signInFails?: boolean;
}

/** ARM, the target ACR and a source registry `src.example` whose repositories behave as named. */
function azure(fake: Fake, stalled: HttpRequest[]): Transport {
  return async (req, signal) => {
    const url = new URL(req.url);
    if (url.host === 'management.azure.com') {
      if (fake.armDenied)
        return respond(403, {
          error: {
            code: 'AuthorizationFailed',
            message: `The client '${CLIENT}' does not have authorization.`,
          },
        });
      return respond(200, {
        value: [
          { id: ACR_ID, name: 'prodacr', sku: { name: 'Premium' }, properties: { loginServer: LOGIN } },
        ],
      });
    }
    if (url.host === LOGIN) {
      if (url.pathname === '/oauth2/exchange') return respond(200, { refresh_token: 'r' });
      if (url.pathname === '/oauth2/token') return respond(200, { access_token: 'a' });
      if (url.pathname === '/v2/team/taken/manifests/1')
        return respond(200, '', { 'docker-content-digest': B, 'content-type': MANIFEST });
      return respond(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    }
    if (url.host === 'src.example') {
      const repo = /^\/v2\/team\/([^/]+)\/manifests\//.exec(url.pathname)?.[1];
      if (repo === 'slow') {
        stalled.push(req);
        return new Promise((_, reject) =>
          signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        );
      }
      if (repo === 'broken')
        return respond(500, { errors: [{ code: 'UNKNOWN', message: 'internal error' }] });
      if (repo === 'missing') return respond(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
      return respond(200, '', { 'docker-content-digest': A, 'content-type': MANIFEST });
    }
    throw new Error(`unexpected ${req.method} ${req.url}`);
  };
}

async function run(inputs: Record<string, string>, fake: Fake = {}) {
  const clock = new FakeClock();
  const stalled: HttpRequest[] = [];
  const all: Record<string, string> = {
    registry: 'prodacr',
    'subscription-id': SUB,
    'tenant-id': TENANT,
    'client-id': CLIENT,
    timeout: '5m',
    ...inputs,
  };
  const credential = fake.signInFails
    ? {
        getToken: async (): Promise<never> => {
          throw Object.assign(new Error('AADSTS7000215: Invalid client secret provided.'), {
            name: 'AuthenticationError',
          });
        },
      }
    : new StaticCredential();
  const running = runHost({
    input: (name) => all[name] ?? '',
    env: {},
    files: { root: '/nonexistent', rootName: 'the current directory' },
    mask: () => undefined,
    logger: new MemoryLogger(),
    authHost: () => ({ idToken: undefined, azureCliAvailable: false, managedIdentityPossible: false }),
    wording: NEUTRAL_WORDING,
    userAgentHost: 'unit test',
    clock,
    transport: azure(fake, stalled),
    credential,
  });
  // A stalled source: its image's time passes on the fake clock, at once.
  for (let i = 0; i < 200 && stalled.length === 0 && inputs['source']?.includes('/slow'); i++)
    await new Promise((r) => setImmediate(r));
  if (stalled.length) clock.advance(5 * 60_000);
  return running;
}

describe('failure kinds and the CLI exit codes', () => {
  it.each<[string, FailureKind, number, Record<string, string>, Fake]>([
    ['a bad input', 'input', 2, { source: 'src.example/team/app:1', timeout: 'soon' }, {}],
    ['sign-in refused', 'sign-in', 3, { source: 'src.example/team/app:1' }, { signInFails: true }],
    [
      'no permission on the registries',
      'permission',
      3,
      { source: 'src.example/team/app:1' },
      { armDenied: true },
    ],
    [
      'a tag that holds another image',
      'conflict',
      1,
      { source: 'src.example/team/app:1', 'target-tags': 'team/taken:1' },
      {},
    ],
    ['a source that does not exist', 'not-found', 1, { source: 'src.example/team/missing:1' }, {}],
    ['a source that never answers', 'timeout', 1, { source: 'src.example/team/slow:1' }, {}],
    ['a source registry that fails', 'remote', 1, { source: 'src.example/team/broken:1' }, {}],
  ])('%s: kind %s, exit %s', async (_what, kind, exit, inputs, fake) => {
    const outcome = await run(inputs, fake);
    expect(outcome.kinds).toEqual([kind]);
    if (outcome.result) {
      const image = outcome.result.images[0]!;
      expect(image.status).toBe('failed');
      expect(image.kind).toBe(kind);
    }
    expect(EXIT[outcome.outcome]).toBe(exit);
  });
});
