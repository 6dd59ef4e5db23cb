/**
 * `bedside export`: a Bulk Data client in one command, for trying `$export` and for scripts:
 * kick-off, polling (honouring Retry-After), and download of every file into a folder.
 * https://hl7.org/fhir/uv/bulkdata/STU2/export.html
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { FHIR_ID } from '../r4/ids.js';
import { readClientFile } from './client-file.js';
import { CliError, type CliIo } from './io.js';
import { keyFile, requestToken } from './token.js';

export const EXPORT_USAGE = `Usage: bedside export [options]

Runs a Bulk Data export and downloads its NDJSON files.

  --client <file>     client file from "bedside clients add"; default bedside-client.json
  --key <file>        private key; default the one in the client file
  --level <level>     system (default), patient, or group:<id>
  --type <types>      _type, e.g. Patient,Observation
  --since <instant>   _since, e.g. 2025-01-01T00:00:00Z
  --type-filter <q>   _typeFilter, e.g. "Observation?category=laboratory" (repeatable)
  --out <folder>      where the files go; default ./export
`;

const GROUP_LEVEL = new RegExp(`^group:(${FHIR_ID})$`);

interface Manifest {
  transactionTime: string;
  output: Array<{ type: string; url: string; count?: number }>;
  error: Array<{ type: string; url: string; count?: number }>;
}

export async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      client: { type: 'string', default: 'bedside-client.json' },
      key: { type: 'string' },
      level: { type: 'string', default: 'system' },
      type: { type: 'string' },
      since: { type: 'string' },
      'type-filter': { type: 'string', multiple: true },
      out: { type: 'string', default: 'export' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(EXPORT_USAGE);
    return 0;
  }
  const client = readClientFile(values.client);
  const { access_token: accessToken } = await requestToken(client, keyFile(values.client, client, values.key), client.scope);
  const auth = { authorization: `Bearer ${accessToken}` };

  const level = values.level === 'system' ? '$export' : values.level === 'patient' ? 'Patient/$export' : GROUP_LEVEL.exec(values.level)?.[1];
  if (!level) throw new CliError('--level must be system, patient or group:<id>', 2);
  const query = new URLSearchParams();
  if (values.type) query.set('_type', values.type);
  if (values.since) query.set('_since', values.since);
  for (const filter of values['type-filter'] ?? []) query.append('_typeFilter', filter);
  const operation = level.includes('$export') ? level : `Group/${level}/$export`;
  const kickOff = await fetch(`${client.fhirBaseUrl}/${operation}${query.size ? `?${query}` : ''}`, {
    headers: { ...auth, accept: 'application/fhir+json', prefer: 'respond-async' },
  });
  const statusUrl = kickOff.headers.get('content-location');
  if (kickOff.status !== 202 || !statusUrl) throw new CliError(`The kick-off was refused: HTTP ${kickOff.status} ${await outcomeText(kickOff)}`);
  await kickOff.body?.cancel();
  io.err(`Export accepted: ${statusUrl}\n`);

  let manifest: Manifest;
  for (;;) {
    const status = await fetch(statusUrl, { headers: auth });
    if (status.status === 200) {
      manifest = (await status.json()) as Manifest;
      break;
    }
    if (status.status !== 202) throw new CliError(`The export failed: HTTP ${status.status} ${await outcomeText(status)}`);
    await status.body?.cancel();
    io.err(`  ${status.headers.get('x-progress') ?? 'in progress'}\n`);
    const wait = Number(status.headers.get('retry-after') ?? '1');
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(wait, 0.2), 60) * 1000));
  }

  mkdirSync(values.out, { recursive: true });
  let resources = 0;
  for (const file of [...manifest.output, ...manifest.error]) {
    const target = path.join(values.out, path.basename(new URL(file.url).pathname));
    const download = await fetch(file.url, { headers: { ...auth, accept: 'application/fhir+ndjson' } });
    if (!download.ok || !download.body) throw new CliError(`Download of ${file.url} failed: HTTP ${download.status}`);
    await pipeline(Readable.fromWeb(download.body as import('node:stream/web').ReadableStream), createWriteStream(target));
    if (file.type !== 'OperationOutcome') resources += file.count ?? 0;
    io.err(`  ${target} (${file.count ?? '?'} ${file.type})\n`);
  }
  const errors = manifest.error.length ? `; see the ${manifest.error.length} error file(s)` : '';
  io.out(
    `Exported ${resources} resources in ${manifest.output.length} files to ${values.out}${errors} (transactionTime ${manifest.transactionTime}: use it as --since next time)\n`,
  );
  return 0;
}

async function outcomeText(response: Response): Promise<string> {
  const body = (await response.json().catch(() => undefined)) as { issue?: Array<{ diagnostics?: string }> } | undefined;
  return (
    body?.issue
      ?.map((i) => i.diagnostics)
      .filter(Boolean)
      .join('; ') ?? ''
  );
}
