#!/usr/bin/env node
/** Entry point of the `acr-import` command (bundled into cli/index.js). */
import '../common/process.js';
import { main, readAll } from './main.js';

process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin: () => readAll(process.stdin),
});
