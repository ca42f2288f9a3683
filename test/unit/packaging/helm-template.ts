// Structural reading of Helm templates without a helm binary: template actions become
// placeholders so the YAML around them can be parsed. This proves indentation, nesting and
// document structure; it cannot prove what a template renders for given values.

const ACTION = /\{\{-?([\s\S]*?)-?\}\}/g;
const COMMENT = /\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g;
const OPENS_BLOCK = /^(if|range|with|define|block)\b/;
const CONTROL = /^(if|else|end|range|with|define|block|template|fail)\b|^\$[\w]*\s*:?=/;

/** Template text with comments removed. */
export function stripComments(text: string): string {
  return text.replace(COMMENT, '');
}

/** The bodies of `define` blocks in a .tpl file, by name. */
export function defines(text: string): Map<string, string> {
  const clean = stripComments(text);
  const found = new Map<string, string>();
  const stack: { name: string | undefined; bodyStart: number }[] = [];
  for (const m of clean.matchAll(ACTION)) {
    const action = m[1]!.trim();
    const end = m.index + m[0].length;
    if (OPENS_BLOCK.test(action)) {
      const name = /^define\s+"([^"]+)"/.exec(action)?.[1];
      stack.push({ name, bodyStart: end });
    } else if (/^end\b/.test(action)) {
      const open = stack.pop();
      if (!open) throw new Error(`unbalanced {{ end }} at offset ${m.index}`);
      if (open.name !== undefined) found.set(open.name, clean.slice(open.bodyStart, m.index));
    }
  }
  if (stack.length > 0) throw new Error(`unclosed block(s): ${stack.length}`);
  return found;
}

/** Whether every if/range/with/define in the text is closed by an end. */
export function blocksBalanced(text: string): boolean {
  let depth = 0;
  for (const m of stripComments(text).matchAll(ACTION)) {
    const action = m[1]!.trim();
    if (OPENS_BLOCK.test(action)) depth++;
    else if (/^end\b/.test(action)) depth--;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/**
 * Rewrites a template as plain YAML: lines holding only control actions go, a line holding only
 * an output action (an `include` or `toYaml`, usually with `nindent`) becomes one placeholder
 * entry at the indentation it renders at (a list item if it continues a list), and actions
 * inside a line become a placeholder scalar. Both branches of an if/else are kept.
 */
export function structuralYaml(template: string): string {
  const out: string[] = [];
  let n = 0;
  for (const line of stripComments(template).split('\n')) {
    const trimmed = line.trim();
    if (trimmed !== '' && trimmed.replace(ACTION, '').trim() === '') {
      const actions = [...trimmed.matchAll(ACTION)].map((m) => m[1]!.trim());
      if (actions.every((a) => CONTROL.test(a))) continue;
      const nindent = /\bnindent\s+(\d+)/.exec(trimmed);
      const indent = nindent ? Number(nindent[1]) : line.length - line.trimStart().length;
      // The nearest earlier line at this indentation or less tells whether this continues a list.
      const indentOf = (l: string) => l.length - l.trimStart().length;
      const previous = [...out]
        .reverse()
        .find((l) => l.trim() !== '' && !l.trim().startsWith('#') && indentOf(l) <= indent);
      const inList =
        previous !== undefined && indentOf(previous) === indent && previous.trimStart().startsWith('- ');
      out.push(`${' '.repeat(indent)}${inList ? '- ' : ''}__template_${n++}: placeholder`);
      continue;
    }
    out.push(line.replace(ACTION, 'PLACEHOLDER'));
  }
  return out.join('\n');
}

/** `.Values` paths a template reads, e.g. `turn.port`. */
export function valuesPaths(template: string): string[] {
  return [...stripComments(template).matchAll(/\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)/g)].map(
    (m) => m[1]!,
  );
}

/** Names passed to `include`. */
export function includedNames(template: string): string[] {
  return [...stripComments(template).matchAll(/\binclude\s+"([^"]+)"/g)].map((m) => m[1]!);
}
