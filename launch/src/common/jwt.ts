/**
 * Reading (not verifying) a JWT in the browser, for the token inspectors: an app must not trust
 * what it decodes here; the FHIR server verifies the access token on every request.
 */
export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

function base64UrlDecode(part: string): string {
  const base64 = part
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The header and payload of a compact JWS, or undefined when `token` is not one (an opaque token). */
export function decodeJwt(token: string | undefined): DecodedJwt | undefined {
  const parts = token?.split('.');
  if (parts?.length !== 3) return undefined;
  try {
    return {
      header: JSON.parse(base64UrlDecode(parts[0]!)) as Record<string, unknown>,
      payload: JSON.parse(base64UrlDecode(parts[1]!)) as Record<string, unknown>,
    };
  } catch {
    return undefined;
  }
}

/** base64url of bytes (PKCE, random values). */
export function base64Url(bytes: ArrayBuffer | Uint8Array): string {
  const array = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = '';
  for (const byte of array) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A random URL-safe string of `bytes` random bytes. */
export function randomString(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** PKCE (RFC 7636): a verifier and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = randomString(32);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: base64Url(digest) };
}
