/**
 * Loaded with `node --import`: any import of node:http, node:https, node:net or node:tls fails,
 * as on a runtime that has none of them.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    if (/^(node:)?(http|https|net|tls)$/.test(specifier)) throw new Error(`blocked ${specifier}`);
    return next(specifier, context);
  },
});
