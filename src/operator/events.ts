import type { Logger } from 'pino';
import type { ResourceApi } from './kube.js';

/**
 * Records an Event about one of our resources. An Event that cannot be written is logged, never
 * fatal: the status write it accompanies already happened and is the record of truth.
 */
export async function recordEvent(
  deps: { readonly api: ResourceApi; readonly logger: Logger },
  kind: 'DatabaseMigration' | 'BackupSnapshot',
  metadata: { namespace?: string | undefined; name?: string | undefined; uid?: string | undefined },
  event: { type: 'Normal' | 'Warning'; reason: string; message: string },
): Promise<void> {
  await deps.api
    .event(
      {
        kind,
        namespace: metadata.namespace ?? 'default',
        name: metadata.name ?? '',
        uid: metadata.uid,
      },
      event.type,
      event.reason,
      event.message,
    )
    .catch((err: unknown) => {
      deps.logger.warn({ err }, 'could not record an Event');
    });
}
