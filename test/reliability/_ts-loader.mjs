// Lets a plain `node` child process run our TypeScript sources. Node 24 strips types from .ts
// files natively, but src/ imports its siblings as `./x.js` (what tsc and the built package
// need), and Node does not map that to `./x.ts`. This synchronous resolve hook retries a
// missing relative `.js` import as `.ts`. Use: node --import ./_ts-loader.mjs _worker.ts
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !/^\.\.?\/.*\.js$/.test(specifier)) throw error;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
  },
});
