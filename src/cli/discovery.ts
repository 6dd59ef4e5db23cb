/**
 * Finding a server's endpoints from its SMART configuration, as any SMART client does: the user
 * gives the Bedside URL or the FHIR base, and everything else is discovered.
 * https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html
 */
import { CliError } from './io.js';

export interface ServerEndpoints {
  fhirBaseUrl: string;
  tokenEndpoint: string;
  registrationEndpoint?: string;
}

/** Tries `<url>/.well-known/smart-configuration`, then `<url>/fhir/...` (a Bedside base URL). */
export async function discover(url: string): Promise<ServerEndpoints> {
  const base = url.replace(/\/+$/, '');
  for (const fhirBaseUrl of [base, `${base}/fhir`]) {
    let response: Response;
    try {
      response = await fetch(`${fhirBaseUrl}/.well-known/smart-configuration`, { headers: { accept: 'application/json' } });
    } catch (error) {
      throw new CliError(
        `Cannot reach ${base}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}. Is Bedside running (npm start)? Pass --url or set BEDSIDE_URL.`,
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      continue;
    }
    const config = (await response.json()) as { token_endpoint?: string; registration_endpoint?: string };
    if (!config.token_endpoint) throw new CliError(`${fhirBaseUrl}/.well-known/smart-configuration names no token_endpoint`);
    return {
      fhirBaseUrl,
      tokenEndpoint: config.token_endpoint,
      ...(config.registration_endpoint ? { registrationEndpoint: config.registration_endpoint } : {}),
    };
  }
  throw new CliError(`${base} has no SMART configuration at /.well-known/smart-configuration or /fhir/.well-known/smart-configuration`);
}

/** The default server: BEDSIDE_URL, else a local Bedside on PORT (8080). */
export function defaultUrl(env: NodeJS.ProcessEnv): string {
  return env.BEDSIDE_URL ?? `http://localhost:${env.PORT ?? 8080}`;
}
