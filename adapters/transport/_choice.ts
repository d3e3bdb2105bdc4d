/**
 * Which transport a vault fetch uses, and the hardened path of one request.
 *
 * - `'auto'` (the default): the hardened transport where it can be used, else the standard one,
 *   announced once per reason (a process warning, code AGENT_VAULT_STANDARD_TRANSPORT).
 * - `'hardened'`: the hardened transport or nothing: where it cannot be used, construction or
 *   the request fails with a UsageError instead of falling back.
 * - `'standard'`: the key is written into a copy of the request headers (a JS string, which
 *   cannot be wiped) and sent by the wrapped fetch.
 *
 * The hardened transport cannot be used outside Node.js, with a custom fetch (it decides how
 * requests go out), with a dispatcher (a proxy, HTTP/2, custom TLS: a global one, or one passed
 * per request as `fetchOptions.dispatcher`), or where Node routes fetch through an environment
 * proxy (NODE_USE_ENV_PROXY with HTTP(S)_PROXY set).
 */
import { UsageError, type VaultError } from '../../src/errors.ts';
import type { PreparedSecret, Vault } from '../../src/vault.ts';
// Types only: the transport (node:http, node:https) is loaded on first use, so that importing an
// adapter works on runtimes without those modules.
import type { ArmedKey, HardenedTransport, NodeExchange, NodeHop } from './_hardened.ts';
import { trimSpace } from './_key-bytes.ts';
import { secretBytes } from '../../src/_bytes.ts';
import type { KeyLender } from './_redact.ts';
import { MIN_KEY_LENGTH } from './_injection.ts';

/** How the key reaches the wire: see this module's comment. */
export type TransportOption = 'auto' | 'hardened' | 'standard';

let shared: Promise<HardenedTransport> | undefined;
/** The shared transport once loaded, so that a request does not wait on the import's promise again. */
let loaded: HardenedTransport | undefined;
const announced = new Set<string>();

/**
 * Whether a vault fetch uses the hardened transport (else the standard one). `customFetch`: the
 * user gave their own fetch. `vault`: it must be able to prepare secrets (a real Vault).
 */
export function selectTransport(
  option: TransportOption | undefined,
  context: { customFetch: boolean; vault: object },
): boolean {
  const mode = option ?? 'auto';
  if (mode !== 'auto' && mode !== 'hardened' && mode !== 'standard') {
    throw new UsageError(`transport must be 'auto', 'hardened' or 'standard', not ${JSON.stringify(option)}.`);
  }
  if (mode === 'standard') return false;
  const reason = runtimeReason() ??
    (context.customFetch ? 'a custom fetch was given (it decides how requests are sent)' : undefined) ??
    (typeof (context.vault as Partial<Vault>)._prepare !== 'function' ? 'the vault is not an agent-vault Vault' : undefined);
  if (reason) {
    if (mode === 'hardened') throw unavailable(reason);
    announce(reason);
    return false;
  }
  return true;
}

/**
 * For one request over the hardened transport: undefined when it may go (the key is put in at the
 * socket), else why it may not. A `dispatcher` in the request's options (or, for SDKs written for
 * node-fetch such as openai 4, an `agent` that is not a plain keep-alive agent) means the caller
 * routes it (a proxy, HTTP/2, custom TLS); in `'hardened'` mode that is an error, in `'auto'` the
 * standard path.
 */
export function requestReason(init: object, option: TransportOption | undefined): string | undefined {
  const { dispatcher, agent } = init as { dispatcher?: unknown; agent?: unknown };
  const reason = dispatcher !== undefined && dispatcher !== null
    ? 'the request names a dispatcher (fetchOptions.dispatcher: a proxy, HTTP/2 or custom TLS)'
    : customAgent(agent) ? 'the request names an http(s) agent with a proxy or TLS options (httpAgent)' : undefined;
  if (reason === undefined) return undefined;
  if (option === 'hardened') throw unavailable(reason);
  announce(reason);
  return reason;
}

const TLS_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'checkServerIdentity', 'secureContext'];

/** An agent other than a plain keep-alive one (Node's, or agentkeepalive's that openai 4 makes). */
function customAgent(agent: unknown): boolean {
  if (!agent || typeof agent !== 'object') return false;
  const name = agent.constructor?.name;
  if (name !== 'Agent' && name !== 'HttpsAgent') return true;
  const options = (agent as { options?: Record<string, unknown> }).options ?? {};
  return TLS_OPTIONS.some((option) => options[option] !== undefined);
}

/** A key armed for one request: the one-time placeholder to put in its headers, and the fetch to send it with. */
export interface ArmedRequest {
  /** Goes where the key goes: the socket writes the key over it. */
  readonly placeholder: string;
  /** The hardened transport's fetch: the only one that puts the key in. */
  fetch: HardenedTransport['fetch'];
  /** The same for a hop the vault fetch has parsed already (see `HardenedTransport.send`). */
  send: HardenedTransport['send'];
  /** The same for the broker: the node:http response, redacted against this key (see `HardenedTransport.sendNode`). */
  sendNode(hop: NodeHop): NodeExchange;
  /** The key's bytes for redacting the response, decrypted into a scratch array that is wiped at once. */
  key: KeyLender;
  /** Disarm and end the vault's preparation: call once the response is redacted (its headers have arrived). */
  release(): void;
}

