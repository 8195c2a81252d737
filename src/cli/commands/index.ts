import type { Command } from 'commander';

/** Every CLI command, in help order. Add one line per new command. */
export const commands: Array<(program: Command) => void> = [];
