import type { Command } from 'commander';
import { register as calibrate } from './calibrate.js';
import { register as iv } from './iv.js';
import { register as normalize } from './normalize.js';
import { register as price } from './price.js';
import { register as report } from './report.js';
import { register as demo } from './demo.js';

/** Every CLI command, in help order. Add one line per new command. */
export const commands: Array<(program: Command) => void> = [iv, normalize, price, calibrate, report, demo];
