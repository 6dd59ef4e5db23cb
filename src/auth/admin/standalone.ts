/**
 * An AdminService over an opened store, without a running server: what the `bedside users |
 * clients | resource-servers` commands use. Client changes get Bedside's own metadata rules
 * (scope grammar, redirect URIs, first-party flag); the running provider re-validates a client
 * when it next loads it.
 */
import { isKnownResourceType } from '../../fhir/validation.js';
import type { Config } from '../../config.js';
import { RevocationNotices } from '../../security/revocation-notices.js';
import type { Storage } from '../../storage/open.js';
import { AccountStore } from '../accounts/account-store.js';
import { issuerOf } from '../endpoints.js';
import { FederatedIdentities } from '../accounts/federation/identities.js';
import { ProviderRecords } from '../provider/records.js';
import { ResourceServerRegistry } from '../policy/resource-servers/registry.js';
import { AdminService } from './service.js';

export async function openAdminService(config: Config, storage: Pick<Storage, 'documents' | 'resources'>): Promise<AdminService> {
  const resourceServers = new ResourceServerRegistry(storage.documents, config.resourceServers);
  await resourceServers.refresh();
  // No FHIR API runs in the command's process: servers see its revocations within REVOCATION_CHECK_MS.
  const revocations = new RevocationNotices();
  return new AdminService({
    documents: storage.documents,
    accounts: new AccountStore(storage.documents, config.fhirBaseUrl),
    records: new ProviderRecords(storage.documents, revocations),
    revocations,
    identities: new FederatedIdentities(storage.documents),
    resourceServers,
    async fhirUserExists(reference) {
      const [type, id] = reference.split('/');
      const version = type && id ? await storage.resources.read(type, id) : undefined;
      return version !== undefined && !version.deleted;
    },
    parse: { isResourceType: isKnownResourceType },
    fhirBaseUrl: config.fhirBaseUrl,
    issuer: issuerOf(config),
  });
}
