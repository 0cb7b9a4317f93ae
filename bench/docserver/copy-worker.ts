// Generates a template's documents off the main thread, encoded for binary COPY, a batch at a
// time: generation and the server's ingest then run on the two cores side by side.
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { encodeDocumentRow } from './copy-binary.js';
import { generateDocuments, modelOf } from './documents.js';
import { shapesNamed } from './shapes.js';

export interface CopyWorkerData {
  readonly count: number;
  readonly shape: string;
  readonly batchSize: number;
}

export type CopyWorkerMessage =
  | {
      readonly type: 'batch';
      readonly rows: number;
      /** Sources first used in this batch, in order of first use. */
      readonly fresh: readonly string[];
      readonly data: Uint8Array;
    }
  | { readonly type: 'done' };

/** Batches generated ahead of the one being copied; each holds batchSize × ~12.5 KB. */
const AHEAD = 2;

async function main(port: NonNullable<typeof parentPort>, job: CopyWorkerData): Promise<void> {
  const [shape] = shapesNamed(job.shape);
  if (!shape) throw new Error(`no shape ${job.shape}`);
  const seen = new Set<string>();
  let outstanding = 0;
  let rows: Buffer[] = [];
  let fresh: string[] = [];
  const send = async (): Promise<void> => {
    const data = new Uint8Array(Buffer.concat(rows));
    const message: CopyWorkerMessage = { type: 'batch', rows: rows.length, fresh, data };
    port.postMessage(message, [data.buffer]);
    rows = [];
    fresh = [];
    outstanding++;
    while (outstanding >= AHEAD) {
      await once(port, 'message');
      outstanding--;
    }
  };
  for (const d of generateDocuments(job.count, { shape, model: modelOf(shape) })) {
    if (!seen.has(d.sourceName)) {
      seen.add(d.sourceName);
      fresh.push(d.sourceName);
    }
    rows.push(encodeDocumentRow(d));
    if (rows.length >= job.batchSize) await send();
  }
  if (rows.length > 0) await send();
  port.postMessage({ type: 'done' } satisfies CopyWorkerMessage);
}

if (parentPort) {
  const port = parentPort;
  void main(port, workerData as CopyWorkerData).then(() => {
    port.close();
  });
}
