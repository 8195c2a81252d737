#!/usr/bin/env node
// Runs the compiled CLI (npm ci builds dist/ in `prepare`).
import { main } from '../dist/cli/main.js';

// `volfit ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await main(process.argv);
