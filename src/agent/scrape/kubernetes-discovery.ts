import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Endpoints, V1Node, V1Pod } from '@kubernetes/client-node';
import type { KubeApiConfig, KubernetesSdConfig } from '../../config/index.ts';
import type { Labels } from '../../model/index.ts';

/** Prometheus' label name sanitising of Kubernetes label and annotation keys: anything but `[a-zA-Z0-9_]` becomes `_`. */
function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

function metaMap(prefix: string, kind: 'label' | 'annotation', map: Readonly<Record<string, string>> | undefined, into: Record<string, string>): void {
  for (const [k, v] of Object.entries(map ?? {})) {
    const n = sanitize(k);
    into[`${prefix}_${kind}_${n}`] = v;
    into[`${prefix}_${kind}present_${n}`] = 'true';
  }
}

const POD = '__meta_kubernetes_pod';

/** Prometheus' pod role: one target per declared container port (`podIP:port`), one per container without ports. */
export function podTargets(pod: V1Pod): Labels[] {
  const ip = pod.status?.podIP;
  if (ip === undefined || ip === '') return [];
  const base: Record<string, string> = {
    __meta_kubernetes_namespace: pod.metadata?.namespace ?? '',
    [`${POD}_name`]: pod.metadata?.name ?? '',
    [`${POD}_ip`]: ip,
    [`${POD}_ready`]: String(pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false),
    [`${POD}_phase`]: pod.status?.phase ?? '',
    [`${POD}_node_name`]: pod.spec?.nodeName ?? '',
    [`${POD}_host_ip`]: pod.status?.hostIP ?? '',
    [`${POD}_uid`]: pod.metadata?.uid ?? '',
  };
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller === true);
  if (owner) {
    base[`${POD}_controller_kind`] = owner.kind;
    base[`${POD}_controller_name`] = owner.name;
  }
  metaMap(POD, 'label', pod.metadata?.labels, base);
  metaMap(POD, 'annotation', pod.metadata?.annotations, base);
  const out: Labels[] = [];
  const containers = [...(pod.spec?.containers ?? []).map((c) => ({ c, init: false })), ...(pod.spec?.initContainers ?? []).map((c) => ({ c, init: true }))];
  for (const { c, init } of containers) {
    const common = { ...base, [`${POD}_container_name`]: c.name, [`${POD}_container_image`]: c.image ?? '', [`${POD}_container_init`]: String(init) };
    if (!c.ports || c.ports.length === 0) {
      // Init containers without ports are no targets (Prometheus does the same); regular ones are, without a port.
      if (!init) out.push({ ...common, __address__: ip });
      continue;
    }
    for (const p of c.ports) {
      out.push({
        ...common,
        __address__: `${ip.includes(':') ? `[${ip}]` : ip}:${p.containerPort}`,
        [`${POD}_container_port_name`]: p.name ?? '',
        [`${POD}_container_port_number`]: String(p.containerPort),
        [`${POD}_container_port_protocol`]: p.protocol ?? 'TCP',
      });
    }
  }
  return out;
}

/** Prometheus' endpoints role: one target per address and port of every subset (not-ready addresses with `_ready="false"`). */
export function endpointsTargets(ep: V1Endpoints): Labels[] {
  const base: Record<string, string> = {
    __meta_kubernetes_namespace: ep.metadata?.namespace ?? '',
    __meta_kubernetes_endpoints_name: ep.metadata?.name ?? '',
    __meta_kubernetes_service_name: ep.metadata?.name ?? '',
  };
  metaMap('__meta_kubernetes_endpoints', 'label', ep.metadata?.labels, base);
  const out: Labels[] = [];
  for (const subset of ep.subsets ?? []) {
    const addrs = [...(subset.addresses ?? []).map((a) => ({ a, ready: true })), ...(subset.notReadyAddresses ?? []).map((a) => ({ a, ready: false }))];
    for (const { a, ready } of addrs) {
      for (const p of subset.ports ?? []) {
        const t: Record<string, string> = {
          ...base,
          __address__: `${a.ip}:${p.port}`,
          __meta_kubernetes_endpoint_ready: String(ready),
          __meta_kubernetes_endpoint_port_name: p.name ?? '',
          __meta_kubernetes_endpoint_port_protocol: p.protocol ?? 'TCP',
        };
        if (a.hostname) t.__meta_kubernetes_endpoint_hostname = a.hostname;
        if (a.nodeName) t.__meta_kubernetes_endpoint_node_name = a.nodeName;
        if (a.targetRef) {
          t.__meta_kubernetes_endpoint_address_target_kind = a.targetRef.kind ?? '';
          t.__meta_kubernetes_endpoint_address_target_name = a.targetRef.name ?? '';
        }
        out.push(t);
      }
    }
  }
  return out;
}

