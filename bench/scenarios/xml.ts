/**
 * FHIR XML against FHIR JSON on the same server and data: read by id (a 2 KB Patient with
 * extensions and a narrative) and a search of 50 Observations, each in both formats. The XML rows
 * give their ratio to the JSON row of the same request (the goal for read: at least 0.5).
 *
 * Other processes on the machine move throughput from one load to the next, so the two formats
 * are measured in alternating rounds, the ratio is the median of the rounds' ratios, and the
 * server's CPU time per request (which other load barely moves) is reported beside it.
 */
import { loadWithCpu, type BenchContext, type ScenarioResult } from '../harness.js';

const ROUNDS = 3;

const XML = 'application/fhir+xml';
const JSON_TYPE = 'application/fhir+json';

export async function xmlFormat(ctx: BenchContext): Promise<ScenarioResult[]> {
  const server = await ctx.startBedside({ BEDSIDE_SEED: 'true', BEDSIDE_UNSAFE_DISABLE_AUTH: 'true' });
  try {
    const fhir = `${server.url}/fhir`;
    const seeded = (await (await fetch(`${fhir}/Patient/patient-001`, { headers: { accept: JSON_TYPE } })).json()) as Record<string, unknown>;
    const { meta: _meta, ...patient } = seeded;
    const narrative = `<div xmlns="http://www.w3.org/1999/xhtml"><p><b>Amy Elizabeth Shaw</b>, female, born 1973-08-11</p><table><tr><td>MRN</td><td>100000013</td></tr><tr><td>Address</td><td>521 Oak Avenue, Quincy, MA 02169</td></tr><tr><td>Phone</td><td>(617) 555-0105</td></tr></table></div>`;
    const put = await fetch(`${fhir}/Patient/bench-xml`, {
      method: 'PUT',
      headers: { 'content-type': JSON_TYPE },
      body: JSON.stringify({ ...patient, id: 'bench-xml', text: { status: 'generated', div: narrative } }),
    });
    if (put.status >= 300) throw new Error(`could not store the benchmark patient: ${put.status} ${await put.text()}`);
    const rows: ScenarioResult[] = [];
    const duration = Math.max(2, Math.round(ctx.duration / ROUNDS));
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    for (const [what, url] of [
      ['read by id (GET Patient/id, 2 KB with narrative)', `${fhir}/Patient/bench-xml`],
      ['search (GET Observation?patient=..&_count=50)', `${fhir}/Observation?patient=patient-001&_count=50`],
    ] as const) {
      const json: Array<Awaited<ReturnType<typeof loadWithCpu>>> = [];
      const xml: typeof json = [];
      for (let round = 0; round < ROUNDS; round++) {
        json.push(await loadWithCpu({ ...ctx, duration }, server, { url, duration, headers: { accept: JSON_TYPE } }));
        xml.push(await loadWithCpu({ ...ctx, duration }, server, { url, duration, headers: { accept: XML } }));
      }
      const ratio = median(json.map((j, i) => xml[i]!.requestsPerSecond / j.requestsPerSecond));
      const jsonCpu = median(json.map((j) => j.cpuMicrosPerRequest));
      const xmlCpu = median(xml.map((x) => x.cpuMicrosPerRequest));
      const rps = (rounds: typeof json) => Math.round(median(rounds.map((r) => r.requestsPerSecond)));
      const non2xx = (rounds: typeof json) => rounds.reduce((n, r) => n + r.non2xx, 0);
      rows.push(
        { name: `${what}, JSON`, value: rps(json), unit: 'req/s', detail: `server CPU ${Math.round(jsonCpu)} µs/request, non-2xx ${non2xx(json)}` },
        {
          name: `${what}, XML`,
          value: rps(xml),
          unit: 'req/s',
          detail: `${ratio.toFixed(2)} of JSON (CPU: ${(jsonCpu / xmlCpu).toFixed(2)}), server CPU ${Math.round(xmlCpu)} µs/request, non-2xx ${non2xx(xml)}`,
        },
      );
    }
    return rows;
  } finally {
    await server.stop();
  }
}
