// The JSON text of a log line with its keys sorted at every depth: the text winston's json format
// (logform over safe-stable-stringify, with its bigint replacer) writes, made for less work per
// line. logform configures a new stringifier for every line and builds the text piece by piece;
// a line of plain values (every allocation line) is written here by one native JSON.stringify of
// a copy with its keys in order. Anything else takes the general writer below, which follows
// safe-stable-stringify's rules: toJSON first, bigints as quoted text, circular references as
// "[Circular]", typed arrays in index order, undefined, functions and symbols left out (null in
// arrays). test/unit/log/stable-json.test.ts checks both against winston's json format.

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Int8Array.prototype) as object,
  Symbol.toStringTag,
)!.get!;

function isTypedArrayWithEntries(value: object): boolean {
  return typedArrayTag.call(value) !== undefined && (value as { length: number }).length !== 0;
}

/** Whether JSON.stringify would put `key` first whatever its place (an array-index-like key). */
function startsWithDigit(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 48 && c <= 57;
}

/**
 * Keys sorted as safe-stable-stringify sorts them (UTF-16 code units, stable): in place, by
 * insertion (a line has a dozen keys; Array.prototype.sort allocates work space for each call).
 */
function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let at = i;
    while (at > 0 && keys[at - 1]! > key) {
      keys[at] = keys[at - 1]!;
      at--;
    }
    keys[at] = key;
  }
  return keys;
}

/** The JSON text of `value` with sorted keys. */
export function stableJson(value: Record<string, unknown>): string {
  const keys = sortedKeys(value);
  const flat: Record<string, unknown> = {};
  for (const key of keys) {
    const v = value[key];
    if ((typeof v === 'object' && v !== null) || typeof v === 'bigint' || startsWithDigit(key)) {
      return write(value, '', []) ?? 'null';
    }
    flat[key] = v;
  }
  return JSON.stringify(flat);
}

/** safe-stable-stringify's walk (undefined: the value is left out). */
function write(input: unknown, key: string, stack: unknown[]): string | undefined {
  let value = input;
  if (typeof value === 'object' && value !== null) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') value = toJSON.call(value, key);
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      // logform's replacer: a bigint is written as its decimal text, quoted.
      return JSON.stringify(value.toString());
    case 'object': {
      if (value === null) return 'null';
      if (stack.includes(value)) return '"[Circular]"';
      stack.push(value);
      let text: string;
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) items.push(write(value[i], String(i), stack) ?? 'null');
        text = `[${items.join(',')}]`;
      } else {
        const keys = isTypedArrayWithEntries(value) ? Object.keys(value) : sortedKeys(value);
        const parts: string[] = [];
        for (const k of keys) {
          const v = write((value as Record<string, unknown>)[k], k, stack);
          if (v !== undefined) parts.push(`${JSON.stringify(k)}:${v}`);
        }
        text = `{${parts.join(',')}}`;
      }
      stack.pop();
      return text;
    }
    default:
      return undefined;
  }
}
