/**
 * What the installed packages add to Bedside's CapabilityStatement: the server
 * CapabilityStatements of their IGs (`instantiates`, e.g. US Core's us-core-server), the IGs
 * themselves (`implementationGuide`), and per resource type the profiles it supports
 * (`supportedProfile`) and the `_include`/`_revinclude` values those IGs ask for.
 * https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.instantiates
 */
import type { CapabilityStatement, ImplementationGuide, StructureDefinition } from 'fhir/r4';
import type { ResourceOperations } from '../storage/resource-store.js';
import type { InstalledPackage } from './conformance.js';

export interface PackageCapabilities {
  /** Canonical URLs of the IGs' server CapabilityStatements (kind `requirements`, mode `server`). */
  instantiates: string[];
  /** Canonical URLs of the installed ImplementationGuides. */
  implementationGuides: string[];
  /** Resource type to the profiles the packages define or their server statements list. */
  profiles: Map<string, string[]>;
  /** Resource type to the `_include` and `_revinclude` values the server statements list. */
  includes: Map<string, { include: string[]; revinclude: string[] }>;
}

export async function packageCapabilities(reader: ResourceOperations, installed: readonly InstalledPackage[]): Promise<PackageCapabilities> {
  const refs = installed.flatMap((p) =>
    p.resources.filter((r) => ['CapabilityStatement', 'ImplementationGuide', 'StructureDefinition'].includes(r.resourceType)),
  );
  const resources = (await reader.readMany(refs.map((r) => ({ resourceType: r.resourceType, id: r.id })))).map((v) => v.resource!);
  const result: PackageCapabilities = { instantiates: [], implementationGuides: [], profiles: new Map(), includes: new Map() };
  const addProfile = (type: string, url: string) => {
    const list = result.profiles.get(type) ?? [];
    if (!list.includes(url)) list.push(url);
    result.profiles.set(type, list);
  };
  for (const resource of resources) {
    if (resource.resourceType === 'ImplementationGuide') {
      const ig = resource as ImplementationGuide;
      if (ig.url) result.implementationGuides.push(ig.url);
    } else if (resource.resourceType === 'StructureDefinition') {
      const sd = resource as StructureDefinition;
      if (sd.kind === 'resource' && sd.derivation === 'constraint' && !sd.abstract) addProfile(sd.type, sd.url);
    } else {
      const cs = resource as CapabilityStatement;
      const server = cs.rest?.find((r) => r.mode === 'server');
      if (cs.kind !== 'requirements' || !server || !cs.url) continue;
      result.instantiates.push(cs.url);
      for (const r of server.resource ?? []) {
        for (const url of r.supportedProfile ?? []) addProfile(r.type, url);
        const entry = result.includes.get(r.type) ?? { include: [], revinclude: [] };
        for (const i of r.searchInclude ?? []) if (!entry.include.includes(i)) entry.include.push(i);
        for (const i of r.searchRevInclude ?? []) if (!entry.revinclude.includes(i)) entry.revinclude.push(i);
        if (entry.include.length || entry.revinclude.length) result.includes.set(r.type, entry);
      }
    }
  }
  for (const list of result.profiles.values()) list.sort();
  return result;
}
