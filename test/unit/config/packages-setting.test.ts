/**
 * FHIR_PACKAGES: comma-separated paths of .tgz files or package folders, resolved against the
 * working directory; each missing or wrong one is reported, all at once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'bedside-packages-setting-'));
writeFileSync(path.join(dir, 'us-core.tgz'), '');
writeFileSync(path.join(dir, 'notes.txt'), '');

describe('FHIR_PACKAGES', () => {
  it('is empty by default', () => {
    expect(loadConfig({}).packages).toEqual([]);
  });

  it('lists files and folders, resolved against the working directory', () => {
    expect(loadConfig({ FHIR_PACKAGES: ' us-core.tgz , . ,' }, dir).packages).toEqual([path.join(dir, 'us-core.tgz'), dir]);
  });

  it('reports every path that is missing or not a package', () => {
    let error: unknown;
    try {
      loadConfig({ FHIR_PACKAGES: 'missing.tgz,notes.txt', PORT: 'x' }, dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'PORT must be an integer from 0 to 65535 (got "x")',
      `FHIR_PACKAGES: ${path.join(dir, 'missing.tgz')} does not exist`,
      `FHIR_PACKAGES: ${path.join(dir, 'notes.txt')} is neither a .tgz package nor a package folder`,
    ]);
  });
});
