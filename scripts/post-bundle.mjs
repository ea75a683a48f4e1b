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

// Every bundle file in ASCII: V8 keeps a script's source for as long as its functions live, and a source with one
// character beyond Latin-1 is held as UTF-16 (twice the bytes; about 3 MB of heap for the main chunk and
// @azure/identity's). Each such UTF-16 unit becomes a \uXXXX escape, which means the same character in a string,
// template, regular expression, identifier or comment; a file that uses String.raw (whose raw text would differ) is
// left as it is (the `open` package's chunk, never loaded by a run).
import { readdirSync, writeFileSync } from 'node:fs';

for (const dir of ['dist', 'cli', 'azure-pipelines/AcrImportV1']) {
  const url = new URL(`../${dir}/`, import.meta.url);
  for (const name of readdirSync(url)) {
    if (!name.endsWith('.js')) continue;
    const file = new URL(name, url);
    const text = readFileSync(file, 'utf8');
    if (/String\.raw/.test(text)) continue;
    const ascii = text.replace(
      /[\u0080-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    if (ascii !== text) writeFileSync(file, ascii);
  }
}
