/**
 * `volfit serve [--port n] [--host h]`: serves the built browser app (src/webapp/serve.ts) and
 * prints its URL; runs until interrupted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { UserError } from '../errors.js';
import { parseIntegerFlag } from '../parse.js';
import { createAppServer, listen, WEB_APP_DIR } from '../../webapp/serve.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the browser app (calibrate live on your GPU in a web page) on a local port')
    .option('--port <n>', 'port (0: any free port)', '8080')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(async (o) => {
      const port = parseIntegerFlag('--port', o.port, 0, 65535);
      if (!existsSync(join(WEB_APP_DIR, 'index.html'))) {
        throw new UserError(`the web app is not built (no ${join(WEB_APP_DIR, 'index.html')}): run npm run build:web`);
      }
      const server = createAppServer();
      let url: string;
      try {
        url = await listen(server, port, o.host);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new UserError(`--port ${port}: cannot listen on ${o.host} (${code === 'EADDRINUSE' ? 'port in use' : (e as Error).message})`);
      }
      process.stdout.write(`volfit: serving the web app at ${url} (Ctrl-C to stop)\n`);
      await new Promise<void>((done) => {
        const stop = () => server.close(() => done());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
