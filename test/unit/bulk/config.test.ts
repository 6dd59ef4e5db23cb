/** The export settings of the configuration: defaults that follow DATA_DIR, and validation. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

const cwd = '/srv/bedside';

describe('export configuration', () => {
  it('defaults: files under DATA_DIR/exports, 64 MB files kept a day', () => {
    expect(loadConfig({}, cwd).export).toEqual({
      dir: path.join(cwd, 'data', 'exports'),
      maxFileBytes: 64 * 1024 * 1024,
      fileTtlSeconds: 86400,
      checkpointMs: 1000,
    });
    expect(loadConfig({ DATA_DIR: '/var/lib/bedside' }, cwd).export.dir).toBe('/var/lib/bedside/exports');
    expect(loadConfig({ MONGODB_URI: 'mongodb://db/bedside' }, cwd).export.dir).toBe(path.join(cwd, 'data', 'exports'));
  });

  it('reads EXPORT_DIR, EXPORT_FILE_SIZE and EXPORT_FILE_TTL', () => {
    expect(loadConfig({ EXPORT_DIR: 'shared/exports', EXPORT_FILE_SIZE: '16mb', EXPORT_FILE_TTL: '600' }, cwd).export).toEqual({
      dir: path.join(cwd, 'shared', 'exports'),
      maxFileBytes: 16 * 1024 * 1024,
      fileTtlSeconds: 600,
      checkpointMs: 1000,
    });
  });

  for (const [name, value] of [
    ['EXPORT_FILE_SIZE', '512'],
    ['EXPORT_FILE_SIZE', 'big'],
    ['EXPORT_FILE_TTL', '0'],
    ['EXPORT_FILE_TTL', '-5'],
    ['EXPORT_FILE_TTL', '99999999'],
  ]) {
    it(`refuses ${name}=${value}`, () => {
      expect(() => loadConfig({ [name!]: value }, cwd)).toThrow(ConfigError);
    });
  }
});
