/**
 * Atomic file writes: data goes to a temporary file in the destination's directory (so the rename
 * stays on one filesystem) and is renamed into place only once complete. A reader never sees a
 * half-written file, and a failed write leaves the destination as it was. Every writer in the
 * project (the CLI's JSON/report/map outputs, the .npy writers) goes through this one helper.
 */
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let tmpCounter = 0;

/** A fresh temp name: pid + time + a counter, so two writers in one process never collide. */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.${tmpCounter++}.tmp`);
}

/** Why a write failed, for messages: the errno code when there is one. */
export function writeFailure(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e);
}

/**
 * A file being written atomically. `write` appends; `commit` renames it into place; `abort` removes
 * the temporary file (safe to call twice, and after a failed commit).
 */
export class AtomicFile {
  readonly path: string;
  private readonly tmp: string;
  private fd: number;

  /** Throws the fs error (with its `code`) when the temporary file cannot be created. */
  constructor(path: string) {
    this.path = path;
    this.tmp = tempPathFor(path);
    this.fd = openSync(this.tmp, 'wx');
  }

  write(data: ArrayBufferView | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
  }

  commit(): void {
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = -1;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      /* never created, or already renamed */
    }
  }
}

/**
 * Writes a whole file atomically from its parts. Errors are rethrown as they come from node:fs
 * (callers word them: the CLI as "PATH: cannot write (CODE)").
 */
export function writeFileAtomic(path: string, ...parts: (ArrayBufferView | string)[]): void {
  const f = new AtomicFile(path);
  try {
    for (const p of parts) f.write(p);
    f.commit();
  } catch (e) {
    f.abort();
    throw e;
  }
}
