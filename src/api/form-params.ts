import type { FastifyRequest } from 'fastify';

/**
 * A request's parameters the way Go's `r.Form` sees them, as Prometheus and Loki read them: form-encoded POST
 * body values first, then URL query values. Grafana sends either (its data source `httpMethod`), and both
 * may be present.
 */
export class FormParams {
  readonly #body: Record<string, unknown>;
  readonly #query: Record<string, unknown>;

  constructor(request: FastifyRequest) {
    const body = request.body;
    this.#body = body !== null && typeof body === 'object' && !Buffer.isBuffer(body) ? (body as Record<string, unknown>) : {};
    const query = request.query;
    this.#query = query !== null && typeof query === 'object' ? (query as Record<string, unknown>) : {};
  }

  /** Every value of `name` (body first), e.g. the repeated `match[]`. */
  all(name: string): string[] {
    return [...values(this.#body[name]), ...values(this.#query[name])];
  }

  /** The first value of `name`, or undefined when absent (Go's FormValue gives '' then). */
  get(name: string): string | undefined {
    return this.all(name)[0];
  }

  /**
   * The first value of `name`, or undefined when absent or empty: Go's `v := r.Form.Get(x); v != ""` test,
   * by which Loki and Tempo treat `?start=` as no start at all.
   */
  present(name: string): string | undefined {
    const v = this.all(name)[0];
    return v === undefined || v === '' ? undefined : v;
  }
}

function values(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String);
  return [String(v)];
}
