/**
 * The FHIR XML converter (src/fhir/xml/): every official R4 example round-trips JSON → XML → JSON
 * unchanged, decimals to the digit; hand-written XML documents (test/fixtures/xml, written from
 * https://hl7.org/fhir/R4/xml.html) read to the JSON written beside them, and that JSON writes
 * back to the same XML; hostile and malformed XML is refused with 400 before anything is built.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_XML_DEPTH, isLosslessNumber, jsonTextToXml, parseJsonExact, resourceFromXml, resourceToXml, xmlToJsonText } from '../../../src/fhir/xml/index.js';
import { FhirError } from '../../../src/r4/errors.js';
import { hasSharedSamples, sharedPath } from '../../support/shared-samples.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/xml');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');
const FIXTURE_NAMES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => f.slice(0, -4));

/** The first difference between two values, as a path, for readable failures. */
function firstDifference(a: unknown, b: unknown, at = ''): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !isLosslessNumber(a)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${at}.${key}`);
      if (d) return d;
    }
  }
  return `${at}: ${JSON.stringify(a)?.slice(0, 200)} ≠ ${JSON.stringify(b)?.slice(0, 200)}`;
}

/** A hand-written document as the writer writes it: no declaration, comments, schema hints or indentation. */
function canonical(xml: string): string {
  return xml
    .replace(/<\?xml[^>]*\?>/, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\s+xmlns:xsi="[^"]*"|\s+xsi:schemaLocation="[^"]*"/g, '')
    .replace(/>\s+</g, '><')
    .trim();
}

describe.skipIf(!hasSharedSamples)('every official R4 example (../shared)', () => {
  const dir = sharedPath('hl7-r4-examples');
  const files = hasSharedSamples ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];

  it('round-trips JSON → XML → JSON unchanged, decimals with their trailing zeros', () => {
    expect(files.length).toBe(710);
    const failures: string[] = [];
    let decimalsWithZeros = 0;
    for (const file of files) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      const original = parseJsonExact(text);
      const xml = jsonTextToXml(text);
      const back = parseJsonExact(xmlToJsonText(xml));
      const difference = firstDifference(original, back);
      if (difference) failures.push(`${file}${difference}`);
      decimalsWithZeros += (xml.match(/ value="-?\d+\.\d*0"/g) ?? []).length;
    }
    expect(failures).toEqual([]);
    // The set holds decimals such as 0.10 and 1.0, which a JavaScript number would shorten.
    expect(decimalsWithZeros).toBeGreaterThan(20);
  }, 120_000);

  it('the examples cover primitive extensions, ids on primitives, contained resources and narratives', () => {
    const all = files.map((f) => readFileSync(path.join(dir, f), 'utf8'));
    expect(all.filter((t) => /"_[a-zA-Z]+":\s*[[{]/.test(t)).length).toBeGreaterThan(10);
    expect(all.filter((t) => t.includes('"contained"')).length).toBeGreaterThan(10);
    expect(all.filter((t) => t.includes('"div"')).length).toBeGreaterThan(500);
  });
});

describe('hand-written XML documents', () => {
  it.each(FIXTURE_NAMES)('%s: the XML reads to the JSON beside it', (name) => {
    const expected = parseJsonExact(fixture(`${name}.json`));
    const read = parseJsonExact(xmlToJsonText(fixture(`${name}.xml`)));
    expect(firstDifference(read, expected)).toBeUndefined();
  });

  it.each(FIXTURE_NAMES.filter((n) => n !== 'bundle-transaction'))('%s: the JSON writes the XML beside it', (name) => {
    expect(jsonTextToXml(fixture(`${name}.json`))).toBe(canonical(fixture(`${name}.xml`)));
  });

  it('keeps 6.30 exact in the text functions, and reads it as the number 6.3 for the server', () => {
    const xml = fixture('observation-decimals.xml');
    expect(xmlToJsonText(xml)).toContain('"value":6.30');
    expect(xmlToJsonText(xml)).toContain('"value":6.2e0');
    const plain = resourceFromXml(xml) as { valueQuantity: { value: unknown } };
    expect(plain.valueQuantity.value).toBe(6.3);
    expect(resourceToXml(plain)).toContain('<value value="6.3"/>');
  });

  it('rebuilds a narrative written with a namespace prefix, and takes one with its own xmlns as written', () => {
    const bundle = resourceFromXml(fixture('bundle-transaction.xml')) as { entry: Array<{ resource: { text: { div: string } } }> };
    expect(bundle.entry[0]!.resource.text.div).toBe('<div xmlns="http://www.w3.org/1999/xhtml">Some <b>narrative</b> &lt;here&gt;<br/></div>');
    const raw = `<div xmlns="http://www.w3.org/1999/xhtml">\n  <p class='x'>a &amp; b &#160;</p>\r\n</div>`;
    const patient = resourceFromXml(`<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/>${raw}</text></Patient>`) as {
      text: { div: string };
    };
    expect(patient.text.div).toBe(raw.replace('\r\n', '\n'));
  });

  it('writes attribute values escaped and whitespace as character references', () => {
    const xml = resourceToXml({ resourceType: 'Patient', name: [{ text: 'a "b" <c> & d\n\te\r' }] });
    expect(xml).toBe('<Patient xmlns="http://hl7.org/fhir"><name><text value="a &quot;b&quot; &lt;c&gt; &amp; d&#10;&#9;e&#13;"/></name></Patient>');
    expect(resourceFromXml(xml)).toEqual({ resourceType: 'Patient', name: [{ text: 'a "b" <c> & d\n\te\r' }] });
  });

  it('writes narratives with comments, quotes of both kinds, entities and surrounding whitespace as they are', () => {
    const div = `\n<div xmlns="http://www.w3.org/1999/xhtml" class='a'><!-- note --><p title="x &amp; &#160;">a &lt; b<br/></p></div>\n`;
    expect(resourceToXml({ resourceType: 'Patient', text: { status: 'generated', div } })).toContain(div);
  });

  it('declares the XHTML namespace on a narrative that leaves it out in JSON', () => {
    const xml = resourceToXml({ resourceType: 'Patient', text: { status: 'generated', div: '<div><p>x</p></div>' } });
    expect(xml).toContain('<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>');
  });

  it('answers 406 for data XML cannot carry, instead of writing broken XML', () => {
    const cases: unknown[] = [
      { resourceType: 'Patient', name: [{ text: 'bell \u0007' }] },
      { resourceType: 'Patient', name: [{ text: 'lone \ud800 surrogate' }] },
      { resourceType: 'Patient', text: { status: 'generated', div: '<div>a</div></text><id value="x"/><text><div>' } },
      { resourceType: 'Patient', text: { status: 'generated', div: '<div>a &nbsp; b</div>' } },
      { resourceType: 'Patient', text: { status: 'generated', div: '<div><p>unclosed</div>' } },
      { resourceType: 'Patient', text: { status: 'generated', div: '<div><p title="a<b">x</p></div>' } },
      { resourceType: 'Patient', text: { status: 'generated', div: '<div><p title="&nbsp;">x</p></div>' } },
      { resourceType: 'Patient', text: { status: 'generated', div: '<div><p title=x>x</p></div>' } },
      { resourceType: 'Patient', text: { status: 'generated', div: '<div>a</div><div>b</div>' } },
      { resourceType: 'Patient', nmae: 'x' },
      { resourceType: 'NotAType' },
    ];
    for (const resource of cases) {
      expect(() => resourceToXml(resource), JSON.stringify(resource)).toThrow(expect.objectContaining({ status: 406 }));
    }
  });
});

