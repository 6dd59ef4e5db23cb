/**
 * Decimals with implicit precision: `100` means [99.5, 100.5), `100.0` means [99.95, 100.05),
 * `1e2` (one significant figure) means [50, 150). Computed in exact decimal arithmetic, then
 * rounded once to the nearest double, so `1.5` gives exactly the doubles 1.45 and 1.55.
 *
 * Note: R4's number table says `1e2` is [95, 105); that is inconsistent with its own rule
 * ("the number of significant digits") and R5 corrected it to [50, 150), which is what we do.
 *
 * https://hl7.org/fhir/R4/search.html#number
 */

/** A decimal value and its implicit-precision range [low, high). */
export interface DecimalRange {
  value: number;
  low: number;
  high: number;
}

const DECIMAL_PATTERN = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d{1,4}))?$/;

/**
 * The value and implicit range of a decimal literal (`-?digits[.digits][e±exp]`), or undefined
 * when `text` is not one or is out of the double range.
 */
export function parseDecimal(text: string): DecimalRange | undefined {
  const m = DECIMAL_PATTERN.exec(text);
  if (!m) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  const fraction = m[3] ?? '';
  const exponent = Number(m[4] ?? '0');
  // value = mantissa × 10^-scale; half a unit of the last digit is 5 × 10^-(scale+1).
  const mantissa = BigInt(`${m[1] === '-' ? '-' : ''}${m[2]}${fraction}`) * 10n;
  const scale = fraction.length - exponent + 1;
  const low = Number(`${mantissa - 5n}e${-scale}`);
  const high = Number(`${mantissa + 5n}e${-scale}`);
  if (!Number.isFinite(low) || !Number.isFinite(high)) return undefined;
  return { value: value === 0 ? 0 : value, low, high };
}
