/**
 * Searches over the Synthea data return exactly what the data says. Each expectation is
 * computed here from the raw JSON with plain code (no Bedside search code), then compared with
 * the server's answer over HTTP, following every `next` link.
 */
import type { Bundle } from 'fhir/r4';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpSink, load } from '../../../src/ingest/loader.js';
import { hasSharedSamples, sharedPath } from '../../support/shared-samples.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';

type Any = Record<string, any>;
let server: TestServer;
let token: string;
const byType = new Map<string, Any[]>();

/** Every resource of the Synthea bundles, references rewritten as the loader does (urn:uuid:X → Type/X). */
function readSynthea(): void {
  const targets = new Map<string, string>();
  const all: Any[] = [];
  for (const file of readdirSync(sharedPath('synthea')).filter((f) => f.endsWith('.json'))) {
    const bundle = JSON.parse(readFileSync(sharedPath('synthea', file), 'utf8')) as Bundle;
    for (const entry of bundle.entry ?? []) {
      const r = entry.resource as Any;
      targets.set(entry.fullUrl!, `${r.resourceType}/${r.id}`);
      all.push(r);
    }
  }
  const seen = new Set<string>();
  for (const r of all) {
    const key = `${r.resourceType}/${r.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const text = JSON.stringify(r).replace(/"reference":"(urn:uuid:[^"]+)"/g, (m, urn) => (targets.has(urn) ? `"reference":"${targets.get(urn)}"` : m));
    const list = byType.get(r.resourceType) ?? [];
    list.push(JSON.parse(text));
    byType.set(r.resourceType, list);
  }
}

async function searchAll(query: string): Promise<string[]> {
  const out: string[] = [];
  let url: string | undefined = `${server.fhirUrl}/${query}${query.includes('?') ? '&' : '?'}_count=500`;
  while (url) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as Bundle;
    expect(response.status, JSON.stringify(body).slice(0, 300)).toBe(200);
    for (const e of body.entry ?? []) if (e.search?.mode === 'match') out.push(`${e.resource!.resourceType}/${e.resource!.id}`);
    url = body.link?.find((l) => l.relation === 'next')?.url;
  }
  return out;
}

const keys = (list: Any[]) => list.map((r) => `${r.resourceType}/${r.id}`).sort();
const of = (type: string) => byType.get(type) ?? [];
const codings = (cc: Any | undefined): Any[] => cc?.coding ?? [];
const hasCode = (cc: Any | undefined, system: string, code: string) => codings(cc).some((c) => c.system === system && c.code === code);
const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
/** The most frequent value of a key in a list, so the queries use codes the data really has. */
function mostCommon<T>(values: T[]): T {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

describe.skipIf(!hasSharedSamples)('search over Synthea', () => {
  beforeAll(async () => {
    readSynthea();
    server = await startTestServer();
    token = await (await backendClient(server.baseUrl)).token();
    const summary = await load({ sink: httpSink(server.fhirUrl, token), paths: [sharedPath('synthea')], concurrency: 2 });
    expect(summary.failures).toEqual([]);
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('token: Patient?gender=female', async () => {
    expect((await searchAll('Patient?gender=female')).sort()).toEqual(keys(of('Patient').filter((p) => p.gender === 'female')));
  });

  it('token with system: the most common LOINC Observation code', async () => {
    const code = mostCommon(
      of('Observation').flatMap((o) =>
        codings(o.code)
          .filter((c) => c.system === 'http://loinc.org')
          .map((c) => c.code as string),
      ),
    );
    const expected = keys(of('Observation').filter((o) => hasCode(o.code, 'http://loinc.org', code)));
    expect(expected.length).toBeGreaterThan(50);
    expect((await searchAll(`Observation?code=http://loinc.org|${code}`)).sort()).toEqual(expected);
  });

  it('patient compartment with date prefix and sort: Observation?patient=X&date=ge2015&_sort=-date', async () => {
    const patient = mostCommon(of('Observation').map((o) => o.subject.reference as string));
    const matches = of('Observation').filter(
      (o) => o.subject.reference === patient && o.effectiveDateTime && Date.parse(o.effectiveDateTime) >= Date.UTC(2015, 0, 1),
    );
    const result = await searchAll(`Observation?patient=${patient}&date=ge2015&_sort=-date`);
    expect([...result].sort()).toEqual(keys(matches));
    const dates = result.map((k) => Date.parse(matches.find((o) => `Observation/${o.id}` === k)!.effectiveDateTime));
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
  });

  it('date on day precision: Patient?birthdate=ge1980&birthdate=lt2000', async () => {
    const expected = keys(of('Patient').filter((p) => p.birthDate >= '1980-01-01' && p.birthDate < '2000-01-01'));
    expect((await searchAll('Patient?birthdate=ge1980&birthdate=lt2000')).sort()).toEqual(expected);
  });

  it('string prefix, case- and accent-insensitive: Patient?name=<first letters of a family name>', async () => {
    const family = of('Patient')[0]!.name[0].family as string;
    const prefix = family.slice(0, 3).toUpperCase();
    const expected = keys(
      of('Patient').filter((p) =>
        (p.name ?? []).some((n: Any) =>
          [n.family, ...(n.given ?? []), ...(n.prefix ?? []), ...(n.suffix ?? []), n.text]
            .filter(Boolean)
            .some((s: string) => fold(s).startsWith(fold(prefix))),
        ),
      ),
    );
    expect((await searchAll(`Patient?name=${encodeURIComponent(prefix)}`)).sort()).toEqual(expected);
  });

  it('quantity with prefix on a lab code', async () => {
    const withValues = of('Observation').filter((o) => typeof o.valueQuantity?.value === 'number');
    const code = mostCommon(withValues.map((o) => codings(o.code)[0]?.code as string));
    const values = withValues
      .filter((o) => codings(o.code)[0]?.code === code)
      .map((o) => o.valueQuantity.value as number)
      .sort((a, b) => a - b);
    const median = values[Math.floor(values.length / 2)]!;
    const expected = keys(withValues.filter((o) => hasCode(o.code, 'http://loinc.org', code) && o.valueQuantity.value > median));
    expect((await searchAll(`Observation?code=http://loinc.org|${code}&value-quantity=gt${median}`)).sort()).toEqual(expected);
  });

  it('reverse chain: Patient?_has:Condition:patient:code=<most common condition>', async () => {
    const code = mostCommon(of('Condition').flatMap((c) => codings(c.code).map((x) => x.code as string)));
    const patients = new Set(
      of('Condition')
        .filter((c) => codings(c.code).some((x) => x.code === code))
        .map((c) => c.subject.reference as string),
    );
    expect((await searchAll(`Patient?_has:Condition:patient:code=${code}`)).sort()).toEqual([...patients].sort());
  });

  it('chain: Encounter?subject:Patient.gender=male', async () => {
    const males = new Set(
      of('Patient')
        .filter((p) => p.gender === 'male')
        .map((p) => `Patient/${p.id}`),
    );
    const expected = keys(of('Encounter').filter((e) => males.has(e.subject?.reference)));
    expect((await searchAll('Encounter?subject:Patient.gender=male')).sort()).toEqual(expected);
  });

  it('token :not: Condition?clinical-status:not=active', async () => {
    const system = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
    const expected = keys(of('Condition').filter((c) => !codings(c.clinicalStatus).some((x) => x.code === 'active')));
    expect((await searchAll('Condition?clinical-status:not=active')).sort()).toEqual(expected);
    const active = keys(of('Condition').filter((c) => hasCode(c.clinicalStatus, system, 'active')));
    expect((await searchAll(`Condition?clinical-status=${system}|active`)).sort()).toEqual(active);
  });

  it('reference by id, with OR: Immunization?patient=A,B', async () => {
    const [a, b] = of('Patient')
      .slice(0, 2)
      .map((p) => p.id as string);
    const expected = keys(of('Immunization').filter((i) => i.patient.reference === `Patient/${a}` || i.patient.reference === `Patient/${b}`));
    expect((await searchAll(`Immunization?patient=${a},${b}`)).sort()).toEqual(expected);
  });

  it(':missing and a computed boolean token: Observation?value-quantity:missing=true, Patient?deceased=true', async () => {
    const expected = keys(of('Observation').filter((o) => o.valueQuantity?.value === undefined));
    expect((await searchAll('Observation?value-quantity:missing=true')).sort()).toEqual(expected);
    // R4's expression for deceased is "deceased.exists() and deceased != false".
    const deceased = keys(of('Patient').filter((p) => p.deceasedDateTime !== undefined || p.deceasedBoolean === true));
    expect((await searchAll('Patient?deceased=true')).sort()).toEqual(deceased);
  });

  it('_lastUpdated and _id: everything loaded is found by id', async () => {
    const patients = of('Patient')
      .slice(0, 5)
      .map((p) => p.id as string);
    expect((await searchAll(`Patient?_id=${patients.join(',')}&_lastUpdated=ge2000`)).sort()).toEqual(patients.map((id) => `Patient/${id}`).sort());
  });

  it('counts: _summary=count for every type equals the data', async () => {
    for (const [type, list] of byType) {
      const response = await fetch(`${server.fhirUrl}/${type}?_summary=count`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await response.json()) as Any).total, type).toBe(list.length);
    }
  });
});
