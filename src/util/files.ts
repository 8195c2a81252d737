/**
 * Writing output files safely: atomically (a temporary file in the same folder, then a rename,
 * so a process killed mid-write leaves the old file or none, never half a file), and creating
 * folders one level at a time (Node 20's `mkdirSync(..., {recursive: true})` loops for ever on
 * /proc). The CLI checks its output paths up front (src/cli/io.ts); these are the writers.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** A fresh name beside `path` for a temporary file (hidden, with the process id). */
export function tempNameBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * An output file written atomically: into a temporary file in the same folder (flushed to disk)
 * that `commit` renames over the target, so a process killed mid-write leaves the old file or
 * none, never half a file. An existing file keeps its permission bits; a symbolic link keeps
 * pointing at the file it names (the file is replaced). A device or pipe (/dev/null,
 * /dev/stdout) is written in place: renaming over it would replace the device.
 */
export class AtomicFile {
  private fd: number | undefined;
  private readonly tmp: string | undefined;
  private readonly target: string;
  private readonly mode: number | undefined;

  constructor(path: string) {
    let target = resolve(path);
    let mode: number | undefined;
    let inPlace = false;
    try {
      const st = statSync(target);
      if (st.isDirectory()) {
        throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: 'EISDIR', path });
      }
      if (st.isFile()) {
        target = realpathSync(target);
        mode = st.mode & 0o7777;
      } else inPlace = true;
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
    }
    this.target = target;
    this.mode = mode;
    if (inPlace) {
      this.fd = openSync(target, 'w');
    } else {
      this.tmp = tempNameBeside(target);
      this.fd = openSync(this.tmp, 'wx', mode ?? 0o666);
    }
  }

  write(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd!, bytes, at, bytes.length - at);
  }

  /** Puts the file in place; on failure the temporary file is removed and the error thrown. */
  commit(): void {
    try {
      if (this.tmp !== undefined) fsyncSync(this.fd!);
      closeSync(this.fd!);
      this.fd = undefined;
      if (this.tmp === undefined) return;
      // openSync's mode is masked by the umask: give the replacement the old file's bits exactly.
      if (this.mode !== undefined) chmodSync(this.tmp, this.mode);
      renameSync(this.tmp, this.target);
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** Drops the temporary file (the target is untouched). */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
    if (this.tmp === undefined) return;
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone
    }
  }
}

/** Writes `data` to `path` atomically (see AtomicFile). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const file = new AtomicFile(path);
  try {
    file.write(data);
  } catch (e) {
    file.abort();
    throw e;
  }
  file.commit();
}

/**
 * Creates `dir` and any missing parents, one `mkdir` per level from the first existing ancestor
 * down (never the recursive form, which does not terminate on /proc). Throws ENOTDIR when an
 * existing component is not a folder.
 */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const code = errno(e);
      const up = dirname(p);
      if ((code === 'ENOENT' || code === 'ENOTDIR') && up !== p) {
        missing.push(p);
        p = up;
        continue;
      }
      throw e;
    }
    if (!isDir) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p}'`), { code: 'ENOTDIR', path: p });
    break;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      if (errno(e) !== 'EEXIST' || !statSync(m).isDirectory()) throw e;
    }
  }
}
