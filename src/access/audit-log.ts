/**
 * The FHIR API's audit log: every denied access (401, 403) and every write, with who (subject,
 * fhirUser, client), what (method, path, resource) and the outcome. Kept in the DocumentStore
 * (collection `audit`, shared by every node, kept AUDIT_RETENTION_DAYS) and shown to operators
 * at /oauth/admin/audit. Records are written in the same group commit as the request's own
 * writes; recording never fails a request (a failure is logged).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { DocumentStore } from '../storage/document-store.js';
import type { Principal } from './policy.js';

export const AUDIT_COLLECTION = 'audit';
const RETENTION_MS = 90 * 24 * 3600 * 1000;

export interface AuditRecord {
  /** ISO instant. */
  time: string;
  /** `admin`: an operator's change to users, clients or resource servers (auth/admin/). */
  outcome: 'denied' | 'written' | 'failed-write' | 'admin';
  status: number;
  method: string;
  /** Path below the FHIR base (no query string: it may carry personal data). */
  path: string;
  resource?: string;
  subject?: string;
  clientId?: string;
  fhirUser?: string;
  patient?: string;
  /** Why access was denied (the OperationOutcome diagnostics); for admin records, what changed. */
  reason?: string;
  /** The operator-configured claims of the access token (CLAIM_MAPPINGS with "access_token"). */
  claims?: Record<string, unknown>;
  /** Admin records: the change (`user.lock`, `client.rotate-secret` ...) and what it applied to. */
  action?: string;
  target?: string;
  requestId: string;
}

export interface AuditLog {
  record(entry: Omit<AuditRecord, 'time'>): void;
  list(options?: { limit?: number; clientId?: string; subject?: string; outcome?: AuditRecord['outcome'] }): Promise<AuditRecord[]>;
}

/** Writes one record and waits for it (admin changes; the FHIR API's `record` does not wait). */
export async function writeAuditRecord(documents: DocumentStore, entry: Omit<AuditRecord, 'time'>): Promise<void> {
  const now = Date.now();
  const record: AuditRecord = { time: new Date(now).toISOString(), ...entry };
  // Sortable ids: time first, then randomness (several nodes write at once).
  const id = `${now.toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`;
  await documents.collection<AuditRecord>(AUDIT_COLLECTION).put(id, record, {
    expiresAt: now + RETENTION_MS,
    keys: { outcome: record.outcome, ...(record.clientId ? { clientId: record.clientId } : {}), ...(record.subject ? { subject: record.subject } : {}) },
  });
}

export function createAuditLog(documents: DocumentStore, logger: Logger): AuditLog {
  const collection = documents.collection<AuditRecord>(AUDIT_COLLECTION);
  return {
    record(entry) {
      writeAuditRecord(documents, entry).catch((error: unknown) => logger.error({ err: error, requestId: entry.requestId }, 'could not write an audit record'));
    },
    async list(options = {}) {
      const limit = Math.min(options.limit ?? 200, 1000);
      const key = options.clientId
        ? { name: 'clientId', value: options.clientId }
        : options.subject
          ? { name: 'subject', value: options.subject }
          : options.outcome
            ? { name: 'outcome', value: options.outcome }
            : undefined;
      const docs = await collection.list({ limit, ...(key ? { key } : {}) });
      return docs.map((d) => d.value).filter((r) => (!options.outcome || r.outcome === options.outcome) && (!options.subject || r.subject === options.subject));
    },
  };
}

/** The principal's fields for an audit record. */
export function auditWho(principal: Principal | undefined): Pick<AuditRecord, 'subject' | 'clientId' | 'fhirUser' | 'patient' | 'claims'> {
  if (!principal) return {};
  return {
    ...(principal.subject ? { subject: principal.subject } : {}),
    ...(principal.clientId ? { clientId: principal.clientId } : {}),
    ...(principal.fhirUser ? { fhirUser: principal.fhirUser } : {}),
    ...(principal.patient ? { patient: principal.patient } : {}),
    ...(principal.claims && Object.keys(principal.claims).length ? { claims: principal.claims } : {}),
  };
}
