import { CoreV1Api } from '@kubernetes/client-node';
import type { PodLabelsConfig } from '../../config/index.ts';
import { kubeConfigFor } from '../scrape/kubernetes-discovery.ts';

/** What the API says of one pod that its log lines carry. */
export interface PodLogLabels {
  readonly app: string | undefined;
  readonly logSource: string | undefined;
}

/**
 * This node's pods' labels from the Kubernetes API, by pod UID (the last part of a pod log directory's name):
 * listed with `fieldSelector=spec.nodeName=<node>` on each {@link refresh}. A failed refresh keeps the last good
 * answer; a pod the API does not know (yet) gets the path-derived labels.
 */
export class PodLabels {
  private readonly api: CoreV1Api;
  private byUid = new Map<string, PodLogLabels>();

  constructor(
    private readonly config: PodLabelsConfig,
    private readonly node: string,
  ) {
    this.api = kubeConfigFor(config).makeApiClient(CoreV1Api);
  }

  async refresh(): Promise<void> {
    const list = await this.api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.node}` });
    const next = new Map<string, PodLogLabels>();
    for (const pod of list.items) {
      const uid = pod.metadata?.uid;
      if (uid === undefined) continue;
      const labels = pod.metadata?.labels ?? {};
      const appKey = this.config.app_labels.find((k) => labels[k] !== undefined && labels[k] !== '');
      next.set(uid, { app: appKey === undefined ? undefined : labels[appKey], logSource: labels[this.config.log_source_label] || undefined });
    }
    this.byUid = next;
  }

  get(uid: string): PodLogLabels | undefined {
    return this.byUid.get(uid);
  }
}
