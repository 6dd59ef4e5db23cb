/**
 * SMART's `fhirUser` scope: after an EHR launch with `launch openid fhirUser patient/*.rs`, the
 * app may read the current user's own resource (the Practitioner named in `fhirUser`) and nothing
 * more through it: not another practitioner, not a search of practitioners, not an include.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-identity-data
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { PRACTITIONER, userToken } from '../../support/user-tokens.js';

let server: TestServer;

async function ehrLaunchToken(target: TestServer, scope: string): Promise<string> {
  const launch = (await (
    await fetch(`${target.baseUrl}/launcher/api/launch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ launch_uri: `${target.baseUrl}/sample-app/launch`, patient: 'patient-003', practitioner: 'practitioner-001' }),
    })
  ).json()) as { launch: string };
  return (await userToken(target, { ...PRACTITIONER, scope, launch: launch.launch })).access_token;
}

async function get(token: string, path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.fhirUrl}/${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  server = await startTestServer({ seed: true });
});
afterAll(async () => {
  await server?.stop();
});

describe('the fhirUser scope', () => {
  it("reads exactly the user's own resource, and nothing more through it", async () => {
    const token = await ehrLaunchToken(server, 'launch openid fhirUser patient/*.rs');
    // practitioner-001 is not referenced by patient-003's records: only the fhirUser scope reaches it.
    const own = await get(token, PRACTITIONER.fhirUser);
    expect(own.status).toBe(200);
    expect(own.body.id).toBe('practitioner-001');
    // Another practitioner patient-003's records do not reference is out of reach, as before.
    const others = await get(token, 'Practitioner/practitioner-009');
    expect(others.status).toBe(404);
    // No search through it: the scope reads one resource (the patient scopes' search does not find it).
    const search = await get(token, 'Practitioner?_id=practitioner-001&_total=accurate');
    expect(search.status).toBe(200);
    expect(search.body.total).toBe(0);
    // Nor an include: the user's resource comes back only by a read.
    const encounters = await get(token, 'Encounter?patient=patient-003&_include=Encounter:participant&_count=100');
    expect(encounters.status).toBe(200);
    const included = (encounters.body.entry ?? [])
      .filter((e: any) => e.search?.mode === 'include')
      .map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);
    expect(included).not.toContain(PRACTITIONER.fhirUser);
  });

  it('gives nothing without the fhirUser scope', async () => {
    const token = await ehrLaunchToken(server, 'launch openid patient/Observation.rs');
    expect((await get(token, PRACTITIONER.fhirUser)).status).toBe(403);
  });
});
