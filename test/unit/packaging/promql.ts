// Just enough PromQL reading to check a dashboard: which metric names an expression selects, and
// which range-vector functions it calls with which range.

const FUNCTIONS_AND_KEYWORDS = new Set([
  // aggregation operators and their modifiers
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'atan2',
]);

/** Removes string literals, label matchers, ranges and grouping clauses, leaving names and calls. */
function skeleton(expr: string): string {
  return expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
}

/** Metric names selected by a PromQL expression (identifiers that are neither calls nor keywords). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  const text = skeleton(expr);
  const identifier = /(^|[^a-zA-Z0-9_:$.])([a-zA-Z_:][a-zA-Z0-9_:]*)/g;
  for (let m = identifier.exec(text); m; m = identifier.exec(text)) {
    const name = m[2]!;
    const after = text.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after)) continue; // a function call
    if (FUNCTIONS_AND_KEYWORDS.has(name)) continue;
    if (/^(inf|nan)$/i.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

/** Each call of a range-vector counter function with the range its argument uses ('' if none). */
export function counterFunctionRanges(expr: string): { fn: string; range: string }[] {
  const calls: { fn: string; range: string }[] = [];
  const call = /\b(rate|irate|increase|delta|idelta|deriv|resets|changes)\s*\(/g;
  for (let m = call.exec(expr); m; m = call.exec(expr)) {
    let depth = 1;
    let i = m.index + m[0].length;
    const start = i;
    while (i < expr.length && depth > 0) {
      if (expr[i] === '(') depth++;
      else if (expr[i] === ')') depth--;
      i++;
    }
    const argument = expr.slice(start, i - 1);
    const range = /\[([^\]]*)\]\s*$/.exec(argument);
    calls.push({ fn: m[1]!, range: range?.[1] ?? '' });
  }
  return calls;
}
