/**
 * Token endpoint throughput: SMART Backend Services tokens (client_credentials with a
 * private_key_jwt assertion) requested by `concurrency` parallel clients for `durationSeconds`.
 *
 * Each request carries a fresh assertion (unique jti, as the server refuses replays). Assertions
 * are signed before the timed window so that the load generator, which shares the CPU with the
 * server on one machine, spends its time sending requests; if the pool runs out, the rest are
 * signed on the fly (counted in the wall time, not in the latencies).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

export interface TokenEndpointOptions {
  /** Server base URL (BASE_URL), e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  concurrency?: number;
  durationSeconds?: number;
  /** Client assertion algorithm (SMART: RS384 or ES384). */
  alg?: 'RS384' | 'ES384';
  /** Bearer initial access token when REGISTRATION_TOKEN is set. */
  registrationToken?: string;
  /** Assertions signed ahead of the timed window. */
  preparedAssertions?: number;
}

export interface TokenEndpointResult {
  requestsPerSecond: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function tokenEndpointScenario(options: TokenEndpointOptions): Promise<TokenEndpointResult> {
  const concurrency = options.concurrency ?? 16;
  const durationMs = (options.durationSeconds ?? 10) * 1000;
  const alg = options.alg ?? 'RS384';
  const smart = (await (await fetch(`${options.baseUrl}/fhir/.well-known/smart-configuration`)).json()) as {
    token_endpoint: string;
    registration_endpoint: string;
  };

  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `bench-${randomBytes(4).toString('hex')}`;
  const registration = await fetch(smart.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.registrationToken ? { authorization: `Bearer ${options.registrationToken}` } : {}) },
    body: JSON.stringify({
      client_name: 'token endpoint benchmark',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: alg,
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }] },
      scope: 'system/*.rs',
    }),
  });
  if (registration.status !== 201) throw new Error(`client registration failed: ${registration.status} ${await registration.text()}`);
  const { client_id: clientId } = (await registration.json()) as { client_id: string };

  const sign = (key: CryptoKey) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: clientId, sub: clientId, aud: smart.token_endpoint, jti: randomBytes(16).toString('base64url'), iat: now, exp: now + 290 })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .sign(key);
  };
  const pool: string[] = [];
  const prepared = options.preparedAssertions ?? Math.min(60_000, Math.ceil((durationMs / 1000) * 1500));
  for (let i = 0; i < prepared; i++) pool.push(await sign(privateKey));

  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const assertion = pool.pop() ?? (await sign(privateKey));
      const t0 = performance.now();
      try {
        const response = await fetch(smart.token_endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            scope: 'system/Patient.rs',
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: assertion,
          }),
        });
        const body = (await response.json()) as { access_token?: string };
        if (response.status !== 200 || !body.access_token) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: Math.round((latencies.length - errors) / elapsed),
    p50: Number(percentile(latencies, 50).toFixed(2)),
    p99: Number(percentile(latencies, 99).toFixed(2)),
    errors,
    requests: latencies.length,
  };
}
