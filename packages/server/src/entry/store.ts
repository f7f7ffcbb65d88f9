/**
 * `@keyward/server/store`: `openStore` (SQLite or PostgreSQL), the repositories' types and the
 * nonce store that shares the database, without the HTTP server or the CLI.
 *
 * @packageDocumentation
 */

export { SqlNonceStore } from '../state/nonces.js';
// The whole of store/index.ts: what the store folder declares public is this subpath.
export * from '../store/index.js';
