/** The installed version of a package (or npm alias) in node_modules: what a suite must be running against. */
import { readFileSync } from 'node:fs';

export function installedVersion(name: string): string {
  const manifest = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}
