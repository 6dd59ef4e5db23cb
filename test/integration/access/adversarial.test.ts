/**
 * The adversarial test of resource-server enforcement: with a token for patient A (a
 * standalone launch by the sample practitioner picking A, `patient/*.cruds`), every way we
 * know to reach patient B's data is tried. A probe leaks when it returns a resource of B's
 * compartment, or when it writes to B's data (checked afterwards with an operator token).
 * Then the token itself is attacked. The test prints the number of probes and of leaks (0).
 */
import type { Bundle, Resource } from 'fhir/r4';
import { exportJWK, generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PRACTITIONER, userToken } from '../../support/user-tokens.js';

const A = 'patient-001';
const B = 'patient-002';

let server: TestServer;
let tokenA: string;
let admin: string;
/** `Type/id` of every resource in B's compartment that is not also in A's. */
const onlyB = new Set<string>();
let bObservation: Resource & { identifier?: Array<{ system?: string; value?: string }> };
let aObservation: Resource;
let bMrn: string;
const probes: Array<{ name: string; leaked: boolean; detail: string }> = [];

async function fhir(token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.fhirUrl}/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined, headers: response.headers };
}

/** Every resource in a response (a resource, a Bundle's entries, nested batch results). */
function resourcesIn(body: any): Resource[] {
  if (!body || typeof body !== 'object') return [];
  if (body.resourceType === 'Bundle') return (body.entry ?? []).flatMap((e: any) => [...(e.resource ? resourcesIn(e.resource) : [])]);
  return body.resourceType ? [body] : [];
}

/** A read probe: leaks if any resource only in B's compartment comes back. */
async function readProbe(name: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const res = await fhir(tokenA, method, path, body, headers);
  const leaked = resourcesIn(res.body).filter((r) => onlyB.has(`${r.resourceType}/${r.id}`));
  probes.push({
    name,
    leaked: leaked.length > 0,
    detail: `${res.status}${leaked.length ? ` leaked ${leaked.map((r) => `${r.resourceType}/${r.id}`).join(', ')}` : ''}`,
  });
  return res;
}

/** A write probe: leaks if it succeeds; B's data is checked unchanged at the end. */
async function writeProbe(name: string, method: string, path: string, body?: unknown, headers?: Record<string, string>, expected = [403]) {
  const res = await fhir(tokenA, method, path, body, headers);
  const ok = expected.includes(res.status);
  probes.push({ name, leaked: !ok, detail: `${res.status} (expected ${expected.join(' or ')})` });
  return res;
}

async function bCompartment(): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  let url: string | undefined = `${server.fhirUrl}/Patient/${B}/$everything?_count=500`;
  while (url) {
    const bundle = (await (await fetch(url, { headers: { authorization: `Bearer ${admin}` } })).json()) as Bundle;
    for (const e of bundle.entry ?? [])
      if (e.search?.mode === 'match') versions.set(`${e.resource!.resourceType}/${e.resource!.id}`, e.resource!.meta!.versionId!);
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return versions;
}

let bBefore: Map<string, string>;

