/**
 * Launch contexts: the EHR launch values minted by `POST /launcher/api/launch` (single-use,
 * five minutes), and the context each grant ends up with (patient, encounter, banner, style,
 * intent, fhirContext), which the token response, the access token and introspection report.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#launch-context-arrives-with-your-access_token
 */
import { randomBytes } from 'node:crypto';
import type { DocumentStore } from '../../storage/document-store.js';

/** SMART 2.1+ fhirContext entry (object form). */
export interface FhirContextItem {
  reference?: string;
  canonical?: string;
  identifier?: { system?: string; value?: string };
  type?: string;
  role?: string;
}

/** What an EHR launch carries, as minted by the launcher API. */
export interface EhrLaunch {
  launchUri: string;
  patient: string;
  encounter?: string;
  practitioner?: string;
  needPatientBanner: boolean;
  intent?: string;
  fhirContext?: FhirContextItem[];
  /** The EHR's style document for this launch, instead of Bedside's own. */
  smartStyleUrl?: string;
  /** Simulated EHR session: `practitioner` is signed in without a password (ehr-session.ts). */
  simulateSession?: boolean;
  createdAt: number;
}

/** The context of one grant, reported with every token issued from it. */
export interface GrantContext {
  launch: 'ehr' | 'standalone';
  patient?: string;
  encounter?: string;
  needPatientBanner: boolean;
  smartStyleUrl: string;
  intent?: string;
  fhirContext?: FhirContextItem[];
}

/** An EHR launch value is usable once, within five minutes (docs/contract.md). */
export const LAUNCH_TTL_MS = 5 * 60 * 1000;

/** Collections: unused EHR launches, and the context of each grant. */
export const LAUNCH_COLLECTION = 'smart.launches';
export const GRANT_CONTEXT_COLLECTION = 'smart.grant-contexts';

export class LaunchContexts {
  readonly #launches;
  readonly #grants;

  constructor(documents: DocumentStore) {
    this.#launches = documents.collection<EhrLaunch>(LAUNCH_COLLECTION);
    this.#grants = documents.collection<GrantContext>(GRANT_CONTEXT_COLLECTION);
  }

  /** Stores an EHR launch and returns its opaque value. */
  async mint(launch: Omit<EhrLaunch, 'createdAt'>, now = Date.now()): Promise<string> {
    const id = randomBytes(24).toString('base64url');
    await this.#launches.put(id, { ...launch, createdAt: now }, { expiresAt: now + LAUNCH_TTL_MS });
    return id;
  }

  /** Reads a launch without using it up (authorization request validation). */
  async peek(id: string): Promise<EhrLaunch | undefined> {
    return this.#launches.get(id);
  }

  /** Uses a launch up: the first caller gets it, any later caller gets undefined. */
  async take(id: string): Promise<EhrLaunch | undefined> {
    return this.#launches.take(id);
  }

  async saveForGrant(grantId: string, context: GrantContext, expiresAt?: number): Promise<void> {
    await this.#grants.put(grantId, context, { ...(expiresAt ? { expiresAt } : {}) });
  }

  async forGrant(grantId: string): Promise<GrantContext | undefined> {
    return this.#grants.get(grantId);
  }

  async deleteForGrant(grantId: string): Promise<void> {
    await this.#grants.delete(grantId);
  }
}
