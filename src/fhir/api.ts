/**
 * The FHIR REST API as data: the route table (method + path → interaction) and the dispatcher
 * that runs a FhirRequest through it. Transport-agnostic: the node:http adapter and the
 * batch/transaction interaction both dispatch here.
 * https://hl7.org/fhir/R4/http.html
 */
import FindMyWay from 'find-my-way';
import { methodNotAllowed, notFound } from '../r4/errors.js';
import type { FhirContext } from './context.js';
import { batchOrTransaction } from './interactions/bundle.js';
import { history } from './interactions/history.js';
import { read, vread } from './interactions/read.js';
import { compartmentSearch, patientEverything, searchSystem, searchType } from './interactions/search.js';
import { validateOperation } from './interactions/validate.js';
import { conditionalDelete, conditionalUpdate, create, patch, remove, update } from './interactions/write.js';
import type { FhirRequest, FhirResponse, HttpMethod } from './request.js';
import { assertResourceType, isKnownResourceType } from './validation.js';

/**
 * What answers one FHIR interaction (read, search, an operation ...) for one request. The
 * interaction's kind, as scopes grant it, is access/policy.ts `Interaction`; an oidc-provider
 * sign-in step is a `ProviderInteraction` (auth/pages/sign-in/flow.ts).
 * https://hl7.org/fhir/R4/http.html
 */
export type InteractionHandler = (context: FhirContext, request: FhirRequest) => Promise<FhirResponse>;

export interface Route {
  method: HttpMethod;
  path: string;
  handler: InteractionHandler;
  /** Public routes (CapabilityStatement, discovery) need no token. */
  public?: boolean;
  /**
   * Discovery documents (CapabilityStatement, smart-configuration): served as JSON whatever the
   * Accept header names, since a browser opening the link must not get a 406.
   */
  anyAccept?: boolean;
}

/**
 * An extended operation (`$name`). https://hl7.org/fhir/R4/operations.html
 * `types` limits type and instance level operations to those resource types.
 */
export interface Operation {
  name: string;
  definition: string;
  levels: Array<'system' | 'type' | 'instance'>;
  types?: string[];
  methods: HttpMethod[];
  handler: InteractionHandler;
}

/** The FHIR REST interactions of R4, in one table. */
function restRoutes(dispatch: InteractionHandler): Route[] {
  return [
    { method: 'POST', path: '/', handler: (c, r) => batchOrTransaction(c, r, dispatch) },
    { method: 'GET', path: '/', handler: searchSystem },
    { method: 'POST', path: '/_search', handler: searchSystem },
    { method: 'GET', path: '/_history', handler: history },
    { method: 'GET', path: '/:type', handler: searchType },
    { method: 'POST', path: '/:type', handler: create },
    { method: 'PUT', path: '/:type', handler: conditionalUpdate },
    { method: 'PATCH', path: '/:type', handler: patch },
    { method: 'DELETE', path: '/:type', handler: conditionalDelete },
    { method: 'POST', path: '/:type/_search', handler: searchType },
    { method: 'GET', path: '/:type/_history', handler: history },
    { method: 'GET', path: '/:type/:id', handler: read },
    { method: 'PUT', path: '/:type/:id', handler: update },
    { method: 'PATCH', path: '/:type/:id', handler: patch },
    { method: 'DELETE', path: '/:type/:id', handler: remove },
    { method: 'GET', path: '/:type/:id/_history', handler: history },
    { method: 'GET', path: '/:type/:id/_history/:vid', handler: vread },
    { method: 'GET', path: '/:type/:id/:compartmentType', handler: compartmentSearch },
  ];
}

interface Match {
  handler: InteractionHandler;
  params: Record<string, string | undefined>;
  public: boolean;
  anyAccept: boolean;
}

/** Operations of the FHIR core; other features add theirs (e.g. `$export`). */
export const CORE_OPERATIONS: Operation[] = [
  {
    name: 'everything',
    definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
    levels: ['instance'],
    types: ['Patient'],
    methods: ['GET', 'POST'],
    handler: patientEverything,
  },
  {
    name: 'validate',
    definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
    levels: ['type', 'instance'],
    methods: ['GET', 'POST'],
    handler: validateOperation,
  },
];

