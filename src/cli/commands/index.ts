import type { Command } from 'commander';

/**
 * Every CLI command, in help order, with the summary `volfit --help` shows. A command's module
 * (its options and the library code behind it) is imported only when that command runs, so
 * start-up stays short: `volfit --help` loads none of them. Add one entry per new command.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<{ register: (program: Command) => void }>;
}

export const commands: CommandEntry[] = [
  { name: 'iv', summary: 'implied volatility (Black-76) of every quote in a canonical quote CSV', load: () => import('./iv.js') },
  { name: 'normalize', summary: 'read a venue file (Deribit, CBOE chain, canonical CSV) into one clean, weighted canonical quote set', load: () => import('./normalize.js') },
  { name: 'price', summary: 'model prices and implied vols (Heston, Bates, Merton) of a strike strip or a quote CSV', load: () => import('./price.js') },
  { name: 'localvol', summary: 'Dupire local-volatility grid of a fitted SVI, SSVI or eSSVI surface (fit JSON of calibrate --model svi|ssvi|essvi)', load: () => import('./localvol.js') },
  { name: 'calibrate', summary: 'fit Heston, Bates, Merton, rough Bergomi (Monte Carlo) or a per-expiry smile (Black, SVI, SSVI, eSSVI) to a canonical quote CSV', load: () => import('./calibrate.js') },
  { name: 'publish', summary: 'sign one on-chain vol-feed update (EIP-712, SVI in 1e18 fixed point, confidence, deadline) per expiry of an SVI, SSVI or eSSVI fit', load: () => import('./publish.js') },
  { name: 'verify-update', summary: 'check the signed vol-feed updates of volfit publish (signature, signer, deadline, ranges); exit 1 if any is invalid', load: () => import('./verifyUpdate.js') },
  { name: 'report', summary: 'write a self-contained HTML calibration report (smiles, residuals, parameters, convergence, Greeks, data)', load: () => import('./report.js') },
  { name: 'backtest', summary: 'recalibrate every day of a series of snapshots (warm starts, priors, stale days, change points, model choice; DuckDB store, HTML report)', load: () => import('./backtest.js') },
  { name: 'worker', summary: 'take `volfit backtest --queue` fit jobs from a BullMQ queue on Redis until stopped', load: () => import('./worker.js') },
  { name: 'serve', summary: 'serve the browser app (calibrate live on your GPU in a web page) on a local port', load: () => import('./serve.js') },
  { name: 'demo', summary: 'fit Black, SSVI, Heston and Bates to a bundled real Deribit BTC snapshot and write an HTML report', load: () => import('./demo.js') },
];

/** The command a command line asks for (`volfit [--verbose] NAME ...`, `volfit help NAME`). */
export function requestedCommand(args: string[]): CommandEntry | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return commands.find((c) => c.name === name);
}