beforeAll(async () => {
  server = await startTestServer({ seed: true });
  admin = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
  const token = await userToken(server, { ...PRACTITIONER, scope: 'launch/patient openid fhirUser patient/*.cruds', patient: A });
  expect(token.patient).toBe(A);
  tokenA = token.access_token;
  bBefore = await bCompartment();
  const aResources = new Set<string>();
  let url: string | undefined = `${server.fhirUrl}/Patient/${A}/$everything?_count=500`;
  while (url) {
    const bundle = (await (await fetch(url, { headers: { authorization: `Bearer ${admin}` } })).json()) as Bundle;
    for (const e of bundle.entry ?? []) if (e.search?.mode === 'match') aResources.add(`${e.resource!.resourceType}/${e.resource!.id}`);
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  for (const key of bBefore.keys()) if (!aResources.has(key)) onlyB.add(key);
  expect(onlyB.has(`Patient/${B}`)).toBe(true);
  expect(onlyB.size).toBeGreaterThan(100);
  const bObs = (await fhir(admin, 'GET', `Observation?patient=${B}&_count=1`)).body!.entry[0].resource;
  bObservation = bObs;
  aObservation = (await fhir(admin, 'GET', `Observation?patient=${A}&_count=1`)).body!.entry[0].resource;
  bMrn = (await fhir(admin, 'GET', `Patient/${B}`)).body!.identifier[0].value;
}, 120_000);

afterAll(async () => {
  console.log(`adversarial: ${probes.length} probes, ${probes.filter((p) => p.leaked).length} leaks`);
  await server?.stop();
});

describe('with a token for patient A, nothing of patient B is reachable', () => {
  it('runs every probe', async () => {
    const bObs = `Observation/${bObservation.id}`;
    const bEnc = [...onlyB].find((k) => k.startsWith('Encounter/'))!;
    // Direct reads, vreads and history.
    for (const path of [`Patient/${B}`, bObs, `${bObs}/_history/1`, `${bObs}/_history`, bEnc, `Patient/${B}/_history`]) {
      const res = await readProbe(`GET ${path}`, 'GET', path);
      expect([404]).toContain(res.status);
    }
    // Searches by patient, subject, chains, identifiers, and with no parameters.
    for (const query of [
      `Observation?patient=${B}`,
      `Observation?subject=Patient/${B}`,
      `Observation?subject:Patient=${B}`,
      `Observation?patient.identifier=${bMrn}`,
      `Observation?subject:Patient.identifier=${bMrn}`,
      `Observation?patient:Patient._id=${B}`,
      'Observation?_count=500',
      'Patient?_count=500',
      `Patient?_id=${B}`,
      `Patient?identifier=${bMrn}`,
      'Encounter?_count=500',
      'Condition?_count=500&_sort=-recorded-date',
      `Observation?_id=${bObservation.id}`,
      `Observation?code=${(bObservation as any).code.coding[0].code}&_count=500`,
      // Includes and reverse includes from A's data and from shared resources.
      'Observation?_count=50&_include=Observation:patient&_include=Observation:encounter',
      `Patient?_id=${A}&_revinclude=Observation:patient&_count=500`,
      'Practitioner?_revinclude=Observation:performer&_revinclude=Encounter:participant&_count=500',
      'Organization?_revinclude=Patient:organization&_count=500',
      'Group?_include=Group:member&_count=50',
      'Observation?_count=10&_include:iterate=Observation:patient&_include:iterate=Patient:link',
      // Reverse chaining and system-level search.
      `Patient?_has:Observation:patient:_id=${bObservation.id}`,
      'Patient?_has:Observation:patient:code=85354-9&_count=500',
      '?_type=Patient,Observation,Condition&_count=500',
      '?_count=500',
      // History at every level.
      'Observation/_history?_count=500',
      '_history?_count=500',
      // Compartments and $everything.
      `Patient/${B}/Observation`,
      `Patient/${B}/*`,
      `Patient/${B}/$everything`,
    ]) {
      await readProbe(`GET ${query}`, 'GET', query);
    }
    // POST _search with the criteria in a form body.
    const form = await fetch(`${server.fhirUrl}/Observation/_search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `patient=${B}`,
    });
    const formBody = await form.json();
    probes.push({
      name: 'POST Observation/_search patient=B',
      leaked: resourcesIn(formBody).some((r) => onlyB.has(`${r.resourceType}/${r.id}`)),
      detail: String(form.status),
    });

    // Batch and transaction entries, read and write.
    await readProbe('batch GET entries', 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Patient/${B}` } },
        { request: { method: 'GET', url: `Observation?patient=${B}` } },
        { request: { method: 'GET', url: bObs } },
      ],
    });
    await readProbe('transaction GET entries', 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ request: { method: 'GET', url: `Observation?subject=Patient/${B}` } }],
    });
    const batchWrite = await fhir(tokenA, 'POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: { ...bObservation, status: 'entered-in-error' }, request: { method: 'PUT', url: bObs } }],
    });
    probes.push({
      name: "batch PUT of B's Observation",
      leaked: !String(batchWrite.body?.entry?.[0]?.response?.status).startsWith('403'),
      detail: String(batchWrite.body?.entry?.[0]?.response?.status),
    });

    const newObsForB = { resourceType: 'Observation', status: 'final', code: { text: 'injected' }, subject: { reference: `Patient/${B}` } };
    await writeProbe('transaction creating an Observation for B (with one allowed entry)', 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'allowed for A' }, subject: { reference: `Patient/${A}` } },
          request: { method: 'POST', url: 'Observation' },
        },
        { resource: newObsForB, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    await writeProbe("transaction updating B's Observation", 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { ...bObservation, status: 'cancelled' }, request: { method: 'PUT', url: bObs } }],
    });

    // Direct writes: create into B's compartment, update B's resource, move A's resource to B.
    await writeProbe('POST Observation for B', 'POST', 'Observation', newObsForB);
    await writeProbe("PUT B's Observation", 'PUT', bObs, { ...bObservation, status: 'cancelled' });
    await writeProbe("PUT moving A's Observation to B", 'PUT', `Observation/${aObservation.id}`, { ...aObservation, subject: { reference: `Patient/${B}` } });
    await writeProbe("PUT B's Patient", 'PUT', `Patient/${B}`, { resourceType: 'Patient', id: B, active: false });
    await writeProbe('PUT a new resource id with B as subject', 'PUT', 'Observation/made-up-for-b', { ...newObsForB, id: 'made-up-for-b' });
    await writeProbe(
      "PATCH B's Observation",
      'PATCH',
      bObs,
      [{ op: 'replace', path: '/status', value: 'cancelled' }],
      { 'content-type': 'application/json-patch+json' },
      [404],
    );
    await writeProbe("conditional update whose criteria match B's Observation", 'PUT', `Observation?_id=${bObservation.id}`, { ...newObsForB });
    await writeProbe('conditional create for B', 'POST', 'Observation', newObsForB, { 'if-none-exist': `_id=${bObservation.id}` });
    // Deletes of B's data answer as for an absent resource and change nothing (checked below).
    await writeProbe("DELETE B's Observation", 'DELETE', bObs, undefined, {}, [200, 204]);
    await writeProbe("DELETE B's Patient", 'DELETE', `Patient/${B}`, undefined, {}, [200, 204]);
    await writeProbe("conditional DELETE matching B's Observation", 'DELETE', `Observation?_id=${bObservation.id}`, undefined, {}, [200, 204]);

    // Nothing of B's changed, and nothing new appeared in B's compartment.
    const bAfter = await bCompartment();
    const changed = [...bBefore].filter(([key, version]) => bAfter.get(key) !== version).map(([key]) => key);
    const added = [...bAfter.keys()].filter((key) => !bBefore.has(key));
    probes.push({
      name: "B's compartment unchanged after the write probes",
      leaked: changed.length + added.length > 0,
      detail: `changed ${changed.join(', ') || 'none'}, added ${added.join(', ') || 'none'}`,
    });

    const leaks = probes.filter((p) => p.leaked);
    expect(leaks, JSON.stringify(leaks, null, 2)).toEqual([]);
  }, 120_000);

  it("A's own data stays reachable with the same token (the probes are not vacuous)", async () => {
    expect((await fhir(tokenA, 'GET', `Patient/${A}`)).status).toBe(200);
    const obs = await fhir(tokenA, 'GET', `Observation?patient=${A}&_count=5`);
    expect(obs.body!.entry.length).toBe(5);
    const created = await fhir(tokenA, 'POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'by A' },
      subject: { reference: `Patient/${A}` },
    });
    expect(created.status).toBe(201);
    const everything = await fhir(tokenA, 'GET', `Patient/${A}/$everything?_count=50`);
    expect(everything.status).toBe(200);
  });
});

