import { describe, expect, it } from 'vitest';
import { newResourceId } from '../../../src/fhir/resource-ids.js';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('server-assigned resource ids', () => {
  it('are UUID version 7 with the RFC 9562 variant, and valid FHIR ids', () => {
    for (let i = 0; i < 1000; i++) {
      const id = newResourceId();
      expect(id).toMatch(UUID_V7);
      expect(id).toMatch(FHIR_ID);
    }
  });

  it('start with the creation time in milliseconds, so later ids sort after earlier ones', async () => {
    const before = Date.now();
    const first = newResourceId();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = newResourceId();
    const millis = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(millis(first)).toBeGreaterThanOrEqual(before);
    expect(millis(first)).toBeLessThanOrEqual(Date.now());
    expect(second > first).toBe(true);
  });

  it('are unique', () => {
    const ids = new Set(Array.from({ length: 50_000 }, () => newResourceId()));
    expect(ids.size).toBe(50_000);
  });
});
