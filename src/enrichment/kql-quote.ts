const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A KQL string literal that holds `value` exactly and nothing else: a verbatim literal `@'…'`,
 * in which backslashes mean themselves and the only way to end the literal — a single quote — is
 * doubled. Control characters (a newline could end the statement in some clients) are refused
 * rather than altered, so what is matched is always what was asked for.
 */
export function quoteKqlString(value: string): string {
  if (CONTROL.test(value)) throw new Error('a KQL literal cannot hold control characters');
  return `@'${value.replace(/'/g, "''")}'`;
}

/** Puts `value`, quoted, wherever the query says `{{entity}}`; the only way values enter a query. */
export const bindEntity = (query: string, value: string): string => query.split('{{entity}}').join(quoteKqlString(value));
