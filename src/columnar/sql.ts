/** Quotes an SQL string literal for DuckDB. */
export function quoteString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Encodes a tenant id into characters safe in a table name (tenant ids allow `!-.*'()`). */
export function tenantToken(tenant: string): string {
  return Buffer.from(tenant, 'utf8').toString('hex');
}
