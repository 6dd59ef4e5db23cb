/**
 * An export belongs to its principal: the client and the user that started it.
 * - Two users of one public client (the sample app: dr.carter, a practitioner, and amy.shaw, a
 *   patient) cannot reach each other's export: status, files and DELETE answer exactly as for a
 *   made-up job id. The same user signed in again (another grant) can.
 * - When the owner's authorization ends (a revoked grant, a deleted client), the export stops,
 *   even mid-run, and its files are refused within the revocation window.
 * - A system-level export needs system access (a backend service); a token bound to a patient,
 *   or a user's token, is pointed to `Patient/$export`.
 * - `_typeFilter` hops are refused or limited exactly as the same search would be.
 * - The per-client quota answers every user of the client the same, naming no jobs or counts.
 * Real server, real tokens from the real authorization server, real HTTP.
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Observation, OperationOutcome, Resource } from 'fhir/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportJob } from '../../../src/bulk/job.js';
import { JobStore } from '../../../src/bulk/job-store.js';
import { extractIndex } from '../../../src/search/index.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { backendClient } from '../../support/tokens.js';
import { PATIENT_USER, PRACTITIONER, userToken, type TokenResponse } from '../../support/user-tokens.js';
import { download, kickOff, pollStatus, runExport, startExport } from './support.js';

const SAMPLE_APP = 'bedside-sample-app';
const USER_SCOPE = 'openid fhirUser offline_access user/*.rs';
/** Observations added for the exports that must still be running when something happens to them. */
const BULK_OBSERVATIONS = 60_000;

let server: TestServer;
let jobs: JobStore;

beforeAll(async () => {
  // A checkpoint every 50 ms: a running export shows progress and notices its owner's end within
  // a few batches, however fast the machine exports.
  server = await startTestServer({ seed: true, exportCheckpointMs: 50 });
  jobs = new JobStore(server.bedside.storage.documents);
  await loadObservations();
}, 300_000);
afterAll(async () => server?.stop());

/**
 * Adds BULK_OBSERVATIONS Observations straight into the store, before the first request: the
 * synchronous writes hold the event loop, which idle keep-alive connections would not survive.
 */
async function loadObservations(): Promise<void> {
  const baseUrl = server.fhirUrl;
  const batch: Observation[] = [];
  // Spread over nine of the sample patients, so Patient-level exports run long too.
  const flush = async () => {
    await server.bedside.storage.resources.bulkPut(
      batch.splice(0).map((resource) => ({
        resourceType: 'Observation',
        id: resource.id!,
        resource: resource as Resource,
        index: extractIndex(resource, { baseUrl }),
        method: 'PUT' as const,
      })),
    );
  };
  for (let i = 0; i < BULK_OBSERVATIONS; i++) {
    batch.push({
      resourceType: 'Observation',
      id: `bulk-${i}`,
      status: 'final',
      code: { text: 'bulk' },
      subject: { reference: `Patient/patient-00${(i % 9) + 1}` },
      valueQuantity: { value: i },
    });
    if (batch.length === 5000) await flush();
  }
  await flush();
}

interface Answer {
  status: number;
  body: string;
}

async function answer(method: string, url: string, token: string): Promise<Answer> {
  const response = await fetch(url, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.text() };
}

/** What `token` gets for `url` of job `jobId`, and for the same URL with a made-up job id, with the ids taken out. */
async function realAndMadeUp(method: string, url: string, jobId: string, token: string): Promise<[string, string]> {
  const madeUp = crypto.randomUUID();
  const real = await answer(method, url, token);
  const fake = await answer(method, url.replace(jobId, madeUp), token);
  return [JSON.stringify({ ...real, body: real.body.split(jobId).join('{id}') }), JSON.stringify({ ...fake, body: fake.body.split(madeUp).join('{id}') })];
}

function jobIdOf(statusUrl: string): string {
  return statusUrl.split('/').pop()!;
}

