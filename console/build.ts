/**
 * Builds the SPA with vite in a child process (the same `vite build` as `pnpm --filter
 * @leadflow/console build`), for the run script and the browser tests.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const CONSOLE_DIR = path.dirname(fileURLToPath(import.meta.url));

/** Builds into `outDir` (default `console/dist`, what `startConsole` serves by default); returns it. */
export async function buildConsoleApp(options: { outDir?: string } = {}): Promise<string> {
  const outDir = path.resolve(options.outDir ?? path.join(CONSOLE_DIR, 'dist'));
  await promisify(execFile)(
    path.join(CONSOLE_DIR, 'node_modules', '.bin', 'vite'),
    ['build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: CONSOLE_DIR },
  );
  return outDir;
}
