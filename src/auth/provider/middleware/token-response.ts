/**
 * SMART's additions to the token response: the launch context of the grant (patient,
 * encounter, need_patient_banner, smart_style_url, intent, fhirContext) and `Pragma: no-cache`
 * next to oidc-provider's `Cache-Control: no-store`.
 *
 * https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#response-5
 */
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { LaunchContexts } from '../../launch/contexts.js';

/** The token endpoint's middleware (provider/routes.ts mounts it there). */
export function smartTokenResponse(launches: Pick<LaunchContexts, 'forGrant'>): Middleware {
  return async (ctx, next) => {
    await next();
    ctx.set('pragma', 'no-cache');
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.status !== 200 || !body?.access_token) return;
    const grantId = (ctx as unknown as KoaContextWithOIDC).oidc?.entities.AccessToken?.grantId;
    const context = grantId ? await launches.forGrant(grantId) : undefined;
    if (!context) return;
    Object.assign(body, {
      ...(context.patient ? { patient: context.patient } : {}),
      ...(context.encounter ? { encounter: context.encounter } : {}),
      need_patient_banner: context.needPatientBanner,
      smart_style_url: context.smartStyleUrl,
      ...(context.intent ? { intent: context.intent } : {}),
      ...(context.fhirContext?.length ? { fhirContext: context.fhirContext } : {}),
    });
  };
}
