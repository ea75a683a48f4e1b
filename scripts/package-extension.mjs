// npm run package:extension: builds the Azure Pipelines extension (.vsix) offline with tfx-cli (no publish).
// It stages exactly what the extension needs into out/extension/ (vss-extension.json, the extension icon, and the task
// folder: task.json, package.json, licenses.txt, icon.png, index.js with the chunks and assets it loads, nothing else:
// no stale chunks of an older bundle, no node_modules, no tests), checks that the extension and the task carry the
// same version, and writes out/<publisher>.<id>-<version>.vsix. Run `npm run bundle` first when the sources changed.
// Prints the .vsix path on its last line.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(repo, 'azure-pipelines');
const out = resolve(repo, process.env.ACR_IMPORT_VSIX_OUT || 'out');
const stage = join(out, 'extension');

const fail = (message) => {
  console.error(`package:extension: ${message}`);
  process.exit(1);
};
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

const manifest = readJson(join(source, 'vss-extension.json'));
const tasks = (manifest.contributions ?? []).filter((c) => c.type === 'ms.vss-distributed-task.task');
if (tasks.length === 0) fail('vss-extension.json contributes no ms.vss-distributed-task.task');

rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
cpSync(join(source, 'vss-extension.json'), join(stage, 'vss-extension.json'));
if (manifest.icons?.default) {
  mkdirSync(dirname(join(stage, manifest.icons.default)), { recursive: true });
  cpSync(join(source, manifest.icons.default), join(stage, manifest.icons.default));
}

for (const contribution of tasks) {
  const folder = contribution.properties?.name;
  const from = join(source, folder ?? '');
  if (!folder || !existsSync(join(from, 'task.json'))) fail(`task folder '${folder}' has no task.json`);
  const task = readJson(join(from, 'task.json'));
  const taskVersion = `${task.version.Major}.${task.version.Minor}.${task.version.Patch}`;
  if (taskVersion !== manifest.version) {
    fail(
      `vss-extension.json has version ${manifest.version}, ${folder}/task.json ${taskVersion}: make them equal.`,
    );
  }
  const target = task.execution?.Node24?.target;
  if (!target || !existsSync(join(from, target))) {
    fail(`${folder}/${target ?? '(no execution.Node24.target)'} is missing: run npm run bundle first.`);
  }
  const files = new Set([
    'task.json',
    'package.json',
    'licenses.txt',
    'icon.png',
    ...bundleFiles(from, target),
  ]);
  mkdirSync(join(stage, folder));
  for (const file of files) {
    if (!existsSync(join(from, file))) fail(`${folder}/${file} is missing: run npm run bundle first.`);
    cpSync(join(from, file), join(stage, folder, file));
  }
}

/** The entry, the chunks it loads (ncc: `require__.e(/* import() *\/ 134)` -> 134.index.js), and the assets they name. */
function bundleFiles(folder, entry) {
  const found = new Set();
  const queue = [entry];
  while (queue.length) {
    const file = queue.shift();
    if (found.has(file)) continue;
    found.add(file);
    const text = readFileSync(join(folder, file), 'utf8');
    for (const m of text.matchAll(/_require__\.e\(\/\* import\(\) \*\/ (\d+)\)/g))
      queue.push(`${m[1]}.index.js`);
    for (const m of text.matchAll(/_require__\.ab \+ "([^"/\\]+)"/g)) found.add(m[1]);
  }
  return found;
}

const vsix = join(out, `${manifest.publisher}.${manifest.id}-${manifest.version}.vsix`);
rmSync(vsix, { force: true });
const tfx = join(repo, 'node_modules', 'tfx-cli', '_build', 'tfx-cli.js');
const args = [tfx, 'extension', 'create', '--root', stage, '--manifest-globs', 'vss-extension.json'];
args.push('--output-path', vsix, '--no-prompt', '--no-color', '--json');
const run = spawnSync(process.execPath, args, { cwd: stage, encoding: 'utf8', timeout: 120_000 });
if (run.status !== 0 || !existsSync(vsix)) {
  fail(`tfx extension create failed (exit ${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
}
console.log(vsix);
