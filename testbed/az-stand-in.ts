/**
 * A stand-in `az` for tests that need one on PATH: GitHub's hosted images have the Azure CLI installed, signed in
 * (after azure/login) or not. Tests never run a real az: the suite must give the same result on a bare machine and on
 * an ubuntu-latest-like one (run-action.ts takes any real az off PATH; a test that wants one puts this one first).
 *
 * - signed out: `az account show` and `az account get-access-token` fail as az does ("Please run 'az login' ...").
 * - signed in: `az account show` prints the account; `az account get-access-token --resource R [--tenant T]` gets a
 *   token for R from the emulator's Entra with the given service principal's secret (as az would after azure/login).
 * Every invocation is appended to `calls.log` in the stand-in's directory (one JSON argv per line).
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type StandInAz =
  | { signedIn: false }
  | {
      signedIn: true;
      /** The emulator's Entra origin (the bed's authority host). */
      authorityHost: string;
      tenantId: string;
      clientId: string;
      clientSecret: string;
      subscriptionId: string;
    };

/** Writes `<dir>/az` (and `az.cmd` for Windows-like lookups) and returns `dir`, to put first on PATH. */
export async function writeStandInAz(dir: string, options: StandInAz): Promise<string> {
  await mkdir(dir, { recursive: true });
  const script = `#!${process.execPath}
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const options = ${JSON.stringify(options)};
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'calls.log'), JSON.stringify(args) + '\\n');
const arg = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const fail = () => {
  process.stderr.write("ERROR: Please run 'az login' to setup account.\\n");
  process.exit(1);
};
(async () => {
  if (args[0] !== 'account') { process.stderr.write('stand-in az: only "az account" is known\\n'); process.exit(2); }
  if (!options.signedIn) fail();
  if (args[1] === 'show') {
    process.stdout.write(JSON.stringify({ id: options.subscriptionId, tenantId: options.tenantId, state: 'Enabled',
      isDefault: true, name: 'stand-in', user: { name: options.clientId, type: 'servicePrincipal' } }, null, 2) + '\\n');
    return;
  }
  if (args[1] === 'get-access-token') {
    const resource = arg('--resource');
    const tenant = arg('--tenant') || options.tenantId;
    const res = await fetch(options.authorityHost + '/' + tenant + '/oauth2/v2.0/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: options.clientId,
        client_secret: options.clientSecret, scope: resource.replace(/\\/$/, '') + '/.default' }).toString(),
    });
    const body = await res.json();
    if (!res.ok) { process.stderr.write('ERROR: ' + (body.error_description || res.status) + '\\n'); process.exit(1); }
    const expires = Math.floor(Date.now() / 1000) + Number(body.expires_in || 3600);
    process.stdout.write(JSON.stringify({ accessToken: body.access_token, expiresOn: new Date(expires * 1000).toISOString(),
      expires_on: expires, subscription: options.subscriptionId, tenant, tokenType: 'Bearer' }) + '\\n');
    return;
  }
  process.stderr.write('stand-in az: unknown command ' + args.join(' ') + '\\n');
  process.exit(2);
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); });
`;
  const file = join(dir, 'az');
  await writeFile(file, script);
  await chmod(file, 0o755);
  return dir;
}

/** The argv of every call the stand-in in `dir` received. */
export async function standInCalls(dir: string): Promise<string[][]> {
  const text = await readFile(join(dir, 'calls.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[]);
}
