/**
 * Whether the Azure CLI can sign this run in: an `az` (on Windows `az.cmd`) on PATH that has a signed-in account.
 * GitHub's hosted images have `az` installed but not signed in, so "on PATH" alone must not make auth: auto pick it.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';

export interface AzureCliProbe {
  signedIn: boolean;
  /** Why it cannot sign in, for the message that lists what each mode needed. */
  reason?: string;
}

/** `az account show` takes about a second; a CLI that hangs (a prompt, a broken install) must not hold the run. */
export const PROBE_TIMEOUT_MS = 10_000;

export function azureCliCommand(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'az.cmd' : 'az';
}

/** The first `az` on PATH, or undefined. */
export async function findOnPath(
  command: string,
  pathVariable: string,
  platform: NodeJS.Platform,
): Promise<string | undefined> {
  for (const dir of pathVariable.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, command);
    try {
      await access(candidate, platform === 'win32' ? constants.F_OK : constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs `az account show` (exit 0 with an account id = signed in), within PROBE_TIMEOUT_MS. */
export async function probeAzureCli(
  machine: { path: string; platform: NodeJS.Platform },
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<AzureCliProbe> {
  const command = azureCliCommand(machine.platform);
  const found = await findOnPath(command, machine.path, machine.platform);
  if (!found) return { signedIn: false, reason: `no ${command} on PATH` };
  return new Promise((resolve) => {
    execFile(
      found,
      ['account', 'show', '--output', 'json'],
      // az.cmd is a batch file: Windows runs it only through a shell.
      { timeout: timeoutMs, windowsHide: true, shell: machine.platform === 'win32', maxBuffer: 1 << 20 },
      (error, stdout) => {
        if (error) {
          const timedOut = (error as { killed?: boolean }).killed === true;
          resolve({
            signedIn: false,
            reason: timedOut
              ? `${command} account show did not answer within ${timeoutMs / 1000} s`
              : `${command} is installed but not signed in (az account show failed)`,
          });
          return;
        }
        let id: unknown;
        try {
          id = (JSON.parse(stdout) as { id?: unknown }).id;
        } catch {
          id = undefined;
        }
        resolve(
          typeof id === 'string' && id
            ? { signedIn: true }
            : { signedIn: false, reason: `${command} account show returned no account` },
        );
      },
    );
  });
}
