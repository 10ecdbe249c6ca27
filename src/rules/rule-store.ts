import fsp from 'node:fs/promises';
import path from 'node:path';
import type { TenantId } from '../model/index.ts';
import { writeFileDurably } from '../objstore/index.ts';
import { groupToYamlObject, parseRuleFile, toYaml } from './rule-file.ts';
import type { ExpressionValidator, RuleGroupSpec, RuleLanguage } from './rule-file.ts';

/** A tenant's rule groups by namespace, each namespace's groups in their stored order. */
export type NamespaceGroups = Map<string, RuleGroupSpec[]>;

/**
 * The rule groups loaded through a ruler API, kept durably per tenant and namespace: one rule file per
 * namespace at `<dir>/<tenant>/<base64url(namespace)>.yaml`, replaced atomically and fsynced (objstore's
 * durable file replace) before the API answers. Namespaces are encoded because they are free text.
 * Changes are serialized; reads come from memory.
 */
export class RuleStore {
  private readonly tenants = new Map<TenantId, NamespaceGroups>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly language: RuleLanguage,
  ) {}

  /** Opens (creating) the store and reads every stored rule file, checked with `validate`. */
  static async open(dir: string, language: RuleLanguage, validate: ExpressionValidator): Promise<RuleStore> {
    const store = new RuleStore(dir, language);
    await fsp.mkdir(dir, { recursive: true });
    for (const tenantDir of await fsp.readdir(dir, { withFileTypes: true })) {
      if (!tenantDir.isDirectory()) continue;
      // The directory was named after a tenant id that was validated when its rules were stored.
      const tenant = decodeURIComponent(tenantDir.name) as TenantId;
      const namespaces: NamespaceGroups = new Map();
      for (const file of await fsp.readdir(path.join(dir, tenantDir.name))) {
        if (!file.endsWith('.yaml')) continue;
        const namespace = Buffer.from(file.slice(0, -'.yaml'.length), 'base64url').toString('utf8');
        const text = await fsp.readFile(path.join(dir, tenantDir.name, file), 'utf8');
        try {
          namespaces.set(namespace, parseRuleFile(text, language, validate));
        } catch (err) {
          throw new Error(`reading stored rules of tenant ${tenant}, namespace ${namespace} (${file}): ${(err as Error).message}`, { cause: err });
        }
      }
      if (namespaces.size > 0) store.tenants.set(tenant, namespaces);
    }
    return store;
  }

  get languageOfRules(): RuleLanguage {
    return this.language;
  }

  /** Every tenant with rules. */
  tenantIds(): TenantId[] {
    return [...this.tenants.keys()];
  }

  /** A tenant's namespaces (a copy). */
  namespaces(tenant: TenantId): NamespaceGroups {
    return new Map(this.tenants.get(tenant) ?? []);
  }

  /** Sets (adds or replaces by name) one group of a namespace, durably. */
  async setGroup(tenant: TenantId, namespace: string, group: RuleGroupSpec): Promise<void> {
    await this.change(tenant, namespace, (groups) => {
      const i = groups.findIndex((g) => g.name === group.name);
      if (i >= 0) groups[i] = group;
      else groups.push(group);
      return true;
    });
  }

  /** Deletes one group; false when it does not exist. */
  deleteGroup(tenant: TenantId, namespace: string, name: string): Promise<boolean> {
    return this.change(tenant, namespace, (groups) => {
      const i = groups.findIndex((g) => g.name === name);
      if (i < 0) return false;
      groups.splice(i, 1);
      return true;
    });
  }

  /** Deletes a whole namespace; false when it does not exist. */
  deleteNamespace(tenant: TenantId, namespace: string): Promise<boolean> {
    return this.change(tenant, namespace, (groups) => {
      if (groups.length === 0) return false;
      groups.length = 0;
      return true;
    });
  }

  private change(tenant: TenantId, namespace: string, edit: (groups: RuleGroupSpec[]) => boolean): Promise<boolean> {
    const run = this.queue.then(async () => {
      const namespaces = this.tenants.get(tenant) ?? new Map<string, RuleGroupSpec[]>();
      const groups = [...(namespaces.get(namespace) ?? [])];
      if (!edit(groups)) return false;
      const tenantDir = path.join(this.dir, encodeURIComponent(tenant));
      const file = path.join(tenantDir, `${Buffer.from(namespace, 'utf8').toString('base64url')}.yaml`);
      await fsp.mkdir(tenantDir, { recursive: true });
      if (groups.length === 0) {
        await fsp.rm(file, { force: true });
        namespaces.delete(namespace);
      } else {
        await writeFileDurably(file, toYaml({ groups: groups.map(groupToYamlObject) }));
        namespaces.set(namespace, groups);
      }
      if (namespaces.size === 0) this.tenants.delete(tenant);
      else this.tenants.set(tenant, namespaces);
      return true;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
