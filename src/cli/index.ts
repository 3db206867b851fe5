/**
 * cli/: the `thingcore` command (bin: main.ts). `serve` runs the server through core/; the admin
 * subcommands (device, thing, cert, endpoint) speak the public HTTP API with the official AWS SDK,
 * each group in its own file added in program.ts.
 *
 * It refuses: server internals beyond core/'s door (admin commands never touch the store or rooms;
 * they read only the data dir's endpoints.json, credentials and ca.pem).
 */
export { createProgram, reportFailure } from './program.js';
export { serveCommand } from './serve.js';
