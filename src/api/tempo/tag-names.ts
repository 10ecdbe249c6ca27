import type { AttributeScope } from '../../storage/index.ts';
import { bad } from './params.ts';

/** The attribute scopes storage lists tag names for. */
export type StoredScope = Exclude<AttributeScope, 'any' | 'intrinsic'>;

export const STORED_SCOPES: readonly StoredScope[] = ['resource', 'span', 'event', 'link', 'instrumentation'];

/**
 * The intrinsics Tempo offers for autocomplete (`search.GetVirtualIntrinsicValues`), in its order: what
 * `scope=intrinsic` (and v2 without a scope) lists.
 */
export const INTRINSIC_TAGS: readonly string[] = [
  'duration',
  'name',
  'status',
  'statusMessage',
  'kind',
  'rootServiceName',
  'rootName',
  'traceDuration',
  'event:name',
  'event:timeSinceStart',
  'link:spanID',
  'link:traceID',
  'instrumentation:name',
  'instrumentation:version',
  'trace:id',
  'span:id',
  'span:parentID',
  'span:status',
  'span:statusMessage',
  'span:duration',
  'span:name',
  'span:kind',
  'trace:rootName',
  'trace:rootService',
  'trace:duration',
];

/** A `scope` parameter of the tag endpoints: a stored scope, `intrinsic`, or undefined for all. */
export type TagScopeParam = StoredScope | 'intrinsic' | undefined;

/** Parses `scope` (`traceql.AttributeScopeFromString` plus `intrinsic`); anything else is Tempo's 400. */
export function parseTagScope(text: string | undefined): TagScopeParam {
  if (text === undefined || text === 'none') return undefined;
  if (text === 'intrinsic' || (STORED_SCOPES as readonly string[]).includes(text)) return text as TagScopeParam;
  throw bad(`invalid scope: ${text}`);
}

/** Where the values of a tag name live, as storage's `tagValues` takes it. */
export interface TagRef {
  readonly scope: AttributeScope;
  readonly name: string;
}

/** Intrinsic spellings and the canonical name storage's `tagValues` knows them by. */
const INTRINSIC_ALIASES: Readonly<Record<string, string>> = {
  name: 'name',
  'span:name': 'name',
  statusMessage: 'statusMessage',
  'span:statusMessage': 'statusMessage',
  rootServiceName: 'trace:rootService',
  'trace:rootService': 'trace:rootService',
  rootName: 'trace:rootName',
  'trace:rootName': 'trace:rootName',
  'event:name': 'event:name',
  'instrumentation:name': 'instrumentation:name',
  'instrumentation:version': 'instrumentation:version',
  status: 'status',
  'span:status': 'status',
  kind: 'kind',
  'span:kind': 'kind',
  duration: 'duration',
  'span:duration': 'duration',
  traceDuration: 'trace:duration',
  'trace:duration': 'trace:duration',
  'event:timeSinceStart': 'event:timeSinceStart',
  'link:spanID': 'link:spanID',
  'link:traceID': 'link:traceID',
  'trace:id': 'trace:id',
  'span:id': 'span:id',
  'span:parentID': 'span:parentID',
};

/** An attribute name after its scope's dot: plain, or a TraceQL double-quoted string. */
function attributeName(text: string, whole: string): string {
  if (text.startsWith('"')) {
    if (text.length < 2 || !text.endsWith('"')) throw bad(`please provide a valid tagName: unterminated quoted attribute name in ${whole}`);
    try {
      return JSON.parse(text) as string;
    } catch {
      throw bad(`please provide a valid tagName: invalid quoted attribute name in ${whole}`);
    }
  }
  if (text === '' || /[\s{}()=~!<>&|^,"]/.test(text)) throw bad(`please provide a valid tagName: ${whole}`);
  return text;
}

/**
 * A v2 tag name as TraceQL writes an attribute (`traceql.ParseIdentifier`): `resource.x`, `span.x`,
 * `event.x`, `link.x`, `instrumentation.x`, `.x` (span or resource), or an intrinsic (`name`,
 * `span:name`, `trace:rootService`, ...). Throws Tempo's 400 for anything else.
 */
export function parseTagRef(tag: string): TagRef {
  const intrinsic = INTRINSIC_ALIASES[tag];
  if (intrinsic !== undefined) return { scope: 'intrinsic', name: intrinsic };
  if (tag.startsWith('.')) return { scope: 'any', name: attributeName(tag.slice(1), tag) };
  const dot = tag.indexOf('.');
  if (dot > 0) {
    const scope = tag.slice(0, dot);
    if ((STORED_SCOPES as readonly string[]).includes(scope)) return { scope: scope as StoredScope, name: attributeName(tag.slice(dot + 1), tag) };
  }
  throw bad(`please provide a valid tagName: ${tag} is not a TraceQL attribute (scope.name, .name) or intrinsic`);
}
