import { describe, expect, it } from '@jest/globals';
import { InputError } from '../../src/engine/errors.js';
import {
  checkDigest,
  checkImageReference,
  checkRepository,
  checkTargetTag,
  formatReference,
  manifestReference,
  parseImageReference,
  registryApiHost,
  registryHostOf,
  sourceImage,
  type ImageReference,
} from '../../src/engine/reference.js';

const D = `sha256:${'a1'.repeat(32)}`;
const D512 = `sha512:${'0f'.repeat(64)}`;

function parse(text: string, hostless = false): ImageReference {
  const result = checkImageReference(text, { hostless });
  if (!result.ok) throw new Error(`expected '${text}' to parse, got: ${result.error}`);
  return result.value;
}

function error(text: string, hostless = false): string {
  const result = checkImageReference(text, { hostless });
  if (result.ok) throw new Error(`expected '${text}' to fail, got ${formatReference(result.value)}`);
  return result.error;
}

describe('checkImageReference: good references and Docker normalisation', () => {
  const cases: [input: string, expected: string, parts?: Record<string, string | undefined>][] = [
    [
      'nginx',
      'docker.io/library/nginx:latest',
      { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' },
    ],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest'],
    ['docker.io/nginx:1', 'docker.io/library/nginx:1'],
    ['index.docker.io/nginx:1', 'docker.io/library/nginx:1'],
    ['registry-1.docker.io/library/nginx', 'docker.io/library/nginx:latest'],
    ['registry.hub.docker.com/library/hello-world', 'docker.io/library/hello-world:latest'],
    ['Docker.IO/nginx', 'docker.io/library/nginx:latest'],
    ['library/nginx', 'docker.io/library/nginx:latest'],
    ['bitnami/redis:7.2', 'docker.io/bitnami/redis:7.2'],
    ['docker.io/library/hello-world:latest', 'docker.io/library/hello-world:latest'],
    ['mcr.microsoft.com/windows/servercore:ltsc2019', 'mcr.microsoft.com/windows/servercore:ltsc2019'],
    [`myacr.azurecr.io/app@${D}`, `myacr.azurecr.io/app@${D}`, { tag: undefined, digest: D }],
    [`ghcr.io/o/r:tag@${D}`, `ghcr.io/o/r:tag@${D}`, { tag: 'tag', digest: D }],
    [`nginx@${D512}`, `docker.io/library/nginx@${D512}`],
    ['localhost/app', 'localhost/app:latest', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app:1', 'localhost:5000/app:1', { registry: 'localhost:5000' }],
    ['127.0.0.1:5000/a/b/c:v1.0-rc.1', '127.0.0.1:5000/a/b/c:v1.0-rc.1'],
    ['[::1]:5000/app', '[::1]:5000/app:latest', { registry: '[::1]:5000' }],
    ['[2001:db8::1]/app', '[2001:db8::1]/app:latest'],
    ['[FE80::1]:443/app', '[fe80::1]:443/app:latest'],
    ['[1:2:3:4:5:6:7:8]:1/x', '[1:2:3:4:5:6:7:8]:1/x:latest'],
    ['example.com:65535/x', 'example.com:65535/x:latest'],
    ['my-registry.example.com/team/app', 'my-registry.example.com/team/app:latest'],
    ['a__b/c---d.e_f:TAG_Upper.1-x', 'docker.io/a__b/c---d.e_f:TAG_Upper.1-x'],
    ['localhost:5000', 'docker.io/library/localhost:5000'],
  ];
  // Rows without `parts` are padded: Jest reads a test function with more parameters than the row has as one that
  // takes a `done` callback, and waits for it.
  it.each(cases.map(([input, expected, parts]) => [input, expected, parts] as const))(
    '%s -> %s',
    (input, expected, parts) => {
      const ref = parse(input);
      expect(formatReference(ref)).toBe(expected);
      if (parts) {
        for (const [key, value] of Object.entries(parts))
          expect(ref[key as keyof ImageReference]).toBe(value);
      }
    },
  );

  it('accepts a tag of exactly 128 characters', () => {
    expect(parse(`nginx:${'t'.repeat(128)}`).tag).toHaveLength(128);
  });

  it('accepts a name of exactly 255 characters (host and path) and counts library/ for Docker Hub', () => {
    const host = 'example.com/';
    expect(formatReference(parse(`${host}${'a'.repeat(255 - host.length)}`))).toHaveLength(
      255 + ':latest'.length,
    );
    // docker.io/library/ is 18 characters: a 237-character name fits, 238 does not.
    expect(parse('a'.repeat(237)).repository).toHaveLength(245);
    expect(error('a'.repeat(238))).toMatch(/is 256 characters long; the limit is 255/);
  });

  it('keeps the tag for display but imports the digest of repo:tag@digest', () => {
    const ref = parse(`ghcr.io/o/r:v1@${D}`);
    expect(sourceImage(ref)).toBe(`o/r@${D}`);
    expect(manifestReference(ref)).toBe(D);
  });
});

describe('checkImageReference: bad references', () => {
  const cases: [input: string, message: RegExp][] = [
    ['', /empty; write an image reference/],
    ['   ', /only whitespace/],
    ['nginx latest', /contains whitespace; remove it/],
    [' nginx', /contains whitespace/],
    ['Nginx', /upper-case letters; use lowercase: 'nginx'/],
    ['MyOrg/App:1', /use lowercase: 'myorg\/app'/],
    ['ghcr.io/Owner/repo', /use lowercase: 'owner\/repo'/],
    ['nginx:', /tag after ':' is empty/],
    ['nginx:-bad', /tag '-bad' is not valid: a tag starts with a letter, digit or '_'/],
    ['nginx:.x', /tag '.x' is not valid/],
    ['nginx:a+b', /tag 'a\+b' is not valid/],
    [`nginx:${'a'.repeat(129)}`, /is longer than 128 characters \(129\); use a shorter tag/],
    ['nginx@sha256:abc', /digest 'sha256:abc' must have 64 hex characters \(it has 3\)/],
    [`nginx@sha256:${'a'.repeat(63)}`, /must have 64 hex characters \(it has 63\)/],
    [`nginx@sha512:${'a'.repeat(64)}`, /must have 128 hex characters/],
    [`nginx@md5:${'a'.repeat(32)}`, /digest algorithm 'md5' is not supported; use sha256/],
    [`nginx@sha384:${'a'.repeat(96)}`, /'sha384' is not supported/],
    [`nginx@SHA256:${'a'.repeat(64)}`, /digest algorithm 'SHA256' is not valid/],
    [`nginx@sha256:${'A'.repeat(64)}`, /must use lowercase hex; use 'sha256:a{64}'/],
    [`nginx@sha256:${'g'.repeat(64)}`, /must have only hex characters/],
    ['nginx@', /digest after '@' is empty/],
    ['nginx@abc', /must be 'algorithm:hex'/],
    [`a@b@${D}`, /more than one '@'/],
    ['localhost:0/app', /port '0' of registry 'localhost:0' is out of range; use 1-65535/],
    ['localhost:70000/app', /out of range; use 1-65535/],
    ['localhost:abc/app', /port 'abc' .* is not a number/],
    ['example.com:/app', /port '' .* is not a number/],
    ['host_name.com/app', /not a valid host name/],
    ['-bad.com/app', /label '-bad'/],
    ['a..b.com/app', /remove the empty label/],
    ['[::1/app', /opens '\[' without '\]'/],
    ['[::g]/app', /not a valid IPv6 address/],
    ['[1:2:3:4:5:6:7:8:9]/app', /not a valid IPv6 address/],
    ['[1::2::3]/app', /not a valid IPv6 address/],
    ['[::1]x/app', /has text after '\]'/],
    ['https://ghcr.io/o/r', /no URL scheme; remove 'https:\/\/' and write 'ghcr.io\/o\/r'/],
    ['/nginx', /empty path component/],
    ['nginx/', /empty path component/],
    ['a//b', /empty path component/],
    ['a/-b', /component '-b' is not valid: use lowercase letters and digits/],
    ['a/b_', /component 'b_' is not valid/],
    ['a/b..c', /component 'b..c' is not valid/],
    ['a/b___c', /component 'b___c' is not valid/],
    ['a/b!c', /component 'b!c' is not valid/],
    [`example.com/${'a'.repeat(250)}`, /is 262 characters long; the limit is 255/],
    [':tag', /repository is empty/],
    [`@${D}`, /repository is empty/],
  ];
  it.each(cases)('%j', (input, message) => {
    expect(error(input)).toMatch(message);
  });
});

describe('host-less mode (source-registry-resource-id)', () => {
  it.each([
    ['app:1', 'app:1'],
    ['nginx', 'nginx:latest'],
    ['team/app', 'team/app:latest'],
    [`app:1@${D}`, `app:1@${D}`],
  ])('%s -> %s without a host or library/', (input, expected) => {
    const ref = parse(input, true);
    expect(ref.registry).toBeUndefined();
    expect(formatReference(ref)).toBe(expected);
  });

  it.each([
    [
      'myacr.azurecr.io/app:1',
      /'myacr.azurecr.io' is a registry host.*write only the repository path and tag: 'app:1'/,
    ],
    ['localhost:5000/app', /'localhost:5000' is a registry host/],
    ['localhost/app', /'localhost' is a registry host/],
    ['App:1', /use lowercase: 'app'/],
    [`${'a'.repeat(256)}`, /is 256 characters long/],
  ])('%s is refused', (input, message) => {
    expect(error(input, true)).toMatch(message);
  });
});

describe('target tags and repositories', () => {
  it.each([
    ['app:1', { repository: 'app', tag: '1' }],
    ['apps/web', { repository: 'apps/web' }],
    ['library/nginx:1.27', { repository: 'library/nginx', tag: '1.27' }],
  ])('target %s', (input, expected) => {
    expect(checkTargetTag(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['myacr.azurecr.io/app:1', /registry host; a target names only the repository and tag .* write 'app:1'/],
    [`app@${D}`, /cannot carry a digest/],
    ['App:1', /use lowercase: 'app'/],
    ['app:', /tag after ':' is empty/],
    ['', /empty/],
    ['a b', /whitespace/],
  ])('target %s is refused', (input, message) => {
    const result = checkTargetTag(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });

  it.each([
    ['apps/web', true],
    ['apps/web:1', false],
    ['Web', false],
    ['ghcr.io/apps/web', false],
  ])('repository %s ok=%s', (input, ok) => {
    expect(checkRepository(input).ok).toBe(ok);
  });
});

describe('helpers', () => {
  it('sourceImage has no host and prefers the digest', () => {
    expect(sourceImage(parse('docker.io/nginx'))).toBe('library/nginx:latest');
    expect(sourceImage(parse(`ghcr.io/o/r@${D}`))).toBe(`o/r@${D}`);
    expect(sourceImage(parse('ghcr.io/o/r:1'), D)).toBe(`o/r@${D}`);
  });

  it('registryApiHost maps Docker Hub to its API host only', () => {
    expect(registryApiHost(parse('nginx').registry!)).toBe('registry-1.docker.io');
    expect(registryApiHost('ghcr.io')).toBe('ghcr.io');
    expect(registryApiHost('localhost:5000')).toBe('localhost:5000');
  });

  it('registryHostOf follows the Docker rule', () => {
    expect(registryHostOf('myacr.azurecr.io/app:1')).toBe('myacr.azurecr.io');
    expect(registryHostOf('localhost:5000/app')).toBe('localhost:5000');
    expect(registryHostOf('localhost/app')).toBe('localhost');
    expect(registryHostOf('team/app:1')).toBeUndefined();
    expect(registryHostOf('nginx:1')).toBeUndefined();
  });

  it('checkDigest accepts sha256 and sha512', () => {
    expect(checkDigest(D).ok).toBe(true);
    expect(checkDigest(D512).ok).toBe(true);
  });

  it('parseImageReference throws an InputError naming the input', () => {
    expect(() => parseImageReference('Nginx', { input: 'source' })).toThrow(InputError);
    try {
      parseImageReference('Nginx', { input: 'source' });
    } catch (err) {
      expect((err as InputError).problems).toEqual([
        { input: 'source', value: 'Nginx', message: expect.stringContaining('use lowercase') },
      ]);
    }
    expect(formatReference(parseImageReference('nginx'))).toBe('docker.io/library/nginx:latest');
  });
});