const NODE_ADDRESS_PRIORITY = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'Hostname'];

/** Prometheus' node role: the kubelet's address (`InternalIP` first) and port, `instance` set to the node name. */
export function nodeTargets(node: V1Node): Labels[] {
  const addresses = node.status?.addresses ?? [];
  const chosen = NODE_ADDRESS_PRIORITY.map((t) => addresses.find((a) => a.type === t)).find((a) => a !== undefined);
  if (chosen === undefined) return [];
  const name = node.metadata?.name ?? '';
  const t: Record<string, string> = {
    __address__: `${chosen.address}:${node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250}`,
    instance: name,
    __meta_kubernetes_node_name: name,
    __meta_kubernetes_node_provider_id: node.spec?.providerID ?? '',
  };
  metaMap('__meta_kubernetes_node', 'label', node.metadata?.labels, t);
  metaMap('__meta_kubernetes_node', 'annotation', node.metadata?.annotations, t);
  for (const a of addresses) t[`__meta_kubernetes_node_address_${a.type}`] ??= a.address;
  return [t];
}

/** The client configuration for the API: in-cluster credentials unless `api_server` is given. */
export function kubeConfigFor(api: KubeApiConfig): KubeConfig {
  const kc = new KubeConfig();
  if (api.api_server === undefined) kc.loadFromCluster();
  else {
    // The client refuses plain http:// unless told to skip TLS verification, which there is none of then.
    const plain = api.api_server.startsWith('http://');
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: api.api_server, skipTLSVerify: plain || api.tls_config.insecure_skip_verify }],
      users: [{ name: 'u', ...(api.bearer_token !== undefined ? { token: api.bearer_token } : {}) }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  }
  return kc;
}

/**
 * Lists one `kubernetes_sd_config`'s objects through the Kubernetes API (`@kubernetes/client-node`; in-cluster
 * credentials unless `api_server` is given) and turns them into Prometheus' discovered label sets. The agent
 * lists again every `refresh_interval` rather than watching.
 */
export class KubernetesDiscovery {
  private readonly api: CoreV1Api;

  constructor(private readonly sd: KubernetesSdConfig) {
    this.api = kubeConfigFor(sd).makeApiClient(CoreV1Api);
  }

  private selector(kind: 'label' | 'field'): string | undefined {
    const s = this.sd.selectors.find((x) => x.role === this.sd.role);
    return s?.[kind];
  }

  /** Every target the API lists now. Throws when the API cannot be reached (the caller keeps the last good list). */
  async discover(): Promise<Labels[]> {
    const labelSelector = this.selector('label');
    const fieldSelector = this.selector('field');
    const sel = { ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) };
    const namespaces = this.sd.namespaces.names;
    switch (this.sd.role) {
      case 'node':
        return (await this.api.listNode(sel)).items.flatMap(nodeTargets);
      case 'pod': {
        const lists = namespaces.length === 0 ? [await this.api.listPodForAllNamespaces(sel)] : await Promise.all(namespaces.map((namespace) => this.api.listNamespacedPod({ namespace, ...sel })));
        return lists.flatMap((l) => l.items.flatMap(podTargets));
      }
      case 'endpoints': {
        const lists = namespaces.length === 0 ? [await this.api.listEndpointsForAllNamespaces(sel)] : await Promise.all(namespaces.map((namespace) => this.api.listNamespacedEndpoints({ namespace, ...sel })));
        return lists.flatMap((l) => l.items.flatMap(endpointsTargets));
      }
    }
  }
}
