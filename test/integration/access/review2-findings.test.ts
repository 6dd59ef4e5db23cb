/**
 * Second outside review of issue 13 (access control by construction), after findings 1-9 of
 * review-findings.test.ts were fixed: reproductions of what is still open. Each test states the
 * outcome that should hold and fails on main of 2026-12-06 (f2a89cb); the lead fixes the code,
 * the tests stay.
 *
 * The standard is the inference suite's: a request must not reveal anything about data outside
 * the token's reach, and the answer for a value that exists only outside the reach equals the
 * answer for a made-up value (status, total, entries, links, body once the value, server-made ids
 * and times are taken out). Writes must not land in another patient's record.
 *
 * Findings, most severe first:
 * 1. What a patient token reaches by reference (Practitioner, Organization, Location ...) is
 *    computed from all of the patient's records, including those the token may not read (other
 *    types, other categories of a granular scope): reading a directory entry tells whether some
 *    hidden record of the patient names it (a lab result by the HIV clinic's doctor, an
 *    encounter at a methadone clinic).
 * 2. A patient token writes its own Patient into another patient's compartment through
 *    Patient.link (a compartment parameter of Patient): its record then shows in the other
 *    patient's `$everything` and compartment searches.
 * 3. Search paging cursors carry the store's row id: two of a patient's own records tell how many
 *    resources were created in between, by anyone (history cursors no longer do this).
 * 4. SECURITY.md says a conditional update that matches nothing creates with a server-assigned
 *    id; with an id in the body, a restricted token gets 403 instead.
 */
import type { Bundle } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken } from '../../support/user-tokens.js';
import { comparable, fhirCall, type Answer } from '../../support/answers.js';

const A = 'patient-001';
const B = 'patient-002';
const MADE_UP = 'zz-made-up-4e7a';
/** The reach of a patient token follows the data within this window (REVOCATION_CHECK_MS). */
const WINDOW_MS = 200;
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

let server: TestServer;
let admin: string;

