/** Library entry point for the doc-server and other Node callers. */
export * from './engine/index.js';
export {
  connectorFromPool,
  connectorFromUrl,
  DatabaseUnreachableError,
  type DatabaseConnector,
} from './db/connection.js';
export { createLogger } from './observability/logger.js';
