/**
 * Mutation testing: take resources the validator accepts, break one thing at a random place, and
 * require an error at exactly that place. The places come from walking each resource with the
 * compiled shapes, so every kind of element (nested datatypes, backbones, choices, contained and
 * Bundle entry resources) gets mutated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Kind, ShapeCompiler, type Prop, type Shape } from '../../../src/fhir/validator/compile.js';
import { formatPath, validateR4, type IssueCode } from '../../../src/fhir/validator/index.js';
import { allSamples } from './samples.js';

type Json = Record<string, unknown>;
type Location = Array<string | number>;

interface ValueSite {
  readonly location: Location;
  readonly prop: Prop;
  readonly value: unknown;
  readonly index: number;
}
interface ObjectSite {
  readonly location: Location;
  readonly shape: Shape;
}

const compiler = new ShapeCompiler();

/** Every element value and every object of a resource, with its location and definition. */
function sitesOf(resource: Json): { values: ValueSite[]; objects: ObjectSite[] } {
  const values: ValueSite[] = [];
  const objects: ObjectSite[] = [];
  const visit = (obj: Json, shape: Shape, location: Location) => {
    objects.push({ location, shape });
    for (const [key, value] of Object.entries(obj)) {
      const prop = shape.props.get(key);
      if (!prop) continue;
      const items = prop.array && Array.isArray(value) ? value.map((v, i) => [v, i] as const) : [[value, -1] as const];
      for (const [item, index] of items) {
        const at = index < 0 ? [...location, key] : [...location, key, index];
        values.push({ location: at, prop, value: item, index });
        if (typeof item !== 'object' || item === null) continue;
        if (prop.kind === Kind.Complex) visit(item as Json, prop.shape!, at);
        if (prop.kind === Kind.Resource) visit(item as Json, compiler.shapeOf((item as Json).resourceType as string), at);
      }
    }
  };
  visit(resource, compiler.shapeOf(resource.resourceType as string), []);
  return { values, objects };
}

