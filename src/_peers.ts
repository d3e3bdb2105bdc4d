/**
 * Telling "an optional peer is not installed" apart from every other failure to load one. The
 * adapter subpaths (through the entry wrappers tsup.config.ts generates) and the PostgreSQL store
 * pass what loading the SDK or driver threw; only Node's own "cannot find" for one of our peers,
 * asked for by one of our files, becomes a MissingPeerError. Anything else (a syntax error in the
 * SDK, a dependency of the SDK that is missing, a peer with a broken `exports` map) is the
 * caller's to rethrow unchanged.
 */
import packageJson from '../package.json' with { type: 'json' };
import { MissingPeerError } from './errors.ts';

/** The single list of peers and their supported ranges: package.json's `peerDependencies`. */
export const PEER_RANGES: Readonly<Record<string, string>> = packageJson.peerDependencies;

const NOT_FOUND_CODES = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND']);

/**
 * A MissingPeerError for `error` when it says one of our peers cannot be found from one of our
 * own files; else undefined. `feature` names what needed it (`agent-vault/openai`).
 */
export function asMissingPeer(error: unknown, feature: string): MissingPeerError | undefined {
  if (!(error instanceof Error) || !NOT_FOUND_CODES.has((error as { code?: unknown }).code as string)) return undefined;
  // Node's wording, ESM then CommonJS: "Cannot find package 'openai' imported from /…/dist/x.js",
  // "Cannot find module '@mistralai/mistralai/lib/http.js'\nRequire stack:\n- /…/dist/x.cjs".
  const specifier = /^Cannot find (?:package|module) '([^']+)'/.exec(error.message)?.[1];
  const packageName = specifier && packageOf(specifier);
  if (!packageName || !Object.hasOwn(PEER_RANGES, packageName)) return undefined;
  const importer = (error as { requireStack?: string[] }).requireStack?.[0] ?? / imported from (.+)$/.exec(error.message)?.[1];
  if (!importer || !isOurs(importer)) return undefined;
  return new MissingPeerError(packageName, feature, { range: PEER_RANGES[packageName], cause: error });
}

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`; relative and absolute paths → undefined. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.includes(':')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * True when the file that asked is agent-vault's own, not a file inside some other package: an
 * SDK whose own dependency is missing (even one that is also our peer, as `openai` is
 * `@langchain/openai`'s) is a broken install of that SDK, reported as Node reported it.
 */
function isOurs(importer: string): boolean {
  const path = importer.replaceAll('\\', '/');
  const inPackage = path.lastIndexOf('/node_modules/');
  if (inPackage === -1) return true; // a checkout of this repository, not an installed package
  return path.slice(inPackage + '/node_modules/'.length).startsWith(`${packageJson.name}/`);
}