/**
 * Check and audit the secret now (the vault's refusal surfaces here, before anything is sent)
 * and arm the transport with it. Undefined when the key is too short for a safe placeholder
 * (then the standard path is used, or in `'hardened'` mode a UsageError is thrown).
 */
export async function armRequest(
  vault: object,
  secret: string,
  origin: string,
  option: TransportOption | undefined,
): Promise<ArmedRequest | undefined> {
  const prepared: PreparedSecret = await (vault as Vault)._prepare(secret);
  if (prepared.length < MIN_KEY_LENGTH) {
    prepared.dispose();
    const reason = `the secret "${secret}" is shorter than ${MIN_KEY_LENGTH} bytes`;
    if (option === 'hardened') throw unavailable(reason);
    announce(reason);
    return undefined;
  }
  let armed: ArmedKey;
  let transport: HardenedTransport;
  try {
    shared ??= import('./_hardened.ts').then((module) => (loaded = new module.HardenedTransport()));
    transport = loaded ?? await shared;
    armed = transport.arm(origin, secret, prepared);
  } catch (error) {
    prepared.dispose();
    throw error;
  }
  // The preparation ends once the request is released and every stream that kept the key is done.
  let keeps = 0;
  let released = false;
  const endIfDone = () => {
    if (released && keeps === 0) prepared.dispose();
  };
  const lend = <T>(use: (key: Uint8Array) => T): T => {
    const scratch = secretBytes(prepared.length);
    try {
      prepared.decryptInto(scratch);
      return use(trimSpace(scratch));
    } finally {
      scratch.fill(0);
    }
  };
  const key: KeyLender = {
    // Until the socket has placed it, its length without surrounding whitespace is not known.
    get minLength() {
      return armed.keyLength ?? 1;
    },
    lend,
    keep() {
      keeps++;
      let dropped = false;
      return {
        minLength: key.minLength,
        lend,
        keep: key.keep,
        drop() {
          if (dropped) return;
          dropped = true;
          keeps--;
          endIfDone();
        },
      };
    },
  };
  return {
    placeholder: armed.placeholder,
    fetch: transport.fetch,
    send: transport.send,
    sendNode: (hop) => transport.sendNode(hop, armed.placeholder, key),
    key,
    release() {
      armed.disarm();
      released = true;
      endIfDone();
    },
  };
}

/** Why the hardened transport cannot run in this process at all, or undefined. */
function runtimeReason(): string | undefined {
  const process = (globalThis as { process?: NodeJS.Process }).process;
  if (!process?.versions?.node || 'bun' in process.versions || 'Deno' in globalThis) return 'this runtime is not Node.js';
  const dispatcher = (globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')];
  if (dispatcher && typeof dispatcher === 'object' && customised(dispatcher)) {
    return `a global fetch dispatcher is set (${dispatcher.constructor?.name ?? 'custom'}: a proxy, HTTP/2 or custom TLS)`;
  }
  const env = process.env;
  const envProxy = env.NODE_USE_ENV_PROXY === '1' || process.execArgv.includes('--use-env-proxy');
  if (envProxy && (env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy)) {
    return 'fetch goes through an environment proxy (NODE_USE_ENV_PROXY with HTTP(S)_PROXY)';
  }
  return undefined;
}

/**
 * Whether fetch's global dispatcher is anything but the plain Agent Node makes: another class (a
 * proxy agent), or an Agent given HTTP/2 (`allowH2`) or its own connector or TLS options. The
 * options are undici internals (a symbol-keyed `options` object): best effort.
 */
function customised(dispatcher: object): boolean {
  if (dispatcher.constructor?.name !== 'Agent') return true;
  for (const symbol of Object.getOwnPropertySymbols(dispatcher)) {
    const value = (dispatcher as Record<symbol, unknown>)[symbol];
    if (symbol.description === 'options' && value && typeof value === 'object') {
      const { allowH2, connect } = value as { allowH2?: unknown; connect?: unknown };
      if (allowH2 || connect) return true;
    }
  }
  return false;
}

function announce(reason: string): void {
  if (announced.has(reason)) return;
  announced.add(reason);
  const process = (globalThis as { process?: Partial<NodeJS.Process> }).process;
  const warn = process?.emitWarning?.bind(process) ?? ((message: string) => console.warn(message));
  warn(
    `agent-vault uses the standard transport (the key becomes a header string) because ${reason}. ` +
      "Pass transport: 'standard' to silence this, or transport: 'hardened' to refuse instead.",
    { code: 'AGENT_VAULT_STANDARD_TRANSPORT' },
  );
}

function unavailable(reason: string): VaultError {
  return new UsageError(
    `transport: 'hardened' was asked for, but the hardened transport cannot be used: ${reason}. ` +
      "Remove that, or pass transport: 'auto' to fall back to the standard transport.",
  );
}