async function revokeGrant(token: TokenResponse): Promise<void> {
  const revoked = await fetch(`${server.issuer}/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: token.refresh_token!, client_id: SAMPLE_APP }),
  });
  expect(revoked.status).toBe(200);
}

/** Polls `probe` until it returns true; resolves to the milliseconds it took. */
async function within(timeoutMs: number, probe: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('two users of one public client', () => {
  let dr: TokenResponse;
  let amy: TokenResponse;
  const exports: Record<'dr' | 'amy', { statusUrl: string; fileUrl: string }> = {} as never;

  beforeAll(async () => {
    dr = await userToken(server, { ...PRACTITIONER, scope: USER_SCOPE });
    amy = await userToken(server, { ...PATIENT_USER, scope: USER_SCOPE });
    for (const [who, token] of [
      ['dr', dr],
      ['amy', amy],
    ] as const) {
      const statusUrl = await startExport(server.fhirUrl, token.access_token, 'Patient/$export', { query: { _type: 'Patient' } });
      const { manifest } = await pollStatus(statusUrl, token.access_token);
      exports[who] = { statusUrl, fileUrl: manifest.output[0]!.url };
    }
  }, 60_000);

  it("neither reaches the other's export: status, file and DELETE answer 404, exactly as for a made-up job id", async () => {
    for (const [caller, owner] of [
      [amy, 'dr'],
      [dr, 'amy'],
    ] as const) {
      const { statusUrl, fileUrl } = exports[owner];
      const jobId = jobIdOf(statusUrl);
      for (const [method, url] of [
        ['GET', statusUrl],
        ['GET', fileUrl],
        ['DELETE', statusUrl],
      ] as const) {
        const [real, madeUp] = await realAndMadeUp(method, url, jobId, caller.access_token);
        expect(JSON.parse(real).status, `${method} ${url}`).toBe(404);
        expect(real, `${method} of ${owner}'s job`).toBe(madeUp);
      }
    }
    // The DELETEs changed nothing: each owner still has its export.
    for (const [who, token] of [
      ['dr', dr],
      ['amy', amy],
    ] as const) {
      expect((await answer('GET', exports[who].statusUrl, token.access_token)).status).toBe(200);
      const { response, resources } = await download(exports[who].fileUrl, token.access_token);
      expect(response.status).toBe(200);
      expect(resources.length).toBeGreaterThan(0);
    }
    // The files were each user's own: amy's has only her own Patient record.
    expect((await download(exports.amy.fileUrl, amy.access_token)).resources.map((r) => r.id)).toEqual(['patient-001']);
  });

  it('the same user signed in again (another grant of the same client) reaches it', async () => {
    const again = await userToken(server, { ...PRACTITIONER, scope: USER_SCOPE });
    expect(again.access_token).not.toBe(dr.access_token);
    expect((await answer('GET', exports.dr.statusUrl, again.access_token)).status).toBe(200);
    expect((await download(exports.dr.fileUrl, again.access_token)).response.status).toBe(200);
  });
});

describe("the end of the owner's authorization ends the export", () => {
  it('a revoked grant: the files are refused (404) within the revocation window and deleted; the owner is told why', async () => {
    const owner = await userToken(server, { ...PRACTITIONER, scope: USER_SCOPE });
    const statusUrl = await startExport(server.fhirUrl, owner.access_token, 'Patient/$export', { query: { _type: 'Patient,Condition' } });
    const { manifest } = await pollStatus(statusUrl, owner.access_token);
    const jobId = jobIdOf(statusUrl);
    // The same user with another grant: still entitled to the job until the first grant goes.
    const other = await userToken(server, { ...PRACTITIONER, scope: USER_SCOPE });
    for (const file of manifest.output) expect((await download(file.url, other.access_token)).response.status).toBe(200);

    await revokeGrant(owner);
    const took = await within(
      server.config.revocationCheckMs,
      async () => (await download(manifest.output[0]!.url, other.access_token)).response.status === 404,
    );
    console.log(`files of a revoked grant's export refused ${took} ms after the revocation (REVOCATION_CHECK_MS ${server.config.revocationCheckMs})`);
    for (const file of manifest.output) expect((await download(file.url, other.access_token)).response.status).toBe(404);
    expect(existsSync(path.join(server.config.export.dir, jobId))).toBe(false);
    const status = await answer('GET', statusUrl, other.access_token);
    expect(status.status).toBe(403);
    const outcome = JSON.parse(status.body) as OperationOutcome;
    expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'forbidden' });
    expect(outcome.issue[0]!.diagnostics).toContain('(grant revoked or expired)');
    expect(await jobs.get(jobId)).toMatchObject({ state: 'failed', revoked: 'grant revoked or expired', output: [] });
    // The revoked token itself is refused at the door (the verifier's window).
    await within(server.config.revocationCheckMs + 2000, async () => (await answer('GET', statusUrl, owner.access_token)).status === 401);
    // The owner may clean up.
    expect((await answer('DELETE', statusUrl, other.access_token)).status).toBe(202);
    expect((await answer('GET', statusUrl, other.access_token)).status).toBe(404);
  });
});

