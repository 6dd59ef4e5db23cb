import { readFileSync } from 'node:fs';
for (const f of ['hl7-r4-examples/ActivityDefinition-blood-tubes-supply.json','hl7-r4-examples/EventDefinition-example.json','hl7-r4-examples/Questionnaire-zika-virus-exposure-assessment.json']) {
  const r = JSON.parse(readFileSync('/work/shared/fhir-samples/' + f, 'utf8'));
  console.log(f, JSON.stringify(r.text.div).slice(0, 700));
}
const b = JSON.parse(readFileSync('/work/shared/fhir-samples/inferno-uscore/carin_bundle_patient_888.json', 'utf8'));
console.log(JSON.stringify(b.entry[0].resource.text));
const q = JSON.parse(readFileSync('/work/shared/fhir-samples/hl7-r4-examples/Questionnaire-bb.json', 'utf8'));
console.log(JSON.stringify(q.item[0].item[1].item[2].item[0].enableWhen));
