#!/usr/bin/env node
// Runs the compiled CLI (npm ci builds dist/ in `prepare`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