describe('hostile and malformed XML is refused with 400', () => {
  const deep = `<Patient xmlns="http://hl7.org/fhir">${'<extension url="x">'.repeat(5000)}<valueString value="y"/>${'</extension>'.repeat(5000)}</Patient>`;
  const laughs =
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><Patient xmlns="http://hl7.org/fhir"><name><text value="&lol3;"/></name></Patient>';
  const cases: Array<[string, string | Uint8Array, string]> = [
    ['an entity expansion bomb (billion laughs)', laughs, 'DTD'],
    [
      'an external entity (XXE)',
      '<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"><name><text value="&x;"/></name></Patient>',
      'DTD',
    ],
    ['a DTD without entities', '<!DOCTYPE Patient><Patient xmlns="http://hl7.org/fhir"/>', 'DTD'],
    ['an undeclared entity', '<Patient xmlns="http://hl7.org/fhir"><name><text value="&lol;"/></name></Patient>', 'not well-formed'],
    ['deep nesting', deep, `nested deeper than ${MAX_XML_DEPTH}`],
    ['an unclosed element', '<Patient xmlns="http://hl7.org/fhir"><active value="true">', 'not well-formed'],
    ['mismatched tags', '<Patient xmlns="http://hl7.org/fhir"><active value="true"></name></Patient>', 'not well-formed'],
    ['an unquoted attribute', '<Patient xmlns="http://hl7.org/fhir"><active value=true/></Patient>', 'not well-formed'],
    ['two root elements', '<Patient xmlns="http://hl7.org/fhir"/><Patient xmlns="http://hl7.org/fhir"/>', 'not well-formed'],
    ['an empty body', '', 'not well-formed'],
    ['plain text', 'hello', 'not well-formed'],
    ['JSON', '{"resourceType":"Patient"}', 'not well-formed'],
    ['invalid UTF-8', new Uint8Array([0x3c, 0x50, 0xff, 0xfe, 0x3e]), 'not valid UTF-8'],
    ['another declared encoding', '<?xml version="1.0" encoding="ISO-8859-1"?><Patient xmlns="http://hl7.org/fhir"/>', 'send UTF-8'],
    ['no namespace', '<Patient/>', 'not in the FHIR namespace'],
    ['another namespace', '<Patient xmlns="http://example.org"/>', 'not in the FHIR namespace'],
    [
      'an element of another namespace inside',
      '<Patient xmlns="http://hl7.org/fhir"><x:active xmlns:x="urn:x" value="true"/></Patient>',
      'not in the FHIR namespace',
    ],
    ['a root that is not a resource type', '<Pateint xmlns="http://hl7.org/fhir"/>', 'not an R4 resource type'],
    ['an unknown element', '<Patient xmlns="http://hl7.org/fhir"><nmae/></Patient>', 'has no element <nmae>'],
    ['an unknown attribute', '<Patient xmlns="http://hl7.org/fhir"><active value="true" valeu="x"/></Patient>', 'has no attribute "valeu"'],
    ['a value on a complex element', '<Patient xmlns="http://hl7.org/fhir"><name value="x"/></Patient>', 'has no attribute "value"'],
    ['an id attribute on a resource', '<Patient xmlns="http://hl7.org/fhir" id="x"/>', 'has no attribute "id"'],
    ['id as an element of a datatype', '<Patient xmlns="http://hl7.org/fhir"><name><id value="x"/></name></Patient>', 'has no element <id>'],
    ['text content', '<Patient xmlns="http://hl7.org/fhir"><active value="true">yes</active></Patient>', 'Text "yes" is not allowed'],
    ['a single element twice', '<Patient xmlns="http://hl7.org/fhir"><active value="true"/><active value="false"/></Patient>', 'appears more than once'],
    ['a primitive without value or extension', '<Patient xmlns="http://hl7.org/fhir"><active/></Patient>', 'neither a value attribute nor extensions'],
    [
      'a narrative outside XHTML',
      '<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div>x</div></text></Patient>',
      'has no element <div>',
    ],
    [
      'a non-XHTML element in a narrative',
      '<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><y:p xmlns:y="urn:y"/></div></text></Patient>',
      'not in the XHTML namespace',
    ],
    [
      'a namespaced attribute in a narrative',
      '<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p xmlns:y="urn:y" y:onclick="x">a</p></div></text></Patient>',
      'not an XHTML attribute',
    ],
    ['two resources in contained', '<Patient xmlns="http://hl7.org/fhir"><contained><Patient/><Patient/></contained></Patient>', 'holds one resource'],
    ['an empty resource holder', '<Patient xmlns="http://hl7.org/fhir"><contained/></Patient>', 'must hold a resource'],
  ];
  it.each(cases)('refuses %s', (_what, input, message) => {
    let caught: unknown;
    try {
      resourceFromXml(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FhirError);
    expect((caught as FhirError).status).toBe(400);
    expect((caught as FhirError).message).toContain(message);
  });

  it('refuses deep nesting quickly, whatever the depth', () => {
    const deeper = `<Patient xmlns="http://hl7.org/fhir">${'<extension url="x">'.repeat(200_000)}`;
    const started = performance.now();
    expect(() => resourceFromXml(deeper)).toThrow(/nested deeper/);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('leaves values that are not valid for their type to the validator, as text', () => {
    const read = resourceFromXml('<Patient xmlns="http://hl7.org/fhir"><active value="yes"/><multipleBirthInteger value="1.0"/></Patient>');
    expect(read).toEqual({ resourceType: 'Patient', active: 'yes', multipleBirthInteger: '1.0' });
    const huge = resourceFromXml('<Observation xmlns="http://hl7.org/fhir"><valueQuantity><value value="1e400"/></valueQuantity></Observation>');
    expect(huge).toEqual({ resourceType: 'Observation', valueQuantity: { value: '1e400' } });
  });
});

describe('any input', () => {
  const documents = FIXTURE_NAMES.map((name) => fixture(`${name}.xml`));
  it('never makes the reader fail with anything but a 400 FhirError (mutated documents)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...documents),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.nat({ max: 8 }),
            fc.constantFrom(
              '',
              '<',
              '>',
              '/',
              '"',
              '&',
              '&amp;',
              '<x>',
              '</div>',
              '<div xmlns="http://www.w3.org/1999/xhtml">',
              ' value="1"',
              '<!--',
              ']]>',
              '<![CDATA[',
              'é',
              '\u0000',
            ),
          ),
          { maxLength: 4 },
        ),
        (document, edits) => {
          let text = document;
          for (const [at, cut, insert] of edits) {
            const i = at % (text.length + 1);
            text = text.slice(0, i) + insert + text.slice(i + cut);
          }
          try {
            const read = resourceFromXml(text);
            expect(typeof read.resourceType).toBe('string');
          } catch (error) {
            expect(error).toBeInstanceOf(FhirError);
            expect((error as FhirError).status).toBe(400);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
