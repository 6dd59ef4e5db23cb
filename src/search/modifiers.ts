/**
 * Which modifiers each parameter type accepts, and which of those Bedside implements.
 * A modifier that is not an R4 modifier, or not one for the parameter's type, is a 400; an R4
 * modifier Bedside does not implement is a 400 `not-supported`. The terminology modifiers of
 * tokens (`:in`, `:not-in`, `:above`, `:below`) need the terminology service (src/terminology/):
 * without one they are `not-supported` too.
 *
 * https://hl7.org/fhir/R4/search.html#modifiers
 */
import { badRequest, notSupported } from '../r4/errors.js';
import type { SearchParamType } from './registry.js';

type Support = 'yes' | 'no' | 'terminology';

/** R4 modifiers per parameter type (the reference `:[type]` modifier is checked separately). */
export const MODIFIERS: Record<SearchParamType, Readonly<Record<string, Support>>> = {
  string: { missing: 'yes', exact: 'yes', contains: 'yes' },
  token: { missing: 'yes', not: 'yes', text: 'yes', 'of-type': 'yes', above: 'terminology', below: 'terminology', in: 'terminology', 'not-in': 'terminology' },
  reference: { missing: 'yes', identifier: 'yes', above: 'no', below: 'no' },
  date: { missing: 'yes' },
  number: { missing: 'yes' },
  quantity: { missing: 'yes' },
  uri: { missing: 'yes', above: 'yes', below: 'yes' },
  composite: { missing: 'yes' },
  special: {},
};

/** Every modifier R4 defines (search-modifier-code), to tell "unknown" from "not for this type". */
const R4_MODIFIERS = new Set(['missing', 'exact', 'contains', 'not', 'text', 'in', 'not-in', 'below', 'above', 'type', 'identifier', 'ofType', 'of-type']);

/**
 * Checks `modifier` for a parameter of `type`; `isTargetType` tells whether a reference's
 * `:[type]` modifier names one of its targets; `terminology` whether terminology modifiers can
 * be answered. Returns the kind of modifier found.
 */
export function checkModifier(
  name: string,
  type: SearchParamType,
  modifier: string | undefined,
  isTargetType: (t: string) => boolean,
  terminology = false,
): 'none' | 'type' | string {
  if (modifier === undefined) return 'none';
  if (type === 'reference' && /^[A-Z]/.test(modifier)) {
    if (!isTargetType(modifier)) throw badRequest(`"${modifier}" is not a target type of the reference parameter "${name}"`);
    return 'type';
  }
  const support = MODIFIERS[type][modifier];
  if (support === 'yes' || (support === 'terminology' && terminology)) return modifier;
  if (support === 'terminology') throw notSupported(`The modifier ":${modifier}" of "${name}" needs the terminology service, which this search cannot use`);
  if (support === 'no') throw notSupported(`The modifier ":${modifier}" of "${name}" is not supported`);
  if (R4_MODIFIERS.has(modifier)) throw badRequest(`The modifier ":${modifier}" is not valid for ${type} parameters ("${name}")`);
  throw badRequest(`Unknown modifier ":${modifier}" in "${name}"`);
}
