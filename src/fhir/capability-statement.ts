/**
 * The CapabilityStatement, generated from what the server really supports: the route table's
 * interactions, the registry's search parameters and the registered operations.
 * https://hl7.org/fhir/R4/capabilitystatement.html
 */
import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestSecurity } from 'fhir/r4';
import type { Config } from '../config.js';
import { SEARCH_DOCUMENTATION, UNREGISTERED_PARAMS } from '../search/documentation.js';
import { resourceTypes } from './validation.js';

export interface CapabilityOptions {
  config: Config;
  /** Search parameters per type (name, type, definition URL). */
  searchParams?: (resourceType: string) => Array<{ name: string; type: string; definition?: string; documentation?: string }>;
  /** Operations offered per level. */
  operations?: Array<{ name: string; definition: string; level: 'system' | 'type' | 'instance'; types?: string[] }>;
  /** The SMART security section (oauth-uris extension), from the authorization server. */
  security?: CapabilityStatementRestSecurity;
  /** Per-type notes (CapabilityStatement.rest.resource.documentation), e.g. what Subscriptions support. */
  documentation?: Record<string, string>;
  /** The websocket URL clients bind subscriptions on (R4 capabilitystatement-websocket extension). */
  websocketUrl?: string;
  version: string;
  /** What installed FHIR packages add (packages/capability.ts). */
  packages?: {
    instantiates: string[];
    implementationGuides: string[];
    profiles: ReadonlyMap<string, string[]>;
    includes: ReadonlyMap<string, { include: string[]; revinclude: string[] }>;
  };
}

/**
 * CapabilityStatements of implementation guides this server instantiates, each claimed when the
 * operation that guide is about is offered: Bulk Data 2.0.0 asks an exporting server to declare
 * its CapabilityStatement, and clients look for it to decide whether there is a bulk export
 * (https://hl7.org/fhir/uv/bulkdata/STU2/CapabilityStatement-bulk-data.html).
 */
const INSTANTIATES: Array<{ capabilityStatement: string; whenOffered: string }> = [
  {
    capabilityStatement: 'http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data',
    whenOffered: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
  },
];

const TYPE_INTERACTIONS: CapabilityStatementRestResource['interaction'] = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
].map((code) => ({ code: code as 'read' }));

export function buildCapabilityStatement(options: CapabilityOptions): CapabilityStatement {
  const { config } = options;
  const resources: CapabilityStatementRestResource[] = resourceTypes().map((type) => {
    const resource: CapabilityStatementRestResource = {
      type,
      profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
      interaction: TYPE_INTERACTIONS,
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalRead: 'full-support',
      conditionalUpdate: true,
      conditionalDelete: 'single',
      referencePolicy: ['literal', 'logical', 'local'],
    };
    const params = options.searchParams?.(type);
    if (params?.length) {
      resource.searchParam = [...params, ...UNREGISTERED_PARAMS].map((p: { name: string; type: string; definition?: string; documentation?: string }) => {
        const documentation = p.documentation ?? SEARCH_DOCUMENTATION[p.name];
        return { name: p.name, type: p.type as 'string', ...(p.definition ? { definition: p.definition } : {}), ...(documentation ? { documentation } : {}) };
      });
    }
    const profiles = options.packages?.profiles.get(type);
    if (profiles?.length) resource.supportedProfile = profiles;
    const includes = options.packages?.includes.get(type);
    if (includes?.include.length) resource.searchInclude = includes.include;
    if (includes?.revinclude.length) resource.searchRevInclude = includes.revinclude;
    const ops = options.operations?.filter((o) => o.level !== 'system' && (!o.types || o.types.includes(type)));
    // One entry per operation, whether offered at type level, instance level or both.
    if (ops?.length) resource.operation = [...new Map(ops.map((o) => [o.name, { name: o.name, definition: o.definition }])).values()];
    const documentation = options.documentation?.[type];
    if (documentation) resource.documentation = documentation;
    return resource;
  });
  const systemOps = options.operations?.filter((o) => o.level === 'system') ?? [];
  const offered = new Set(options.operations?.map((o) => o.definition));
  const instantiates = INSTANTIATES.filter((i) => offered.has(i.whenOffered)).map((i) => i.capabilityStatement);
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'Bedside',
    kind: 'instance',
    ...(instantiates.length || options.packages?.instantiates.length ? { instantiates: [...instantiates, ...(options.packages?.instantiates ?? [])] } : {}),
    software: { name: 'Bedside', version: options.version },
    implementation: { description: 'Bedside SMART on FHIR server', url: config.fhirBaseUrl },
    fhirVersion: '4.0.1',
    ...(options.packages?.implementationGuides.length ? { implementationGuide: options.packages.implementationGuides } : {}),
    // https://hl7.org/fhir/R4/http.html#mime-type and #patch: FHIR JSON and XML; JSON Patch and FHIRPath Patch.
    format: ['application/fhir+json', 'json', 'application/fhir+xml', 'xml'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json', 'application/fhir+xml'],
    rest: [
      {
        mode: 'server',
        // https://hl7.org/fhir/R4/extension-capabilitystatement-websocket.html
        ...(options.websocketUrl
          ? { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket', valueUri: options.websocketUrl }] }
          : {}),
        ...(options.security ? { security: options.security } : {}),
        resource: resources,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }, { code: 'history-system' }],
        ...(systemOps.length ? { operation: systemOps.map((o) => ({ name: o.name, definition: o.definition })) } : {}),
      },
    ],
  };
}