describe('a system-level export needs system access', () => {
  it('refuses a patient-context token (403), pointing to Patient/$export, which it may use', async () => {
    const launched = await userToken(server, { ...PRACTITIONER, scope: 'openid fhirUser launch/patient patient/*.rs', patient: 'patient-006' });
    const response = await kickOff(server.fhirUrl, launched.access_token, '$export');
    expect(response.status).toBe(403);
    const outcome = (await response.json()) as OperationOutcome;
    expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'forbidden' });
    expect(outcome.issue[0]!.diagnostics).toContain('Patient/patient-006');
    expect(outcome.issue[0]!.diagnostics).toContain(`${server.fhirUrl}/Patient/$export`);
    // No job was made.
    expect((await jobs.inState('queued', 'running', 'completed', 'failed')).filter((j) => j.owner.patient === 'patient-006')).toEqual([]);
    const manifest = await runExport(server.fhirUrl, launched.access_token, 'Patient/$export', { query: { _type: 'Patient' } });
    expect(manifest.output.map((f) => f.count)).toEqual([1]);
  });

  it("refuses a patient user's user/ token and a practitioner's user/ token, each pointed to Patient/$export", async () => {
    for (const [user, bound] of [
      [PATIENT_USER, true],
      [PRACTITIONER, false],
    ] as const) {
      const token = await userToken(server, { ...user, scope: 'openid fhirUser user/*.rs' });
      const response = await kickOff(server.fhirUrl, token.access_token, '$export', { query: { _type: 'Patient' } });
      expect(response.status, user.username).toBe(403);
      const diagnostics = ((await response.json()) as OperationOutcome).issue[0]!.diagnostics!;
      expect(diagnostics).toContain(`${server.fhirUrl}/Patient/$export`);
      expect(diagnostics).toContain(bound ? 'bound to a patient' : "a user's token");
    }
  });

  it("accepts a backend service's system/ token", async () => {
    const token = await (await backendClient(server.baseUrl, 'system/Patient.rs')).token();
    const manifest = await runExport(server.fhirUrl, token, '$export', { query: { _type: 'Patient' } });
    expect(manifest.output[0]!.count).toBeGreaterThan(1);
  });
});

describe('_typeFilter is searched as the owner may search', () => {
  it('a chain into a type the owner may not search is refused exactly as the search is', async () => {
    const token = await (await backendClient(server.baseUrl, 'system/Observation.rs')).token();
    for (const criteria of [
      'subject:Patient.family=Shaw',
      'subject:Patient._has:Condition:patient:code=44054006',
      '_has:Condition:evidence-detail:code=44054006',
    ]) {
      const search = await fetch(`${server.fhirUrl}/Observation?${criteria}`, { headers: { authorization: `Bearer ${token}` } });
      const kick = await kickOff(server.fhirUrl, token, '$export', { query: { _type: 'Observation', _typeFilter: `Observation?${criteria}` } });
      expect(search.status, criteria).toBe(403);
      expect(kick.status, criteria).toBe(403);
      expect(kick.headers.get('www-authenticate')).toBe(search.headers.get('www-authenticate'));
      expect(await kick.json()).toEqual(await search.json());
      // handling=lenient does not drop the filter (that would export more than asked).
      const lenient = await kickOff(server.fhirUrl, token, '$export', {
        query: { _type: 'Observation', _typeFilter: `Observation?${criteria}` },
        headers: { prefer: 'respond-async, handling=lenient' },
      });
      expect(lenient.status).toBe(403);
    }
  });

  it("a chain into a type the owner may search is limited to what it may see: another patient's name finds nothing, as a made-up one", async () => {
    const launched = await userToken(server, { ...PRACTITIONER, scope: 'openid fhirUser launch/patient patient/*.rs', patient: 'patient-001' });
    const backend = await (await backendClient(server.baseUrl, 'system/Patient.rs system/Observation.rs')).token();
    const family = async (id: string) =>
      (
        (await (await fetch(`${server.fhirUrl}/Patient/${id}`, { headers: { authorization: `Bearer ${backend}` } })).json()) as {
          name: Array<{ family: string }>;
        }
      ).name[0]!.family;
    const own = await family('patient-001');
    const foreign = await family('patient-002');
    expect(foreign).not.toBe(own);
    const exported = async (name: string) => {
      const manifest = await runExport(server.fhirUrl, launched.access_token, 'Patient/$export', {
        query: { _type: 'Observation', _typeFilter: `Observation?subject:Patient.family=${encodeURIComponent(name)}` },
      });
      return manifest.output.reduce((n, f) => n + f.count, 0);
    };
    const search = async (name: string) =>
      (
        (await (
          await fetch(`${server.fhirUrl}/Observation?subject:Patient.family=${encodeURIComponent(name)}&_summary=count`, {
            headers: { authorization: `Bearer ${launched.access_token}` },
          })
        ).json()) as { total: number }
      ).total;
    const ownCount = await exported(own);
    expect(ownCount).toBeGreaterThan(0);
    expect(ownCount).toBe(await search(own));
    expect(await exported(foreign)).toBe(0);
    expect(await search(foreign)).toBe(0);
    expect(await exported('Zz-made-up')).toBe(0);
  });
});

