/**
 * The broker: a key-injecting reverse proxy for agents in any language (`agent-vault exec`,
 * `agent-vault broker`). Node-only (node:http); loaded by the CLI, never by importing the core.
 */
export { type Broker, type BrokerConnectionLimits, type BrokerOptions, startBroker } from './server.ts';
export type { BrokerLimits } from './_proxy.ts';
export { isPhantomKey, PHANTOM_PREFIX, type PhantomKeyInfo, PhantomKeys, type PhantomRefusal } from './phantom.ts';
export {
  BUILTIN_ROUTES, type BuiltinRouteName, checkUpstream, CREDENTIAL_HEADERS, defineRoute, ERROR_SHAPES, type ErrorShape,
  resolveRoutes, type Route,
} from './routes.ts';
export { type AdminAnswer, type AdminAudit, adminRequest, type AdminRequest, type AdminServer, defaultAdminSocket, startAdmin } from './admin.ts';
