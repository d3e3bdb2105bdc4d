/**
 * Line-based files: `.env` files and shell start-up files (sh, bash, zsh, fish). Each line is
 * either an assignment we understand (`[export] NAME=value`, fish `set -gx NAME value`) or text
 * searched only for shaped keys. Multi-line quoted values are not assignments we understand:
 * their lines are searched as text, so a key in them is still reported, and left for the user.
 */

export interface Assignment {
  variable: string;
  value: string;
}

const SH_ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const FISH_ASSIGNMENT = /^\s*set\s+(?:-[a-zA-Z]+\s+|--[a-z]+\s+)*([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$/;

/** Whether `text` holds `quote` unescaped (a `\"` inside double quotes is not its end). */
export function closesQuote(text: string, quote: string): boolean {
  return (quote === '"' ? /(?<!\\)"/ : /'/).test(text);
}

/** The quote a line opens and does not close (`NAME="first line`), or undefined. */
export function opensMultiLine(line: string): string | undefined {
  const match = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=\s*(["'])(.*)$/.exec(line);
  return match && !closesQuote(match[2] as string, match[1] as string) ? (match[1] as string) : undefined;
}

/** The value of an assignment's right-hand side: unquoted (up to a ` #` comment) or one quoted word. */
function unquote(raw: string): string | undefined {
  const text = raw.trim();
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const end = text.indexOf(quote, 1);
    if (end === -1) return undefined; // opens a multi-line value
    const rest = text.slice(end + 1).trim();
    if (rest !== '' && !rest.startsWith('#')) return undefined;
    const value = text.slice(1, end);
    // In double quotes, `\`, `$` and a backquote are read by the shell (and by dotenv-expand):
    // the value is not these characters, so it is not ours to store. Left to the shaped-key search.
    return quote === '"' && /[\\$`]/.test(value) ? undefined : value;
  }
  const comment = text.search(/\s#/);
  const value = (comment === -1 ? text : text.slice(0, comment)).trim();
  // `$(cmd)`, `$VAR`, `a b`: shell, not a literal; left to the shaped-key search.
  return /[\s$`;|&()\\]/.test(value) ? undefined : value;
}

/** The assignment on one line, if it is one we understand. */
export function parseAssignment(line: string, fish: boolean): Assignment | undefined {
  const match = (fish ? FISH_ASSIGNMENT : SH_ASSIGNMENT).exec(line);
  if (!match) return undefined;
  const value = unquote(match[2] as string);
  return value === undefined ? undefined : { variable: match[1] as string, value };
}

/** Lines with their 1-based numbers, keeping each line's own ending for byte-exact rewrites. */
export function splitLines(text: string): { number: number; text: string; ending: string }[] {
  const lines: { number: number; text: string; ending: string }[] = [];
  const pattern = /([^\r\n]*)(\r\n|\n|\r|$)/g;
  let number = 0;
  for (const match of text.matchAll(pattern)) {
    if (match[0] === '') break;
    lines.push({ number: ++number, text: match[1] as string, ending: match[2] as string });
  }
  return lines;
}
