/**
 * Loaded with `node --import`: any import of node:http, node:https or node:http2 fails, so a
 * command line that loads the broker's server (or anything else on HTTP) shows it.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    if (/^(node:)?(http|https|http2)$/.test(specifier)) throw new Error(`blocked ${specifier}`);
    return next(specifier, context);
  },
});
