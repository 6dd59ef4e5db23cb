/**
 * Stands in for the `agentkeepalive` package when fhir-kit-client is bundled for the browser
 * (src/launcher/bundles.ts): fhir-kit-client builds Node HTTP agents and hands them to fetch,
 * which a browser ignores. Only the shape fhir-kit-client touches is provided.
 */
class HttpAgent {
  static HttpsAgent = class HttpsAgent {};
}

export default HttpAgent;
