// Runs before ncc: removes the previous bundles' chunks (`<id>.index.js`), which ncc leaves in place when their ids
// change, so dist/, cli/ and the task folder hold exactly what the new bundle loads (task.json stays).
import { existsSync, readdirSync, rmSync } from 'node:fs';

for (const dir of ['dist', 'cli', 'azure-pipelines/AcrImportV1']) {
  const url = new URL(`../${dir}/`, import.meta.url);
  if (!existsSync(url)) continue;
  for (const name of readdirSync(url)) if (/^\d+\.index\.js$/.test(name)) rmSync(new URL(name, url));
}
