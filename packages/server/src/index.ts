/**
 * `@keyward/server`: the verifier, storage, HTTP server, framework adapters and the `keyward`
 * command. The pieces arrive issue by issue; today it exports the command line.
 *
 * @packageDocumentation
 */

export { createProgram, main, VERSION } from './cli/main.js';
