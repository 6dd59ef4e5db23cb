/**
 * A loader sink that runs transaction Bundles through Bedside's own FHIR API in this process,
 * with full validation and indexing but no HTTP and no token (seeding, `bedside load` without
 * --url). It has the unrestricted policy: only trusted tools may use it.
 */
import type { Bundle } from 'fhir/r4';
import type { ResourceAccess } from '../access/resource-access.js';
import { unrestrictedPolicy } from '../access/unrestricted.js';
import type { FhirApi } from '../fhir/api.js';
import { requestContext, type FhirServices } from '../fhir/context.js';
import { asFhirError } from '../fhir/storage-errors.js';
import type { BundleSink } from './loader.js';

export function inProcessSink(api: FhirApi, services: FhirServices, access: ResourceAccess): BundleSink {
  const store = access.bind(unrestrictedPolicy);
  return {
    describe: `in-process (${services.config.storage.kind})`,
    async submit(bundle) {
      try {
        const response = await api.dispatch(requestContext(services, store, 'loader'), {
          method: 'POST',
          path: '',
          query: new URLSearchParams(),
          headers: { prefer: 'return=minimal' },
          body: bundle,
          params: {},
        });
        const body = response.body && 'json' in response.body ? (JSON.parse(response.body.json as string) as Bundle) : (response.body as Bundle);
        return body;
      } catch (error) {
        const fhirError = asFhirError(error);
        if (fhirError) throw new Error(`${fhirError.status}: ${fhirError.issues[0]?.diagnostics ?? fhirError.message}`);
        throw error;
      }
    },
  };
}
