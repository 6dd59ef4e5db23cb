/**
 * Vital signs over time as small SVG line charts (one per measure, blood pressure with its two
 * components), drawn by hand: a few dozen points need no charting library. Each chart is an image
 * with a text alternative, and its readings are also available as a table for screen readers.
 */
import type { Observation } from 'fhir/r4';
import { h, svg } from '../common/dom.js';

interface Series {
  name: string;
  points: Array<{ t: number; v: number; date: string }>;
}

interface Measure {
  title: string;
  unit: string;
  /** LOINC code of the Observation, and of the components to plot (BP panel). */
  code: string;
  components?: Array<{ code: string; name: string }>;
}

const MEASURES: Measure[] = [
  {
    title: 'Blood pressure',
    unit: 'mmHg',
    code: '85354-9',
    components: [
      { code: '8480-6', name: 'Systolic' },
      { code: '8462-4', name: 'Diastolic' },
    ],
  },
  { title: 'Heart rate', unit: '/min', code: '8867-4' },
  { title: 'Body weight', unit: 'kg', code: '29463-7' },
  { title: 'Body mass index', unit: 'kg/m²', code: '39156-5' },
];

const hasCode = (concept: Observation['code'] | undefined, code: string): boolean => concept?.coding?.some((c) => c.code === code) ?? false;
const when = (o: Observation): string | undefined => o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.issued;

function seriesFor(measure: Measure, observations: Observation[]): Series[] {
  const matching = observations.filter((o) => hasCode(o.code, measure.code) && when(o)).sort((a, b) => Date.parse(when(a)!) - Date.parse(when(b)!));
  const point = (o: Observation, value: number | undefined) =>
    value === undefined ? undefined : { t: Date.parse(when(o)!), v: value, date: when(o)!.slice(0, 10) };
  if (measure.components) {
    return measure.components.map((c) => ({
      name: c.name,
      points: matching.map((o) => point(o, o.component?.find((x) => hasCode(x.code, c.code))?.valueQuantity?.value)).filter((p) => p !== undefined),
    }));
  }
  return [{ name: measure.title, points: matching.map((o) => point(o, o.valueQuantity?.value)).filter((p) => p !== undefined) }];
}

const W = 440;
const H = 190;
const M = { top: 14, right: 14, bottom: 28, left: 44 };

/** Round tick values: a step of 1, 2, 2.5 or 5 times a power of ten, about four ticks. */
function niceTicks(values: number[]): number[] {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = Math.max(max - min, Math.abs(max) * 0.05, 1);
  const raw = span / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= Math.ceil(max / step) * step + step / 2; v += step) ticks.push(Number(v.toFixed(6)));
  return ticks;
}

function drawChart(measure: Measure, series: Series[], index: number): HTMLElement {
  const all = series.flatMap((s) => s.points);
  const [t0, t1] = [Math.min(...all.map((p) => p.t)), Math.max(...all.map((p) => p.t))];
  const yTicks = niceTicks(all.map((p) => p.v));
  const [v0, v1] = [yTicks[0]!, yTicks.at(-1)!];
  const x = (t: number) => M.left + (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - ((v - v0) / (v1 - v0)) * (H - M.top - M.bottom);
  const titleId = `chart-${index}-title`;
  const descId = `chart-${index}-desc`;
  const latest = series
    .map((s) => s.points.at(-1)?.v)
    .filter((v) => v !== undefined)
    .join('/');
  const first = new Date(t0).getUTCFullYear();
  const last = new Date(t1).getUTCFullYear();
  const description = `${series[0]!.points.length} readings from ${first} to ${last}; latest ${latest} ${measure.unit} on ${all.at(-1)!.date}.`;

  const years: number[] = [];
  for (let year = first + 1; year <= last; year++) years.push(Date.UTC(year, 0, 1));
  const yearStep = Math.ceil(years.length / 6) || 1;

  const chart = svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, class: 'chart' },
    svg('title', { id: titleId }, `${measure.title} (${measure.unit})`),
    svg('desc', { id: descId }, description),
    yTicks.map((v) => [
      svg('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: 'grid' }),
      svg('text', { x: M.left - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, String(v)),
    ]),
    years
      .filter((_, i) => i % yearStep === 0)
      .map((t) => [
        svg('line', { x1: x(t), x2: x(t), y1: M.top, y2: H - M.bottom, class: 'grid' }),
        svg('text', { x: x(t), y: H - M.bottom + 16, class: 'tick', 'text-anchor': 'middle' }, new Date(t).getUTCFullYear()),
      ]),
    svg('line', { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: 'axis' }),
    series.map((s, i) => [
      svg('polyline', { points: s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' '), class: `line series-${i}` }),
      s.points.map((p) =>
        svg(
          'circle',
          { cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 3, class: `dot series-${i}` },
          svg('title', {}, `${s.name} ${p.v} ${measure.unit} on ${p.date}`),
        ),
      ),
    ]),
  );
  const legend =
    series.length > 1
      ? h(
          'p',
          { class: 'legend' },
          series.map((s, i) => h('span', { class: `key series-${i}` }, s.name)),
        )
      : null;
  const rows = series[0]!.points.map((p, i) =>
    h(
      'tr',
      {},
      h('td', {}, p.date),
      series.map((s) => h('td', {}, s.points[i] ? String(s.points[i]!.v) : '')),
    ),
  );
  const table = h(
    'details',
    {},
    h('summary', {}, `${measure.title}: readings as a table`),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Date'),
          series.map((s) => h('th', { scope: 'col' }, `${s.name} (${measure.unit})`)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
  return h(
    'figure',
    { class: 'chart-figure' },
    h('figcaption', {}, h('strong', {}, measure.title), ` · latest ${latest} ${measure.unit}`),
    chart,
    legend,
    table,
  );
}

/** One chart per measure that has readings; an empty list when there are none. */
export function vitalCharts(observations: Observation[]): HTMLElement[] {
  return MEASURES.map((m) => ({ m, series: seriesFor(m, observations) }))
    .filter(({ series }) => series.some((s) => s.points.length > 0))
    .map(({ m, series }, i) => drawChart(m, series, i));
}
