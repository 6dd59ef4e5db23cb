/**
 * The revocation rule (access/token-verification.ts `revocationRules`) over the IssuerRecords
 * port, with an in-memory twin of the authorization server's records: which facts stand, which
 * reason each revoked one gets, and which records are read for them (only what the facts name).
 * (The same rule over the real store and HTTP: test/integration/access/revocation.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { IssuerRecords } from '../../../src/access/issuer-records.js';
import { revocationRules, type RevocationFacts } from '../../../src/access/token-verification.js';

function records(state: { clients?: string[]; grants?: string[]; revokedJti?: string[]; accounts?: Record<string, { locked: boolean; fhirUser?: string }> }) {
  const reads: string[] = [];
  const twin: IssuerRecords = {
    publicKeys: async () => ({ keys: [] }),
    hasClient: async (id) => (reads.push(`client:${id}`), (state.clients ?? []).includes(id)),
    hasGrant: async (id) => (reads.push(`grant:${id}`), (state.grants ?? []).includes(id)),
    isTokenIdRevoked: async (id) => (reads.push(`jti:${id}`), (state.revokedJti ?? []).includes(id)),
    account: async (id) => (reads.push(`account:${id}`), state.accounts?.[id]),
  };
  return { twin, reads };
}

const world = {
  clients: ['app', 'lab'],
  grants: ['grant-1'],
  revokedJti: ['jti-revoked'],
  accounts: { alice: { locked: false, fhirUser: 'Patient/p1' }, bob: { locked: true }, carol: { locked: false } },
};

describe('revocation rules', () => {
  const cases: Array<[string, RevocationFacts, string | undefined, string[]]> = [
    [
      'a user token whose grant, client and account stand',
      { client_id: 'app', sub: 'alice', jti: 'j1', grant_id: 'grant-1', fhirUser: 'Patient/p1' },
      undefined,
      ['client:app', 'grant:grant-1', 'account:alice'],
    ],
    ['a backend token (sub = client_id) not on the revoked list', { client_id: 'lab', sub: 'lab', jti: 'j2' }, undefined, ['client:lab', 'jti:j2']],
    ['a removed client', { client_id: 'gone', sub: 'gone', jti: 'j3' }, 'client removed', ['client:gone', 'jti:j3']],
    [
      'a revoked or expired grant',
      { client_id: 'app', sub: 'alice', jti: 'j4', grant_id: 'grant-2' },
      'grant revoked or expired',
      ['client:app', 'grant:grant-2', 'account:alice'],
    ],
    ['a token id on the revoked list', { client_id: 'lab', sub: 'lab', jti: 'jti-revoked' }, 'token revoked', ['client:lab', 'jti:jti-revoked']],
    [
      'a removed account',
      { client_id: 'app', sub: 'dave', jti: 'j5', grant_id: 'grant-1' },
      'account removed',
      ['client:app', 'grant:grant-1', 'account:dave'],
    ],
    ['a locked account', { client_id: 'app', sub: 'bob', jti: 'j6', grant_id: 'grant-1' }, 'account locked', ['client:app', 'grant:grant-1', 'account:bob']],
    [
      'an account now linked to another fhirUser',
      { client_id: 'app', sub: 'alice', jti: 'j7', grant_id: 'grant-1', fhirUser: 'Patient/p2' },
      'fhirUser changed',
      ['client:app', 'grant:grant-1', 'account:alice'],
    ],
    [
      'an account that lost its fhirUser',
      { client_id: 'app', sub: 'carol', jti: 'j8', grant_id: 'grant-1', fhirUser: 'Practitioner/x' },
      'fhirUser changed',
      ['client:app', 'grant:grant-1', 'account:carol'],
    ],
    [
      'a token that acts as no fhirUser',
      { client_id: 'app', sub: 'carol', jti: 'j9', grant_id: 'grant-1' },
      undefined,
      ['client:app', 'grant:grant-1', 'account:carol'],
    ],
    [
      'the client before the grant',
      { client_id: 'gone', sub: 'alice', jti: 'j10', grant_id: 'grant-2' },
      'client removed',
      ['client:gone', 'grant:grant-2', 'account:alice'],
    ],
  ];
  for (const [what, facts, reason, read] of cases) {
    it(`${what}: ${reason ?? 'stands'}`, async () => {
      const { twin, reads } = records(world);
      expect(await revocationRules(twin).whyRevoked(facts)).toBe(reason);
      expect(reads.sort()).toEqual([...read].sort());
    });
  }
});
