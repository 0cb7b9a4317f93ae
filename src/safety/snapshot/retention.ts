import { z } from 'zod';
import { isVerified, type SnapshotManifest } from './manifest.js';

export const RetentionPolicySchema = z
  .object({
    /** Keep at most this many snapshots (newest first). */
    keepLast: z.number().int().positive().optional(),
    /** Remove snapshots older than this many days. */
    maxAgeDays: z.number().positive().optional(),
  })
  .strict();
export type RetentionPolicy = z.infer<typeof RetentionPolicySchema>;

/**
 * Snapshot IDs the policy removes. The newest verified snapshot is never removed: it is the
 * one a rollback would need, however old it is.
 */
export function snapshotsToRemove(
  manifests: readonly SnapshotManifest[],
  policy: RetentionPolicy,
  now: Date,
): string[] {
  const newestFirst = [...manifests].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const protectedId = newestFirst.find(isVerified)?.id;
  const remove = new Set<string>();
  newestFirst.forEach((m, index) => {
    if (policy.keepLast !== undefined && index >= policy.keepLast) remove.add(m.id);
    const ageDays = (now.getTime() - Date.parse(m.createdAt)) / 86_400_000;
    if (policy.maxAgeDays !== undefined && ageDays > policy.maxAgeDays) remove.add(m.id);
  });
  if (protectedId !== undefined) remove.delete(protectedId);
  return newestFirst.filter((m) => remove.has(m.id)).map((m) => m.id);
}