export class FhirApi {
  readonly #router = FindMyWay<FindMyWay.HTTPVersion.V1>({ ignoreTrailingSlash: true, caseSensitive: true, maxParamLength: 200 });
  /** By name; one name may have several entries for different levels or types (`$export`). */
  readonly #operations = new Map<string, Operation[]>();
  readonly #publicRoutes = new Set<InteractionHandler>();
  readonly #anyAcceptRoutes = new Set<InteractionHandler>();

  /**
   * @param extraRoutes routes added by other features (metadata, SMART discovery, search forms ...)
   * @param operations `$operations` by name
   */
  constructor(extraRoutes: Route[], operations: Operation[]) {
    const dispatch: InteractionHandler = (context, request) => this.dispatch(context, request);
    for (const op of operations) this.#operations.set(op.name, [...(this.#operations.get(op.name) ?? []), op]);
    for (const route of [...extraRoutes, ...restRoutes(dispatch)]) {
      if (route.public) this.#publicRoutes.add(route.handler);
      if (route.anyAccept) this.#anyAcceptRoutes.add(route.handler);
      this.#router.on(route.method === 'HEAD' ? 'GET' : route.method, route.path, route.handler as never);
    }
  }

  get operations(): Operation[] {
    return [...this.#operations.values()].flat();
  }

  /** Finds the interaction for a request; fills request.params. Throws 404/405 FhirErrors. */
  match(request: FhirRequest): Match {
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const path = `/${request.path}`;
    const operation = this.#matchOperation(request, method);
    if (operation) return operation;
    const found = this.#router.find(method, path);
    if (!found) {
      const other = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).some((m) => m !== method && this.#router.find(m, path));
      if (other) throw methodNotAllowed(`${request.method} is not supported on ${request.path || '/'}`);
      throw notFound(`No FHIR interaction at ${request.path.slice(0, 200) || '/'}`);
    }
    const params = { ...(found.params as Record<string, string | undefined>) };
    if (params.type !== undefined && !isKnownResourceType(params.type)) {
      // `DELETE /metadata` matched `/:type`, but `/metadata` exists for another method: 405, not 404.
      const staticElsewhere = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).some((m) => {
        const other = m !== method ? this.#router.find(m, path) : null;
        return other && (other.params as Record<string, string>).type === undefined;
      });
      if (staticElsewhere) throw methodNotAllowed(`${request.method} is not supported on ${request.path}`);
      assertResourceType(params.type);
    }
    const handler = found.handler as unknown as InteractionHandler;
    return { handler, params, public: this.#publicRoutes.has(handler), anyAccept: this.#anyAcceptRoutes.has(handler) };
  }

  /** Runs a request (policy already in the context). */
  async dispatch(context: FhirContext, request: FhirRequest): Promise<FhirResponse> {
    const match = this.match(request);
    request.params = match.params;
    return match.handler(context, request);
  }

  /** `$op` at system (`$op`), type (`Type/$op`) or instance (`Type/id/$op`) level. */
  #matchOperation(request: FhirRequest, method: HttpMethod): Match | undefined {
    const segments = request.path.split('/');
    const last = segments[segments.length - 1] ?? '';
    if (!last.startsWith('$')) return undefined;
    const level = segments.length === 1 ? 'system' : segments.length === 2 ? 'type' : segments.length === 3 ? 'instance' : undefined;
    const atLevel = (this.#operations.get(last.slice(1)) ?? []).filter((o) => level && o.levels.includes(level));
    if (!level || atLevel.length === 0) {
      throw notFound(`Unknown operation ${last.slice(0, 60)} at ${level ?? 'this'} level`);
    }
    const type = level === 'system' ? undefined : segments[0]!;
    if (type !== undefined) assertResourceType(type);
    const operation = atLevel.find((o) => type === undefined || !o.types || o.types.includes(type));
    if (!operation) throw notFound(`Operation ${last} is not defined for ${type}`);
    if (!operation.methods.includes(method)) throw methodNotAllowed(`${last} does not accept ${method}`);
    return {
      handler: operation.handler,
      params: { type, id: level === 'instance' ? segments[1] : undefined, operation: operation.name },
      public: false,
      anyAccept: false,
    };
  }
}
