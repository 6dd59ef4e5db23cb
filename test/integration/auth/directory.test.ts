/**
 * One patient directory (src/directory/patient-directory.ts) for the sign-in pages' pickers and
 * the launcher: a patient and an encounter read the same on both, whoever reads them through
 * which policy. Real server, real HTTP, the picker pages as a browser submits them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedFetch, backendClient } from '../../support/tokens.js';
import { asPage, Browser, formTo } from './support/browser.js';
import { sampleAuthorization } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let patientId: string;

beforeAll(async () => {
  server = await startTestServer();
  const fhir = authorizedFetch(await (await backendClient(server.baseUrl, 'system/Patient.cruds system/Encounter.cruds')).token());
  const create = async (resource: Record<string, unknown>) => {
    const response = await fhir(`${server.fhirBase}/${resource.resourceType}`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(resource),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  };
  patientId = await create({
    resourceType: 'Patient',
    name: [{ use: 'official', prefix: ['Mr'], given: ['Zebedee'], family: 'Quill', suffix: ['Jr'] }],
    gender: 'male',
    birthDate: '1950-02-03',
  });
  await create({
    resourceType: 'Encounter',
    status: 'finished',
    class: { code: 'AMB' },
    type: [{ text: 'Check-up' }],
    subject: { reference: `Patient/${patientId}` },
    period: { start: '2024-03-01T09:00:00Z' },
  });
});

afterAll(async () => {
  await server?.stop();
});

describe('one patient directory', () => {
  it('names a patient and labels an encounter alike in the launcher and the sign-in pickers', async () => {
    const launcher = async (path: string) => (await fetch(`${server.baseUrl}/launcher/api/${path}`)).json();
    expect(await launcher(`patients?q=Quill`)).toEqual([{ id: patientId, name: 'Mr Zebedee Quill Jr', gender: 'male', birthDate: '1950-02-03' }]);
    expect(await launcher(`patients/${patientId}/encounters`)).toEqual([
      { id: expect.any(String), label: 'Check-up · 2024-03-01', start: '2024-03-01T09:00:00Z', status: 'finished' },
    ]);

    const browser = new Browser();
    const request = sampleAuthorization(server, { scope: 'launch/patient launch/encounter patient/*.rs' });
    const login = asPage(await browser.go(request.url, { stopAt: request.redirectUri }));
    const first = asPage(await browser.submit(formTo(login, '/login'), { username: 'dr.carter', password: 'bedside-demo' }, undefined, request.redirectUri));
    const picker = asPage(await browser.go(`${first.url.split('?')[0]}?q=Quill`, { stopAt: request.redirectUri }));
    expect(picker.html).toContain(`<span>Mr Zebedee Quill Jr<code>male · 1950-02-03 · Patient/${patientId}</code></span>`);
    const encounters = asPage(await browser.submit(formTo(picker, '/patient'), { patient: patientId }, undefined, request.redirectUri));
    expect(encounters.html).toContain('<strong>Mr Zebedee Quill Jr</strong>');
    expect(encounters.html).toMatch(/<span>Check-up · 2024-03-01 · finished<code>Encounter\/[^<]+<\/code><\/span>/);
  });
});
