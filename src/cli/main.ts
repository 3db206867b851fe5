#!/usr/bin/env node
// The `thingcore` binary.
import { createProgram, reportFailure } from './program.js';

createProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    // exitCode rather than exit(): what was written to a piped stdout/stderr is flushed first.
    process.exitCode = reportFailure(err);
  });
