import { describe, expect, it } from 'vitest';
import {
  parseStorageLocation,
  StorageLocationError,
} from '../../src/safety/snapshot/storage-location.js';

describe('where the CLI keeps snapshots', () => {
  it('reads a plain path as a directory, whatever the S3 variables say', () => {
    expect(
      parseStorageLocation('./snapshots', { DBMIGRATE_S3_PATH_STYLE: 'maybe' }, '--storage'),
    ).toEqual({ kind: 'directory', path: './snapshots' });
  });

  it('reads s3://bucket/prefix with the S3 settings from the environment', () => {
    expect(
      parseStorageLocation(
        's3://db-snapshots/prod/docserver',
        {
          DBMIGRATE_S3_ENDPOINT: 'http://127.0.0.1:8333',
          DBMIGRATE_S3_PATH_STYLE: 'true',
          AWS_REGION: 'eu-west-1',
          DBMIGRATE_S3_SSE: 'aws:kms',
          DBMIGRATE_S3_KMS_KEY_ID: 'alias/snapshots',
          AWS_SECRET_ACCESS_KEY: 'never-in-the-location',
        },
        '--storage',
      ),
    ).toEqual({
      kind: 's3',
      bucket: 'db-snapshots',
      prefix: 'prod/docserver',
      endpoint: 'http://127.0.0.1:8333',
      forcePathStyle: true,
      region: 'eu-west-1',
      serverSideEncryption: 'aws:kms',
      kmsKeyId: 'alias/snapshots',
    });
    expect(parseStorageLocation('s3://db-snapshots', {}, '--storage')).toEqual({
      kind: 's3',
      bucket: 'db-snapshots',
      prefix: '',
      forcePathStyle: false,
    });
  });

  it.each([
    ['s3://', /--storage: "s3:\/\/" does not name an S3 bucket/],
    ['s3://Upper_Case/x', /does not name an S3 bucket/],
    ['s3://ok-bucket/a//b', /empty or "\.\." part/],
    ['s3://ok-bucket/../b', /empty or "\.\." part/],
  ])('refuses %s naming the flag', (text, message) => {
    expect(() => parseStorageLocation(text, {}, '--storage')).toThrow(message);
    expect(() => parseStorageLocation(text, {}, '--storage')).toThrow(StorageLocationError);
  });

  it.each([
    [{ DBMIGRATE_S3_PATH_STYLE: 'sometimes' }, /DBMIGRATE_S3_PATH_STYLE: "sometimes"/],
    [{ DBMIGRATE_S3_SSE: 'rot13' }, /DBMIGRATE_S3_SSE: "rot13" is not AES256 or aws:kms/],
    [{ DBMIGRATE_S3_ENDPOINT: '127.0.0.1:8333' }, /DBMIGRATE_S3_ENDPOINT: .* not an http/],
  ])('refuses a bad S3 variable by name: %o', (env, message) => {
    expect(() => parseStorageLocation('s3://ok-bucket/p', env, '--storage')).toThrow(message);
  });

  it('is a usage error (exit 2)', () => {
    expect(new StorageLocationError('x').code).toBe('USAGE');
  });
});
