// Runs after ncc: checks that the engine's VERSION matches package.json, so the user agent never lies.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const source = readFileSync(new URL('../src/engine/version.ts', import.meta.url), 'utf8');
const match = /VERSION = '([^']+)'/.exec(source);
if (!match || match[1] !== pkg.version) {
  console.error(
    `src/engine/version.ts says ${match?.[1]}, package.json says ${pkg.version}: make them equal.`,
  );
  process.exit(1);
}
