/**
 * One plaintext key found somewhere. The value sits in a private field: it is not in
 * `JSON.stringify`, `util.inspect` or a spread copy, so a finding can be printed, logged or
 * sent as JSON whole; only `import` reads it, through `value()`, to store it in the vault.
 */
import { type Provider, mask } from './detect.ts';

export const SOURCE_KINDS = ['environment', 'dotenv', 'shell-rc', 'mcp-config'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** How import can take the value out of its source. */
export type Removal =
  /** Comment out the line (a `.env` or shell file). */
  | 'line'
  /** Rewrite the MCP server entry to run under `exec`, without the variable. */
  | 'mcp-env'
  /** Nothing to rewrite: a variable of this process's environment. */
  | 'environment'
  /** Not safely rewritable (a key inside an argument, a header, a shell alias): left for the user. */
  | 'manual';

export interface FindingFields {
  kind: SourceKind;
  /** The file, absent for the environment. */
  path?: string;
  line?: number;
  /** The MCP server's name and the field in its entry (`env.OPENAI_API_KEY`, `args[3]`). */
  server?: string;
  field?: string;
  /** The config path of the server, from the file's root (`mcpServers`, `github`). */
  serverPath?: string[];
  /** The variable holding the key, when there is one. */
  variable?: string;
  provider: Provider;
  /** Ignored by git: not committed, still plaintext on disk. */
  gitIgnored?: boolean;
  removal: Removal;
  /** Why `removal` is `manual`, or other context for the user. */
  note?: string;
}

export class Finding {
  readonly kind: SourceKind;
  readonly path: string | undefined;
  readonly line: number | undefined;
  readonly server: string | undefined;
  readonly field: string | undefined;
  readonly serverPath: string[] | undefined;
  readonly variable: string | undefined;
  readonly provider: Provider;
  readonly masked: string;
  readonly gitIgnored: boolean;
  readonly removal: Removal;
  readonly note: string | undefined;
  /** The vault secret already holding this value, once compared (see compare.ts). */
  inVault: string | undefined;
  readonly #value: string;

  constructor(fields: FindingFields, value: string) {
    this.kind = fields.kind;
    this.path = fields.path;
    this.line = fields.line;
    this.server = fields.server;
    this.field = fields.field;
    this.serverPath = fields.serverPath;
    this.variable = fields.variable;
    this.provider = fields.provider;
    this.masked = mask(value, fields.provider);
    this.gitIgnored = fields.gitIgnored ?? false;
    this.removal = fields.removal;
    this.note = fields.note;
    this.#value = value;
  }

  /** The plaintext key. Only for storing it in the vault; never print, log or throw it. */
  value(): string {
    return this.#value;
  }

  /** `file:line`, `file → server.field`, or `$VARIABLE`. */
  get where(): string {
    if (this.kind === 'environment') return `environment $${this.variable}`;
    if (this.server !== undefined) return `${this.path} → ${this.server}.${this.field}`;
    return `${this.path}:${this.line}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind, where: this.where, path: this.path, line: this.line, server: this.server, field: this.field,
      variable: this.variable, provider: this.provider, masked: this.masked, gitIgnored: this.gitIgnored,
      inVault: this.inVault ?? null, removal: this.removal, note: this.note,
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): Record<string, unknown> {
    return this.toJSON();
  }
}
