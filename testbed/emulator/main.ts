/**
 * The emulator process: `node build/testbed/emulator/main.js --config <EmulatorConfig.json>`.
 * Starts every HTTPS listener on 127.0.0.1 (GitHub OIDC, Entra + managed identity, ARM, the hub token server, the
 * Control API, one ACR data plane per registry, and Azure DevOps when configured), then prints `READY {"pid":N}` on stdout. SIGTERM/SIGINT close
 * the listeners and exit 0.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import type { Server } from 'node:https';
import type { EmulatorConfig } from './config.js';
import { ControlState, handleControl } from './control.js';
import { listen, type Handler } from './http.js';
import { generateRsaKey, keyFromPem } from './jwt.js';
import { World } from './state.js';
import { handleOidc } from './oidc.js';
import { handleEntra } from './entra.js';
import { handleArm, listOperations } from './arm.js';
import { handleAcr } from './acr.js';
import { handleHubAuth } from './hub-auth.js';
import { handleAzureDevOps } from './azure-devops.js';

function configPath(argv: string[]): string {
  const i = argv.indexOf('--config');
  const path = i >= 0 ? argv[i + 1] : undefined;
  if (!path) throw new Error('usage: main.js --config <emulator-config.json>');
  return path;
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(configPath(process.argv), 'utf8')) as EmulatorConfig;
  const tls = {
    cert: readFileSync(config.tls.certFile, 'utf8'),
    key: readFileSync(config.tls.keyFile, 'utf8'),
  };
  const ca = readFileSync(config.tls.caFile, 'utf8');
  const hubKey = keyFromPem(
    createPrivateKey(readFileSync(config.hub.signingKeyFile, 'utf8')),
    readFileSync(config.hub.signingCertFile, 'utf8'),
  );
  const [oidc, entra, acr, azureDevOps] = await Promise.all([
    generateRsaKey(),
    generateRsaKey(),
    generateRsaKey(),
    generateRsaKey(),
  ]);
  const control = new ControlState();
  const world = new World(config, { oidc, entra, acr, hub: hubKey, azureDevOps }, control, ca);

  const listeners: { port: number; service: (path: string) => string | undefined; handler: Handler }[] = [
    { port: config.ports.oidc, service: () => 'oidc', handler: (ctx) => handleOidc(ctx, world) },
    {
      port: config.ports.entra,
      service: (path) => (path.startsWith('/msi/') ? 'msi' : 'entra'),
      handler: (ctx) => handleEntra(ctx, world),
    },
    {
      port: config.ports.arm,
      // The anonymous cloud metadata is logged apart, so ARM's request log shows the calls a token was needed for.
      service: (path) => (path.startsWith('/metadata/') ? 'armmetadata' : 'arm'),
      handler: (ctx) => handleArm(ctx, world),
    },
    { port: config.ports.hubAuth, service: () => 'hubauth', handler: (ctx) => handleHubAuth(ctx, world) },
    {
      port: config.ports.control,
      service: () => undefined,
      handler: (ctx) =>
        handleControl(ctx, {
          state: control,
          operations: listOperations,
          health: () => ({ pid: process.pid, uptimeMs: Date.now() - world.startedAt, ports: config.ports }),
        }),
    },
    ...(config.azureDevOps
      ? [
          {
            port: config.azureDevOps.port,
            service: () => 'azuredevops',
            handler: (ctx: Parameters<Handler>[0]) => handleAzureDevOps(ctx, world),
          },
        ]
      : []),
    ...world.registries.map((registry) => ({
      port: registry.config.port,
      service: () => `acr:${registry.name}`,
      handler: (ctx: Parameters<Handler>[0]) => handleAcr(ctx, world, registry),
    })),
  ];

  const servers: Server[] = await Promise.all(
    listeners.map((l) =>
      listen({
        port: l.port,
        tls,
        state: control,
        service: (req) => l.service(req.url ?? '/'),
        handler: l.handler,
      }),
    ),
  );

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
    // Hung imports and keep-alive pools must not hold the process.
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  process.stdout.write(`READY ${JSON.stringify({ pid: process.pid })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
