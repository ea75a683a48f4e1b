/**
 * The seam between the engine and its hosts: the kind of each failure, host-neutral engine text with the host's
 * wording supplied through the port, and every time limit on the clock port (so timeout tests take no time).
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import {
  AuthError,
  failureKind,
  InputError,
  NEUTRAL_WORDING,
  parseConfig,
  RemoteError,
  runImports,
  TimeoutError,
  VerificationError,
  type HttpRequest,
  type HttpResponse,
  type ImportError,
  type Transport,
} from '../../src/engine/index.js';
import { chooseAuthMode } from '../../src/engine/run/sign-in.js';
import { GITHUB_WORDING } from '../../src/hosts/action/wording.js';
import { CLI_WORDING } from '../../src/hosts/cli/wording.js';
import { FakeClock, MemoryLogger, StaticCredential, respond } from './fakes.js';

const SUB = '11111111-1111-1111-1111-111111111111';
const TENANT = '22222222-2222-2222-2222-222222222222';
const CLIENT = '33333333-3333-3333-3333-333333333333';

class Conflict extends VerificationError {}
Object.defineProperty(Conflict, 'name', { value: 'ImportConflict' });

describe('failureKind', () => {
  const remote = (init: Partial<ConstructorParameters<typeof RemoteError>[0]>): RemoteError =>
    new RemoteError({ service: 'ARM', message: 'failed', ...init });
  it.each<[string, ImportError, string]>([
    ['an input problem', new InputError([{ input: 'timeout', value: 'x', message: 'bad' }]), 'input'],
    [
      'an Entra refusal',
      new AuthError('Signing in to Azure (oidc) failed: AADSTS70021: No match.'),
      'sign-in',
    ],
    [
      'a missing role',
      new AuthError('ARM refused (AuthorizationFailed): The client does not have authorization'),
      'permission',
    ],
    [
      'a registry that will not issue a token',
      new AuthError('x.azurecr.io refused to issue an access token (401).'),
      'permission',
    ],
    ['a 403', remote({ status: 403 }), 'permission'],
    ['a 401', remote({ status: 401 }), 'sign-in'],
    ['a missing registry', remote({ code: 'ResourceNotFound', status: 404 }), 'not-found'],
    [
      'a missing manifest in an import',
      remote({ message: 'Import failed: MANIFEST_UNKNOWN: manifest unknown' }),
      'not-found',
    ],
    ['a tag held by another image', new Conflict('Target tag a:1 already exists'), 'conflict'],
    [
      'an import refused because a tag exists',
      remote({ message: 'Tag a:1 already exists in the target' }),
      'conflict',
    ],
    ['a time limit', new TimeoutError('did not finish within 30s'), 'timeout'],
    ['a server error', remote({ status: 503 }), 'remote'],
  ])('%s', (_what, err, kind) => {
    expect(failureKind(err)).toBe(kind);
  });
});

describe('host-neutral engine text', () => {
  /** The engine's code without its comments. */
  function engineCode(): string {
    const dir = new URL('../../../src/engine/', import.meta.url);
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) =>
        readFileSync(new URL(f, dir), 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/^\s*\/\/.*$/gm, ''),
      )
      .join('\n');
  }

  it('names no workflow permissions block, secret syntax or login step itself', () => {
    const code = engineCode();
    expect(code).not.toContain('id-token: write');
    expect(code).not.toContain('${{ secrets');
    expect(code).not.toContain('azure/login');
  });

  it('says how to pass a missing client secret in the words of the host', () => {
    const problem = (wording?: typeof GITHUB_WORDING): string => {
      try {
        parseConfig(
          {
            registry: 'prodacr',
            'subscription-id': SUB,
            source: 'nginx:1',
            auth: 'client-secret',
            'client-id': CLIENT,
            'tenant-id': TENANT,
          },
          wording ? { wording } : {},
        );
      } catch (err) {
        return (err as InputError).message;
      }
      throw new Error('no problem');
    };
    expect(problem(GITHUB_WORDING)).toContain('${{ secrets.AZURE_CLIENT_SECRET }}');
    expect(problem(CLI_WORDING)).toContain('set the AZURE_CLIENT_SECRET environment variable');
    expect(problem()).not.toContain('${{');
  });

  it('says what to set when there is no way to sign in, in the words of the host', () => {
    const settings = {
      mode: 'auto' as const,
      tenantId: undefined,
      clientId: undefined,
      clientSecret: undefined,
      audience: 'api://AzureADTokenExchange',
      authorityHost: 'https://login.microsoftonline.com',
      disableInstanceDiscovery: false,
    };
    const hint = (wording?: typeof CLI_WORDING): string => {
      try {
        chooseAuthMode(settings, {
          idToken: undefined,
          azureCliAvailable: false,
          managedIdentityPossible: false,
          ...(wording ? { wording } : {}),
        });
      } catch (err) {
        return (err as AuthError).hint ?? '';
      }
      throw new Error('signed in');
    };
    expect(hint(GITHUB_WORDING)).toContain('`permissions: id-token: write` in the workflow');
    expect(hint(CLI_WORDING)).toContain('AZURE_FEDERATED_TOKEN_FILE');
    expect(hint(CLI_WORDING)).toContain('--auth client-secret');
    expect(hint(CLI_WORDING)).toContain('az login');
    expect(hint()).toContain(NEUTRAL_WORDING.idTokenMissing);
    expect(hint()).not.toContain('permissions:');
  });
});

describe('time limits on the clock port', () => {
  it('ends an image whose requests hang at its timeout, in no real time, with kind timeout', async () => {
    const clock = new FakeClock();
    const hung: HttpRequest[] = [];
    // ARM and the target answer; the source registry hangs until the image's signal gives up on it.
    const transport: Transport = (req, signal) => {
      if (new URL(req.url).host === 'arm.test')
        return Promise.resolve(
          respond(200, {
            value: [
              {
                id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/prodacr`,
                name: 'prodacr',
                location: 'westeurope',
                sku: { name: 'Premium' },
                properties: { loginServer: 'prodacr.azurecr.io' },
              },
            ],
          }),
        );
      const url = new URL(req.url);
      // The target's data plane answers (it is shared by every image, so it does not stop with one image's signal).
      if (url.host === 'prodacr.azurecr.io') {
        if (url.pathname === '/oauth2/exchange')
          return Promise.resolve(respond(200, { refresh_token: 'acr-refresh' }));
        if (url.pathname === '/oauth2/token')
          return Promise.resolve(respond(200, { access_token: 'acr-access' }));
        return Promise.resolve(respond(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] }));
      }
      hung.push(req);
      return new Promise<HttpResponse>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    };
    const config = parseConfig({
      registry: 'prodacr',
      'subscription-id': SUB,
      'tenant-id': TENANT,
      'client-id': CLIENT,
      'resource-manager-endpoint': 'https://arm.test',
      source: 'docker.io/library/hello:1',
      timeout: '30s',
    });
    const started = Date.now();
    const running = runImports(config, {
      logger: new MemoryLogger(),
      mask: () => undefined,
      credential: new StaticCredential(),
      transport,
      clock,
      authHost: { idToken: undefined, azureCliAvailable: false, managedIdentityPossible: false },
    });
    // Let the run reach its hung requests, then move the clock past the limit.
    for (let i = 0; i < 50 && hung.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(hung.length).toBeGreaterThan(0);
    clock.advance(30_000);
    const result = await running;
    const image = result.images[0]!;
    expect(image.status).toBe('failed');
    expect(image.error).toMatch(/did not finish within 30s/);
    expect(image.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
