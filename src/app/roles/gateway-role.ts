import { registerLogsIngest } from '../../gateway/logs-routes.ts';
import { registerMetricsIngest } from '../../gateway/metrics-routes.ts';
import type { RoleDefinition } from '../role.ts';

/**
 * The ingest endpoints of every signal (remote_write, OTLP HTTP and gRPC, Loki push). In one process it
 * appends to the local engines, which it therefore depends on; forwarding to remote engines over the same
 * protocols (the split deployment) is not built yet.
 */
export const gatewayRole: RoleDefinition = {
  name: 'gateway',
  dependsOn: ['metrics', 'logs'],
  description: 'ingest: remote_write, OTLP (HTTP :4318, gRPC :4317, /otlp/v1/*), Loki push',
  async start(ctx) {
    const { metricsStorage, logsStorage } = ctx.provided;
    if (!metricsStorage || !logsStorage) {
      throw new Error('the gateway needs the metrics and logs roles in the same process');
    }
    await registerMetricsIngest(ctx, metricsStorage);
    await registerLogsIngest(ctx, logsStorage);
    return { stop: async () => {} };
  },
};
