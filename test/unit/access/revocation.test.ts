/**
 * The revocation check's decisions (access/revocation.ts) against a rule whose answers the test
 * controls: one store read per token id per window, never a remembered "revoked", notices that
 * drop exactly what they cover, and a check that was under way when a notice came is not kept.
 * (The rule itself, and the whole path over HTTP: test/integration/access/revocation.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRevocationCheck, type RevocationRules } from '../../../src/access/revocation.js';
import type { Principal } from '../../../src/access/policy.js';
import { RevocationNotices } from '../../../src/security/revocation-notices.js';

/** A rule over a set of revoked facts, counting how often it is asked. */
function rules() {
  const revoked = new Set<string>();
  const asked: string[] = [];
  let gate: Promise<void> | undefined;
  const rule: RevocationRules = {
    async whyRevoked(facts) {
      asked.push(facts.jti ?? facts.grant_id ?? '');
      // The store is read now; the answer arrives when the gate opens.
      const answer = [`grant:${facts.grant_id}`, `jti:${facts.jti}`, `client:${facts.client_id}`, `sub:${facts.sub}`, `fhirUser:${facts.fhirUser}`].find((k) =>
        revoked.has(k),
      );
      if (gate) await gate;
      return answer;
    },
  };
  return {
    rule,
    revoked,
    asked,
    /** Holds every store read until the returned function is called. */
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

const alice: Principal = { tokenId: 'jti-a', grantId: 'grant-a', clientId: 'app', subject: 'alice' };
const alice2: Principal = { tokenId: 'jti-a2', grantId: 'grant-a', clientId: 'app', subject: 'alice' };
const bob: Principal = { tokenId: 'jti-b', grantId: 'grant-b', clientId: 'app', subject: 'bob' };
const backend: Principal = { tokenId: 'jti-s', clientId: 'lab', subject: 'lab' };

describe('revocation check', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }));
  afterEach(() => vi.useRealTimers());

  it('asks the rule once per token id per window, and again when the window ends', async () => {
    const r = rules();
    const check = createRevocationCheck(r.rule, { windowMs: 1000 });
    expect(await check.isRevoked(alice)).toBe(false);
    expect(await check.isRevoked(alice)).toBe(false);
    expect(await check.isRevoked(alice2)).toBe(false);
    expect(r.asked).toEqual(['jti-a', 'jti-a2']);
    r.revoked.add('grant:grant-a');
    vi.setSystemTime(Date.now() + 999);
    expect(await check.isRevoked(alice)).toBe(false);
    vi.setSystemTime(Date.now() + 1);
    expect(await check.isRevoked(alice)).toBe(true);
    expect(await check.isRevoked(alice)).toBe(true);
    expect(r.asked).toEqual(['jti-a', 'jti-a2', 'jti-a', 'jti-a']);
  });

  it('with a window of 0 asks on every call', async () => {
    const r = rules();
    const check = createRevocationCheck(r.rule, { windowMs: 0 });
    await check.isRevoked(alice);
    await check.isRevoked(alice);
    expect(r.asked).toEqual(['jti-a', 'jti-a']);
  });

  it('concurrent calls for one token share one read', async () => {
    const r = rules();
    const check = createRevocationCheck(r.rule, { windowMs: 1000 });
    const release = r.hold();
    const answers = Promise.all([check.isRevoked(alice), check.isRevoked(alice), check.isRevoked(alice)]);
    release();
    expect(await answers).toEqual([false, false, false]);
    expect(r.asked).toEqual(['jti-a']);
  });

  it.each([
    ['a grant', { grantId: 'grant-a' }, ['jti-a', 'jti-a2']],
    ['a token', { tokenId: 'jti-a' }, ['jti-a']],
    ['an account', { subject: 'alice' }, ['jti-a', 'jti-a2']],
    ['a client', { clientId: 'lab' }, ['jti-s']],
  ])('a notice about %s drops exactly the decisions it covers', async (_what, notice, dropped) => {
    const r = rules();
    const notices = new RevocationNotices();
    const check = createRevocationCheck(r.rule, { windowMs: 60_000, notices });
    for (const p of [alice, alice2, bob, backend]) await check.isRevoked(p);
    r.asked.length = 0;
    notices.announce(notice as Parameters<RevocationNotices['announce']>[0]);
    for (const p of [alice, alice2, bob, backend]) await check.isRevoked(p);
    expect(r.asked).toEqual(dropped);
  });

  it('a check under way when a notice comes is answered but not kept, and later calls do not join it', async () => {
    const r = rules();
    const notices = new RevocationNotices();
    const check = createRevocationCheck(r.rule, { windowMs: 60_000, notices });
    const release = r.hold();
    const before = check.isRevoked(alice);
    // The revocation lands in the store after that read, and is announced.
    r.revoked.add('grant:grant-a');
    notices.announce({ grantId: 'grant-a' });
    const after = check.isRevoked(alice);
    release();
    expect(await before).toBe(false);
    expect(await after).toBe(true);
    expect(await check.isRevoked(alice)).toBe(true);
    expect(r.asked).toEqual(['jti-a', 'jti-a', 'jti-a']);
  });

  it('principals not made from a token (no token id, no grant) have nothing to revoke', async () => {
    const r = rules();
    const check = createRevocationCheck(r.rule, { windowMs: 1000 });
    expect(await check.isRevoked({ clientId: 'bedside-auth', subject: 'bedside-auth' })).toBe(false);
    expect(r.asked).toEqual([]);
  });

  it('a principal recorded from a token (an export job) follows the same rules, by grant or by token id', async () => {
    const r = rules();
    const check = createRevocationCheck(r.rule, { windowMs: 0 });
    const job: Principal = { ...backend, scopes: ['system/*.rs'] };
    expect(await check.isRevoked(job)).toBe(false);
    r.revoked.add('jti:jti-s');
    expect(await check.isRevoked(job)).toBe(true);
    r.revoked.clear();
    r.revoked.add('sub:alice');
    expect(await check.whyRevoked({ grantId: 'grant-a', clientId: 'app', subject: 'alice' })).toBe('sub:alice');
    r.revoked.clear();
    r.revoked.add('fhirUser:Practitioner/1');
    expect(await check.whyRevoked({ grantId: 'grant-a', clientId: 'app', subject: 'alice', fhirUser: 'Practitioner/1' })).toBe('fhirUser:Practitioner/1');
    expect(await check.whyRevoked({ grantId: 'grant-a', clientId: 'app', subject: 'alice' })).toBeUndefined();
  });

  it('keeps a bounded number of decisions', async () => {
    const r = rules();
    const check = createRevocationCheck(r.rule, { windowMs: 60_000, maxDecisions: 2 });
    for (const p of [alice, alice2, bob]) await check.isRevoked(p);
    r.asked.length = 0;
    await check.isRevoked(alice);
    await check.isRevoked(bob);
    expect(r.asked).toEqual(['jti-a']);
  });
});
