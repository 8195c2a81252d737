/**
 * Streaming input and output for the commands that handle whole files (`iv`, `normalize`): the
 * input is read as a stream, the output written in pieces, so memory does not grow with the
 * file. An output file is written under a temporary name in its folder and renamed over the
 * target at the end: a failed run leaves the target as it was.
 */
import { createReadStream, openSync, type ReadStream } from 'node:fs';
import { AtomicFile } from '../util/files.js';
import { UserError } from './errors.js';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/**
 * An input file as a text stream; a missing or unreadable file is the same one-line error as
 * readInput's. Destroy it if it will not be read to the end.
 */
export function openInput(path: string): ReadStream {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${code(e)}`);
  }
  return createReadStream(path, { fd, encoding: 'utf8', highWaterMark: 1 << 16 });
}

/** A read failure of the input (EISDIR, EIO) as a UserError; anything else unchanged. */
export function inputError(path: string, e: unknown): unknown {
  const c = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' && /^E[A-Z]+$/.test(c) ? new UserError(`cannot read ${path}: ${c}`) : e;
}

/** Where output text goes, in pieces. */
export interface TextSink {
  /** Buffers text; flushes (and waits for stdout to drain) past a threshold. */
  write(text: string): Promise<void>;
  /** Flushes; for a file, renames it into place. */
  close(): Promise<void>;
  /** After a failure: drops a temporary file (the target is untouched). */
  abort(): void;
}

const FLUSH_CHARS = 1 << 16;

/** A sink to `out` (temporary file, renamed at close) or, without `out`, to stdout. */
export function openOutput(out?: string): TextSink {
  return out === undefined ? new StdoutSink() : new FileSink(out);
}

abstract class BufferedSink implements TextSink {
  private parts: string[] = [];
  private size = 0;

  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= FLUSH_CHARS) await this.flush();
  }

  protected async flush(): Promise<void> {
    if (this.size === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await this.put(text);
  }

  protected abstract put(text: string): Promise<void>;
  abstract close(): Promise<void>;
  abstract abort(): void;
}

class StdoutSink extends BufferedSink {
  protected async put(text: string): Promise<void> {
    if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }

  async close(): Promise<void> {
    await this.flush();
  }

  abort(): void {}
}

class FileSink extends BufferedSink {
  private readonly file: AtomicFile;

  constructor(private readonly out: string) {
    super();
    try {
      this.file = new AtomicFile(out);
    } catch (e) {
      throw new UserError(`cannot write ${out}: ${code(e)}`);
    }
  }

  protected async put(text: string): Promise<void> {
    try {
      this.file.write(text);
    } catch (e) {
      throw new UserError(`cannot write ${this.out}: ${code(e)}`);
    }
  }

  async close(): Promise<void> {
    await this.flush();
    try {
      this.file.commit();
    } catch (e) {
      throw new UserError(`cannot write ${this.out}: ${code(e)}`);
    }
  }

  abort(): void {
    this.file.abort();
  }
}
