// The generated client: openapi-fetch over the paths and schemas openapi-typescript generates
// from crates/api/openapi.json (`npm run gen:api` writes schema.d.ts; never edit it by hand).
// Session cookie (same origin) + the CSRF header on writes, the error envelope as ApiError.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';
import { getLang } from '../i18n';

export type { components, paths, operations } from './schema';
export type Schemas = components['schemas'];
export type Problem = Schemas['ErrorDetail'];

export class ApiError extends Error {
  status: number;
  code: string;
  details: Problem[];
  requestId?: string | null;
  constructor(status: number, code: string, message: string, details: Problem[] = [], requestId?: string | null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }
  /** Problems keyed by their top-level field (`/amount` → `amount`). */
  byField(prefix = ''): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const d of this.details) {
      let p = d.path;
      if (prefix && p.startsWith(prefix)) p = p.slice(prefix.length);
      const key = p.split('/').filter(Boolean)[0] ?? '';
      (out[key] ??= []).push(d.message);
    }
    return out;
  }
}

let csrf: string | null = null;
export function setCsrf(token: string | null) { csrf = token; }

/** Accept JSON; the session's CSRF token on every write (API-key callers need none). */
export const sessionHeaders: Middleware = {
  onRequest({ request }) {
    if (!request.headers.has('Accept')) request.headers.set('Accept', 'application/json');
    // Server messages in the language the user chose (the browser's own header may differ).
    request.headers.set('Accept-Language', getLang() === 'zh' ? 'zh-CN' : 'en');
    if (request.method !== 'GET' && request.method !== 'HEAD' && csrf) request.headers.set('X-CSRF-Token', csrf);
    return request;
  },
};

/** A typed client for `baseUrl` (the page's own origin in the web app; the server in contract tests). */
export function makeClient(baseUrl = '', fetchImpl?: (input: Request) => Promise<Response>) {
  const c = createClient<paths>({ baseUrl, credentials: 'same-origin', ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  c.use(sessionHeaders);
  return c;
}

/** The web app's client: same origin, session cookie. */
export const client = makeClient();

interface Outcome<T> { data?: T; error?: unknown; response: Response }

/** The error envelope (`{error: {code, message, details, request_id}}`) of a failed call as ApiError. */
export function toApiError(response: Response, error: unknown): ApiError {
  const e = (error as { error?: Partial<Schemas['ErrorBody']> } | undefined)?.error ?? {};
  return new ApiError(response.status, e.code ?? 'http_' + response.status, e.message ?? response.statusText, e.details ?? [], e.request_id);
}

/** The body of a successful call, typed by the document; throws ApiError otherwise. */
export async function ok<T>(call: Promise<Outcome<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response, error);
  return data as T;
}
