/**
 * The bed's PKI, made with the `openssl` CLI (EC P-256 everywhere, valid for two days):
 * - a CA (`ca.pem`), which clients trust through NODE_EXTRA_CA_CERTS or an undici `Agent({ connect: { ca } })`;
 * - a TLS server certificate issued by that CA for `IP:127.0.0.1` and `DNS:localhost`, shared by every HTTPS listener
 *   of the bed (the registries and the emulator);
 * - a self-signed token-signing certificate for the `hub` registry's token server (ES256). docker-registry lists it
 *   in `auth.token.rootcertbundle`; tokens carry it in their `x5c` header.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  dir: string;
  caFile: string;
  caKeyFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
  signingCertFile: string;
  signingKeyFile: string;
  signingCertPem: string;
  signingKeyPem: string;
}

const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signing_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
`;

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc'];

/** Generates the CA, the server certificate and the hub token-signing certificate into `dir` (created if missing). */
export async function generatePki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'openssl.cnf');
  await writeFile(config, OPENSSL_CONFIG);
  const f = (name: string): string => join(dir, name);
  const req = (args: string[]): Promise<unknown> =>
    run('openssl', ['req', '-config', config, '-x509', '-days', '2', ...EC, ...args]);

  // The CA and the self-signed signing certificate do not depend on each other.
  const ca = req([
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-subj',
    '/CN=acr-import test bed CA',
    '-extensions',
    'ca_ext',
  ]);
  const signing = req([
    '-keyout',
    f('token-signing.key'),
    '-out',
    f('token-signing.pem'),
    '-subj',
    '/CN=acr-import test bed hub token signer',
    '-extensions',
    'signing_ext',
  ]);
  await ca;
  const server = req([
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-keyout',
    f('server.key'),
    '-out',
    f('server.pem'),
    '-subj',
    '/CN=localhost',
    '-extensions',
    'server_ext',
  ]);
  await Promise.all([signing, server]);

  const [caPem, signingCertPem, signingKeyPem] = await Promise.all([
    readFile(f('ca.pem'), 'utf8'),
    readFile(f('token-signing.pem'), 'utf8'),
    readFile(f('token-signing.key'), 'utf8'),
  ]);
  return {
    dir,
    caFile: f('ca.pem'),
    caKeyFile: f('ca.key'),
    caPem,
    certFile: f('server.pem'),
    keyFile: f('server.key'),
    signingCertFile: f('token-signing.pem'),
    signingKeyFile: f('token-signing.key'),
    signingCertPem,
    signingKeyPem,
  };
}
