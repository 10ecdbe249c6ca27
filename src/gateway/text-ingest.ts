import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendHttpFailure, sendText } from './ingest-answers.ts';
import { runIngest } from './ingest-pipeline.ts';
import type { BodyFormat, DecodedBatch, GatewayDeps, IngestOutcome, SignalIngest } from './ingest-pipeline.ts';
import type { FailureAnswer } from './ingest-scope.ts';
import { ingestCallOf } from './ingest-scope.ts';
import { groupRejections } from './rejection-report.ts';

/** Whole-request failures of the text protocols: the kind's status, the message as text. */
export const textFailure: FailureAnswer = (_request, reply, err) => sendHttpFailure(reply, err);

/**
 * Runs one request of a text-answering protocol (remote_write, Loki push) through the ingest pipeline and
 * answers as Mimir and Loki do: 204 (or the protocol's `successStatus`, Zipkin's 202) when everything was
 * written, 400 with the grouped rejection reasons when some records were refused (the rest committed), the
 * error kind's status for whole-request failures. `decorate` may add protocol headers to any answer after a
 * write (remote_write 2.0's written counts).
 */
export async function handleTextIngest<R, D extends DecodedBatch<R>>(
  deps: GatewayDeps,
  desc: SignalIngest<R>,
  request: FastifyRequest,
  reply: FastifyReply,
  chooseFormat: () => BodyFormat<D>,
  decorate?: (outcome: IngestOutcome<D>, reply: FastifyReply) => void,
  successStatus = 204,
): Promise<FastifyReply> {
  let outcome: IngestOutcome<D>;
  try {
    outcome = await runIngest(deps, desc, ingestCallOf(request), chooseFormat);
  } catch (err) {
    return sendHttpFailure(reply, err);
  }
  decorate?.(outcome, reply);
  if (outcome.result.rejections.length > 0) return sendText(reply, 400, groupRejections(outcome.result.rejections));
  return reply.code(successStatus).send();
}