describe('exports large enough to be stopped while they run', () => {
  /** Kicks off, then waits until the job is running and has written something. */
  async function runningExport(token: string, level: string, type = 'Observation'): Promise<string> {
    const statusUrl = await startExport(server.fhirUrl, token, level, { query: { _type: type } });
    const id = jobIdOf(statusUrl);
    await within(20_000, async () => {
      const job = await jobs.get(id);
      expect(job?.state, 'the export finished before the test could act: make BULK_OBSERVATIONS larger').not.toBe('completed');
      return job?.state === 'running' && job.progress.exported > 0;
    });
    return id;
  }

  it('a revoked grant stops a running export at its next checkpoint; nothing is left', async () => {
    const owner = await userToken(server, { ...PRACTITIONER, scope: USER_SCOPE });
    const id = await runningExport(owner.access_token, 'Patient/$export');
    await revokeGrant(owner);
    const took = await within(10_000, async () => (await jobs.get(id))?.state === 'failed');
    console.log(`a running export stopped ${took} ms after its grant was revoked`);
    const job = (await jobs.get(id)) as ExportJob;
    expect(job).toMatchObject({ revoked: 'grant revoked or expired', output: [] });
    expect(job.progress.exported).toBeLessThan(BULK_OBSERVATIONS);
    // The node that ran it deletes the files right after recording the end.
    await within(10_000, async () => !existsSync(path.join(server.config.export.dir, id)));
  });

  it("a deleted client's running export stops; its files are deleted", async () => {
    const client = await backendClient(server.baseUrl, 'system/Observation.rs');
    const id = await runningExport(await client.token(), '$export');
    const deleted = await fetch(client.registration.uri, { method: 'DELETE', headers: { authorization: `Bearer ${client.registration.accessToken}` } });
    expect(deleted.status).toBe(204);
    const took = await within(10_000, async () => (await jobs.get(id))?.state === 'failed');
    console.log(`a running export stopped ${took} ms after its client was deleted`);
    expect(await jobs.get(id)).toMatchObject({ revoked: 'client removed', output: [] });
    // The node that ran it deletes the files right after recording the end.
    await within(10_000, async () => !existsSync(path.join(server.config.export.dir, id)));
  });

  it("the quota is the client's and says the same to each of its users, naming no job and no count", async () => {
    const dr = await userToken(server, { ...PRACTITIONER, scope: USER_SCOPE });
    const amy = await userToken(server, { ...PATIENT_USER, scope: USER_SCOPE });
    const started: string[] = [];
    try {
      for (let i = 0; i < 5; i++) started.push(await startExport(server.fhirUrl, dr.access_token, 'Patient/$export', { query: { _type: 'Observation' } }));
      const answers: Answer[] = [];
      for (const token of [amy, dr]) {
        const response = await kickOff(server.fhirUrl, token.access_token, 'Patient/$export', { query: { _type: 'Patient' } });
        expect(response.headers.get('retry-after')).toBe('10');
        answers.push({ status: response.status, body: await response.text() });
      }
      expect(answers[0]!.status).toBe(429);
      expect(answers[0]).toEqual(answers[1]);
      const outcome = JSON.parse(answers[0]!.body) as OperationOutcome;
      expect(outcome.issue[0]!.diagnostics).toBe(
        'This client has reached its limit of 5 exports in progress at once (for all its users together); wait for one to finish or cancel one of yours (DELETE its status URL)',
      );
      // amy cannot cancel dr's jobs to make room: they are not hers (404, as for any unknown job).
      expect((await answer('DELETE', started[0]!, amy.access_token)).status).toBe(404);
    } finally {
      for (const url of started) await answer('DELETE', url, dr.access_token);
    }
  });
});
