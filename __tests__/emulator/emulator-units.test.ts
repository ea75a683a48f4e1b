/**
 * The emulator's pure parts: JWT signing and verification, importImage body validation, RBAC scopes, fault switches.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  decodeJwt,
  generateRsaKey,
  jwks,
  keyFromPem,
  signJwt,
  verifyJwt,
} from '../../testbed/emulator/jwt.js';
import { parseImportBody } from '../../testbed/emulator/imports.js';
import { Rbac, ACTIONS } from '../../testbed/emulator/rbac.js';
import { ControlState } from '../../testbed/emulator/control.js';

describe('emulator jwt', () => {
  it('signs RS256 with a kid and verifies against the right key only', async () => {
    const [a, b] = await Promise.all([generateRsaKey(), generateRsaKey()]);
    const token = signJwt(a, { sub: 'x', aud: 'y' });
    const decoded = decodeJwt(token);
    expect(decoded?.header).toEqual({ typ: 'JWT', alg: 'RS256', kid: a.kid });
    expect(verifyJwt(token, [b, a])).toMatchObject({ ok: true, claims: { sub: 'x', aud: 'y' } });
    expect(verifyJwt(token, [b])).toMatchObject({ ok: false, reason: 'unknown-key' });
    const [h, p, s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', aud: 'y' })).toString('base64url')}.${s}`;
    expect(verifyJwt(forged, [a])).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifyJwt(`${h}.${p}`, [a])).toEqual({ ok: false, reason: 'malformed' });
    const set = jwks([a]);
    expect(set.keys[0]).toMatchObject({ kty: 'RSA', kid: a.kid, use: 'sig', alg: 'RS256' });
    expect(set.keys[0]).not.toHaveProperty('d');
  });

  it('signs ES256 (raw r||s) with x5c and no kid when asked', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = keyFromPem(privateKey, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(key.alg).toBe('ES256');
    const token = signJwt(key, { a: 1 }, { kid: null, x5c: key.x5c });
    expect(decodeJwt(token)?.header).toEqual({ typ: 'JWT', alg: 'ES256', x5c: ['AAAA'] });
    expect(decodeJwt(token)?.signature.length).toBe(64);
    expect(verifyJwt(token, [key]).ok).toBe(true);
  });
});

describe('emulator importImage body validation', () => {
  const ok = (body: unknown): unknown => {
    const result = parseImportBody(body);
    if ('error' in result) throw new Error(result.error.message);
    return result.request;
  };
  const err = (body: unknown): string => {
    const result = parseImportBody(body);
    if (!('error' in result)) throw new Error('expected an error');
    expect(result.error.code).toBe('InvalidParameters');
    return result.error.message;
  };
  const digest = `sha256:${'a'.repeat(64)}`;

  it('accepts the spec example and fills defaults', () => {
    expect(
      ok({
        source: { registryUri: 'registry.hub.docker.com', sourceImage: 'library/hello-world' },
        targetTags: ['targetRepository:targetTag'],
        untaggedTargetRepositories: ['targetRepository1'],
        mode: 'Force',
      }),
    ).toEqual({
      source: { kind: 'registryUri', host: 'registry.hub.docker.com' },
      sourceImage: 'library/hello-world',
      sourceRepo: 'library/hello-world',
      sourceRef: 'latest',
      targetTags: [{ repo: 'targetrepository', tag: 'targetTag' }],
      untagged: ['targetrepository1'],
      mode: 'Force',
    });
  });

  it.each([
    [
      { source: { registryUri: 'h.io', sourceImage: 'a/b:1' } },
      { targetTags: [{ repo: 'a/b', tag: '1' }], mode: 'NoForce' },
    ],
    [
      { source: { registryUri: 'h.io', sourceImage: `a/b@${digest}` } },
      { sourceRef: digest, targetTags: [{ repo: 'a/b', tag: 'latest' }] },
    ],
    [
      { source: { registryUri: 'h.io', sourceImage: `a/b:1@${digest}` }, targetTags: ['c'] },
      { sourceRef: digest, targetTags: [{ repo: 'c', tag: '1' }] },
    ],
    [
      { source: { registryUri: 'h.io', sourceImage: 'a/b:1' }, untaggedTargetRepositories: ['u'] },
      { targetTags: [], untagged: ['u'] },
    ],
    [
      { source: { registryUri: '127.0.0.1:5000', sourceImage: 'x', credentials: { password: 'p' } } },
      { source: { kind: 'registryUri', host: '127.0.0.1:5000', credentials: { password: 'p' } } },
    ],
  ])('accepts %j', (body, expected) => {
    expect(ok(body)).toMatchObject(expected);
  });

  it.each([
    [{}, "'source' property is required"],
    [{ source: { registryUri: 'h.io' } }, "'source.sourceImage' property is required"],
    [
      { source: { sourceImage: 'a' } },
      "One of 'source.resourceId' and 'source.registryUri' must be specified",
    ],
    [{ source: { sourceImage: 'a', registryUri: 'h.io', resourceId: '/subscriptions/x' } }, 'Only one of'],
    [
      { source: { sourceImage: 'docker.io/library/a', registryUri: 'h.io' } },
      'must not contain a registry host',
    ],
    [{ source: { sourceImage: 'localhost/a', registryUri: 'h.io' } }, 'must not contain a registry host'],
    [{ source: { sourceImage: 'a//b', registryUri: 'h.io' } }, 'invalid repository name'],
    [{ source: { sourceImage: 'a@sha256:xyz', registryUri: 'h.io' } }, 'invalid digest'],
    [{ source: { sourceImage: 'a', registryUri: 'https://h.io' } }, 'without a scheme or path'],
    [
      { source: { sourceImage: 'a', registryUri: 'h.io' }, mode: 'force' },
      "The value 'force' is not valid for 'mode'",
    ],
    [
      { source: { sourceImage: 'a', registryUri: 'h.io', credentials: { username: 'u' } } },
      "'source.credentials.password' property is required",
    ],
    [
      { source: { sourceImage: 'a', registryUri: 'h.io' }, targetTags: ['x@sha256:1'] },
      "target tag 'x@sha256:1' is not valid",
    ],
    [{ source: { sourceImage: 'a', registryUri: 'h.io' }, targetTags: ['h.io/x:1'] }, 'is not valid'],
    [{ source: { sourceImage: 'a', registryUri: 'h.io' }, targetTags: ['x:bad tag'] }, 'is not valid'],
    [
      { source: { sourceImage: 'a', registryUri: 'h.io' }, targetTags: 'x:1' },
      "'targetTags' must be an array",
    ],
    [
      { source: { sourceImage: 'a', registryUri: 'h.io' }, untaggedTargetRepositories: ['x:1'] },
      'untagged target repository',
    ],
    [{ source: { sourceImage: 'a', resourceId: '/x', credentials: { password: 'p' } } }, 'only be used with'],
  ])('rejects %j', (body, fragment) => {
    expect(err(body)).toContain(fragment);
  });
});

describe('emulator rbac', () => {
  const sub = '/subscriptions/S1';
  const reg = `${sub}/resourceGroups/RG/providers/Microsoft.ContainerRegistry/registries/r1`;
  const rbac = new Rbac([
    { principal: 'imp', role: 'importer', scope: reg },
    { principal: 'push', role: 'push', scope: `${sub}/resourcegroups/rg` },
    { principal: 'boss', role: 'contributor', scope: sub },
    { principal: 'look', role: 'reader', scope: reg },
  ]);

  it('inherits down the scope tree, case-insensitively, on segment boundaries', () => {
    expect(rbac.can('imp', ACTIONS.importImage, reg.toLowerCase())).toBe(true);
    expect(rbac.can('imp', ACTIONS.importImage, `${reg}2`)).toBe(false);
    expect(rbac.can('push', ACTIONS.push, reg)).toBe(true);
    expect(rbac.can('push', ACTIONS.importImage, reg)).toBe(false);
    expect(rbac.can('boss', 'anything/at/all', reg)).toBe(true);
    expect(rbac.can('boss', ACTIONS.registryRead, '/subscriptions/S2')).toBe(false);
  });

  it('derives data-plane rights', () => {
    expect([...rbac.dataActions('imp', reg)]).toEqual(['pull']);
    expect([...rbac.dataActions('push', reg)]).toEqual(['pull', 'push']);
    expect([...rbac.dataActions('boss', reg)]).toEqual(['pull', 'push', 'delete']);
    expect([...rbac.dataActions('look', reg)]).toEqual([]);
  });
});

describe('emulator fault switches', () => {
  it('merges, validates, removes with null and counts down', () => {
    const state = new ControlState();
    expect(state.mergeFaults({ throttle: { service: 'arm', count: 2 }, retryAfter: 'http-date' })).toEqual(
      [],
    );
    expect(state.mergeFaults({ bogus: 1, retryAfter: 'soon' })).toEqual([
      "unknown fault switch 'bogus'",
      'bad value for \'retryAfter\': "soon"',
    ]);
    expect(state.faults.retryAfter).toBe('http-date');
    expect(state.take('throttle', 'entra')).toBeUndefined();
    expect(state.take('throttle', 'arm')).toMatchObject({ count: 2 });
    expect(state.take('throttle', 'arm')).toMatchObject({ count: 1 });
    expect(state.take('throttle', 'arm')).toBeUndefined();
    expect(state.mergeFaults({ retryAfter: null })).toEqual([]);
    expect(state.faults).toEqual({});
  });
});