const call = (token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fhirCall(server.fhirUrl, token, method, path, body, headers);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const idOf = (answer: Answer) => (answer.body as { id: string }).id;

beforeAll(async () => {
  server = await startTestServer({ seed: true, revocationCheckMs: WINDOW_MS });
  admin = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('second review of issue 13: where its outcomes still do not hold', () => {
  it('1. what a patient token reaches by reference depends only on records the token may read', async () => {
    // An encounter of A at a clinic, and a lab result of A by a specialist: records the tokens below may not read.
    expect(
      (await call(admin, 'PUT', 'Organization/methadone-clinic', { resourceType: 'Organization', id: 'methadone-clinic', name: 'Harbor Methadone Clinic' }))
        .status,
    ).toBe(201);
    expect(
      (await call(admin, 'PUT', 'Practitioner/hiv-specialist', { resourceType: 'Practitioner', id: 'hiv-specialist', name: [{ family: 'Okafor' }] })).status,
    ).toBe(201);
    expect(
      (
        await call(admin, 'POST', 'Encounter', {
          resourceType: 'Encounter',
          status: 'finished',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
          subject: { reference: `Patient/${A}` },
          serviceProvider: { reference: 'Organization/methadone-clinic' },
        })
      ).status,
    ).toBe(201);
    const lab = await call(admin, 'POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: CATEGORY, code: 'laboratory' }] }],
      code: { text: 'HIV-1 RNA' },
      subject: { reference: `Patient/${A}` },
      performer: [{ reference: 'Practitioner/hiv-specialist' }],
    });
    expect(lab.status).toBe(201);
    await pause(WINDOW_MS * 3);

    // An app that may read A's Patient and Organizations, but not A's Encounters.
    const directory = (await userToken(server, { ...PRACTITIONER, scope: 'launch/patient openid patient/Patient.rs patient/Organization.rs', patient: A }))
      .access_token;
    expect((await call(directory, 'GET', 'Encounter?_summary=count')).status).toBe(403);
    const organization = (v: string) => call(directory, 'GET', `Organization/${v}`);
    expect
      .soft(comparable(await organization('methadone-clinic'), ['methadone-clinic']), 'an Organization named only by an Encounter the token may not read')
      .toBe(comparable(await organization(MADE_UP), [MADE_UP]));
    const organizations = (v: string) => call(directory, 'GET', `Organization?name=${encodeURIComponent(v)}&_summary=count`);
    expect
      .soft(comparable(await organizations('Harbor Methadone'), ['Harbor Methadone']), 'a search for it')
      .toBe(comparable(await organizations('Zzmadeup Clinic'), ['Zzmadeup Clinic']));

    // A vital-signs app (granular scope) that may also read A's practitioners.
    const vitals = (
      await userToken(server, {
        ...PRACTITIONER,
        scope: `launch/patient openid patient/Observation.rs?category=${CATEGORY}|vital-signs patient/Practitioner.rs`,
        patient: A,
      })
    ).access_token;
    expect((await call(vitals, 'GET', `Observation/${idOf(lab)}`)).status).toBe(404);
    const practitioner = (v: string) => call(vitals, 'GET', `Practitioner/${v}`);
    expect
      .soft(comparable(await practitioner('hiv-specialist'), ['hiv-specialist']), 'a Practitioner named only by a laboratory result outside the granular scope')
      .toBe(comparable(await practitioner(MADE_UP), [MADE_UP]));
  }, 60_000);

  it("2. a patient token cannot put its own record into another patient's compartment through Patient.link", async () => {
    const token = (await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.cruds' })).access_token;
    const before = (await call(token, 'GET', `Patient/${A}`)).body as Record<string, unknown>;
    const compartment = async () => ((await call(admin, 'GET', `Patient/${B}/Patient?_elements=id`)).body as Bundle).entry?.map((e) => e.resource!.id) ?? [];
    expect(await compartment()).toEqual([B]);
    // Patient.link is a compartment parameter of Patient (R4 CompartmentDefinition): A's record would name B.
    const linked = await call(token, 'PUT', `Patient/${A}`, { ...before, link: [{ other: { reference: `Patient/${B}` }, type: 'seealso' }] });
    expect.soft(linked.status, "a write that makes the patient's own record name another patient").toBe(403);
    expect.soft(await compartment(), "Patient A in patient B's compartment").toEqual([B]);
    const everything =
      ((await call(admin, 'GET', `Patient/${B}/$everything?_type=Patient`)).body as Bundle).entry?.map(
        (e) => `${e.resource!.resourceType}/${e.resource!.id}`,
      ) ?? [];
    expect.soft(everything, "Patient A in patient B's $everything").not.toContain(`Patient/${A}`);
    if (linked.status === 200) await call(admin, 'PUT', `Patient/${A}`, before);
  }, 60_000);

  it('3. search paging cursors tell nothing of resources created outside the reach', async () => {
    const token = (await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.cruds' })).access_token;
    const mine = async (text: string) =>
      idOf(await call(token, 'POST', 'Observation', { resourceType: 'Observation', status: 'final', code: { text }, subject: { reference: `Patient/${A}` } }));
    /** What the two cursors of paging `_id=first,second` one by one say about the gap between the two records. */
    const gap = async (first: string, second: string): Promise<unknown> => {
      const path = `Observation?_id=${first},${second}&_count=1`;
      const one = (await call(token, 'GET', path)).body as Bundle;
      const next = one.link!.find((l) => l.relation === 'next')!.url;
      const two = (await call(token, 'GET', next.slice(server.fhirUrl.length + 1))).body as Bundle;
      const previous = two.link!.find((l) => l.relation === 'previous')!.url;
      // What anyone can read out of the cursor (base64url JSON today): the store's key of the row.
      const key = (url: string) => {
        try {
          return (JSON.parse(Buffer.from(new URL(url).searchParams.get('_cursor')!, 'base64url').toString('utf8')) as unknown[])[2];
        } catch {
          return undefined;
        }
      };
      const [a, b] = [key(next), key(previous)];
      return typeof a === 'number' && typeof b === 'number' ? b - a : undefined;
    };
    // Two of A's records with seven of B's created in between, and two with nothing in between.
    const first = await mine('cursor-1');
    for (let i = 0; i < 7; i++)
      expect(
        (
          await call(admin, 'POST', 'Observation', {
            resourceType: 'Observation',
            status: 'final',
            code: { text: `b-${i}` },
            subject: { reference: `Patient/${B}` },
          })
        ).status,
      ).toBe(201);
    const second = await mine('cursor-2');
    const third = await mine('cursor-3');
    const fourth = await mine('cursor-4');
    expect(await gap(first, second), 'the cursors count the records created for patient B in between').toEqual(await gap(third, fourth));
  }, 60_000);

  it('4. a conditional update that matches nothing: created with a server-assigned id, or refused alike for any id the body names', async () => {
    const token = (await userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.cruds' })).access_token;
    const body = (id?: string, value = `matches-nothing-${Math.random()}`) => ({
      resourceType: 'Observation',
      ...(id ? { id } : {}),
      identifier: [{ system: 'urn:example:review2', value }],
      status: 'final',
      code: { text: 'conditional update' },
      subject: { reference: `Patient/${A}` },
    });
    const put = (resource: ReturnType<typeof body>) =>
      call(token, 'PUT', `Observation?identifier=${encodeURIComponent(`urn:example:review2|${resource.identifier[0]!.value}`)}`, resource);
    // No id: the server creates it (R4 http.html#cond-update "No matches, no id provided").
    const created = await put(body());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // An id in the body makes it an update-as-create, which a token that does not reach every
    // Observation may not do: the same 403 for a made-up id and for another patient's record.
    const others = await call(admin, 'POST', 'Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'b' },
      subject: { reference: `Patient/${B}` },
    });
    const foreign = idOf(others);
    const answer = async (id: string) => {
      const res = await put(body(id, 'same-value'));
      return JSON.stringify({ status: res.status, body: JSON.stringify(res.body).split(id).join('{id}') });
    };
    const [real, madeUp] = [await answer(foreign), await answer('zz-made-up-review2')];
    expect(real).toBe(madeUp);
    expect(JSON.parse(real).status).toBe(403);
  }, 60_000);
});
