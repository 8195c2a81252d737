/**
 * Writing output files safely: atomically (a temporary file in the same folder, then a rename,
 * so a process killed mid-write leaves the old file or none, never half a file), and creating
 * folders one level at a time (Node 20's `mkdirSync(..., {recursive: true})` loops for ever on
 * /proc). The CLI checks its output paths up front (src/cli/io.ts); these are the writers.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** A fresh name beside `path` for a temporary file (hidden, with the process id). */
export function tempNameBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes `data` to `path` atomically: into a temporary file in the same folder (flushed to disk)
 * that is then renamed over `path`. An existing file keeps its permission bits; a symbolic link
 * keeps pointing at the file it names (the file is replaced). A device or pipe (/dev/null,
 * /dev/stdout) is written in place: it cannot be renamed over.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  let target = resolve(path);
  let mode: number | undefined;
  try {
    const st = statSync(target);
    if (st.isDirectory()) {
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: 'EISDIR', path });
    }
    if (!st.isFile()) {
      writeFileSync(target, data);
      return;
    }
    target = realpathSync(target);
    mode = st.mode & 0o7777;
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
  }
  const tmp = tempNameBeside(target);
  let fd: number | undefined = openSync(tmp, 'wx', mode ?? 0o666);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    // openSync's mode is masked by the umask: give the replacement the old file's bits exactly.
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
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
