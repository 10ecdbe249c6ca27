// Prometheus' Kubernetes discovery labels for the pod, endpoints and node roles, from recorded API objects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsTargets, nodeTargets, podTargets } from './kubernetes-discovery.ts';

test('pod role: a target per container port, none for a portless init container, labels sanitised', () => {
  const t = podTargets({
    metadata: { name: 'web-1', namespace: 'shop', uid: 'u', labels: { 'app.kubernetes.io/name': 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d', uid: 'r', controller: true }] },
    spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 9090, protocol: 'UDP' }] }, { name: 'side' }], initContainers: [{ name: 'init' }] },
    status: { podIP: '10.1.2.3', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  });
  assert.deepEqual(t.map((x) => x.__address__), ['10.1.2.3:8080', '10.1.2.3:9090', '10.1.2.3']);
  assert.equal(t[0]!.__meta_kubernetes_pod_label_app_kubernetes_io_name, 'web');
  assert.equal(t[0]!.__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name, 'true');
  assert.equal(t[0]!.__meta_kubernetes_pod_container_port_name, 'http');
  assert.equal(t[1]!.__meta_kubernetes_pod_container_port_protocol, 'UDP');
  assert.equal(t[0]!.__meta_kubernetes_pod_controller_kind, 'ReplicaSet');
  assert.equal(t[0]!.__meta_kubernetes_pod_ready, 'true');
  assert.deepEqual(podTargets({ metadata: { name: 'pending' }, spec: { containers: [{ name: 'c' }] }, status: {} }), []);
});

test('endpoints role: each address and port, not-ready ones marked', () => {
  const t = endpointsTargets({
    metadata: { name: 'kube-state-metrics', namespace: 'kube-system' },
    subsets: [{ addresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'ksm-1' } }], notReadyAddresses: [{ ip: '10.0.0.2' }], ports: [{ name: 'http-metrics', port: 8080 }] }],
  });
  assert.deepEqual(t.map((x) => [x.__address__, x.__meta_kubernetes_endpoint_ready]), [['10.0.0.1:8080', 'true'], ['10.0.0.2:8080', 'false']]);
  assert.equal(t[0]!.__meta_kubernetes_endpoint_port_name, 'http-metrics');
  assert.equal(t[0]!.__meta_kubernetes_endpoint_address_target_name, 'ksm-1');
  assert.equal(t[0]!.__meta_kubernetes_endpoints_name, 'kube-state-metrics');
});

test('node role: the InternalIP and kubelet port, instance = node name', () => {
  const [t] = nodeTargets({
    metadata: { name: 'worker-1', labels: { 'kubernetes.io/os': 'linux' } },
    status: { addresses: [{ type: 'Hostname', address: 'worker-1' }, { type: 'InternalIP', address: '10.0.0.9' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } },
  });
  assert.equal(t!.__address__, '10.0.0.9:10250');
  assert.equal(t!.instance, 'worker-1');
  assert.equal(t!.__meta_kubernetes_node_label_kubernetes_io_os, 'linux');
  assert.equal(t!.__meta_kubernetes_node_address_Hostname, 'worker-1');
});
