import { HeimdallError } from '../model/index.ts';
import { grpcFailure } from './ingest-answers.ts';
import type { GatewayDeps } from './ingest-pipeline.ts';
import { registerIngestRoutes } from './ingest-scope.ts';
import { addExportService, answerOtlpFailure } from './otlp-routes.ts';

/** An OTLP signal this build receives nowhere yet: its HTTP path segment and gRPC method. */
export interface UnsupportedOtlpSignal {
  /** What the answer calls it (`traces`, `profiles`). */
  readonly name: string;
  /** HTTP paths on the main server and on the OTLP/HTTP listener. */
  readonly mainPath: string;
  readonly otlpPath: string;
  readonly grpcPath: string;
}

/** OTLP profiles, until their engine lands (the profiles issue replaces this). */
export const UNSUPPORTED_OTLP_SIGNALS: readonly UnsupportedOtlpSignal[] = [
  {
    name: 'profiles',
    mainPath: '/otlp/v1development/profiles',
    otlpPath: '/v1development/profiles',
    grpcPath: '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export',
  },
];

/**
 * Answers OTLP exports of a signal that is not built yet with a status that says so, not a bare 404 or
 * gRPC UNIMPLEMENTED without a word: HTTP 501 with a google.rpc.Status body in the request's encoding
 * (text for other content types), gRPC UNIMPLEMENTED with the same message. Exporters treat both as
 * permanent failures and drop the data instead of retrying.
 */
export async function registerUnsupportedOtlp(deps: GatewayDeps, signal: UnsupportedOtlpSignal): Promise<void> {
  const err = new HeimdallError(
    'not_implemented',
    `OTLP ${signal.name} are not supported yet by this Heimdall build; metrics, logs and traces are (drop the ${signal.name} pipeline of this exporter for now)`,
    { code: `${signal.name}_not_supported` },
  );
  for (const [app, path] of [[deps.http, signal.mainPath], [deps.otlpHttp, signal.otlpPath]] as const) {
    await registerIngestRoutes(app, deps.inflight, {
      failure: answerOtlpFailure,
      register: (scope) => scope.post(path, (request, reply) => answerOtlpFailure(request, reply, err)),
    });
  }
  addExportService(deps, signal.grpcPath, signal.name, async (_call, callback) => callback(grpcFailure(err)));
}
