import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export type SnapshotStorageErrorCode =
  | 'STORAGE_BUCKET_NOT_FOUND'
  | 'STORAGE_ACCESS_DENIED'
  | 'STORAGE_UNREACHABLE'
  | 'STORAGE_REQUEST_FAILED';

/**
 * The storage itself failed (refused, unreachable, missing bucket), as opposed to a snapshot in
 * it being missing or damaged. Names the store and the operation, never a credential.
 */
export class SnapshotStorageError extends Error {
  readonly code: SnapshotStorageErrorCode;
  constructor(code: SnapshotStorageErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SnapshotStorageError';
    this.code = code;
  }
}

/**
 * Where snapshots live. A local directory (or a mounted volume / PVC) first; an S3-compatible
 * store implements the same five operations. Keys are `snapshotId/file`.
 */
export interface SnapshotStorage {
  readonly description: string;
  /** A stream that becomes visible under `key` only after `commit()`; `abort()` discards it. */
  openWrite(
    key: string,
  ): Promise<{ stream: Writable; commit(): Promise<void>; abort(): Promise<void> }>;
  openRead(key: string): Promise<Readable>;
  readText(key: string): Promise<string | null>;
  writeText(key: string, text: string): Promise<void>;
  /** Snapshot IDs (top-level folders). */
  listIds(): Promise<string[]>;
  removeId(id: string): Promise<void>;
  /** Removes a snapshot's folder only if nothing is in it. */
  removeIdIfEmpty(id: string): Promise<void>;
  /** A local path for tools that need one (pg_restore), or null for remote stores. */
  localPath(key: string): string | null;
  /** Size in bytes of a stored object, or null when it does not exist. */
  size(key: string): Promise<number | null>;
}

export class LocalDirectoryStorage implements SnapshotStorage {
  readonly description: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = `directory ${this.root}`;
  }

  private path(key: string): string {
    const p = resolve(this.root, key);
    if (!p.startsWith(`${this.root}/`))
      throw new Error(`storage key escapes the snapshot directory: ${key}`);
    return p;
  }

  async openWrite(key: string) {
    const final = this.path(key);
    // Per writer: two writers of one key (a deposed leader and its successor) never share a file.
    const partial = `${final}.partial-${randomBytes(4).toString('hex')}`;
    await mkdir(dirname(final), { recursive: true });
    const stream = createWriteStream(partial);
    return {
      stream,
      commit: async () => {
        await rename(partial, final);
      },
      abort: async () => {
        stream.destroy();
        await rm(partial, { force: true });
      },
    };
  }

  openRead(key: string): Promise<Readable> {
    return Promise.resolve(createReadStream(this.path(key)));
  }

  async readText(key: string): Promise<string | null> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async writeText(key: string, text: string): Promise<void> {
    const final = this.path(key);
    await mkdir(dirname(final), { recursive: true });
    // Write-then-rename so a reader never sees half a manifest.
    await writeFile(`${final}.partial`, text);
    await rename(`${final}.partial`, final);
  }

  async listIds(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async removeId(id: string): Promise<void> {
    await rm(this.path(id), { recursive: true, force: true });
  }

  /** Removes a snapshot's folder only if nothing is in it (what an aborted write leaves). */
  async removeIdIfEmpty(id: string): Promise<void> {
    try {
      await rmdir(this.path(id));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  }

  localPath(key: string): string | null {
    return this.path(key);
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.path(key))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}
