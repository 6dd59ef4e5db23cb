/**
 * A patient token's reach beyond the compartment (the Practitioners, Organizations ... that the
 * patient's records reference) follows the data within the revocation window (REVOCATION_CHECK_MS;
 * 0 = every request), for the token's whole lifetime: a new Observation naming a new Practitioner
 * makes that Practitioner readable and searchable with the same token, and deleting the
 * Observation makes it unreachable again (so no decision about it is kept in the guarded store
 * either). Patient-context tokens (launch/patient patient/*.rs) and patient users (user/*.rs).
 * Real HTTP, the real provider, real tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcServer, type OidcTestServer as TestServer } from '../oidc/support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken } from '../../support/user-tokens.js';

/** Time allowed beyond the window: the polling step and a request or two on a busy machine. */
const SLACK_MS = 1000;
const POLL_MS = 25;

describe.each([
  ['at its default (1 s)', undefined],
  ['at 0 (every request)', 0],
])('REVOCATION_CHECK_MS %s', (_label, revocationCheckMs) => {
  let server: TestServer;
  let admin: string;
  let window: number;

  const fhir = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.fhirBase}/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  };

  /** Polls `probe` until it answers `status`; returns how long that took after `since`, and how many probes. */
  async function until(probe: () => Promise<number>, status: number, since: number): Promise<{ ms: number; probes: number }> {
    for (let probes = 1; ; probes++) {
      if ((await probe()) === status) return { ms: Date.now() - since, probes };
      if (Date.now() - since > window + SLACK_MS) throw new Error(`still not ${status} after ${Date.now() - since} ms (window ${window} ms)`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  beforeAll(async () => {
    server = await startOidcServer({ config: revocationCheckMs !== undefined ? { revocationCheckMs } : {} });
    window = server.config.revocationCheckMs;
    expect(window).toBe(revocationCheckMs ?? 1000);
    admin = await (await backendClient(server.baseUrl, 'system/*.cruds')).token();
  }, 60_000);
  afterAll(async () => server?.stop());

  it.each([
    ['a patient-context token (patient/*.rs)', () => userToken(server, { ...PRACTITIONER, scope: 'launch/patient patient/*.rs', patient: 'patient-001' })],
    ['a patient user (user/*.rs)', () => userToken(server, { ...PATIENT_USER, scope: 'openid fhirUser user/*.rs' })],
  ])('%s reaches a newly referenced Practitioner within the window, and loses it within the window', async (_who, token) => {
    const { access_token: patient } = await token();
    // A practitioner that stays referenced throughout, so the type's filter never becomes
    // "nothing" and the answer about the newcomer is decided on the resource itself.
    const regular = await fhir(admin, 'POST', 'Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Regular' }] });
    const observation = async (practitioner: string) =>
      fhir(admin, 'POST', 'Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'seen' },
        subject: { reference: 'Patient/patient-001' },
        performer: [{ reference: practitioner }],
      });
    expect((await observation(`Practitioner/${regular.body!.id}`)).status).toBe(201);
    await until(async () => (await fhir(patient, 'GET', `Practitioner/${regular.body!.id}`)).status, 200, Date.now());
    const created = await fhir(admin, 'POST', 'Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Newcomer' }] });
    expect(created.status).toBe(201);
    const practitioner = `Practitioner/${created.body!.id}`;
    const read = async () => (await fhir(patient, 'GET', practitioner)).status;
    const searched = async () => (await fhir(patient, 'GET', `Practitioner?_id=${created.body!.id}`)).body!.total as number;

    // Not referenced by anything of patient-001's yet: out of reach (404, as for an absent one).
    expect(await read()).toBe(404);
    expect(await searched()).toBe(0);

    const seen = await observation(practitioner);
    expect(seen.status).toBe(201);
    const reached = await until(read, 200, Date.now());
    expect(await searched()).toBe(1);

    // The reference goes away: so does the reach, although this token has read it already.
    expect((await fhir(admin, 'DELETE', `Observation/${seen.body!.id}`)).status).toBe(200);
    const lost = await until(read, 404, Date.now());
    expect(await searched()).toBe(0);
    expect((await fhir(patient, 'GET', `Practitioner/${regular.body!.id}`)).status).toBe(200);

    console.log(
      `patient reach (window ${window} ms): reached after ${reached.ms} ms (${reached.probes} reads), lost after ${lost.ms} ms (${lost.probes} reads)`,
    );
    expect(reached.ms).toBeLessThanOrEqual(window + SLACK_MS);
    expect(lost.ms).toBeLessThanOrEqual(window + SLACK_MS);
    // With no window the very first request after the change sees it.
    if (window === 0) expect([reached.probes, lost.probes]).toEqual([1, 1]);
  });
});
