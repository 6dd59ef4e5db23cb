/**
 * The launcher's pieces that need no browser: the three browser bundles build (fhir-kit-client
 * included, its Node-only agent stubbed), the scope checkboxes produce valid SMART scope strings,
 * and the tutorial's Markdown renders without letting markup through.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultChoice, resourceTypeChoices, scopeString, type LaunchType, type ScopeChoice } from '../../launch/src/launcher/scope-builder.js';
import { grantedProfiles, profilesOf } from '../../launch/src/sample-app/inspector.js';
import { BUNDLE_ENTRIES, buildBundle, type BundleName } from '../../src/launcher/bundles.js';
import { renderMarkdown } from '../../src/launcher/markdown.js';
import { parseScopes } from '../../src/smart/scopes.js';

const LAUNCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../launch');

describe('browser bundles', () => {
  it.each(Object.keys(BUNDLE_ENTRIES) as BundleName[])('%s builds for the browser', async (name) => {
    const bundle = await buildBundle(LAUNCH_DIR, name);
    expect(bundle.code.length).toBeGreaterThan(1000);
    expect(bundle.code).not.toMatch(/\brequire\(["'](node:)?(http|https|net|tls)["']\)/);
    if (name === 'sample-app') expect(bundle.code).toContain('smart-configuration');
  });
});

describe('scope checkboxes', () => {
  it.each<[LaunchType, string]>([
    [
      'ehr',
      'openid fhirUser launch offline_access patient/Patient.rs patient/Observation.rs patient/Condition.rs patient/MedicationRequest.rs patient/AllergyIntolerance.rs patient/Immunization.rs',
    ],
    [
      'patient',
      'openid fhirUser launch/patient offline_access patient/Patient.rs patient/Observation.rs patient/Condition.rs patient/MedicationRequest.rs patient/AllergyIntolerance.rs patient/Immunization.rs',
    ],
    [
      'provider',
      'openid fhirUser launch/patient offline_access user/Patient.rs user/Observation.rs user/Condition.rs user/MedicationRequest.rs user/AllergyIntolerance.rs user/Immunization.rs',
    ],
    ['backend', 'system/Patient.rs system/Observation.rs system/Condition.rs system/MedicationRequest.rs system/AllergyIntolerance.rs system/Immunization.rs'],
  ])('%s launch starts with %s', (type, expected) => {
    expect(scopeString(defaultChoice(type))).toBe(expected);
    expect(parseScopes(expected).errors).toEqual([]);
  });

  it('writes v1, v2, granular and "all types" scopes the shared parser accepts', () => {
    const base = defaultChoice('ehr');
    const cases: Array<[ScopeChoice, string]> = [
      [{ ...base, version: 1, resourceTypes: ['Observation'] }, 'patient/Observation.read'],
      [{ ...base, version: 1, access: 'all', resourceTypes: ['Observation'] }, 'patient/Observation.*'],
      [{ ...base, access: 'all', resourceTypes: ['Condition'] }, 'patient/Condition.cruds'],
      [
        { ...base, resourceTypes: ['Observation'], observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category|vital-signs' },
        'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs',
      ],
      [{ ...base, resourceTypes: ['Patient', '*'] }, 'patient/*.rs'],
    ];
    for (const [choice, scope] of cases) {
      const string = scopeString({ ...choice, fixed: [] });
      expect(string).toBe(scope);
      expect(parseScopes(string).errors).toEqual([]);
    }
    expect(scopeString({ ...base, fixed: ['openid', 'openid'], resourceTypes: [], extra: ' openid  launch ' })).toBe('openid launch');
  });
});

describe('Implementation Guides in the launcher and the sample app', () => {
  it('offers the types an installed IG profiles after the usual ones', () => {
    expect(resourceTypeChoices([])).toEqual([
      'Patient',
      'Observation',
      'Condition',
      'MedicationRequest',
      'AllergyIntolerance',
      'Immunization',
      'Encounter',
      'Procedure',
      'DiagnosticReport',
      'Practitioner',
      '*',
    ]);
    expect(resourceTypeChoices(['Patient', 'Specimen', 'CarePlan', 'Observation']).slice(-3)).toEqual(['CarePlan', 'Specimen', '*']);
  });

  it('links each granted type to the profiles the server supports', () => {
    const profiles = profilesOf({
      rest: [
        {
          resource: [
            { type: 'Patient', supportedProfile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] },
            {
              type: 'Observation',
              supportedProfile: [
                'http://hl7.org/fhir/us/core/StructureDefinition/us-core-vital-signs',
                'http://hl7.org/fhir/us/core/StructureDefinition/us-core-smokingstatus',
              ],
            },
            { type: 'Binary' },
          ],
        },
      ],
    });
    expect(profiles).toEqual({
      Patient: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'],
      Observation: [
        'http://hl7.org/fhir/us/core/StructureDefinition/us-core-vital-signs',
        'http://hl7.org/fhir/us/core/StructureDefinition/us-core-smokingstatus',
      ],
    });
    expect(grantedProfiles('openid launch patient/Patient.rs patient/Device.rs', profiles)).toEqual([
      { type: 'Device', profiles: [] },
      { type: 'Patient', profiles: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'] },
    ]);
    expect(grantedProfiles('user/*.rs', profiles).map((r) => r.type)).toEqual(['Observation', 'Patient']);
  });
});

describe('tutorial Markdown', () => {
  it('renders headings, code, tables, lists, links and images', () => {
    const html = renderMarkdown(
      '# Title\n\nSome *text* with `code` and [a link](https://hl7.org).\n\n```sh\ncurl <x>\n```\n\n| a | b |\n| --- | --- |\n| 1 | `2` |\n\n- one\n- two\n\n![alt](images/x.png)',
    );
    expect(html).toContain('<h1 id="title">Title</h1>');
    expect(html).toContain('<em>text</em>');
    expect(html).toContain('<code>code</code>');
    expect(html).toContain('<a href="https://hl7.org">a link</a>');
    expect(html).toContain('<pre><code class="language-sh">curl &lt;x&gt;\n</code></pre>');
    expect(html).toContain('<td><code>2</code></td>');
    expect(html.replace(/\n/g, '')).toContain('<ul><li>one</li><li>two</li></ul>');
    expect(html).toContain('<img src="images/x.png" alt="alt">');
  });

  it('lets no markup or script URL through', () => {
    const html = renderMarkdown('<script>alert(1)</script> [x](javascript:alert(1)) ![y](data:text/html,hi) "quoted"');
    expect(html).not.toContain('<script');
    // The script and data URLs stay text: never a link, never an image source.
    expect(html).not.toMatch(/href="javascript:|src="data:|<a |<img /);
    expect(html).toContain('&quot;quoted&quot;');
  });
});