describe('token tampering', () => {
  it('refuses alg none, a foreign key with the right kid, expiry, a wrong audience and garbage with 401 invalid_token', async () => {
    const header = decodeProtectedHeader(tokenA);
    const claims = decodeJwt(tokenA);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const foreign = await generateKeyPair('ES256');
    const sign = (payload: Record<string, unknown>, key = foreign.privateKey) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: header.kid!, typ: 'at+jwt' }).sign(key);
    const now = Math.floor(Date.now() / 1000);
    const forged: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'at+jwt', kid: header.kid })}.${b64({ ...claims, patient: B })}.`,
      'foreign key, same kid': await sign({ ...claims, patient: B }),
      'payload swapped under the real signature': `${tokenA.split('.')[0]}.${b64({ ...claims, patient: B })}.${tokenA.split('.')[2]}`,
      expired: await sign({ ...claims, exp: now - 60, iat: now - 3600 }),
      garbage: 'not-a-token',
      'empty bearer': '',
      'HS256 with the public key as secret': `${b64({ alg: 'HS256', typ: 'at+jwt', kid: header.kid })}.${b64(claims)}.${Buffer.from('x').toString('base64url')}`,
    };
    void exportJWK;
    for (const [name, token] of Object.entries(forged)) {
      const res = await fhir(token, 'GET', `Patient/${B}`);
      probes.push({ name: `token: ${name}`, leaked: res.status !== 401, detail: String(res.status) });
      expect(res.status, name).toBe(401);
      expect(res.headers.get('www-authenticate'), name).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
      expect(res.body!.resourceType).toBe('OperationOutcome');
    }
    const missing = await fetch(`${server.fhirUrl}/Patient/${A}`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('refuses a token issued for another audience', async () => {
    // A real token from this server with a different aud cannot be minted by clients; one signed by another issuer stands in.
    const other = await generateKeyPair('ES256');
    const claims = decodeJwt(tokenA);
    const token = await new SignJWT({ ...claims, aud: 'https://other.example/api' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'other' })
      .sign(other.privateKey);
    expect((await fhir(token, 'GET', `Patient/${A}`)).status).toBe(401);
  });

  it('answers 403 insufficient_scope with the needed scope for a type the token does not name', async () => {
    const narrow = await userToken(server, { ...PRACTITIONER, scope: 'launch/patient patient/Observation.rs', patient: A });
    const res = await fhir(narrow.access_token, 'GET', `Condition?patient=${A}`);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="patient\/Condition\.s"/);
    expect(res.body!.issue[0].code).toBe('forbidden');
  });
});