/** Sets (or with `undefined`, deletes) the value at a location. */
function setAt(root: Json, location: Location, value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const part of location.slice(0, -1)) node = node[part] as Record<string | number, unknown>;
  const last = location[location.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

interface Mutated {
  resource: Json;
  location: Location;
  code?: IssueCode;
}
type Mutation = (resource: Json, pick: number) => Mutated | undefined;

const choose = <T>(list: T[], pick: number): T | undefined => (list.length ? list[pick % list.length] : undefined);
const isPrimitive = (s: ValueSite) => s.prop.kind === Kind.Primitive && s.value !== null;
const withoutIndex = (s: ValueSite) => (s.index >= 0 ? s.location.slice(0, -1) : s.location);

const MUTATIONS: Record<string, Mutation> = {
  'unknown element': (r, pick) => {
    const site = choose(sitesOf(r).objects, pick);
    if (!site) return undefined;
    const location = [...site.location, 'zzzUnknown'];
    setAt(r, location, 1);
    return { resource: r, location, code: 'structure' };
  },
  'wrong JSON type': (r, pick) => {
    const site = choose(
      sitesOf(r).values.filter((s) => s.value !== null),
      pick,
    );
    if (!site) return undefined;
    const wrong = typeof site.value === 'string' ? 42 : typeof site.value === 'object' ? 'x' : String(site.value);
    setAt(r, site.location, wrong);
    return { resource: r, location: site.location };
  },
  'bad date': (r, pick) => {
    const site = choose(
      sitesOf(r).values.filter((s) => isPrimitive(s) && ['date', 'dateTime', 'instant'].includes(s.prop.type)),
      pick,
    );
    if (!site) return undefined;
    setAt(r, site.location, site.prop.type === 'instant' ? '2021-02-29T10:00:00Z' : '2021-02-29');
    return { resource: r, location: site.location, code: 'value' };
  },
  'required element removed': (r, pick) => {
    const candidates = sitesOf(r).objects.flatMap((o) => o.shape.required.map((req) => ({ o, req })));
    const site = choose(candidates, pick);
    if (!site) return undefined;
    for (const key of site.req.keys) setAt(r, [...site.o.location, key], undefined);
    return { resource: r, location: [...site.o.location, site.req.element], code: 'required' };
  },
  'array made single': (r, pick) => {
    const site = choose(
      sitesOf(r).values.filter((s) => s.index === 0),
      pick,
    );
    if (!site) return undefined;
    setAt(r, withoutIndex(site), site.value);
    return { resource: r, location: withoutIndex(site) };
  },
  'single made array': (r, pick) => {
    const site = choose(
      sitesOf(r).values.filter((s) => s.index < 0 && !s.prop.array),
      pick,
    );
    if (!site) return undefined;
    setAt(r, site.location, [site.value]);
    return { resource: r, location: site.location, code: 'structure' };
  },
  'code outside a required binding': (r, pick) => {
    const site = choose(
      sitesOf(r).values.filter((s) => isPrimitive(s) && s.prop.codes),
      pick,
    );
    if (!site) return undefined;
    setAt(r, site.location, 'bogus-code');
    return { resource: r, location: site.location, code: 'code-invalid' };
  },
  'empty string': (r, pick) => {
    const site = choose(
      sitesOf(r).values.filter((s) => isPrimitive(s) && typeof s.value === 'string'),
      pick,
    );
    if (!site) return undefined;
    setAt(r, site.location, '');
    return { resource: r, location: site.location, code: 'value' };
  },
  'empty array': (r, pick) => {
    const site = choose(
      sitesOf(r).values.filter((s) => s.index === 0),
      pick,
    );
    if (!site) return undefined;
    setAt(r, withoutIndex(site), []);
    return { resource: r, location: withoutIndex(site), code: 'structure' };
  },
  'empty object': (r, pick) => {
    const site = choose(
      sitesOf(r).values.filter((s) => s.prop.kind === Kind.Complex && s.value !== null),
      pick,
    );
    if (!site) return undefined;
    setAt(r, site.location, {});
    return { resource: r, location: site.location, code: 'invariant' };
  },
  'null value': (r, pick) => {
    const site = choose(
      sitesOf(r).values.filter((s) => s.index < 0),
      pick,
    );
    if (!site) return undefined;
    setAt(r, site.location, null);
    return { resource: r, location: site.location, code: 'structure' };
  },
  'bad nested contained resource': (r) => {
    if (!compiler.shapeOf(r.resourceType as string).props.has('contained')) return undefined;
    const contained = [...((r.contained as unknown[]) ?? []), { resourceType: 'Patient', id: 'zz-mutant', birthDate: 'not-a-date' }];
    r.contained = contained;
    return { resource: r, location: ['contained', contained.length - 1, 'birthDate'], code: 'value' };
  },
};

/** Valid resources of many types: a spread of the samples (or a few hand-written ones without them). */
function baseResources(): Json[] {
  const samples = allSamples();
  const byType = new Map<string, Json[]>();
  for (const s of samples) {
    const list = byType.get(s.resource.resourceType) ?? [];
    if (list.length < 12 && validateR4(s.resource).valid) list.push(s.resource);
    byType.set(s.resource.resourceType, list);
  }
  const out = [...byType.values()].flat();
  if (out.length) return out;
  return [
    {
      resourceType: 'Patient',
      id: 'p',
      name: [{ family: 'Doe', given: ['J'] }],
      gender: 'female',
      birthDate: '1970-01-01',
      telecom: [{ system: 'phone', value: '1' }],
    },
    {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      effectiveDateTime: '2020-01-01',
      valueQuantity: { value: 1, system: 'http://unitsofmeasure.org', code: 'mg' },
    },
  ];
}

describe('mutations of valid resources', () => {
  const bases = baseResources();

  it('start from resources the validator accepts', () => {
    expect(bases.length).toBeGreaterThan(1);
  });

  it.each(Object.keys(MUTATIONS))('%s is rejected at the mutated path', (name) => {
    let applied = 0;
    fc.assert(
      fc.property(fc.nat(bases.length - 1), fc.nat(), (which, pick) => {
        const base = bases[which]!;
        const mutated = MUTATIONS[name]!(structuredClone(base), pick);
        if (!mutated) return;
        applied++;
        const path = formatPath(base.resourceType as string, mutated.location);
        const errors = validateR4(mutated.resource).issues.filter((i) => i.severity === 'error');
        const at = errors.filter((i) => i.path === path && (!mutated.code || i.code === mutated.code));
        expect(at, `${path} in ${JSON.stringify(errors.map((i) => `${i.path} ${i.code}`))}`).not.toEqual([]);
      }),
      { numRuns: 400, endOnFailure: true },
    );
    expect(applied).toBeGreaterThan(50);
  });
});
