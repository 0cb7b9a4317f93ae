/**
 * The doc-server's data layer as a library entry (`db-migration-operator/docserver`): its pool
 * factory, read paths, partition maintenance and archival, without the migration engine.
 */
export {
  createPool,
  describePool,
  PoolConfigError,
  PoolConfigSchema,
  type DocServerPool,
  type PoolConfig,
  type PoolGauges,
} from './db/pool.js';
export {
  countDocuments,
  getDocument,
  listDocuments,
  similarDocuments,
  type DocumentFilter,
  type ListCursor,
  type SimilarDocument,
  type SimilarityOptions,
  type SimilarityPlan,
  type SimilarityQuery,
  type SimilarityResult,
} from './db/read-paths.js';
export {
  checkInterval,
  ensurePartitions,
  listPartitions,
  PartitionError,
  type PartitionInfo,
} from './db/partitions.js';
export {
  archiveDocuments,
  wholePartitionsBefore,
  type ArchiveOptions,
  type ArchivePlan,
  type ArchiveResult,
} from './db/archive.js';
