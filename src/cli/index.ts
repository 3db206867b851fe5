/**
 * cli/: the `thingcore` command (bin: main.ts). `serve` runs the server through core/; the admin
 * subcommands (later issues) speak the public HTTP API, each group in its own file added in
 * program.ts.
 *
 * It refuses: server internals beyond core/'s door (admin commands never touch the store or rooms).
 */
export { createProgram } from './program.js';
export { serveCommand } from './serve.js';
