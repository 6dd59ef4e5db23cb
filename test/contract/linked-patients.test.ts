/**
 * PRACTITIONER_PATIENTS=linked on every store: the patients linked to a practitioner user
 * (Patient.generalPractitioner, Encounter participant, CareTeam participant; access/rules.ts
 * PRACTITIONER_LINKS) are found by the store's own search, decide what the user may select
 * (the selection policy) and what their `user/` scopes reach, and follow the data.
 */
import type { Resource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResourceAccess, type PolicyCompiler, type ResourceAccess } from '../../src/access/resource-access.js';
import type { AccessPolicy } from '../../src/access/policy.js';
import { extractIndex } from '../../src/search/extract.js';
import { parseScopes, type ResourceScope } from '../../src/smart/scopes.js';
import { storeImplementations, type OpenStore } from '../support/stores.js';

const BASE = 'http://localhost:8080/fhir';
const patient = (id: string, extra: object = {}): Resource => ({ resourceType: 'Patient', id, ...extra }) as Resource;
const observation = (id: string, owner: string): Resource =>
  ({ resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${owner}` } }) as Resource;

const DATA: Resource[] = [
  { resourceType: 'Practitioner', id: 'prA' } as Resource,
  { resourceType: 'Practitioner', id: 'prB' } as Resource,
  { resourceType: 'PractitionerRole', id: 'roleA', practitioner: { reference: 'Practitioner/prA' } } as Resource,
  // A: prA is her general practitioner (written as an absolute reference to this server).
  patient('A', { generalPractitioner: [{ reference: `${BASE}/Practitioner/prA` }] }),
  patient('B'),
  patient('C'),
  patient('D'),
  patient('E'),
  // B: an encounter with prA taking part.
  {
    resourceType: 'Encounter',
    id: 'enc-B',
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: 'Patient/B' },
    participant: [{ individual: { reference: 'Practitioner/prA' } }],
  } as Resource,
  // C: a care team with the role roleA as a member.
  {
    resourceType: 'CareTeam',
    id: 'team-C',
    subject: { reference: 'Patient/C' },
    participant: [{ member: { reference: 'PractitionerRole/roleA' } }],
  } as Resource,
  // D: prB's encounter only.
  {
    resourceType: 'Encounter',
    id: 'enc-D',
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: 'Patient/D' },
    participant: [{ individual: { reference: 'Practitioner/prB' } }],
  } as Resource,
  // A care team for a Group links nobody.
  { resourceType: 'CareTeam', id: 'team-group', subject: { reference: 'Group/g1' }, participant: [{ member: { reference: 'Practitioner/prA' } }] } as Resource,
  ...['A', 'B', 'C', 'D', 'E'].map((p) => observation(`obs-${p}`, p)),
];

const put = (resource: Resource) => ({
  resourceType: resource.resourceType,
  id: resource.id!,
  resource: structuredClone(resource),
  index: extractIndex(resource, { baseUrl: BASE }),
  method: 'PUT' as const,
});

describe.each(storeImplementations())('patients linked to a practitioner, on $name', (implementation) => {
  let store: OpenStore;
  let linked: { access: ResourceAccess; policies: PolicyCompiler };
  let everyone: { access: ResourceAccess; policies: PolicyCompiler };

  beforeAll(async () => {
    store = await implementation.open();
    await store.resources.bulkPut(DATA.map(put));
    linked = createResourceAccess(store.resources, { fhirBaseUrl: BASE, referenceWindowMs: 0, practitionerPatients: 'linked' });
    everyone = createResourceAccess(store.resources, { fhirBaseUrl: BASE, referenceWindowMs: 0, practitionerPatients: 'all' });
  });
  afterAll(() => store?.dispose());

  const ids = async (access: ResourceAccess, policy: AccessPolicy, type: string): Promise<string[]> => {
    policy.assertAllowed(type, 'search');
    const page = await access.bind(policy).search({ types: [type], where: { op: 'true' }, sort: [], limit: 100 });
    return page.resources.map((v) => v.id).sort();
  };
  const userToken = (policies: PolicyCompiler, fhirUser: string) =>
    policies.compile({ scopes: parseScopes('user/*.rs').scopes as ResourceScope[], scopeStrings: ['user/*.rs'], clientId: 'c', subject: 's', fhirUser });

  it('the selection policy offers exactly the linked patients (by each kind of link), or everyone under `all`', async () => {
    const select = (fhirUser: string) => linked.policies.selection({ subject: 'u', fhirUser });
    expect(await ids(linked.access, select('Practitioner/prA'), 'Patient')).toEqual(['A', 'B']);
    expect(await ids(linked.access, select('PractitionerRole/roleA'), 'Patient')).toEqual(['C']);
    expect(await ids(linked.access, select('Practitioner/prB'), 'Patient')).toEqual(['D']);
    expect(await ids(linked.access, select('Practitioner/nobody'), 'Patient')).toEqual([]);
    expect(await ids(linked.access, select('Practitioner/prA'), 'Encounter')).toEqual(['enc-B']);
    expect(await ids(everyone.access, everyone.policies.selection({ subject: 'u', fhirUser: 'Practitioner/prA' }), 'Patient')).toEqual([
      'A',
      'B',
      'C',
      'D',
      'E',
    ]);
    // A patient user: herself; an account without fhirUser: what an operator granted, else nobody.
    expect(await ids(linked.access, linked.policies.selection({ subject: 'u', fhirUser: 'Patient/E' }), 'Patient')).toEqual(['E']);
    expect(await ids(linked.access, linked.policies.selection({ subject: 'u', patientGrant: ['C', 'D'] }), 'Patient')).toEqual(['C', 'D']);
    expect(await ids(linked.access, linked.policies.selection({ subject: 'u', patientGrant: 'all' }), 'Patient')).toEqual(['A', 'B', 'C', 'D', 'E']);
    const nobody = linked.policies.selection({ subject: 'u' });
    expect(() => nobody.assertAllowed('Patient', 'search')).toThrow(/no fhirUser/);
  });

  it("user/ scopes reach the linked patients' records, and follow the data", async () => {
    const token = userToken(linked.policies, 'Practitioner/prA');
    expect(await ids(linked.access, token, 'Observation')).toEqual(['obs-A', 'obs-B']);
    expect(await ids(everyone.access, userToken(everyone.policies, 'Practitioner/prA'), 'Observation')).toEqual(['obs-A', 'obs-B', 'obs-C', 'obs-D', 'obs-E']);

    const link = {
      resourceType: 'Encounter',
      id: 'enc-E',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: 'Patient/E' },
      participant: [{ individual: { reference: 'Practitioner/prA' } }],
    } as Resource;
    await store.resources.bulkPut([put(link)]);
    // The same policy (a token's, kept for its lifetime) sees the new link at once (window 0).
    expect(await ids(linked.access, token, 'Observation')).toEqual(['obs-A', 'obs-B', 'obs-E']);
    await store.resources.delete({ resourceType: 'Encounter', id: 'enc-E' });
    expect(await ids(linked.access, token, 'Observation')).toEqual(['obs-A', 'obs-B']);
  });
});
