import { startTestServer } from '../test/support/server.js';
import { backendClient } from '../test/support/tokens.js';
import { createBearerAuthenticator } from '../src/access/bearer-authenticator.js';
import { createBearerAuthenticator as oldAuthenticator } from './old-authenticator.js';
import { createAccessTokenVerifier as oldVerifier } from './old-verifier.js';
import { createRevocationCheck } from '../src/access/revocation.js';
import { createResourceAccess } from '../src/access/resource-access.js';
import { createAccessTokenVerifier, revocationRules } from '../src/auth/token-verification.js';

const server = await startTestServer({ seed: false });
const token = await (await backendClient(server.baseUrl, 'system/*.rs')).token();
const storage = (server.bedside as any).storage;
const { policies } = createResourceAccess(storage.resources, { fhirBaseUrl: server.fhirBase, referenceWindowMs: 1000 });
const issuer = server.issuer;
const now = createBearerAuthenticator({ verifier: createAccessTokenVerifier({ documents: storage.documents, issuer, audience: server.fhirBase }), revocation: createRevocationCheck(revocationRules(storage.documents), { windowMs: 60_000 }), policies, fhirBaseUrl: server.fhirBase });
const before = oldAuthenticator({ verifier: oldVerifier({ documents: storage.documents, issuer, audience: server.fhirBase, revocationCacheMs: 60_000 }), revocationCheckMs: 60_000, policies, fhirBaseUrl: server.fhirBase });
const header = `Bearer ${token}`;
const fresh = () => Buffer.from(header).toString();
async function run(a: { authenticate(h: string): Promise<unknown> }, n: number) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await a.authenticate(fresh());
  return Number(process.hrtime.bigint() - t) / n;
}
await run(now, 20000); await run(before, 20000);
{ const t = process.hrtime.bigint(); let x = 0; for (let i = 0; i < 700000; i++) x += fresh().length; console.log("fresh() alone", (Number(process.hrtime.bigint() - t) / 700000).toFixed(0), "ns", x > 0); }
const res: Record<string, number[]> = { before: [], now: [] };
for (let r = 0; r < 7; r++) { res.before.push(await run(before, 100000)); res.now.push(await run(now, 100000)); }
const med = (a: number[]) => [...a].sort((x, y) => x - y)[3]!;
console.log(`authenticate() per call, median of 7 × 100k, same token: main ${med(res.before).toFixed(0)} ns, this branch ${med(res.now).toFixed(0)} ns (token ${token.length} chars)`);
await server.stop();
process.exit(0);
