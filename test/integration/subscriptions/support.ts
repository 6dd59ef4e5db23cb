/**
 * Real receivers for subscription notifications: a loopback HTTP server that records every
 * request it gets (rest-hooks), and helpers to create subscriptions and wait for their status.
 */
import type { Subscription } from 'fhir/r4';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { freePort } from '../../support/server.js';

export interface ReceivedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Epoch ms (performance.timeOrigin based) when the request was complete. */
  at: number;
}

/** A loopback HTTP endpoint that answers every request with `status` (200 unless changed) and keeps it. */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  status = 200;
  #server: Server | undefined;
  #waiters: Array<() => void> = [];
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: performance.timeOrigin + performance.now(),
        });
        res.writeHead(this.status, { 'content-length': '0' }).end();
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
    this.#server.keepAliveTimeout = 30_000;
    // A port of freePort's, not one the OS picks now: that may be one a server being started by
    // a concurrent test was given and has not bound yet.
    const port = await freePort();
    await new Promise<void>((resolve) => this.#server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** Resolves once `count` requests arrived (rejects after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 15_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} notifications, got ${this.requests.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.requests;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

export const FHIR_JSON = 'application/fhir+json';

/** A client of the FHIR API with one bearer token. */
export function fhirClient(fhirBase: string, token: string) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': FHIR_JSON, accept: FHIR_JSON };
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${fhirBase}/${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body: unknown) => call('POST', path, body),
    put: (path: string, body: unknown) => call('PUT', path, body),
    delete: (path: string) => call('DELETE', path),
  };
}
export type FhirClient = ReturnType<typeof fhirClient>;

/** Creates a subscription (201 expected) and returns it; `serverLog` (a separate process's output) is shown when it fails. */
export async function subscribe(
  client: FhirClient,
  subscription: Omit<Subscription, 'resourceType' | 'status' | 'reason'> & { status?: Subscription['status']; reason?: string },
  serverLog?: () => string,
): Promise<Subscription> {
  const created = await client.post('Subscription', { resourceType: 'Subscription', status: 'requested', reason: 'test', ...subscription });
  // The process's log line may arrive a moment after the response.
  if (created.status !== 201 && serverLog) await new Promise((r) => setTimeout(r, 500));
  expect(created.status, `${JSON.stringify(created.body)}${serverLog ? `\n--- server log ---\n${serverLog().slice(-6000)}` : ''}`).toBe(201);
  return created.body as unknown as Subscription;
}

/** Waits until the subscription's status is `status`; returns it. */
export async function statusOf(client: FhirClient, id: string, status: Subscription['status'], timeoutMs = 15_000): Promise<Subscription> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const read = await client.get(`Subscription/${id}`);
    const subscription = read.body as unknown as Subscription;
    if (subscription?.status === status) return subscription;
    if (Date.now() > deadline) throw new Error(`Subscription/${id} is ${subscription?.status} (${subscription?.error ?? 'no error'}), not ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An Observation about `patient` with a LOINC code. */
export function observation(patient: string, code: string, extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patient}` },
    ...extra,
  };
}

/** A websocket client (the `ws` package) that keeps every message and how it closed. */
export class SocketClient {
  readonly messages: Array<Record<string, unknown>> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #ws: import('ws').WebSocket;
  #waiters: Array<() => void> = [];

  private constructor(ws: import('ws').WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(url: string): Promise<SocketClient> {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new SocketClient(ws);
  }

  send(text: string): void {
    this.#ws.send(text);
  }

  /** Resolves once `count` messages arrived (rejects after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 15_000): Promise<Array<Record<string, unknown>>> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} websocket messages, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages;
  }

  close(): void {
    this.#ws.close();
  }
}

/** The status parameters of a notification Bundle, by name (type, status, events-since-subscription-start ...). */
export function statusOfBundle(bundle: Record<string, unknown>): Record<string, unknown> {
  const entries = bundle.entry as Array<{ resource: { parameter: Array<Record<string, unknown> & { name: string }> } }>;
  const out: Record<string, unknown> = {};
  for (const p of entries[0]!.resource.parameter) {
    const value = Object.entries(p).find(([k]) => k.startsWith('value'))?.[1];
    out[p.name] = value ?? p.part;
  }
  return out;
}
